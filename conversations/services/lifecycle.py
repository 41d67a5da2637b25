"""Closing conversations: by the visitor, or after they have gone quiet."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..enums import CloseReason, ConversationStatus, TemplateKey
from ..models import Conversation
from ..selectors import reply_template_text
from .messages import conversation_lock, conversation_status_set, system_message_append

logger = logging.getLogger(__name__)


def conversation_close(*, conversation: Conversation, reason: str = CloseReason.SYSTEM, notice: str | None = None) -> Conversation:
    """Close one conversation (idempotent), optionally leaving a system notice; broadcasts the
    ``closed`` status after commit."""
    with transaction.atomic():
        conv = conversation_lock(conversation.pk)
        if conv.status == ConversationStatus.CLOSED:
            return conv
        if conv.human_owned:  # the visitor left the queue or the agent: end the handoff too
            from handoff.services.routing import escalations_end_for_conversation

            escalations_end_for_conversation(conv.pk)
        if notice:
            system_message_append(conversation=conv, text=notice)
        conversation_status_set(conversation=conv, status=ConversationStatus.CLOSED, close_reason=reason)
    return conv


def conversations_close_idle(*, now: datetime | None = None, idle_minutes: int | None = None, batch_size: int = 500) -> int:
    """Close bot-handled conversations with no activity for ``idle_minutes`` (setting
    ``CSBOT_IDLE_CLOSE_MINUTES``, 30); returns how many were closed.

    Each conversation closes in its own short transaction and is re-checked under its row
    lock, so a message arriving at the same moment keeps it open. Conversations a person
    owns (queued, with an agent) are the handoff queue's to close.
    """
    now = now or timezone.now()
    idle = idle_minutes if idle_minutes is not None else int(getattr(settings, "CSBOT_IDLE_CLOSE_MINUTES", 30))
    cutoff = now - timedelta(minutes=idle)
    stale = Q(status=ConversationStatus.BOT) & (Q(last_activity_at__lt=cutoff) | Q(last_activity_at__isnull=True, created_at__lt=cutoff))
    ids = list(Conversation.objects.filter(stale).order_by("last_activity_at").values_list("pk", flat=True)[:batch_size])
    notice = reply_template_text(TemplateKey.IDLE_CLOSED)
    closed = 0
    for pk in ids:
        with transaction.atomic():
            conv = conversation_lock(pk)
            if not Conversation.objects.filter(stale, pk=pk).exists():  # it woke up (or was closed) since the list was read
                continue
            # An empty conversation (widget opened, nothing said) closes without a notice.
            if conv.last_seq:
                system_message_append(conversation=conv, text=notice)
            conversation_status_set(conversation=conv, status=ConversationStatus.CLOSED, close_reason=CloseReason.IDLE)
            closed += 1
    if closed:
        logger.info("closed %d idle conversations", closed)
    return closed
