"""One chat session between a visitor and the bot (and later perhaps an agent).

Messages carry a per-conversation sequence number allocated from ``Conversation.last_seq``
under a row lock, so reconnecting clients can ask for "everything after N". The visitor
proves ownership with a random session token of which only the SHA-256 is stored.
"""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from csbot.models import TimeStampedModel

from ..enums import Channel, CloseReason, ConversationStatus


class Conversation(TimeStampedModel):
    """One chat session between a visitor and the bot, and later perhaps an agent."""

    id = models.UUIDField(_("会话 ID"), primary_key=True, default=uuid.uuid4, editable=False)
    visitor = models.ForeignKey("conversations.Visitor", verbose_name=_("访客"), on_delete=models.CASCADE, related_name="conversations")
    site_key = models.ForeignKey(
        "conversations.SiteKey", verbose_name=_("接入站点"), null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices, default=Channel.WEB)
    status = models.CharField(_("状态"), max_length=16, choices=ConversationStatus.choices, default=ConversationStatus.BOT)
    assigned_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("接待坐席"), null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_conversations"
    )
    # SHA-256 hex of the visitor's session token; the token itself is never stored.
    token_hash = models.CharField(_("会话令牌摘要"), max_length=64, null=True, blank=True, editable=False)
    last_seq = models.PositiveIntegerField(_("最新消息序号"), default=0)
    last_activity_at = models.DateTimeField(_("最近活动"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    close_reason = models.CharField(_("结束原因"), max_length=16, choices=CloseReason.choices, blank=True)
    csat_rating = models.PositiveSmallIntegerField(_("满意度"), null=True, blank=True)
    csat_comment = models.TextField(_("满意度评价"), blank=True)
    context = models.JSONField(_("对话上下文"), default=dict, blank=True, help_text=_("最近几轮与进行中的流程状态"))

    class Meta:
        verbose_name = _("会话")
        verbose_name_plural = pgettext_lazy("plural", "会话")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(csat_rating__isnull=True) | Q(csat_rating__gte=1, csat_rating__lte=5), name="conversations_csat_range"),
            models.CheckConstraint(condition=Q(status__in=ConversationStatus.values), name="conversations_status_valid"),
            models.CheckConstraint(
                condition=~Q(status=ConversationStatus.CLOSED) | Q(closed_at__isnull=False), name="conversations_closed_has_closed_at"
            ),
            models.CheckConstraint(
                condition=~Q(status=ConversationStatus.WITH_AGENT) | Q(assigned_agent__isnull=False), name="conversations_with_agent_has_agent"
            ),
            # Equality lookups only: a constraint, not ``unique=True``, which adds a LIKE index.
            models.UniqueConstraint(fields=["token_hash"], name="conversations_token_hash_unique"),
        ]
        # Every bot turn updates the row (last_seq, last_activity_at, updated_at, context). None
        # of those columns is indexed, so PostgreSQL updates it in place on its page (a HOT
        # update: no new entry in any index, dead versions pruned without VACUUM); the table
        # leaves room on each page for that (fillfactor, migration 0006). An index on a column
        # the turn writes would make every update non-HOT again: each would add an entry to
        # every index and leave a dead row version for VACUUM (bench/results/chat.md, session 9).
        # The idle-close task finds open chats by ``status`` and filters their activity time.
        # No LIKE indexes (``db_index`` on a CharField adds one).
        indexes = [
            models.Index(fields=["status"], name="conv_status_idx"),
            models.Index(fields=["channel"], name="conv_channel_idx"),
        ]

    def __str__(self) -> str:
        return f"{str(self.id)[:8]} · {self.get_status_display()}"

    @property
    def human_owned(self) -> bool:
        """A person (queue or agent) owns the conversation, so the bot must stay quiet."""
        return self.status in (ConversationStatus.QUEUED, ConversationStatus.WITH_AGENT)
