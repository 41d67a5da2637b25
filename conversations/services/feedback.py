"""Visitors rating the bot's answers."""
from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from csbot.errors import ApplicationError

from ..models import Conversation, Feedback, Message

COMMENT_MAX_CHARS = 1000


@transaction.atomic
def feedback_submit(
    *, conversation: Conversation, message_id: int | str, helpful: bool | None = None, rating: int | None = None, comment: str = ""
) -> Feedback:
    """Record (or change) the visitor's verdict on one bot reply of *their* conversation.

    A second submission updates the first (a visitor may change 👍 to 👎). Raises
    ``message_not_found`` (404, also for another conversation's message), ``not_rateable``
    (409, not a bot answer), ``invalid_feedback`` (400: no verdict, rating outside 1–5,
    comment too long).
    """
    try:
        message_pk = int(message_id)
    except (TypeError, ValueError):
        raise ApplicationError("message_not_found", _("消息不存在"), status=404) from None
    message = Message.objects.filter(pk=message_pk, conversation_id=conversation.pk).first()
    if message is None:
        raise ApplicationError("message_not_found", _("消息不存在"), status=404)
    if not message.rateable:
        raise ApplicationError("not_rateable", _("只能评价机器人的回答"), status=409)
    if helpful is None and rating is None:
        raise ApplicationError("invalid_feedback", _("请选择“有帮助/没帮助”或打分"))
    if helpful is not None and not isinstance(helpful, bool):
        raise ApplicationError("invalid_feedback", _("helpful 必须是 true 或 false"))
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5):
        raise ApplicationError("invalid_feedback", _("评分必须是 1 到 5 的整数"))
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX_CHARS:
        raise ApplicationError("invalid_feedback", _("评价最多 %(n)d 个字") % {"n": COMMENT_MAX_CHARS})
    feedback, created = Feedback.objects.select_for_update().get_or_create(
        message=message, defaults={"helpful": helpful, "rating": rating, "comment": comment}
    )
    if not created:
        changed = []
        for name, value in (("helpful", helpful), ("rating", rating)):
            if value is not None and getattr(feedback, name) != value:
                setattr(feedback, name, value)
                changed.append(name)
        if comment and comment != feedback.comment:
            feedback.comment = comment
            changed.append("comment")
        if changed:
            feedback.save(update_fields=[*changed, "updated_at"])
    return feedback
