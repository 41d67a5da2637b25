"""ModelAdmins of the knowledge base. Every write goes through ``knowledge.services``."""
from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from knowledge.enums import EntryStatus
from knowledge.models import (
    Category,
    Entry,
    EvaluationRun,
    MatchThreshold,
    Revision,
    SimilarQuestion,
    SynonymGroup,
    UnansweredDecision,
    UnansweredQuestion,
)
from knowledge.rendering import render_answer
from knowledge.selectors import thresholds_invalidate
from knowledge.services import (
    entries_set_status,
    entry_delete,
    entry_record_change,
    kb_export,
)

from knowledge.curation.actions import unanswered_faq_created

from . import curation, evaluation, views
from .curation import entry_prefill


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent", "sort_order", "entry_count"]
    list_filter = ["parent"]
    search_fields = ["name", "slug", "description"]
    ordering = ["sort_order", "name"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("parent").annotate(_entry_count=Count("entries"))

    @admin.display(description=_("条目数"), ordering="_entry_count")
    def entry_count(self, obj: Category) -> int:
        return obj._entry_count


class SimilarQuestionInline(admin.TabularInline):
    model = SimilarQuestion
    extra = 1
    fields = ["text"]

    def get_extra(self, request, obj=None, **kwargs):
        prefill = entry_prefill(request) if obj is None and request.method == "GET" else None
        return len(prefill.similar_questions) + 1 if prefill else self.extra


class RevisionColumns:
    """The read-only columns a revision shows wherever it is listed: its diff and a restore button."""

    @admin.display(description=_("差异"))
    def diff_html(self, obj: Revision) -> str:
        return views.diff_html(obj.diff)

    @admin.display(description=_("恢复"))
    def restore(self, obj: Revision) -> str:
        return views.restore_button(obj)


class RevisionInline(RevisionColumns, admin.TabularInline):
    """The entry's history on its change page: who changed what, with a restore button."""

    model = Revision
    extra = 0
    can_delete = False
    fields = ["created_at", "action", "source", "user", "diff_html", "restore"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    verbose_name_plural = pgettext_lazy("plural", "修订记录（最新在前）")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = ["external_id", "question", "category", "status", "similar_count", "valid_until", "updated_at", "updated_by"]
    list_display_links = ["external_id", "question"]
    list_filter = ["status", "category", ("valid_until", admin.EmptyFieldListFilter), "updated_at"]
    search_fields = ["external_id", "question", "answer", "keywords", "similar_questions__text"]
    list_select_related = ["category", "category__parent", "updated_by"]
    autocomplete_fields = ["category"]
    readonly_fields = ["answer_preview", "created_by", "updated_by", "created_at", "updated_at"]
    inlines = [SimilarQuestionInline, RevisionInline]
    actions = ["publish", "archive", "unpublish", "export_csv", "export_xlsx", "export_jsonl"]
    list_per_page = 50
    fieldsets = [
        (None, {"fields": ["external_id", "category", "question", "answer", "answer_preview", "keywords"]}),
        (_("发布"), {"fields": ["status", "valid_until"]}),
        (_("记录"), {"fields": ["created_by", "updated_by", "created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_similar_count=Count("similar_questions", distinct=True))

    @admin.display(description=_("相似问法数"), ordering="_similar_count")
    def similar_count(self, obj: Entry) -> int:
        return obj._similar_count

    @admin.display(description=_("答案预览"))
    def answer_preview(self, obj: Entry) -> str:
        return format_html('<div class="kb-answer-preview">{}</div>', render_answer(obj.answer)) if obj.answer else "-"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(views.ImportView.as_view(model_admin=self)), name="knowledge_entry_import"),
            path("export/", wrap(views.ExportView.as_view(model_admin=self)), name="knowledge_entry_export"),
            path("try/", wrap(views.TryView.as_view(model_admin=self)), name="knowledge_entry_try"),
            path("audit/", wrap(views.AuditView.as_view(model_admin=self)), name="knowledge_entry_audit"),
            path("revisions/<int:pk>/restore/", wrap(views.RestoreView.as_view(model_admin=self)), name="knowledge_revision_restore"),
            *super().get_urls(),
        ]

    # --- the add form prefilled from the curation loop (?curation=<group> / ?from_message=<id>)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        for name in ("curation", "from_message"):
            initial.pop(name, None)
        prefill = entry_prefill(request)
        if prefill is not None:
            initial = {**prefill.initial(), **initial}
        return initial

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        # Only on GET: on POST the initial values would make unchanged extra forms look "empty".
        if request.method == "GET" and isinstance(inline, SimilarQuestionInline) and obj.pk is None:
            prefill = entry_prefill(request)
            if prefill is not None and prefill.similar_questions:
                kwargs["initial"] = [{"text": text} for text in prefill.similar_questions]
        return kwargs

    def add_view(self, request, form_url="", extra_context=None):
        prefill = entry_prefill(request)
        if prefill is not None:
            source = _("待处理问题") if request.GET.get("curation") else _("坐席回复")
            extra_context = {**(extra_context or {}), "subtitle": _("根据%(source)s预填，请补充后保存") % {"source": source}}
        return super().add_view(request, form_url, extra_context)

    def response_add(self, request, obj, post_url_continue=None):
        response = super().response_add(request, obj, post_url_continue)
        if request.GET.get("curation") and not any(k in request.POST for k in ("_continue", "_addanother", "_popup")):
            return HttpResponseRedirect(reverse("admin:knowledge_unansweredquestion_changelist"))
        return response

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        # Inlines are saved here, after the entry: only now is the whole new state known.
        super().save_related(request, form, formsets, change)
        entry = form.instance
        if any(fs.has_changed() for fs in formsets) and entry.pk:
            entry.save(update_fields=["updated_at"])  # moves kb_fingerprint for other processes
        entry_record_change(entry, user=request.user, source="admin")
        if not change and request.GET.get("curation"):
            prefill = entry_prefill(request)
            if prefill is not None:
                unanswered_faq_created(texts=list(prefill.decides), entry=entry, user=request.user)

    def delete_model(self, request, obj):
        entry_delete(obj, user=request.user, source="admin")

    def delete_queryset(self, request, queryset):
        for entry in queryset:
            entry_delete(entry, user=request.user, source="admin")

    def _set_status(self, request, queryset, status: str) -> None:
        n = entries_set_status(queryset, status=status, user=request.user)
        self.message_user(request, _("已更新 %(n)d 条（每条都记录了修订）") % {"n": n}, messages.SUCCESS)

    @admin.action(description=_("发布所选条目"), permissions=["change"])
    def publish(self, request, queryset):
        self._set_status(request, queryset, EntryStatus.PUBLISHED)

    @admin.action(description=_("归档所选条目"), permissions=["change"])
    def archive(self, request, queryset):
        self._set_status(request, queryset, EntryStatus.ARCHIVED)

    @admin.action(description=_("将所选条目改为草稿"), permissions=["change"])
    def unpublish(self, request, queryset):
        self._set_status(request, queryset, EntryStatus.DRAFT)

    def _export(self, queryset, fmt: str) -> HttpResponse:
        return views.file_response(kb_export(fmt, entries=queryset), fmt)

    @admin.action(description=_("导出所选条目（CSV）"), permissions=["view"])
    def export_csv(self, request, queryset):
        return self._export(queryset, "csv")

    @admin.action(description=_("导出所选条目（XLSX）"), permissions=["view"])
    def export_xlsx(self, request, queryset):
        return self._export(queryset, "xlsx")

    @admin.action(description=_("导出所选条目（JSONL）"), permissions=["view"])
    def export_jsonl(self, request, queryset):
        return self._export(queryset, "jsonl")


@admin.register(Revision)
class RevisionAdmin(RevisionColumns, admin.ModelAdmin):
    """Every revision, including those of deleted entries (restorable from here)."""

    list_display = ["created_at", "external_id", "entry_link", "action", "source", "user"]
    list_filter = ["action", "source", "created_at"]
    search_fields = ["external_id", "diff"]
    list_select_related = ["entry", "user"]
    fields = ["external_id", "entry", "action", "source", "user", "created_at", "diff_html", "snapshot", "restore"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("FAQ 条目"))
    def entry_link(self, obj: Revision) -> str:
        if obj.entry_id is None:
            return _("（已删除）")
        return format_html('<a href="{}">{}</a>', reverse("admin:knowledge_entry_change", args=[obj.entry_id]), obj.external_id)


@admin.register(SimilarQuestion)
class SimilarQuestionAdmin(admin.ModelAdmin):
    list_display = ["text", "entry", "created_at"]
    list_filter = ["entry__category"]
    search_fields = ["text", "entry__question", "entry__external_id"]
    list_select_related = ["entry"]
    autocomplete_fields = ["entry"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        obj.entry.save(update_fields=["updated_at"])
        entry_record_change(obj.entry, user=request.user, source="admin")

    def delete_model(self, request, obj):
        entry = obj.entry
        super().delete_model(request, obj)
        entry.save(update_fields=["updated_at"])
        entry_record_change(entry, user=request.user, source="admin")


@admin.register(SynonymGroup)
class SynonymGroupAdmin(admin.ModelAdmin):
    list_display = ["canonical", "terms", "is_product", "enabled", "updated_at"]
    list_filter = ["enabled", "is_product"]
    search_fields = ["canonical", "terms"]


@admin.register(MatchThreshold)
class MatchThresholdAdmin(admin.ModelAdmin):
    """The answer / suggest cut-offs: one global row plus optional per-category overrides."""

    list_display = ["scope", "answer_threshold", "suggest_threshold", "updated_at"]
    list_editable = ["answer_threshold", "suggest_threshold"]
    list_display_links = ["scope"]
    autocomplete_fields = ["category"]

    @admin.display(description=_("适用范围"), ordering="category__name")
    def scope(self, obj: MatchThreshold) -> str:
        return obj.category.path if obj.category_id else _("全局（默认）")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        thresholds_invalidate()

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.category_id is None:
            return False  # the global row is what every category falls back to
        return super().has_delete_permission(request, obj)


class _CuratorPermissions:
    """Curation rows are read and written by whoever may edit FAQ entries (managers), so the
    staff groups need no extra permissions for them."""

    def _can(self, request, action: str) -> bool:
        return request.user.is_active and request.user.has_perm(f"knowledge.{action}_entry")

    def has_module_permission(self, request) -> bool:
        return self._can(request, "change")

    def has_view_permission(self, request, obj=None) -> bool:
        return self._can(request, "change")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(UnansweredQuestion)
class UnansweredQuestionAdmin(_CuratorPermissions, admin.ModelAdmin):
    """The sidebar entry 待处理问题: its list page is the grouped unanswered questions."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("", wrap(curation.UnansweredListView.as_view(model_admin=self)), name="knowledge_unansweredquestion_changelist"),
            path("ignore/", wrap(curation.UnansweredIgnoreView.as_view(model_admin=self)), name="knowledge_unanswered_ignore"),
            path("add-to-entry/", wrap(curation.UnansweredAddToEntryView.as_view(model_admin=self)), name="knowledge_unanswered_add_to_entry"),
            # The default URLs stay (and refuse: nothing is added or changed here).
            *[u for u in super().get_urls() if getattr(u, "name", None) != "knowledge_unansweredquestion_changelist"],
        ]


@admin.register(UnansweredDecision)
class UnansweredDecisionAdmin(_CuratorPermissions, admin.ModelAdmin):
    """What was decided on which question; deleting a row brings its question back to the list."""

    list_display = ["text", "action", "entry_link", "decided_by", "decided_at"]
    list_filter = ["action", "decided_at"]
    search_fields = ["text", "key"]
    list_select_related = ["entry", "decided_by"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._can(request, "change")

    @admin.display(description=_("FAQ 条目"))
    def entry_link(self, obj: UnansweredDecision) -> str:
        if obj.entry_id is None:
            return "-"
        return format_html('<a href="{}">{}</a>', reverse("admin:knowledge_entry_change", args=[obj.entry_id]), obj.entry.external_id)


@admin.register(EvaluationRun)
class EvaluationRunAdmin(_CuratorPermissions, admin.ModelAdmin):
    """评估运行: upload (or re-pick) a kb_evaluate file, run it, compare with its previous run."""

    list_display = ["created_at", "file_name", "status", "n", "recall_at_1", "answer_precision", "answer_rate", "created_by"]
    list_filter = ["status", "created_at"]
    search_fields = ["file_name"]
    list_select_related = ["created_by"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content", "per_query")

    def has_add_permission(self, request) -> bool:
        return self._can(request, "change")

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._can(request, "change")

    def _metric(self, obj: EvaluationRun, name: str):
        value = (obj.metrics or {}).get(name)
        return "-" if value is None else value

    @admin.display(description=_("问题数"))
    def n(self, obj: EvaluationRun):
        return self._metric(obj, "n")

    @admin.display(description="recall@1")
    def recall_at_1(self, obj: EvaluationRun):
        return self._metric(obj, "recall_at_1")

    @admin.display(description=_("回答准确率"))
    def answer_precision(self, obj: EvaluationRun):
        return self._metric(obj, "answer_precision")

    @admin.display(description=_("直接回答率"))
    def answer_rate(self, obj: EvaluationRun):
        return self._metric(obj, "answer_rate")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("add/", wrap(evaluation.EvaluationRunAddView.as_view(model_admin=self)), name="knowledge_evaluationrun_add"),
            path("<int:pk>/change/", wrap(evaluation.EvaluationRunDetailView.as_view(model_admin=self)), name="knowledge_evaluationrun_change"),
            path("<int:pk>/rerun/", wrap(evaluation.EvaluationRunRerunView.as_view(model_admin=self)), name="knowledge_evaluationrun_rerun"),
            *[u for u in super().get_urls() if getattr(u, "name", None) not in ("knowledge_evaluationrun_add", "knowledge_evaluationrun_change")],
        ]
