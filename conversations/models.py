"""Visitors, their conversations (= sessions), the messages in them, and feedback on bot answers.

Messages carry a per-conversation sequence number allocated from ``Conversation.last_seq``
under a row lock, so reconnecting clients can ask for "everything after N".
"""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from csbot.models import TimeStampedModel

from .enums import Channel, CloseReason, ConversationStatus, MessageKind, Sender


class Visitor(TimeStampedModel):
    """An end user of the widget or a channel; ``external_id`` is the host site's user id when known."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    external_id = models.CharField(_("外部用户 ID"), max_length=128, null=True, blank=True)
    display_name = models.CharField(_("昵称"), max_length=64, blank=True)
    metadata = models.JSONField(_("附加信息"), default=dict, blank=True)
    last_seen_at = models.DateTimeField(_("最近访问"), null=True, blank=True)

    class Meta:
        verbose_name = _("访客")
        verbose_name_plural = _("访客")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["external_id"], condition=Q(external_id__isnull=False), name="conversations_visitor_unique_external_id"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.external_id or f"访客 {str(self.id)[:8]}"


class Conversation(TimeStampedModel):
    """One chat session between a visitor and the bot, and later perhaps an agent."""

    id = models.UUIDField(_("会话 ID"), primary_key=True, default=uuid.uuid4, editable=False)
    visitor = models.ForeignKey(Visitor, verbose_name=_("访客"), on_delete=models.CASCADE, related_name="conversations")
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices, default=Channel.WEB, db_index=True)
    status = models.CharField(_("状态"), max_length=16, choices=ConversationStatus.choices, default=ConversationStatus.BOT, db_index=True)
    assigned_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("接待坐席"), null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_conversations"
    )
    last_seq = models.PositiveIntegerField(_("最新消息序号"), default=0)
    last_activity_at = models.DateTimeField(_("最近活动"), null=True, blank=True, db_index=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    close_reason = models.CharField(_("结束原因"), max_length=16, choices=CloseReason.choices, blank=True)
    csat_rating = models.PositiveSmallIntegerField(_("满意度"), null=True, blank=True)
    csat_comment = models.TextField(_("满意度评价"), blank=True)
    context = models.JSONField(_("对话上下文"), default=dict, blank=True, help_text=_("最近几轮与进行中的流程状态"))

    class Meta:
        verbose_name = _("会话")
        verbose_name_plural = _("会话")
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
        ]
        indexes = [models.Index(fields=["status", "last_activity_at"], name="conv_status_activity_idx")]

    def __str__(self) -> str:
        return f"{str(self.id)[:8]} · {self.get_status_display()}"


class Message(models.Model):
    """One message in a conversation, from the visitor, the bot, an agent or the system.

    Bot messages record what the pipeline decided (intent, confidence, matched entry,
    candidates, latency) so analytics and the agent transcript can show why.
    """

    conversation = models.ForeignKey(Conversation, verbose_name=_("会话"), on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField(_("序号"))
    sender = models.CharField(_("发送方"), max_length=16, choices=Sender.choices)
    kind = models.CharField(_("类型"), max_length=16, choices=MessageKind.choices, default=MessageKind.TEXT)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("坐席"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    client_msg_id = models.CharField(_("客户端消息 ID"), max_length=64, null=True, blank=True)
    text = models.TextField(_("内容"))
    intent = models.CharField(_("意图"), max_length=64, blank=True, db_index=True)
    confidence = models.FloatField(_("置信度"), null=True, blank=True)
    matched_entry = models.ForeignKey(
        "knowledge.Entry", verbose_name=_("命中条目"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    candidates = models.JSONField(_("候选答案"), default=list, blank=True)
    payload = models.JSONField(_("附加数据"), default=dict, blank=True, help_text=_("推荐问题、实体、情绪等"))
    latency_ms = models.PositiveIntegerField(_("耗时（毫秒）"), null=True, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("消息")
        verbose_name_plural = _("消息")
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

    def __str__(self) -> str:
        return f"#{self.seq} {self.get_sender_display()}: {self.text[:30]}"


class Feedback(TimeStampedModel):
    """A visitor's verdict on one bot answer: helpful yes/no and/or a 1–5 rating with a comment."""

    message = models.OneToOneField(Message, verbose_name=_("消息"), on_delete=models.CASCADE, related_name="feedback")
    helpful = models.BooleanField(_("有帮助"), null=True, blank=True)
    rating = models.PositiveSmallIntegerField(_("评分"), null=True, blank=True)
    comment = models.TextField(_("评价"), blank=True)

    class Meta:
        verbose_name = _("答案反馈")
        verbose_name_plural = _("答案反馈")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5), name="conversations_feedback_rating_range"),
            models.CheckConstraint(condition=Q(helpful__isnull=False) | Q(rating__isnull=False), name="conversations_feedback_has_verdict"),
        ]

    def __str__(self) -> str:
        verdict = {True: "👍", False: "👎", None: ""}[self.helpful]
        return f"{verdict}{self.rating or ''} · {self.message_id}"
