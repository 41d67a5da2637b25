"""Choices of the knowledge app."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class EntryStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")
    ARCHIVED = "archived", _("已归档")


class RevisionAction(models.TextChoices):
    CREATE = "create", _("新建")
    UPDATE = "update", _("修改")
    DELETE = "delete", _("删除")
    RESTORE = "restore", _("恢复")


class MatchBand(models.TextChoices):
    """Where a question lands: answered directly, offered suggestions, or the fallback."""

    ANSWER = "answer", _("直接回答")
    SUGGEST = "suggest", _("推荐相似问题")
    FALLBACK = "fallback", _("兜底")


class CurationAction(models.TextChoices):
    """What a manager did with a group of unanswered questions (they leave the list after it)."""

    FAQ_CREATED = "faq_created", _("已新建 FAQ")
    SIMILAR_ADDED = "similar_added", _("已加入相似问法")
    IGNORED = "ignored", _("已忽略")


class UnansweredReason(models.TextChoices):
    """Why a visitor question counts as not answered well (see ``knowledge.curation.unanswered``)."""

    FALLBACK = "fallback", _("兜底")
    SUGGEST_MISS = "suggest_miss", _("推荐未命中")
    UNHELPFUL = "unhelpful", _("回答被评没帮助")


class EvaluationStatus(models.TextChoices):
    PENDING = "pending", _("排队中")
    RUNNING = "running", _("运行中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")
