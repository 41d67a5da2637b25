"""Agent presence: online / away / offline, and what changes in the queue when it does."""
from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from csbot.errors import ApplicationError

from ..enums import EscalationStatus, Presence
from ..models import AgentProfile, Escalation
from ..realtime import chats_changed_on_commit
from ..selectors import staff_role_required
from .routing import assignment_release, queue_dispatch


def agent_profile_ensure(user: AbstractBaseUser) -> AgentProfile:
    """The user's agent profile, created (offline, default capacity) on first use of the console."""
    staff_role_required(user)
    display = (user.get_full_name() or user.get_username())[:32]
    profile, _created = AgentProfile.objects.get_or_create(user=user, defaults={"display_name": display})
    return profile


def presence_set(*, user: AbstractBaseUser, presence: str) -> AgentProfile:
    """Set the agent's presence and re-balance the queue.

    Going online pulls waiting chats; going away or offline hands back chats assigned but not
    yet accepted (active chats stay with the agent). Raises ``invalid_presence`` (400).
    """
    if presence not in Presence.values:
        raise ApplicationError("invalid_presence", _("无效的状态：%(value)s") % {"value": presence}, status=400)
    with transaction.atomic():
        profile = agent_profile_ensure(user)
        profile.presence = presence
        profile.last_seen_at = timezone.now()
        profile.save(update_fields=["presence", "last_seen_at", "updated_at"])
        if presence != Presence.ONLINE:
            for escalation in Escalation.objects.filter(agent=user, status=EscalationStatus.ASSIGNED):
                assignment_release(escalation, skip_agent=True)
        chats_changed_on_commit(user.pk)
        queue_dispatch()
    return profile


def agent_seen(user: AbstractBaseUser) -> None:
    """Heartbeat from the console: keeps ``last_seen_at`` fresh for managers' views."""
    AgentProfile.objects.filter(user=user).update(last_seen_at=timezone.now())
