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
