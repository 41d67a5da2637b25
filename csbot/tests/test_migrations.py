"""Models and migrations agree, and the staff roles exist after migrating."""
import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from csbot.roles import AGENT_GROUP, MANAGER_GROUP


@pytest.mark.django_db
def test_no_missing_migrations():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_staff_groups_have_their_permissions():
    agent = set(Group.objects.get(name=AGENT_GROUP).permissions.values_list("codename", flat=True))
    manager = set(Group.objects.get(name=MANAGER_GROUP).permissions.values_list("codename", flat=True))
    assert {"view_conversation", "change_conversation", "view_entry", "view_cannedresponse"} <= agent
    assert "change_entry" not in agent and "delete_entry" not in agent
    assert {"add_entry", "change_entry", "delete_entry", "add_intent", "change_synonymgroup", "add_cannedresponse"} <= manager
    assert "delete_user" not in manager and "add_user" not in manager
