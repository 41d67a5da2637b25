"""``escalation_create`` with routing: availability, skills, leave-a-message, and closing while waiting."""
from __future__ import annotations

from datetime import time

import pytest

from conversations.enums import ConversationStatus
from conversations.models import Conversation, Message, Visitor
from conversations.services import conversation_close
from handoff.enums import EscalationStatus, Presence
from handoff.models import BusinessHours, Escalation
from handoff.selectors import escalation_policy
from handoff.services import escalation_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation():
    return Conversation.objects.create(visitor=Visitor.objects.create())


def test_new_escalation_is_routed_to_an_online_agent_after_commit(conversation, make_agent, django_capture_on_commit_callbacks):
    agent = make_agent("alice")
    with django_capture_on_commit_callbacks(execute=True):
        escalation = escalation_create(conversation=conversation, reason="human_request")
    escalation.refresh_from_db()
    assert (escalation.status, escalation.agent_id) == (EscalationStatus.ASSIGNED, agent.pk) and escalation.assigned_at


def test_category_of_the_matched_entry_picks_the_skilled_agent(conversation, make_agent, category, django_capture_on_commit_callbacks):
    make_agent("generalist")
    expert = make_agent("expert", skills=[category])
    with django_capture_on_commit_callbacks(execute=True):
        escalation = escalation_create(conversation=conversation, reason="keyword", category_slug="refund")
    escalation.refresh_from_db()
    assert escalation.category_id == category.pk and escalation.agent_id == expert.pk


def test_nobody_online_queues_and_offers_the_leave_message_form(conversation):
    escalation = escalation_create(conversation=conversation, reason="human_request")
    conversation.refresh_from_db()
    assert escalation.status == EscalationStatus.QUEUED and conversation.status == ConversationStatus.QUEUED
    notice = Message.objects.get(conversation=conversation)
    action = notice.payload["actions"][0]
    assert action["type"] == "leave_message" and "暂无人工客服在线" in action["note"]


def test_out_of_hours_records_a_missed_request_and_keeps_the_bot(conversation, make_agent):
    make_agent("night-owl", presence=Presence.ONLINE)
    policy = escalation_policy()
    policy.use_business_hours = True
    policy.save()
    BusinessHours.objects.create(weekday=0, opens_at=time(0, 0), closes_at=time(0, 1))  # practically never open
    escalation = escalation_create(conversation=conversation, reason="complaint", detail="投诉快递")
    conversation.refresh_from_db()
    assert escalation.status == EscalationStatus.MISSED and escalation.ended_at and escalation.reason == "complaint"
    assert conversation.status == ConversationStatus.BOT
    notice = Message.objects.get(conversation=conversation)
    assert "非工作时间" in notice.text and "周一 00:00–00:01" in notice.text
    assert notice.payload["actions"][0]["type"] == "leave_message"
    assert not Escalation.objects.filter(status=EscalationStatus.QUEUED).exists()


def test_closing_a_waiting_conversation_abandons_its_escalation(conversation):
    escalation = escalation_create(conversation=conversation, reason="human_request")
    conversation_close(conversation=conversation)
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.ABANDONED and escalation.ended_at
