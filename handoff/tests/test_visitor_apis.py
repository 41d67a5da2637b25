"""Visitor endpoints: leave a message and rate the service, with the session token only."""
from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from conversations.services import session_start
from handoff.enums import EscalationReason
from handoff.models import Escalation, LeftMessage
from handoff.services.agent_chat import escalation_accept, escalation_close

pytestmark = [pytest.mark.django_db, pytest.mark.urls("handoff.tests.urls")]


def url(name: str, conversation) -> str:
    return reverse(f"api:v1:{name}", kwargs={"session_id": str(conversation.pk)})


def test_visitor_leaves_a_message_with_their_token():
    grant = session_start()
    api = APIClient()
    response = api.post(url("session-left-message", grant.conversation), {"contact": "13800000000", "text": "请联系我"}, format="json", HTTP_X_SESSION_TOKEN=grant.token)
    assert response.status_code == 201
    assert LeftMessage.objects.get(pk=response.json()["id"]).conversation == grant.conversation
    bad = api.post(url("session-left-message", grant.conversation), {"contact": "", "text": "x"}, format="json", HTTP_X_SESSION_TOKEN=grant.token)
    assert bad.status_code == 400 and bad.json()["code"] == "contact_required"


def test_another_visitors_token_is_refused():
    mine, theirs = session_start(), session_start()
    response = APIClient().post(url("session-left-message", mine.conversation), {"contact": "x", "text": "y"}, format="json", HTTP_X_SESSION_TOKEN=theirs.token)
    assert response.status_code == 403 and response.json()["code"] == "invalid_token"
    assert not LeftMessage.objects.exists()
    missing = APIClient().post(url("session-csat", mine.conversation), {"rating": 5}, format="json")
    assert missing.status_code == 401 and missing.json()["code"] == "token_required"


def test_visitor_rates_the_agent_after_close(make_agent):
    grant = session_start()
    agent = make_agent("alice")
    conversation = grant.conversation
    from conversations.enums import ConversationStatus
    from conversations.models import Conversation

    Conversation.objects.filter(pk=conversation.pk).update(status=ConversationStatus.QUEUED)
    Escalation.objects.create(conversation=conversation, reason=EscalationReason.HUMAN_REQUEST)
    api = APIClient()
    escalation_accept(user=agent, conversation_id=conversation.pk)
    early = api.post(url("session-csat", conversation), {"rating": 5}, format="json", HTTP_X_SESSION_TOKEN=grant.token)
    assert early.status_code == 409 and early.json()["code"] == "csat_not_available"
    escalation_close(user=agent, conversation_id=conversation.pk)
    bad = api.post(url("session-csat", conversation), {"rating": 9}, format="json", HTTP_X_SESSION_TOKEN=grant.token)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_rating"
    ok = api.post(url("session-csat", conversation), {"rating": 5, "comment": "很专业"}, format="json", HTTP_X_SESSION_TOKEN=grant.token)
    assert ok.status_code == 200 and ok.json() == {"rating": 5, "comment": "很专业"}
