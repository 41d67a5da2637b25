"""Reads of the handoff app: the policy, business hours, staff roles, the queue, an agent's chats.

Every read an agent makes goes through ``conversation_for_staff``, the one place that decides
who may see or act on which conversation (managers: everything; agents: the waiting queue
and their own chats).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations.enums import MessageKind, Sender
from conversations.models import Conversation, Message
from csbot.errors import ApplicationError
from csbot.roles import AGENT_GROUP, MANAGER_GROUP

from .enums import Availability, EscalationStatus, Presence
from .models import OPEN_ESCALATION_STATUSES, AgentProfile, BusinessHours, Escalation, EscalationPolicy

if TYPE_CHECKING:  # pragma: no cover
    from .rules import EscalationRules

Role = Literal["manager", "agent"]
# Escalations that occupy an agent (count against capacity).
BUSY_STATUSES = (EscalationStatus.ASSIGNED, EscalationStatus.ACTIVE)


def escalation_policy() -> EscalationPolicy:
    """The single policy row (created with defaults if a migration-less test DB lacks it)."""
    policy, _created = EscalationPolicy.objects.get_or_create(pk=EscalationPolicy.SINGLETON_PK)
    return policy


# ---------------------------------------------------------------- business hours & availability


def business_hours_open(now: datetime | None = None, *, policy: EscalationPolicy | None = None) -> bool:
    """Whether ``now`` (local time zone) is inside an opening window; always open when hours are off."""
    policy = policy or escalation_policy()
    if not policy.use_business_hours:
        return True
    local = timezone.localtime(now or timezone.now())
    return BusinessHours.objects.filter(weekday=local.weekday(), opens_at__lte=local.time(), closes_at__gt=local.time()).exists()


def business_hours_text() -> str:
    """``周一 09:00–18:00、周二 …`` for the out-of-hours notice."""
    return "、".join(str(row) for row in BusinessHours.objects.all()) or _("未设置")


def agents_online() -> QuerySet[AgentProfile]:
    return AgentProfile.objects.filter(presence=Presence.ONLINE, user__is_active=True)


def handoff_availability(now: datetime | None = None) -> Availability:
    """Can a new escalation reach a person? Out of hours or nobody online → the visitor may leave a message."""
    if not business_hours_open(now):
        return Availability.OUT_OF_HOURS
    if not agents_online().exists():
        return Availability.NO_AGENTS
    return Availability.OPEN


def unavailable_text(availability: Availability) -> str:
    policy = escalation_policy()
    if availability == Availability.OUT_OF_HOURS:
        text = policy.out_of_hours_message
        return text.replace("%(hours)s", business_hours_text())
    return policy.no_agent_message


# ---------------------------------------------------------------- roles


def staff_role(user: AbstractBaseUser | None) -> Role | None:
    """``manager`` (superuser or 客服主管), ``agent`` (客服坐席 or has an agent profile), else None."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active or not user.is_staff:
        return None
    if user.is_superuser:
        return "manager"
    names = set(user.groups.values_list("name", flat=True))
    if MANAGER_GROUP in names:
        return "manager"
    if AGENT_GROUP in names or AgentProfile.objects.filter(user=user).exists():
        return "agent"
    return None


def staff_role_required(user: AbstractBaseUser | None) -> Role:
    role = staff_role(user)
    if role is None:
        raise ApplicationError("not_an_agent", _("只有客服坐席或主管可以使用坐席工作台"), status=403)
    return role


def display_name(user: AbstractBaseUser) -> str:
    profile = AgentProfile.objects.filter(user=user).values_list("display_name", flat=True).first()
    return profile or user.get_full_name() or user.get_username()


# ---------------------------------------------------------------- queue


def agent_load(user_id: int) -> int:
    return Escalation.objects.filter(agent_id=user_id, status__in=BUSY_STATUSES).count()


def queue_waiting() -> QuerySet[Escalation]:
    """Escalations nobody has accepted yet (queued or assigned-not-accepted), oldest first."""
    return (
        Escalation.objects.filter(status__in=(EscalationStatus.QUEUED, EscalationStatus.ASSIGNED))
        .select_related("conversation", "category", "agent")
        .order_by("requested_at", "pk")
    )


