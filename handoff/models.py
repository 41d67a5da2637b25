"""Agents' profiles, escalations (the queue and its history) and canned responses."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from csbot.models import TimeStampedModel

from .enums import EscalationReason, EscalationStatus, Presence

OPEN_ESCALATION_STATUSES = (EscalationStatus.QUEUED, EscalationStatus.ASSIGNED, EscalationStatus.ACTIVE)


class AgentProfile(TimeStampedModel):
    """An agent's routing data: presence, how many chats at once, which KB categories they know."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="agent_profile")
    display_name = models.CharField(_("对访客显示的名字"), max_length=32)
    presence = models.CharField(_("状态"), max_length=16, choices=Presence.choices, default=Presence.OFFLINE, db_index=True)
    capacity = models.PositiveSmallIntegerField(_("最大同时接待数"), default=5)
    skills = models.ManyToManyField("knowledge.Category", verbose_name=_("技能（擅长分类）"), blank=True, related_name="+")
    last_seen_at = models.DateTimeField(_("最近在线"), null=True, blank=True)

    class Meta:
        verbose_name = _("坐席资料")
        verbose_name_plural = _("坐席资料")
        ordering = ["display_name"]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gte=1, capacity__lte=50), name="handoff_agent_capacity_range"),
            models.CheckConstraint(condition=Q(presence__in=Presence.values), name="handoff_agent_presence_valid"),
        ]

    def __str__(self) -> str:
        return self.display_name


class Escalation(models.Model):
    """One request to hand a conversation to a human, with its reason and lifecycle timestamps."""

    conversation = models.ForeignKey("conversations.Conversation", verbose_name=_("会话"), on_delete=models.CASCADE, related_name="escalations")
    reason = models.CharField(_("原因"), max_length=32, choices=EscalationReason.choices, db_index=True)
    detail = models.CharField(_("说明"), max_length=300, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=EscalationStatus.choices, default=EscalationStatus.QUEUED, db_index=True)
    category = models.ForeignKey("knowledge.Category", verbose_name=_("所需技能"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("坐席"), null=True, blank=True, on_delete=models.PROTECT, related_name="escalations")
    requested_at = models.DateTimeField(_("请求时间"), auto_now_add=True, db_index=True)
    assigned_at = models.DateTimeField(_("分配时间"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("接入时间"), null=True, blank=True)
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("转人工记录")
        verbose_name_plural = _("转人工记录")
        ordering = ["requested_at"]
        constraints = [
            # At most one open escalation per conversation: the queue can never hold a chat twice.
            models.UniqueConstraint(
                fields=["conversation"], condition=Q(status__in=OPEN_ESCALATION_STATUSES), name="handoff_escalation_one_open_per_conversation"
            ),
            models.CheckConstraint(condition=Q(reason__in=EscalationReason.values), name="handoff_escalation_reason_valid"),
            models.CheckConstraint(
                condition=Q(status__in=(EscalationStatus.QUEUED, EscalationStatus.ENDED, EscalationStatus.ABANDONED)) | Q(agent__isnull=False),
                name="handoff_escalation_assigned_has_agent",
            ),
            models.CheckConstraint(condition=Q(accepted_at__isnull=True) | Q(accepted_at__gte=models.F("requested_at")), name="handoff_escalation_accept_after_request"),
            models.CheckConstraint(condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("requested_at")), name="handoff_escalation_end_after_request"),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} · {self.get_status_display()}"


class CannedResponse(TimeStampedModel):
    """A reply agents insert by typing ``/shortcut`` in the console."""

    shortcut = models.SlugField(_("快捷指令"), max_length=32, unique=True, help_text=_("在输入框输入 /指令 即可插入"))
    title = models.CharField(_("标题"), max_length=64)
    text = models.TextField(_("内容"))
    category = models.ForeignKey("knowledge.Category", verbose_name=_("分类"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("快捷回复")
        verbose_name_plural = _("快捷回复")
        ordering = ["shortcut"]
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="handoff_canned_text_not_empty")]

    def __str__(self) -> str:
        return f"/{self.shortcut} {self.title}"
