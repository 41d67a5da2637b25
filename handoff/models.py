"""Agents' profiles, escalations (the queue and its history) and canned responses."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from csbot.models import TimeStampedModel

from .enums import EscalationReason, EscalationStatus, LeftMessageStatus, Presence

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
        verbose_name_plural = pgettext_lazy("plural", "坐席资料")
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
    # Agents who let this assignment time out or transferred it away: routing tries others first.
    skipped_agents = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("已跳过的坐席"), blank=True, related_name="+")
    # The last message sequence number the owning agent has seen: unread = visitor messages after it.
    agent_read_seq = models.PositiveIntegerField(_("坐席已读序号"), default=0)

    class Meta:
        verbose_name = _("转人工记录")
        verbose_name_plural = pgettext_lazy("plural", "转人工记录")
        ordering = ["requested_at"]
        constraints = [
            # At most one open escalation per conversation: the queue can never hold a chat twice.
            models.UniqueConstraint(
                fields=["conversation"], condition=Q(status__in=OPEN_ESCALATION_STATUSES), name="handoff_escalation_one_open_per_conversation"
            ),
            models.CheckConstraint(condition=Q(reason__in=EscalationReason.values), name="handoff_escalation_reason_valid"),
            models.CheckConstraint(
                condition=Q(status__in=(EscalationStatus.QUEUED, EscalationStatus.ENDED, EscalationStatus.ABANDONED, EscalationStatus.MISSED)) | Q(agent__isnull=False),
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
        verbose_name_plural = pgettext_lazy("plural", "快捷回复")
        ordering = ["shortcut"]
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="handoff_canned_text_not_empty")]

    def __str__(self) -> str:
        return f"/{self.shortcut} {self.title}"


class EscalationPolicy(TimeStampedModel):
    """When the bot hands a conversation to a person, and how the queue behaves; one row (pk=1).

    Managers edit it in admin; ``handoff.selectors.escalation_policy()`` reads it (cached
    briefly) and the dialog policy receives the values as plain data.
    """

    SINGLETON_PK = 1

    keywords = models.TextField(
        _("触发关键词"), blank=True, default="人工\n真人\n投诉\n12315\n消协\n律师", help_text=_("每行一个；访客消息包含任一关键词即转人工")
    )
    handoff_intents = models.CharField(
        _("转人工意图"), max_length=300, blank=True, default="human_request,complaint", help_text=_("逗号分隔的意图名，识别到即转人工")
    )
    negative_threshold = models.FloatField(_("负面情绪阈值"), default=0.9, help_text=_("负面概率达到该值即转人工（0–1，填 1 关闭）"))
    angry_threshold = models.FloatField(_("愤怒阈值"), default=0.8, help_text=_("愤怒分数达到该值即转人工（0–1，填 1 关闭）"))
    fallbacks_before_escalation = models.PositiveSmallIntegerField(_("连续兜底次数"), default=3, help_text=_("连续第 N 次答不上来时转人工（0 关闭）"))
    unhelpful_before_escalation = models.PositiveSmallIntegerField(_("连续差评次数"), default=2, help_text=_("连续 N 个回答被评为“没帮助”时转人工（0 关闭）"))
    assignment_timeout_seconds = models.PositiveSmallIntegerField(_("分配超时（秒）"), default=60, help_text=_("分配给坐席后未接入，超过该时间重新分配"))
    queue_abandon_minutes = models.PositiveSmallIntegerField(
        _("排队放弃时间（分钟）"), default=30, help_text=_("排队中的访客超过该时间没有任何消息，视为已离开并结束会话")
    )
    use_business_hours = models.BooleanField(_("启用工作时间"), default=False, help_text=_("启用后，非工作时间不排队，访客可留言"))
    out_of_hours_message = models.TextField(
        _("非工作时间提示"), default="现在是非工作时间（人工客服工作时间：%(hours)s）。您可以留下联系方式和问题，我们上班后会尽快联系您。"
    )
    no_agent_message = models.TextField(_("无人在线提示"), default="当前暂无人工客服在线。您可以继续等待，客服上线后会第一时间接待您；也可以留下联系方式和问题，我们会尽快联系您。")
    queue_message = models.CharField(
        _("排队提示"), max_length=200, default="正在为您转接人工客服，您前面还有 %(position)s 位", help_text=_("%(position)s 为前面的排队人数")
    )

    class Meta:
        verbose_name = _("转人工规则")
        verbose_name_plural = pgettext_lazy("plural", "转人工规则")
        constraints = [
            models.CheckConstraint(condition=Q(negative_threshold__gte=0, negative_threshold__lte=1), name="handoff_policy_negative_range"),
            models.CheckConstraint(condition=Q(angry_threshold__gte=0, angry_threshold__lte=1), name="handoff_policy_angry_range"),
            models.CheckConstraint(condition=Q(assignment_timeout_seconds__gte=10), name="handoff_policy_timeout_min"),
            models.CheckConstraint(condition=Q(queue_abandon_minutes__gte=1), name="handoff_policy_abandon_min"),
        ]

    def __str__(self) -> str:
        return str(_("转人工规则"))

    @property
    def keyword_list(self) -> list[str]:
        return [line.strip() for line in self.keywords.splitlines() if line.strip()]

    @property
    def handoff_intent_list(self) -> list[str]:
        return [part.strip() for part in self.handoff_intents.replace("，", ",").split(",") if part.strip()]


class BusinessHours(models.Model):
    """One opening window on one weekday (several rows per day allowed, e.g. a lunch break)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("周一")
        TUESDAY = 1, _("周二")
        WEDNESDAY = 2, _("周三")
        THURSDAY = 3, _("周四")
        FRIDAY = 4, _("周五")
        SATURDAY = 5, _("周六")
        SUNDAY = 6, _("周日")

    weekday = models.PositiveSmallIntegerField(_("星期"), choices=Weekday.choices)
    opens_at = models.TimeField(_("开始"))
    closes_at = models.TimeField(_("结束"))

    class Meta:
        verbose_name = _("工作时间")
        verbose_name_plural = pgettext_lazy("plural", "工作时间")
        ordering = ["weekday", "opens_at"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="handoff_hours_weekday_range"),
            models.CheckConstraint(condition=Q(closes_at__gt=models.F("opens_at")), name="handoff_hours_close_after_open"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}–{self.closes_at:%H:%M}"


