"""Managers' admin for intents, their examples, entity patterns and trained model versions.

Model versions are created only by training (``nlu_train`` or the "训练新模型" page here,
which enqueues ``nlp.tasks.nlu_train_task``); managers activate one with the
"设为当前模型" action and read each version's report page (held-out accuracy, macro-F1,
per-intent table, top confusions, calibration).
"""
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from csbot.errors import ApplicationError

from .enums import ClassifierBackend, ModelStatus
from .models import EntityPattern, Intent, IntentExample, ModelVersion


class IntentExampleInline(admin.TabularInline):
    model = IntentExample
    extra = 3
    fields = ["text"]


def _start_training(request: HttpRequest, *, backend: str, activate: bool) -> ModelVersion:
    """Create the version row and enqueue its training after commit (inline in embedded mode)."""
    from .tasks import nlu_train_task

    version = ModelVersion.objects.create(backend=backend, status=ModelStatus.TRAINING, trained_by=request.user, data_source="database")
    transaction.on_commit(lambda: nlu_train_task.delay(version.pk, backend, activate, request.user.pk))
    return version


@admin.register(Intent)
class IntentAdmin(admin.ModelAdmin):
    list_display = ["name", "display_name", "is_builtin", "enabled", "example_count", "updated_at"]
    list_filter = ["is_builtin", "enabled"]
    search_fields = ["name", "display_name", "description", "examples__text"]
    inlines = [IntentExampleInline]
    actions = ["retrain"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_example_count=Count("examples", distinct=True))

    @admin.display(description=_("例句数"), ordering="_example_count")
    def example_count(self, obj: Intent) -> int:
        return obj._example_count

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_builtin:
            return False
        return super().has_delete_permission(request, obj)

    @admin.action(description=_("用全部已启用意图重新训练模型并启用"), permissions=["retrain"])
    def retrain(self, request, queryset):
        version = _start_training(request, backend=ClassifierBackend.LINEAR, activate=True)
        return HttpResponseRedirect(reverse("admin:nlp_modelversion_report", args=[version.pk]))

    def has_retrain_permission(self, request) -> bool:
        return request.user.has_perm("nlp.change_modelversion")


@admin.register(IntentExample)
class IntentExampleAdmin(admin.ModelAdmin):
    list_display = ["text", "intent", "created_at"]
    list_filter = ["intent"]
    search_fields = ["text", "intent__name", "intent__display_name"]
    list_select_related = ["intent"]
    autocomplete_fields = ["intent"]


@admin.register(EntityPattern)
class EntityPatternAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "pattern", "enabled", "updated_at"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "pattern", "description"]


class TrainForm(forms.Form):
    backend = forms.ChoiceField(label=_("算法"), choices=ClassifierBackend.choices, initial=ClassifierBackend.LINEAR)
    activate = forms.BooleanField(label=_("训练成功后设为当前模型"), required=False, initial=True)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["id", "backend", "status", "is_active", "n_intents", "n_examples", "accuracy", "macro_f1", "ece", "training_seconds", "created_at", "report_link"]
    list_filter = ["backend", "status", "is_active"]
    search_fields = ["data_hash", "artifact_path", "data_source"]
    readonly_fields = [
        "backend", "status", "is_active", "artifact_path", "data_hash", "data_source", "n_examples", "n_intents",
        "training_seconds", "metrics", "report", "error", "trained_by", "created_at", "updated_at",
    ]
    actions = ["activate"]
    change_list_template = "admin/nlp/modelversion/change_list.html"

    def has_add_permission(self, request):
        return False  # versions come from training only

    def _metric(self, obj: ModelVersion, key: str) -> str:
        value = (obj.metrics or {}).get(key)
        return f"{value:.3f}" if isinstance(value, (int, float)) else "—"

    @admin.display(description=_("准确率"))
    def accuracy(self, obj: ModelVersion) -> str:
        return self._metric(obj, "accuracy")

    @admin.display(description="macro-F1")
    def macro_f1(self, obj: ModelVersion) -> str:
        return self._metric(obj, "macro_f1")

    @admin.display(description="ECE")
    def ece(self, obj: ModelVersion) -> str:
        return self._metric(obj, "ece")

    @admin.display(description=_("报告"))
    def report_link(self, obj: ModelVersion) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:nlp_modelversion_report", args=[obj.pk]), _("查看报告"))

    @admin.action(description=_("设为当前模型"), permissions=["change"])
    def activate(self, request, queryset):
        from .services.training import model_activate

        if queryset.count() != 1:
            self.message_user(request, _("请只选择一个模型版本"), messages.ERROR)
            return None
        try:
            version = model_activate(queryset.get())
        except ApplicationError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
            return None
        self.message_user(request, _("模型版本 #%(id)s 已设为当前模型，各进程将在几秒内切换") % {"id": version.pk}, messages.SUCCESS)
        return None

    def get_urls(self):
        custom = [
            path("train/", self.admin_site.admin_view(self.train_view), name="nlp_modelversion_train"),
            path("<int:pk>/report/", self.admin_site.admin_view(self.report_view), name="nlp_modelversion_report"),
        ]
        return custom + super().get_urls()

    def train_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = TrainForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            version = _start_training(request, backend=form.cleaned_data["backend"], activate=form.cleaned_data["activate"])
            return HttpResponseRedirect(reverse("admin:nlp_modelversion_report", args=[version.pk]))
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": _("训练新模型"), "form": form,
            "n_intents": Intent.objects.filter(enabled=True).count(),
            "n_examples": IntentExample.objects.filter(intent__enabled=True).count(),
        }
        return TemplateResponse(request, "admin/nlp/modelversion/train.html", context)

    def report_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        version = get_object_or_404(ModelVersion, pk=pk)
        report = version.report or {}
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "original": version,
            "title": _("模型版本 #%(id)s 评估报告") % {"id": version.pk}, "version": version,
            "metrics": version.metrics or {}, "heldout": _table(report.get("heldout")),
            "evaluation": _table(report.get("evaluation")), "calibration": report.get("calibration") or {},
            "refresh": version.status == ModelStatus.TRAINING,
        }
        return TemplateResponse(request, "admin/nlp/modelversion/report.html", context)


def _table(report: dict | None) -> dict | None:
    """A report with its per-intent dict turned into sorted rows for the template."""
    if not report:
        return None
    rows = [{"name": name, **row} for name, row in sorted((report.get("per_intent") or {}).items(), key=lambda kv: kv[1].get("f1", 0))]
    return {**report, "rows": rows}
