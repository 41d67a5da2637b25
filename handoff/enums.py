"""Choices of the handoff app."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class Presence(models.TextChoices):
    ONLINE = "online", _("在线")
    AWAY = "away", _("离开")
    OFFLINE = "offline", _("离线")


class EscalationReason(models.TextChoices):
    HUMAN_REQUEST = "human_request", _("访客要求人工")
    COMPLAINT = "complaint", _("投诉")
    HANDOFF_INTENT = "handoff_intent", _("需人工处理的意图")
    NEGATIVE_SENTIMENT = "negative_sentiment", _("负面情绪")
    KEYWORD = "keyword", _("触发关键词")
    REPEATED_FALLBACK = "repeated_fallback", _("连续未能回答")
    UNHELPFUL = "unhelpful", _("连续差评")
    TRANSFER = "transfer", _("坐席转接")
    OTHER = "other", _("其他")


class EscalationStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    ASSIGNED = "assigned", _("已分配待接入")
    ACTIVE = "active", _("接待中")
    ENDED = "ended", _("已结束")
    ABANDONED = "abandoned", _("访客离开")
    # Asked for a person out of hours or with nobody online: recorded for the dashboard, the
    # visitor was offered the leave-a-message form instead of a queue.
    MISSED = "missed", _("无人接待")


class LeftMessageStatus(models.TextChoices):
    NEW = "new", _("待处理")
    HANDLED = "handled", _("已处理")


class Availability(models.TextChoices):
    """Whether a new escalation can reach a person right now (shown to the visitor when not)."""

    OPEN = "open", _("可接入")
    OUT_OF_HOURS = "out_of_hours", _("非工作时间")
    NO_AGENTS = "no_agents", _("暂无客服在线")
