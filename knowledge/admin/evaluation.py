"""Pages of 评估运行: start a run (upload or re-pick a file), read a run and its comparison.

Mounted by ``EvaluationRunAdmin.get_urls``; the views validate and call
``knowledge.curation.evaluation_runs``.
"""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from csbot.errors import ApplicationError
from knowledge.curation.evaluation_runs import evaluation_compare, evaluation_run_create, query_right
from knowledge.enums import EvaluationStatus
from knowledge.models import EvaluationRun

from .forms import EvaluationRunForm


class _RunPage(View):
    model_admin = None
    permission = "view"

    def dispatch(self, request, *args, **kwargs):
        allowed = self.model_admin.has_add_permission(request) if self.permission == "add" else self.model_admin.has_view_permission(request)
        if not allowed:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def context(self, request, **extra):
        opts = EvaluationRun._meta
        return {**self.model_admin.admin_site.each_context(request), "opts": opts, "app_label": opts.app_label, **extra}


def _started(request, run: EvaluationRun) -> HttpResponseRedirect:
    messages.success(request, _("评估已开始：%(name)s") % {"name": run.file_name})
    return HttpResponseRedirect(reverse("admin:knowledge_evaluationrun_change", args=[run.pk]))


class EvaluationRunAddView(_RunPage):
    permission = "add"
    template = "admin/knowledge/evaluationrun/add.html"

    def get(self, request):
        return TemplateResponse(request, self.template, self.context(request, title=_("运行评估"), form=EvaluationRunForm()))

    def post(self, request):
        form = EvaluationRunForm(request.POST, request.FILES)
        if not form.is_valid():
            return TemplateResponse(request, self.template, self.context(request, title=_("运行评估"), form=form))
        upload, previous = form.cleaned_data.get("file"), form.cleaned_data.get("previous")
        try:
            if upload is not None:
                run = evaluation_run_create(file_name=upload.name, content=upload.read(), user=request.user)
            else:
                run = evaluation_run_create(file_name=previous.file_name, content=previous.content, user=request.user)
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
            return TemplateResponse(request, self.template, self.context(request, title=_("运行评估"), form=form))
        return _started(request, run)


class EvaluationRunRerunView(_RunPage):
    permission = "add"

    def post(self, request, pk: int):
        source = get_object_or_404(EvaluationRun, pk=pk)
        run = evaluation_run_create(file_name=source.file_name, content=source.content, user=request.user)
        return _started(request, run)


class EvaluationRunDetailView(_RunPage):
    """A run's metrics and, against the previous run of the same file, deltas and flipped questions."""

    def get(self, request, pk: int):
        run = get_object_or_404(EvaluationRun.objects.select_related("created_by"), pk=pk)
        comparison = evaluation_compare(run) if run.status == EvaluationStatus.DONE else None
        wrong = [q for q in run.per_query if not query_right(q)]
        return TemplateResponse(
            request,
            "admin/knowledge/evaluationrun/detail.html",
            self.context(
                request,
                title=_("评估运行"),
                run=run,
                metrics=[(name, run.metrics.get(name)) for name in ("n", "n_in_scope", "n_out_of_scope")],
                comparison=comparison,
                wrong=wrong,
                can_rerun=self.model_admin.has_add_permission(request),
            ),
        )
