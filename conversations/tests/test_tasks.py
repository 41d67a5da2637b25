"""Closing idle conversations: the service directly, and the beat task once through Celery."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from conversations.enums import CloseReason, ConversationStatus, Sender
from conversations.models import Conversation, Message
from conversations.services import conversations_close_idle, session_start, turn_handle
from conversations.tasks import conversations_close_idle_task
from handoff.services import escalation_create

pytestmark = pytest.mark.django_db


def _idle_for(conversation: Conversation, minutes: int) -> None:
    Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=timezone.now() - timedelta(minutes=minutes))


def test_only_bot_conversations_idle_past_the_limit_are_closed(scripted_nlp):
    # Given conversations with various activity
    talked = session_start().conversation
    turn_handle(conversation=talked, text="你好")
    _idle_for(talked, 31)
    recent = session_start().conversation
    _idle_for(recent, 29)
    queued = session_start().conversation
    escalation_create(conversation=queued, reason="human_request")
    _idle_for(queued, 120)
    empty = session_start().conversation
    _idle_for(empty, 45)
    # When the idle sweep runs
    closed = conversations_close_idle()
    # Then only the idle bot conversations are closed
    assert closed == 2
    statuses = {c.pk: (c.status, c.close_reason) for c in Conversation.objects.all()}
    assert statuses[talked.pk] == (ConversationStatus.CLOSED, CloseReason.IDLE)
    assert statuses[empty.pk] == (ConversationStatus.CLOSED, CloseReason.IDLE)
    assert statuses[recent.pk][0] == ConversationStatus.BOT
    assert statuses[queued.pk][0] == ConversationStatus.QUEUED
    # The talked-to visitor gets a notice; an empty conversation gets none
    last = Message.objects.filter(conversation=talked).order_by("-seq").first()
    assert (last.sender, last.seq) == (Sender.SYSTEM, 3) and "结束" in last.text
    assert not Message.objects.filter(conversation=empty).exists()
    # And a second sweep finds nothing to do
    assert conversations_close_idle() == 0


def test_the_idle_limit_is_configurable(settings):
    conversation = session_start().conversation
    _idle_for(conversation, 6)
    settings.CSBOT_IDLE_CLOSE_MINUTES = 10
    assert conversations_close_idle() == 0
    settings.CSBOT_IDLE_CLOSE_MINUTES = 5
    assert conversations_close_idle() == 1


def test_the_beat_task_runs_the_sweep_through_celery():
    conversation = session_start().conversation
    _idle_for(conversation, 40)
    result = conversations_close_idle_task.apply()  # eager: the task's real code path, inline
    assert result.successful() and result.result == 1
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.CLOSED


def test_beat_schedules_the_sweep_every_minute():
    entry = django_settings.CELERY_BEAT_SCHEDULE["conversations-close-idle"]
    assert entry["task"] == conversations_close_idle_task.name == "conversations.close_idle"
    assert entry["schedule"] == 60.0
