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
