"""Escalations: hand a conversation from the bot to the human queue."""
from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from csbot.errors import ApplicationError

from ..enums import Availability, EscalationReason, EscalationStatus
from ..models import OPEN_ESCALATION_STATUSES, Escalation

if TYPE_CHECKING:  # pragma: no cover
    from conversations.models import Conversation, Message


def escalation_queue_position(escalation: Escalation) -> int:
    """1-based place of a queued escalation among all queued ones, oldest first."""
    return Escalation.objects.filter(status=EscalationStatus.QUEUED, requested_at__lte=escalation.requested_at, pk__lte=escalation.pk).count()


@transaction.atomic
def escalation_create(
    *, conversation: "Conversation", reason: str, detail: str = "", trigger_message: "Message | None" = None, category_slug: str = ""
) -> Escalation:
    """Queue ``conversation`` for a person and tell everyone, after commit.

    Creates the ``Escalation`` (reason from ``EscalationReason``), sets the conversation to
    ``queued``, stores the system notice (template ``handoff_queued``, in reply to
    ``trigger_message``), broadcasts the ``status`` with the queue position to the
    conversation and a ``queue.changed`` event to the agents' queue group, then (after
    commit) routes it to a free agent (``routing.queue_dispatch``). ``category_slug`` (the
    matched entry's category) is the skill routing prefers. Out of business hours or with
    business hours nothing is queued: the request is recorded as ``missed`` and the visitor
    is offered the leave-a-message form (``intake.escalation_missed``); with nobody online
    it is queued and the notice offers the form too. Idempotent: a
    conversation with an open escalation gets that one back and nothing new is stored.
    Raises ``invalid_reason`` (400) or ``session_closed`` (409).
    """
    from conversations.enums import ConversationStatus, TemplateKey
    from conversations.models import Conversation
    from conversations.realtime import AGENT_QUEUE_GROUP, broadcast_on_commit
    from conversations.selectors import reply_template_text
    from conversations.services.messages import conversation_status_set, system_message_append

    if reason not in EscalationReason.values:
        raise ApplicationError("invalid_reason", _("未知的转人工原因：%(reason)s") % {"reason": reason})
    conv = Conversation.objects.select_for_update().get(pk=conversation.pk)
    existing = Escalation.objects.filter(conversation=conv, status__in=OPEN_ESCALATION_STATUSES).first()
    if existing is not None:
        return existing
    if conv.status == ConversationStatus.CLOSED:
        raise ApplicationError("session_closed", _("会话已结束，请开始新的会话"), status=409)
    from ..selectors import handoff_availability
    from .intake import category_for_slug, escalation_missed, queued_notice_extras
    from .routing import queue_dispatch

    category_id = category_for_slug(category_slug)
    availability = handoff_availability()
    if availability == Availability.OUT_OF_HOURS:
        return escalation_missed(
            conversation=conv, reason=reason, availability=availability, detail=detail, trigger_message=trigger_message, category_id=category_id
        )
    escalation = Escalation.objects.create(conversation=conv, reason=reason, detail=(detail or "")[:300], category_id=category_id)
    position = escalation_queue_position(escalation)
    system_message_append(
        conversation=conv,
        text=reply_template_text(TemplateKey.HANDOFF_QUEUED),
        reply_to=trigger_message,
        payload={"escalation_id": escalation.pk, "reason": reason, "position": position, **queued_notice_extras(availability)},
    )
    conversation_status_set(conversation=conv, status=ConversationStatus.QUEUED, position=position)
    broadcast_on_commit(
        AGENT_QUEUE_GROUP, {"type": "queue.changed", "conversation_id": str(conv.pk), "escalation_id": escalation.pk, "reason": reason}
    )
    transaction.on_commit(lambda: queue_dispatch())
    return escalation
