"""Admin pages of the handoff app: the console page, the policy singleton, left messages."""
from __future__ import annotations

import pytest
from django.urls import reverse

from handoff.enums import LeftMessageStatus
from handoff.models import EscalationPolicy, LeftMessage

pytestmark = pytest.mark.django_db


def test_console_page_renders_for_an_agent_and_is_linked_from_the_index(client, make_agent):
    client.force_login(make_agent("alice"))
    page = client.get(reverse("admin:handoff_agentconsole_changelist"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "hc-console" in html and "handoff/console.js" in html and '"socketPath": "/ws/agent/"' in html
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:handoff_agentconsole_changelist") in index


def test_console_page_is_refused_to_staff_without_an_agent_role(client, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(clerk)
    assert client.get(reverse("admin:handoff_agentconsole_changelist")).status_code == 403


def test_console_page_needs_a_login(client):
    response = client.get(reverse("admin:handoff_agentconsole_changelist"))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


def test_policy_list_opens_the_single_row_and_managers_can_edit_it(client, manager_user):
    client.force_login(manager_user)
    response = client.get(reverse("admin:handoff_escalationpolicy_changelist"))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:handoff_escalationpolicy_change", args=[EscalationPolicy.SINGLETON_PK])
    assert client.get(response["Location"]).status_code == 200


def test_agents_mark_left_messages_handled(client, make_agent):
    agent = make_agent("alice")
    left = LeftMessage.objects.create(contact="13800000000", text="请回电")
    client.force_login(agent)
    response = client.post(
        reverse("admin:handoff_leftmessage_changelist"), {"action": "mark_handled", "_selected_action": [left.pk]}, follow=True
    )
    assert response.status_code == 200
    left.refresh_from_db()
    assert left.status == LeftMessageStatus.HANDLED and left.handled_by == agent and left.handled_at
