"""What a visitor does around a handoff: leave a message when nobody can take the chat, rate the service."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations.enums import ConversationStatus
from conversations.models import Conversation
from csbot.errors import ApplicationError

from ..enums import EscalationStatus, LeftMessageStatus
from ..models import Escalation, LeftMessage
from ..realtime import queue_changed_on_commit

MAX_LEFT_MESSAGE = 2000
MAX_CSAT_COMMENT = 500


def left_message_create(*, conversation: Conversation | None, contact: object, text: object, name: object = "") -> LeftMessage:
    """Store a visitor's message for agents to follow up on (shown in admin and the console).

    Raises ``contact_required`` / ``empty_message`` / ``message_too_long`` (400).
    """
    contact = contact.strip() if isinstance(contact, str) else ""
    text = text.strip() if isinstance(text, str) else ""
    name = name.strip()[:64] if isinstance(name, str) else ""
    if not contact:
        raise ApplicationError("contact_required", _("请留下手机号、邮箱或其他联系方式"), status=400)
    if len(contact) > 128:
        raise ApplicationError("contact_too_long", _("联系方式太长了"), status=400)
    if not text:
        raise ApplicationError("empty_message", _("留言内容不能为空"), status=400)
    if len(text) > MAX_LEFT_MESSAGE:
        raise ApplicationError("message_too_long", _("留言不能超过 %(max)s 个字") % {"max": MAX_LEFT_MESSAGE}, status=400)
    with transaction.atomic():
        left = LeftMessage.objects.create(conversation=conversation, name=name, contact=contact, text=text)
        queue_changed_on_commit()
    return left


def left_message_handle(*, left_message: LeftMessage, user) -> LeftMessage:  # noqa: ANN001 - a staff user
    """Mark a left message as followed up by ``user``."""
    left_message.status = LeftMessageStatus.HANDLED
    left_message.handled_by = user
    left_message.handled_at = timezone.now()
    left_message.save(update_fields=["status", "handled_by", "handled_at", "updated_at"])
    return left_message


def csat_submit(*, conversation: Conversation, rating: object, comment: object = "") -> Conversation:
    """The visitor rates the human service (1–5 stars + optional comment), once, after it ended.

    Raises ``invalid_rating`` (400), ``csat_not_available`` (409) before an agent served and
    closed/returned the chat, ``csat_already_submitted`` (409) on a second rating.
    """
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ApplicationError("invalid_rating", _("评分应为 1–5 的整数"), status=400)
    comment = comment.strip() if isinstance(comment, str) else ""
    if len(comment) > MAX_CSAT_COMMENT:
        raise ApplicationError("comment_too_long", _("评价不能超过 %(max)s 个字") % {"max": MAX_CSAT_COMMENT}, status=400)
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        served = Escalation.objects.filter(conversation=conversation, status=EscalationStatus.ENDED, accepted_at__isnull=False).exists()
        if not served or conversation.status == ConversationStatus.WITH_AGENT:
            raise ApplicationError("csat_not_available", _("人工服务结束后才能评价"), status=409)
        if conversation.csat_rating is not None:
            raise ApplicationError("csat_already_submitted", _("您已经评价过了，谢谢！"), status=409)
        conversation.csat_rating = rating
        conversation.csat_comment = comment
        conversation.save(update_fields=["csat_rating", "csat_comment", "updated_at"])
    return conversation
