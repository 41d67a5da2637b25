"""Choices of the conversations app: statuses, senders, message kinds, channels, close reasons."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    WEB = "web", _("网页组件")
    API = "api", _("REST 接口")
    WEBHOOK = "webhook", _("Webhook 渠道")


class ConversationStatus(models.TextChoices):
    BOT = "bot", _("机器人接待")
    QUEUED = "queued", _("排队中")
    WITH_AGENT = "with_agent", _("人工接待")
    CLOSED = "closed", _("已结束")


class CloseReason(models.TextChoices):
    IDLE = "idle", _("超时未回复")
    VISITOR = "visitor", _("访客结束")
    AGENT = "agent", _("坐席结束")
    SYSTEM = "system", _("系统结束")


class Sender(models.TextChoices):
    VISITOR = "visitor", _("访客")
    BOT = "bot", _("机器人")
    AGENT = "agent", _("坐席")
    SYSTEM = "system", _("系统")


class MessageKind(models.TextChoices):
    TEXT = "text", _("文本")
    ANSWER = "answer", _("知识库回答")
    SUGGEST = "suggest", _("推荐问题")
    SMALLTALK = "smalltalk", _("寒暄")
    FALLBACK = "fallback", _("兜底回复")
    EVENT = "event", _("事件")
    NOTE = "note", _("内部备注")


class TemplateKey(models.TextChoices):
    """Bot replies that come from manager-edited templates rather than the knowledge base."""

    GREETING = "greeting", _("问候")
    THANKS = "thanks", _("感谢")
    GOODBYE = "goodbye", _("告别")
    SUGGEST_INTRO = "suggest_intro", _("推荐问题引导语")
    FALLBACK = "fallback", _("兜底回复")
    OUT_OF_SCOPE = "out_of_scope", _("超出服务范围")
    HANDOFF_QUEUED = "handoff_queued", _("转人工提示")
    IDLE_CLOSED = "idle_closed", _("超时结束提示")
