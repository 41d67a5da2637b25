"""``handoff.services.escalation_create``: the minimal escalation entry point the turn uses."""
from __future__ import annotations

import pytest

from conversations import realtime
from conversations.enums import ConversationStatus, Sender
from conversations.models import Message
from conversations.services import conversation_close
from csbot.errors import ApplicationError
from handoff.models import Escalation
from handoff.services import escalation_create

pytestmark = pytest.mark.django_db


def test_escalation_queues_the_conversation_and_tells_visitor_and_agents(api_session, monkeypatch, django_capture_on_commit_callbacks):
    conversation, _ = api_session
    sent = []
    monkeypatch.setattr(realtime, "group_send", lambda group, event: sent.append((group, event)))
    with django_capture_on_commit_callbacks(execute=True):
        escalation = escalation_create(conversation=conversation, reason="human_request", detail="访客点击转人工")
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.QUEUED
    assert (escalation.reason, escalation.status, escalation.detail) == ("human_request", "queued", "访客点击转人工")
    notice = Message.objects.get(conversation=conversation)
    assert (notice.sender, notice.text, notice.payload["escalation_id"]) == (Sender.SYSTEM, "正在为您转接人工客服，请稍候…", escalation.pk)
    kinds = [(group, event["type"]) for group, event in sent]
    group = realtime.conversation_group(conversation.pk)
    assert kinds == [(group, "chat.messages"), (group, "chat.status"), (realtime.AGENT_QUEUE_GROUP, "queue.changed")]
    assert sent[1][1]["status"] == "queued" and sent[1][1]["position"] == 1


def test_escalating_twice_returns_the_open_escalation_and_stores_nothing_new(api_session):
    conversation, _ = api_session
    first = escalation_create(conversation=conversation, reason="complaint")
    again = escalation_create(conversation=conversation, reason="human_request")
    assert again.pk == first.pk
    assert Escalation.objects.count() == 1 and Message.objects.filter(conversation=conversation).count() == 1


def test_queue_positions_follow_arrival(db):
    from conversations.services import session_start

    conversations = [session_start().conversation for _ in range(3)]
    positions = []
    for conversation in conversations:
        escalation_create(conversation=conversation, reason="human_request")
        positions.append(Message.objects.get(conversation=conversation).payload["position"])
    assert positions == [1, 2, 3]


def test_unknown_reasons_and_closed_conversations_are_refused(api_session):
    conversation, _ = api_session
    with pytest.raises(ApplicationError) as error:
        escalation_create(conversation=conversation, reason="bored")
    assert error.value.code == "invalid_reason"
    conversation_close(conversation=conversation)
    with pytest.raises(ApplicationError) as error:
        escalation_create(conversation=conversation, reason="human_request")
    assert error.value.code == "session_closed"
