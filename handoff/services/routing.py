"""Routing: who gets a waiting chat, re-routing unaccepted assignments, live queue positions.

Rule (issue 6): a new escalation goes to the online agent with the matching skill and the
fewest active chats under capacity; otherwise it waits, oldest first. "Matching skill" is
strict only while someone online has that skill; if nobody online knows the category, any
online agent may take it rather than leaving the visitor waiting for a person who is not
there. Ties go to the agent whose last assignment is oldest (round robin). An assignment an
agent does not accept within the policy's timeout goes back to the queue, and that agent is
tried last for it.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, F, Max, Q, QuerySet
from django.utils import timezone

from conversations.enums import ConversationStatus
from conversations.models import Conversation
from conversations.realtime import broadcast_on_commit, conversation_group, status_event

from ..enums import EscalationStatus, Presence
from ..models import AgentProfile, Escalation
from ..realtime import chats_changed_on_commit, queue_changed_on_commit
from ..selectors import BUSY_STATUSES, escalation_policy, queue_positions

logger = logging.getLogger(__name__)


def _online_agents() -> QuerySet[AgentProfile]:
    """Online, active agents annotated with ``load``: the chats they hold (assigned or active)."""
    return AgentProfile.objects.filter(presence=Presence.ONLINE, user__is_active=True).annotate(
        load=Count("user__escalations", filter=Q(user__escalations__status__in=BUSY_STATUSES), distinct=True)
    )


def agent_pick(*, category_id: int | None, skipped_ids: set[int] | frozenset[int] = frozenset()) -> AgentProfile | None:
    """The agent who should get a chat needing ``category_id`` now, or None (it waits).

    Agents in ``skipped_ids`` (they let it time out or transferred it away) are used only
    when nobody else can take it.
    """
    online = list(_online_agents().annotate(last_assigned=Max("user__escalations__assigned_at")).prefetch_related("skills"))
    if not online:
        return None
    pool = [profile for profile in online if profile.load < profile.capacity]
    if category_id is not None:
        skilled_online = [p for p in online if any(skill.pk == category_id for skill in p.skills.all())]
        if skilled_online:
            pool = [p for p in pool if p in skilled_online]
    if not pool:
        return None
    fresh = [p for p in pool if p.user_id not in skipped_ids]
    pool = fresh or pool
    pool.sort(key=lambda p: (p.load, p.last_assigned.timestamp() if p.last_assigned else 0.0, p.user_id))
    return pool[0]


def escalation_route(escalation: Escalation, *, now: datetime | None = None) -> bool:
    """Try to assign one queued escalation; True if an agent got it. Caller broadcasts positions."""
    if escalation.status != EscalationStatus.QUEUED:
        return False
    skipped = set(escalation.skipped_agents.values_list("pk", flat=True))
    profile = agent_pick(category_id=escalation.category_id, skipped_ids=skipped)
    if profile is None:
        return False
    with transaction.atomic():
        # Lock the agent's row so two dispatchers cannot both fill the agent's last free slot.
        locked = AgentProfile.objects.select_for_update().get(pk=profile.pk)
        load = Escalation.objects.filter(agent_id=locked.user_id, status__in=BUSY_STATUSES).count()
        if locked.presence != Presence.ONLINE or load >= locked.capacity:
            return False
        updated = Escalation.objects.filter(pk=escalation.pk, status=EscalationStatus.QUEUED).update(
            status=EscalationStatus.ASSIGNED, agent_id=locked.user_id, assigned_at=now or timezone.now()
        )
        if not updated:  # someone accepted or routed it meanwhile
            return False
        escalation.refresh_from_db()
        chats_changed_on_commit(locked.user_id, assigned_escalation_id=escalation.pk, conversation_id=escalation.conversation_id)
    return True


def queue_dispatch(*, now: datetime | None = None) -> list[int]:
    """Assign waiting chats to free agents, oldest first; then tell every waiting visitor their place.

    Returns the ids of the escalations assigned. Safe to call any time (idempotent when
    nothing changed); called when an escalation is created, an agent comes online or frees
    a slot, and periodically.
    """
    now = now or timezone.now()
    assigned: list[int] = []
    # Every new escalation calls this: with nobody able to take a chat it must cost one
    # query, not a read of the whole queue (which is longest exactly when nobody serves it).
    if not _free_slot_exists():
        return assigned
    with transaction.atomic():
        for escalation in Escalation.objects.filter(status=EscalationStatus.QUEUED).order_by("requested_at", "pk").iterator(chunk_size=50):
            if escalation_route(escalation, now=now):
                assigned.append(escalation.pk)
            elif not _free_slot_exists():
                break
        if assigned:  # only then do waiting visitors' places change
            queue_changed_on_commit()
            queue_positions_broadcast()
    return assigned


def _free_slot_exists() -> bool:
    """Whether any online agent has room for one more chat (one query).

    Skills don't matter here: when this is False no waiting chat can be assigned, so the
    dispatcher stops; when True, ``escalation_route`` applies the skill rules per chat.
    """
    return _online_agents().filter(load__lt=F("capacity")).exists()


def queue_positions_broadcast() -> None:
    """Send every waiting visitor a ``status`` event with their place in the queue (after commit)."""
    positions = queue_positions()
    template = escalation_policy().queue_message
    waiting = Escalation.objects.filter(status__in=(EscalationStatus.QUEUED, EscalationStatus.ASSIGNED)).values_list("conversation_id", "status")
    conversations = {
        c.pk: c for c in Conversation.objects.filter(pk__in=[cid for cid, _s in waiting], status=ConversationStatus.QUEUED)
    }
    for conversation_id, status in waiting:
        conversation = conversations.get(conversation_id)
        if conversation is None:
            continue
        # Shared convention with the visitor socket: position 1 = next; None while an agent is being rung.
        position = None if status == EscalationStatus.ASSIGNED else positions.get(conversation_id, 0) + 1
        event: dict = dict(status_event(conversation, position=position))
        if position is not None:
            # The manager-edited sentence, e.g. "正在为您转接人工客服，您前面还有 N 位" (N = people ahead).
            event["notice"] = template.replace("%(position)s", str(position - 1))
        broadcast_on_commit(conversation_group(conversation_id), event)


def assignment_release(escalation: Escalation, *, skip_agent: bool) -> None:
    """Put an assigned-not-accepted escalation back in the queue (timeout, agent went away)."""
    agent_id = escalation.agent_id
    updated = Escalation.objects.filter(pk=escalation.pk, status=EscalationStatus.ASSIGNED).update(
        status=EscalationStatus.QUEUED, agent=None, assigned_at=None
    )
    if not updated:
        return
    if skip_agent and agent_id:
        escalation.skipped_agents.add(agent_id)
    if agent_id:
        chats_changed_on_commit(agent_id)
    queue_changed_on_commit()


def assignments_expire(*, now: datetime | None = None) -> list[int]:
    """Return assignments older than the policy's timeout to the queue and re-route them.

    Returns the ids of the escalations released. Run by the beat task and on every console tick.
    """
    now = now or timezone.now()
    timeout = timedelta(seconds=escalation_policy().assignment_timeout_seconds)
    released: list[int] = []
    with transaction.atomic():
        for escalation in Escalation.objects.filter(status=EscalationStatus.ASSIGNED, assigned_at__lt=now - timeout).order_by("requested_at"):
            logger.info("assignment of escalation %s to agent %s timed out", escalation.pk, escalation.agent_id)
            assignment_release(escalation, skip_agent=True)
            released.append(escalation.pk)
    if released:
        if not queue_dispatch(now=now):
            with transaction.atomic():
                queue_positions_broadcast()  # back in the queue: tell them their place again
    return released


def escalations_end_for_conversation(conversation_id: object) -> int:
    """End the open escalation of a conversation that closed (visitor left, idle); returns how many.

    Called by the conversation lifecycle when a human-owned conversation closes, so the
    queue and agents' lists never keep a chat nobody is on the other end of.
    """
    now = timezone.now()
    rows = list(Escalation.objects.select_for_update().filter(conversation_id=conversation_id, status__in=(EscalationStatus.QUEUED, *BUSY_STATUSES)))
    for escalation in rows:
        # Still waiting: the visitor gave up (abandoned). Being served: the chat simply ended.
        escalation.status = EscalationStatus.ENDED if escalation.status == EscalationStatus.ACTIVE else EscalationStatus.ABANDONED
        escalation.ended_at = now
        escalation.save(update_fields=["status", "ended_at"])
        if escalation.agent_id:
            chats_changed_on_commit(escalation.agent_id)
    if rows:
        queue_changed_on_commit()
        queue_positions_broadcast()  # everyone behind moves up
    return len(rows)


def queue_abandon_stale(*, now: datetime | None = None) -> list[int]:
    """Close waiting conversations whose visitor has been silent longer than the policy allows.

    Returns the escalation ids marked ``abandoned``. The conversation is closed through
    ``conversations.services.conversation_close`` (system reason) so the visitor's widget,
    if still open, learns it too.
    """
    from conversations.enums import CloseReason
    from conversations.services.lifecycle import conversation_close

    now = now or timezone.now()
    cutoff = now - timedelta(minutes=escalation_policy().queue_abandon_minutes)
    stale = Escalation.objects.filter(
        status__in=(EscalationStatus.QUEUED, EscalationStatus.ASSIGNED), conversation__last_activity_at__lt=cutoff, requested_at__lt=cutoff
    ).values_list("pk", "conversation_id")
    abandoned: list[int] = []
    for escalation_id, conversation_id in list(stale):
        with transaction.atomic():
            if escalations_end_for_conversation(conversation_id):
                abandoned.append(escalation_id)
                conversation_close(conversation=Conversation(pk=conversation_id), reason=CloseReason.SYSTEM)
    return abandoned


def queue_tick(*, now: datetime | None = None) -> None:
    """Periodic housekeeping: drop abandoned waits, expire stale assignments, fill free slots."""
    queue_abandon_stale(now=now)
    if not assignments_expire(now=now):  # a release dispatches already
        queue_dispatch(now=now)

