"""Nobody can take the chat: the request is recorded as missed and the visitor may leave a message."""
from __future__ import annotations

import pytest

from conversations.enums import ConversationStatus
from conversations.models import Conversation, Message, Visitor
from handoff.enums import Availability, EscalationReason, EscalationStatus
from handoff.services.intake import category_for_slug, escalation_missed

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("availability", "needle"), [(Availability.OUT_OF_HOURS, "非工作时间"), (Availability.NO_AGENTS, "暂无人工客服在线")])
def test_missed_request_is_recorded_and_offers_a_message_form(availability, needle):
    conversation = Conversation.objects.create(visitor=Visitor.objects.create())
    escalation = escalation_missed(conversation=conversation, reason=EscalationReason.HUMAN_REQUEST, availability=availability)
    assert escalation.status == EscalationStatus.MISSED and escalation.ended_at and escalation.agent is None
    notice = Message.objects.get(conversation=conversation)
    assert needle in notice.text and notice.payload["actions"][0]["type"] == "leave_message"
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.BOT
    # a missed request is not open: the visitor can ask again later
    assert escalation_missed(conversation=conversation, reason=EscalationReason.KEYWORD, availability=availability).pk != escalation.pk


def test_category_for_slug(category):
    assert category_for_slug("refund") == category.pk
    assert category_for_slug("nope") is None and category_for_slug("") is None


def test_demo_load_is_idempotent_and_keeps_edits():
    from handoff.models import BusinessHours, CannedResponse
    from handoff.services.demo import DEMO_CANNED, handoff_demo_load

    assert handoff_demo_load() == (len(DEMO_CANNED), 7)
    CannedResponse.objects.filter(shortcut="hi").update(text="改过的问候")
    assert handoff_demo_load() == (0, 0)
    assert CannedResponse.objects.get(shortcut="hi").text == "改过的问候"
    assert BusinessHours.objects.count() == 7