class LeftMessage(TimeStampedModel):
    """A message a visitor left when nobody could take the chat (out of hours or nobody online)."""

    conversation = models.ForeignKey(
        "conversations.Conversation", verbose_name=_("会话"), null=True, blank=True, on_delete=models.SET_NULL, related_name="left_messages"
    )
    name = models.CharField(_("称呼"), max_length=64, blank=True)
    contact = models.CharField(_("联系方式"), max_length=128)
    text = models.TextField(_("留言内容"), max_length=2000)
    status = models.CharField(_("状态"), max_length=16, choices=LeftMessageStatus.choices, default=LeftMessageStatus.NEW, db_index=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("处理人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    handled_at = models.DateTimeField(_("处理时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("访客留言")
        verbose_name_plural = pgettext_lazy("plural", "访客留言")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(contact=""), name="handoff_leftmessage_contact_not_empty"),
            models.CheckConstraint(condition=~Q(text=""), name="handoff_leftmessage_text_not_empty"),
            models.CheckConstraint(condition=Q(status__in=LeftMessageStatus.values), name="handoff_leftmessage_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.contact} · {self.text[:20]}"


class AgentConsole(Escalation):
    """No data of its own: the admin sidebar entry "坐席工作台" that opens the live agent console."""

    class Meta:
        proxy = True
        verbose_name = _("坐席工作台")
        verbose_name_plural = pgettext_lazy("plural", "坐席工作台")
        default_permissions = ()
