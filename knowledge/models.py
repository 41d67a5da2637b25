"""Knowledge-base rows: a category tree, FAQ entries with similar questions, synonym groups.

Only ``published`` entries that are still valid are ever searched or answered with; the
search index is derived data rebuilt from these rows.
"""
from __future__ import annotations

import re

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from csbot.models import TimeStampedModel

from .enums import CurationAction, EntryStatus, EvaluationStatus, RevisionAction

_SPLIT = re.compile(r"[,，;；|、\n]+")


def split_terms(value: str) -> list[str]:
    """Split a manager-typed list (commas, 顿号, pipes, new lines) into clean unique terms."""
    seen: dict[str, None] = {}
    for part in _SPLIT.split(value or ""):
        part = part.strip()
        if part:
            seen.setdefault(part, None)
    return list(seen)


class Category(TimeStampedModel):
    """A node of the category tree; ``slug`` doubles as the matching intent's name."""

    name = models.CharField(_("名称"), max_length=64)
    slug = models.SlugField(_("标识"), max_length=64, unique=True, help_text=_("英文标识，同名意图用于意图一致性判断"))
    parent = models.ForeignKey("self", verbose_name=_("上级分类"), null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    description = models.TextField(_("说明"), blank=True)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("分类")
        verbose_name_plural = pgettext_lazy("plural", "分类")
        ordering = ["sort_order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="knowledge_category_unique_name_in_parent"),
            models.UniqueConstraint(fields=["name"], condition=Q(parent__isnull=True), name="knowledge_category_unique_root_name"),
            models.CheckConstraint(condition=~Q(parent=models.F("pk")), name="knowledge_category_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.path

    @property
    def path(self) -> str:
        """``父/子`` path, the form import files use."""
        names, node, seen = [], self, set()
        while node is not None and node.pk not in seen:
            seen.add(node.pk)
            names.append(node.name)
            node = node.parent
        return "/".join(reversed(names))


class Entry(TimeStampedModel):
    """One FAQ: a standard question, its answer (safe Markdown) and search keywords."""

    external_id = models.CharField(_("编号"), max_length=64, unique=True, help_text=_("导入文件的 id 列；导入按它更新"))
    category = models.ForeignKey(Category, verbose_name=_("分类"), null=True, blank=True, on_delete=models.SET_NULL, related_name="entries")
    question = models.CharField(_("标准问题"), max_length=200)
    answer = models.TextField(_("答案"), help_text=_("支持安全的 Markdown"))
    keywords = models.CharField(_("关键词"), max_length=500, blank=True, help_text=_("多个用逗号分隔"))
    status = models.CharField(_("状态"), max_length=16, choices=EntryStatus.choices, default=EntryStatus.DRAFT, db_index=True)
    valid_until = models.DateTimeField(_("有效期至"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("作者"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("最后编辑"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("FAQ 条目")
        verbose_name_plural = pgettext_lazy("plural", "FAQ 条目")
        ordering = ["external_id"]
        # updated_at / valid_until: kb_fingerprint reads the newest edit and counts expired entries
        # on every process's change check; without these a 100k-entry KB makes that a table scan.
        indexes = [models.Index(fields=["updated_at"]), models.Index(fields=["valid_until"])]
        constraints = [
            models.CheckConstraint(condition=~Q(question=""), name="knowledge_entry_question_not_empty"),
            models.CheckConstraint(condition=~Q(answer=""), name="knowledge_entry_answer_not_empty"),
            models.CheckConstraint(condition=Q(status__in=EntryStatus.values), name="knowledge_entry_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} {self.question}"

    @property
    def keyword_list(self) -> list[str]:
        return split_terms(self.keywords)


class SimilarQuestion(TimeStampedModel):
    """Another way customers ask an entry's question; searched and used as matcher positives."""

    entry = models.ForeignKey(Entry, verbose_name=_("FAQ 条目"), on_delete=models.CASCADE, related_name="similar_questions")
    text = models.CharField(_("相似问法"), max_length=200)

    class Meta:
        verbose_name = _("相似问法")
        verbose_name_plural = pgettext_lazy("plural", "相似问法")
        ordering = ["entry_id", "id"]
        indexes = [models.Index(fields=["updated_at"])]
        constraints = [
            models.UniqueConstraint(fields=["entry", "text"], name="knowledge_similar_unique_per_entry"),
            models.CheckConstraint(condition=~Q(text=""), name="knowledge_similar_text_not_empty"),
        ]

    def __str__(self) -> str:
        return self.text


class SynonymGroup(TimeStampedModel):
    """Words customers use interchangeably (退款 = 退钱 = 返款); expanded before matching."""

    canonical = models.CharField(_("标准词"), max_length=64, unique=True)
    terms = models.TextField(_("同义词"), help_text=_("多个用逗号分隔，例如：退钱，返款"))
    enabled = models.BooleanField(_("启用"), default=True)
    is_product = models.BooleanField(
        _("商品名"), default=False, help_text=_("勾选后，这组词作为商品名识别（实体 product，值为标准词）")
    )

    class Meta:
        verbose_name = _("同义词组")
        verbose_name_plural = pgettext_lazy("plural", "同义词组")
        ordering = ["canonical"]
        constraints = [models.CheckConstraint(condition=~Q(canonical=""), name="knowledge_synonym_canonical_not_empty")]

    def __str__(self) -> str:
        return f"{self.canonical} = {' = '.join(self.term_list)}"

    @property
    def term_list(self) -> list[str]:
        return [t for t in split_terms(self.terms) if t != self.canonical]


class Revision(models.Model):
    """One saved state of an entry: a full snapshot plus a readable diff against the previous one.

    Written by ``knowledge.services`` after every change (admin, import, bulk action, restore),
    so history is a row per change (the audit trail) rather than fields on the entry. The
    entry link is kept nullable so a deleted entry's history survives and can be restored.
    """

    entry = models.ForeignKey(Entry, verbose_name=_("FAQ 条目"), null=True, blank=True, on_delete=models.SET_NULL, related_name="revisions")
    external_id = models.CharField(_("编号"), max_length=64, db_index=True)
    action = models.CharField(_("操作"), max_length=16, choices=RevisionAction.choices)
    snapshot = models.JSONField(_("快照"))
    diff = models.TextField(_("差异"), blank=True)
    source = models.CharField(_("来源"), max_length=32, blank=True, help_text=_("admin / import / bulk / restore / demo"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("修订记录")
        verbose_name_plural = pgettext_lazy("plural", "修订记录")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(action__in=RevisionAction.values), name="knowledge_revision_action_valid")]

    def __str__(self) -> str:
        return f"{self.external_id} {self.get_action_display()} @ {self.created_at:%Y-%m-%d %H:%M}"


class MatchThreshold(TimeStampedModel):
    """Calibrated-probability cut-offs of the answer and suggest bands.

    The row without a category is the global default; a category row overrides it for the
    entries of that category (and of its sub-categories without their own row).
    """

    category = models.OneToOneField(Category, verbose_name=_("分类"), null=True, blank=True, on_delete=models.CASCADE, related_name="match_threshold")
    answer_threshold = models.FloatField(_("直接回答阈值"), help_text=_("最佳候选的置信度（0–1）不低于它时直接回答"))
    suggest_threshold = models.FloatField(_("推荐阈值"), help_text=_("不低于它（且低于回答阈值）时给出“您是不是想问…”"))

    class Meta:
        verbose_name = _("匹配阈值")
        verbose_name_plural = pgettext_lazy("plural", "匹配阈值")
        ordering = ["category__sort_order", "category__name"]
        constraints = [
            models.UniqueConstraint(fields=["category"], condition=Q(category__isnull=True), name="knowledge_threshold_one_global"),
            models.CheckConstraint(
                condition=Q(suggest_threshold__gte=0) & Q(answer_threshold__lte=1) & Q(suggest_threshold__lte=models.F("answer_threshold")),
                name="knowledge_threshold_ordered",
            ),
        ]

    def __str__(self) -> str:
        scope = self.category.path if self.category_id else _("全局")
        return f"{scope}: {self.answer_threshold:.2f} / {self.suggest_threshold:.2f}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if not (0 <= self.suggest_threshold <= self.answer_threshold <= 1):
            raise ValidationError(_("需满足 0 ≤ 推荐阈值 ≤ 直接回答阈值 ≤ 1"))


class UnansweredDecision(models.Model):
    """A manager's decision on one unanswered question (by its normalised text, ``key``).

    The unanswered-questions page hides every occurrence of ``key`` asked at or before
    ``decided_at``; a later occurrence shows again (a new signal that the fix did not hold, or
    an ignored question coming back). One row per key: a newer decision replaces the older one.
    Deleting the row undoes the decision.
    """

    key = models.CharField(_("问题（归一化）"), max_length=255, unique=True)
    text = models.CharField(_("问题"), max_length=255)
    action = models.CharField(_("处理方式"), max_length=16, choices=CurationAction.choices)
    entry = models.ForeignKey(Entry, verbose_name=_("FAQ 条目"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("处理人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(_("处理时间"), db_index=True)

    class Meta:
        verbose_name = _("已处理问题")
        verbose_name_plural = pgettext_lazy("plural", "已处理问题")
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(action__in=CurationAction.values), name="knowledge_decision_action_valid"),
            models.CheckConstraint(condition=~Q(key=""), name="knowledge_decision_key_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.text} · {self.get_action_display()}"


class UnansweredQuestion(UnansweredDecision):
    """No data of its own: the admin sidebar entry "待处理问题" that opens the grouped list."""

    class Meta:
        proxy = True
        verbose_name = _("待处理问题")
        verbose_name_plural = pgettext_lazy("plural", "待处理问题")
        default_permissions = ()


class EvaluationRun(models.Model):
    """One run of ``kb_evaluate`` from admin: the uploaded JSONL (kept, so it can be re-run), its
    metrics and per-query outcomes. Runs of the same file (``content_hash``) are compared."""

    file_name = models.CharField(_("文件名"), max_length=200)
    content = models.TextField(_("文件内容"), help_text=_("JSONL，每行 {\"query\": ..., \"expected\": 条目编号或 null}"))
    content_hash = models.CharField(_("内容摘要"), max_length=64, db_index=True, editable=False)
    status = models.CharField(_("状态"), max_length=16, choices=EvaluationStatus.choices, default=EvaluationStatus.PENDING, db_index=True)
    metrics = models.JSONField(_("指标"), default=dict, blank=True)
    per_query = models.JSONField(_("逐条结果"), default=list, blank=True)
    error = models.TextField(_("错误"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("发起人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("评估运行")
        verbose_name_plural = pgettext_lazy("plural", "评估运行")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=EvaluationStatus.values), name="knowledge_evalrun_status_valid"),
            models.CheckConstraint(condition=~Q(content=""), name="knowledge_evalrun_content_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} @ {self.created_at:%Y-%m-%d %H:%M}" if self.created_at else self.file_name
