"""Fixtures of the handoff tests: agents with presence/capacity/skills, waiting conversations."""
from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from conversations.enums import ConversationStatus
from conversations.models import Conversation, Visitor
from csbot.roles import AGENT_GROUP, MANAGER_GROUP
from handoff.enums import EscalationReason, EscalationStatus, Presence
from handoff.models import AgentProfile, Escalation

_counter = itertools.count(1)


@pytest.fixture
def make_agent(db):
    def make(name: str | None = None, *, presence: str = Presence.ONLINE, capacity: int = 3, skills=(), manager: bool = False):
        name = name or f"agent{next(_counter)}"
        user = get_user_model().objects.create_user(name, password="pw-agent-1", is_staff=True)
        user.groups.add(Group.objects.get_or_create(name=MANAGER_GROUP if manager else AGENT_GROUP)[0])
        profile = AgentProfile.objects.create(user=user, display_name=name.title(), presence=presence, capacity=capacity)
        profile.skills.set(skills)
        return user

    return make


@pytest.fixture
def make_waiting(db):
    """A conversation waiting in the queue with an escalation requested ``minutes_ago``."""

    def make(*, minutes_ago: float = 0, category=None, reason: str = EscalationReason.HUMAN_REQUEST) -> Escalation:
        conversation = Conversation.objects.create(visitor=Visitor.objects.create(), status=ConversationStatus.QUEUED)
        escalation = Escalation.objects.create(conversation=conversation, reason=reason, category=category)
        if minutes_ago:
            Escalation.objects.filter(pk=escalation.pk).update(requested_at=timezone.now() - timedelta(minutes=minutes_ago))
            escalation.refresh_from_db()
        return escalation

    return make


@pytest.fixture
def category(db):
    from knowledge.models import Category

    return Category.objects.create(name="退款", slug="refund")


@pytest.fixture
def other_category(db):
    from knowledge.models import Category

    return Category.objects.create(name="发票", slug="invoice")


def reload(escalation: Escalation) -> Escalation:
    escalation.refresh_from_db()
    return escalation


__all__ = ["reload", "EscalationStatus"]
