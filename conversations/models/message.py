"""One message in a conversation, from the visitor, the bot, an agent or the system."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..enums import MessageKind, Sender

# Bot message kinds a visitor may rate helpful / not helpful.
RATEABLE_KINDS = (MessageKind.ANSWER, MessageKind.SUGGEST, MessageKind.SMALLTALK, MessageKind.FALLBACK)


class Message(models.Model):
    """One message in a conversation, from the visitor, the bot, an agent or the system.

    Bot messages record what the pipeline decided (intent, confidence, matched entry,
    candidates, latency) and which visitor message they answer (``reply_to``), so analytics,
    the agent transcript and idempotent retries can find them.
    """

    # No index of its own: the (conversation, seq) unique constraint below leads with it.
    conversation = models.ForeignKey(
        "conversations.Conversation", verbose_name=_("会话"), on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    seq = models.PositiveIntegerField(_("序号"))
    sender = models.CharField(_("发送方"), max_length=16, choices=Sender.choices)
    kind = models.CharField(_("类型"), max_length=16, choices=MessageKind.choices, default=MessageKind.TEXT)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("坐席"), null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    client_msg_id = models.CharField(_("客户端消息 ID"), max_length=64, null=True, blank=True)
    reply_to = models.ForeignKey(
        "self", verbose_name=_("回复的消息"), null=True, blank=True, on_delete=models.SET_NULL, related_name="replies", db_index=False
    )
    text = models.TextField(_("内容"))
    intent = models.CharField(_("意图"), max_length=64, blank=True)
    confidence = models.FloatField(_("置信度"), null=True, blank=True)
    matched_entry = models.ForeignKey(
        "knowledge.Entry", verbose_name=_("命中条目"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    candidates = models.JSONField(_("候选答案"), default=list, blank=True)
    payload = models.JSONField(_("附加数据"), default=dict, blank=True, help_text=_("推荐问题、实体、情绪等"))
    latency_ms = models.PositiveIntegerField(_("耗时（毫秒）"), null=True, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("消息")
        verbose_name_plural = pgettext_lazy("plural", "消息")
        ordering = ["conversation_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="conversations_message_unique_seq"),
            models.UniqueConstraint(
                fields=["conversation", "client_msg_id"], condition=Q(client_msg_id__isnull=False), name="conversations_message_unique_client_id"
            ),
            models.CheckConstraint(condition=Q(seq__gte=1), name="conversations_message_seq_positive"),
            models.CheckConstraint(condition=Q(confidence__isnull=True) | Q(confidence__gte=0, confidence__lte=1), name="conversations_message_confidence_range"),
            models.CheckConstraint(condition=Q(sender__in=Sender.values), name="conversations_message_sender_valid"),
            models.CheckConstraint(condition=~Q(sender=Sender.AGENT) | Q(agent__isnull=False), name="conversations_message_agent_has_user"),
        ]
        # Every chat turn inserts two rows, and each index costs PostgreSQL work per row: the
        # optional links are indexed only where set (most rows have no agent; visitor rows no
        # reply_to or entry), and ``intent`` without the LIKE index ``db_index`` would add.
        indexes = [
            models.Index(fields=["intent"], name="msg_intent_idx"),
            models.Index(fields=["agent"], name="msg_agent_idx", condition=Q(agent__isnull=False)),
            models.Index(fields=["reply_to"], name="msg_reply_to_idx", condition=Q(reply_to__isnull=False)),
            models.Index(fields=["matched_entry"], name="msg_matched_entry_idx", condition=Q(matched_entry__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.get_sender_display()}: {self.text[:30]}"

    @property
    def rateable(self) -> bool:
        """Only the bot's own replies can be rated helpful / not helpful."""
        return self.sender == Sender.BOT and self.kind in RATEABLE_KINDS