def queue_positions() -> dict[uuid.UUID, int]:
    """Conversation id → how many queued visitors are ahead of it (0 = next)."""
    ids = Escalation.objects.filter(status=EscalationStatus.QUEUED).order_by("requested_at", "pk").values_list("conversation_id", flat=True)
    return {conversation_id: index for index, conversation_id in enumerate(ids)}


@dataclass(frozen=True)
class QueueItem:
    escalation_id: int
    conversation_id: uuid.UUID
    status: str
    reason: str
    reason_label: str
    detail: str
    category: str
    visitor: str
    requested_at: datetime
    wait_seconds: int
    assigned_to: str | None
    assigned_to_id: int | None
    preview: str


def queue_items(*, user: AbstractBaseUser, now: datetime | None = None) -> list[QueueItem]:
    """The waiting queue as an agent sees it: every queued chat, plus chats assigned to them.

    Managers also see chats assigned to (but not yet accepted by) other agents.
    """
    role = staff_role_required(user)
    now = now or timezone.now()
    rows = queue_waiting().select_related("conversation__visitor")
    if role != "manager":
        rows = rows.filter(Q(status=EscalationStatus.QUEUED) | Q(agent=user))
    rows = list(rows[:200])
    previews = _last_visitor_texts([row.conversation_id for row in rows])
    names = _display_names({row.agent_id for row in rows if row.agent_id})
    return [
        QueueItem(
            escalation_id=row.pk,
            conversation_id=row.conversation_id,
            status=row.status,
            reason=row.reason,
            reason_label=str(row.get_reason_display()),
            detail=row.detail,
            category=row.category.name if row.category else "",
            visitor=str(row.conversation.visitor),
            requested_at=row.requested_at,
            wait_seconds=max(0, int((now - row.requested_at).total_seconds())),
            assigned_to=names.get(row.agent_id) if row.agent_id else None,
            assigned_to_id=row.agent_id,
            preview=previews.get(row.conversation_id, ""),
        )
        for row in rows
    ]


def _last_visitor_texts(conversation_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not conversation_ids:
        return {}
    result: dict[uuid.UUID, str] = {}
    rows = (
        Message.objects.filter(conversation_id__in=conversation_ids, sender=Sender.VISITOR)
        .order_by("conversation_id", "-seq")
        .values_list("conversation_id", "text")
    )
    for conversation_id, text in rows:
        result.setdefault(conversation_id, text[:80])
    return result


def _display_names(user_ids: set[int]) -> dict[int, str]:
    from django.contrib.auth import get_user_model

    names = dict(AgentProfile.objects.filter(user_id__in=user_ids).values_list("user_id", "display_name"))
    for user in get_user_model().objects.filter(pk__in=user_ids - set(names)):
        names[user.pk] = user.get_full_name() or user.get_username()
    return names


# ---------------------------------------------------------------- an agent's conversations


@dataclass(frozen=True)
class ChatItem:
    escalation_id: int
    conversation_id: uuid.UUID
    status: str
    visitor: str
    agent: str
    agent_id: int | None
    reason_label: str
    accepted_at: datetime | None
    unread: int
    preview: str


def agent_chats(*, user: AbstractBaseUser, everyone: bool = False) -> list[ChatItem]:
    """The agent's active chats with unread counts; ``everyone`` (managers only) lists all live chats."""
    role = staff_role_required(user)
    rows = Escalation.objects.filter(status=EscalationStatus.ACTIVE).select_related("conversation__visitor")
    if not (everyone and role == "manager"):
        rows = rows.filter(agent=user)
    rows = list(
        rows.annotate(
            unread_count=Count(
                "conversation__messages",
                filter=Q(conversation__messages__sender=Sender.VISITOR, conversation__messages__seq__gt=F("agent_read_seq")),
            )
        ).order_by("accepted_at", "pk")[:200]
    )
    previews = _last_visitor_texts([row.conversation_id for row in rows])
    names = _display_names({row.agent_id for row in rows if row.agent_id})
    return [
        ChatItem(
            escalation_id=row.pk,
            conversation_id=row.conversation_id,
            status=row.status,
            visitor=str(row.conversation.visitor),
            agent=names.get(row.agent_id, ""),
            agent_id=row.agent_id,
            reason_label=str(row.get_reason_display()),
            accepted_at=row.accepted_at,
            unread=row.unread_count,
            preview=previews.get(row.conversation_id, ""),
        )
        for row in rows
    ]


# ---------------------------------------------------------------- access to one conversation


def _parse_uuid(value: uuid.UUID | str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, AttributeError, TypeError):
        raise ApplicationError("conversation_not_found", _("会话不存在"), status=404) from None


def open_escalation(conversation_id: uuid.UUID | str) -> Escalation | None:
    return Escalation.objects.filter(conversation_id=_parse_uuid(conversation_id), status__in=OPEN_ESCALATION_STATUSES).first()


def conversation_for_staff(*, user: AbstractBaseUser, conversation_id: uuid.UUID | str) -> Conversation:
    """The conversation if ``user`` may read it; ``conversation_not_found`` (404) otherwise.

    Managers read any conversation. An agent reads a conversation that is waiting in the
    queue, assigned to them, or that they are serving; never another agent's chat. The error
    is the same 404 for "missing" and "not yours", so ids cannot be probed.
    """
    role = staff_role_required(user)
    pk = _parse_uuid(conversation_id)
    conversation = Conversation.objects.select_related("visitor", "assigned_agent").filter(pk=pk).first()
    if conversation is None:
        raise ApplicationError("conversation_not_found", _("会话不存在"), status=404)
    if role == "manager":
        return conversation
    escalation = open_escalation(pk)
    if escalation is not None and (escalation.status == EscalationStatus.QUEUED or escalation.agent_id == user.pk):
        return conversation
    raise ApplicationError("conversation_not_found", _("会话不存在"), status=404)


def transcript(conversation: Conversation, *, since_seq: int = 0) -> QuerySet[Message]:
    """Every message of a conversation for staff: bot turns with intent and confidence, and notes."""
    return Message.objects.filter(conversation=conversation, seq__gt=since_seq).select_related("agent", "matched_entry").order_by("seq")


def staff_message_data(message: Message) -> dict:
    """A message as the console shows it (unlike the visitor's view, with intent and confidence)."""
    payload = message.payload or {}
    return {
        "id": message.pk,
        "conversation_id": str(message.conversation_id),
        "seq": message.seq,
        "sender": message.sender,
        "kind": message.kind,
        "text": message.text,
        "created_at": message.created_at.isoformat(),
        "intent": message.intent,
        "confidence": message.confidence,
        "entry": {"id": message.matched_entry_id, "question": message.matched_entry.question} if message.matched_entry_id and message.matched_entry else None,
        "agent_name": payload.get("agent_name") or (message.agent.get_username() if message.agent_id and message.agent else ""),
        "note": message.kind == MessageKind.NOTE,
    }


def latest_visitor_text(conversation: Conversation) -> str:
    return (
        Message.objects.filter(conversation=conversation, sender=Sender.VISITOR).order_by("-seq").values_list("text", flat=True).first() or ""
    )


def transfer_targets(*, exclude_user_id: int | None = None) -> list[dict]:
    """Agents a chat can be handed to (online or away), with their current load and capacity."""
    rows = (
        AgentProfile.objects.filter(user__is_active=True, user__is_staff=True)
        .exclude(presence=Presence.OFFLINE)
        .exclude(user_id=exclude_user_id)
        .annotate(load=Count("user__escalations", filter=Q(user__escalations__status__in=BUSY_STATUSES)))
        .order_by("display_name")
    )
    return [
        {"user_id": p.user_id, "display_name": p.display_name, "presence": p.presence, "load": p.load, "capacity": p.capacity}
        for p in rows
    ]


def escalation_rules() -> "EscalationRules":
    """The admin-configured escalation policy as plain data for the (pure) dialog policy."""
    from .rules import EscalationRules

    policy = escalation_policy()
    return EscalationRules(
        handoff_intents=frozenset(policy.handoff_intent_list),
        keywords=tuple(policy.keyword_list),
        negative_threshold=policy.negative_threshold,
        angry_threshold=policy.angry_threshold,
        fallbacks_before_escalation=policy.fallbacks_before_escalation,
        unhelpful_before_escalation=policy.unhelpful_before_escalation,
    )
