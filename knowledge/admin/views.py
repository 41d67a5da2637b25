"""Custom pages of the KB admin: import with preview, export, 试一试 and revision restore.

Mounted by ``EntryAdmin.get_urls`` inside ``admin_site.admin_view`` (staff login, CSRF) and
checked against the entry permissions here. Views only validate input and call services.
"""
from __future__ import annotations

import secrets
import time
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.views import View

from csbot.errors import ApplicationError
from knowledge.models import Entry, Revision
from knowledge.services import (
    entry_snapshot,
    format_from_name,
    kb_export,
    kb_import,
    kb_import_plan,
    revision_restore,
)
from knowledge.services.revisions import snapshot_diff

from .forms import ExportForm, ImportForm, TryForm

_CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "jsonl": "application/x-ndjson; charset=utf-8",
}
_UPLOAD_MAX_AGE = 3600


def file_response(content: bytes, fmt: str) -> HttpResponse:
    response = HttpResponse(content, content_type=_CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="kb-{timezone.localtime():%Y%m%d-%H%M}.{fmt}"'
    return response


def diff_html(diff: str) -> str:
    """A unified diff as coloured lines (escaped)."""
    if not diff:
        return "-"
    styles = {"+": "color:#117a2b", "-": "color:#b3261e", "@": "color:#777"}
    lines = [
        (styles.get(line[:1], ""), line)
        for line in diff.splitlines()
        if not line.startswith(("---", "+++"))
    ]
    return format_html('<pre class="kb-diff" style="white-space:pre-wrap;margin:0">{}</pre>', format_html_join("\n", '<span style="{}">{}</span>', lines))


def restore_button(revision: Revision) -> str:
    if not revision.snapshot or not revision.snapshot.get("question"):
        return "-"
    url = reverse("admin:knowledge_revision_restore", args=[revision.pk])
    return format_html('<a class="button" href="{}">{}</a>', url, _("恢复到此版本"))


class _AdminPage(View):
    model_admin = None
    permission = "view"

    def dispatch(self, request, *args, **kwargs):
        checks = {
            "view": self.model_admin.has_view_permission,
            "change": self.model_admin.has_change_permission,
            "import": lambda r: self.model_admin.has_add_permission(r) and self.model_admin.has_change_permission(r),
        }
        if not checks[self.permission](request):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def context(self, request, **extra):
        opts = self.model_admin.model._meta
        return {**self.model_admin.admin_site.each_context(request), "opts": opts, "app_label": opts.app_label, **extra}


def _upload_dir() -> Path:
    path = Path(settings.VAR_DIR) / "kb_imports"
    path.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in path.glob("*.upload"):
        if now - old.stat().st_mtime > _UPLOAD_MAX_AGE:
            old.unlink(missing_ok=True)
    return path


class ImportView(_AdminPage):
    """Step 1: upload → preview (create / update / unchanged / errors per row). Step 2: confirm."""

    permission = "import"
    template = "admin/knowledge/import.html"

    def get(self, request):
        return TemplateResponse(request, self.template, self.context(request, title=_("导入 FAQ"), form=ImportForm()))

    def post(self, request):
        if "token" in request.POST:
            return self._confirm(request)
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return TemplateResponse(request, self.template, self.context(request, title=_("导入 FAQ"), form=form))
        upload = form.cleaned_data["file"]
        try:
            fmt = format_from_name(upload.name)
        except ApplicationError as exc:
            form.add_error("file", exc.detail)
            return TemplateResponse(request, self.template, self.context(request, title=_("导入 FAQ"), form=form))
        content = upload.read()
        plan = kb_import_plan(content, fmt)
        token = ""
        if plan.valid:
            token = secrets.token_hex(16)
            (_upload_dir() / f"{token}.{fmt}.upload").write_bytes(content)
        return TemplateResponse(
            request,
            self.template,
            self.context(request, title=_("导入预览"), form=ImportForm(), plan=plan, token=token, fmt=fmt, filename=upload.name),
        )

    def _confirm(self, request):
        token, fmt = request.POST.get("token", ""), request.POST.get("fmt", "")
        if not (len(token) == 32 and all(c in "0123456789abcdef" for c in token)) or fmt not in _CONTENT_TYPES:
            raise Http404
        path = _upload_dir() / f"{token}.{fmt}.upload"
        if not path.exists():
            messages.error(request, _("上传已过期，请重新选择文件"))
            return HttpResponseRedirect(reverse("admin:knowledge_entry_import"))
        try:
            plan = kb_import(path.read_bytes(), fmt, user=request.user)
        except ApplicationError as exc:
            # The database changed since the preview and a row no longer applies: show it again.
            messages.error(request, exc.detail)
            plan = kb_import_plan(path.read_bytes(), fmt)
            return TemplateResponse(request, self.template, self.context(request, title=_("导入预览"), form=ImportForm(), plan=plan, token="", fmt=fmt))
        path.unlink(missing_ok=True)
        counts = plan.counts
        messages.success(
            request,
            _("导入完成：新建 %(c)d 条，更新 %(u)d 条，未变 %(n)d 条") % {"c": counts["create"], "u": counts["update"], "n": counts["unchanged"]},
        )
        return HttpResponseRedirect(reverse("admin:knowledge_entry_changelist"))


class ExportView(_AdminPage):
    permission = "view"

    def get(self, request):
        form = ExportForm(request.GET or None)
        if form.is_bound and form.is_valid():
            fmt = form.cleaned_data["format"]
            return file_response(kb_export(fmt), fmt)
        return TemplateResponse(request, "admin/knowledge/export.html", self.context(request, title=_("导出 FAQ"), form=form or ExportForm()))


class TryView(_AdminPage):
    """试一试: how the bot would handle a question — normalised text, tokens, candidates, band."""

    permission = "view"

    def get(self, request):
        form = TryForm(request.GET or None)
        result = None
        if form.is_bound and form.is_valid():
            result = self._run(form.cleaned_data["question"])
        return TemplateResponse(request, "admin/knowledge/try.html", self.context(request, title=_("试一试"), form=form, result=result))

    @staticmethod
    def _run(question: str) -> dict:
        from knowledge.matching import current_matcher
        from knowledge.selectors import faq_match
        from nlp.analysis import analyze

        started = time.perf_counter()
        analysis = analyze(question, now=timezone.now())
        analysed = time.perf_counter()
        match = faq_match(analysis, limit=5)
        done = time.perf_counter()
        matcher = current_matcher()
        entries = {e.pk: e for e in Entry.objects.filter(pk__in=[c.entry_id for c in match.candidates])}
        return {
            "analysis": analysis,
            "match": match,
            "candidates": [(c, entries.get(c.entry_id)) for c in match.candidates],
            "analyse_ms": round((analysed - started) * 1000, 1),
            "match_ms": round((done - analysed) * 1000, 1),
            "weights": matcher.model.weights() if matcher else {},
        }


class AuditView(_AdminPage):
    """易混淆条目: entry pairs the bot confuses (``knowledge.audit``), on demand.

    Asking every KB text takes seconds (one search and match each), so it runs only when the
    manager presses the button (``?run=1``), never on a plain visit.
    """

    permission = "view"
    MAX_PAIRS = 50

    def get(self, request):
        from knowledge.audit import kb_confusions
        from knowledge.selectors import thresholds_for

        audit = None
        only_answered = request.GET.get("answered") == "1"
        if request.GET.get("run") == "1":
            audit = kb_confusions(min_probability=thresholds_for(None).answer if only_answered else 0.0)
        pairs = audit.pairs[: self.MAX_PAIRS] if audit else []
        entries = {e.pk: e for e in Entry.objects.filter(pk__in=[ref.entry_id for p in pairs for ref in (p.a, p.b)])}
        return TemplateResponse(
            request,
            "admin/knowledge/audit.html",
            self.context(
                request, title=_("易混淆条目"), audit=audit, only_answered=only_answered,
                pairs=[(p, entries.get(p.a.entry_id), entries.get(p.b.entry_id), sorted(p.confusions, key=lambda c: -c.probability)[:5]) for p in pairs],
            ),
        )


class RestoreView(_AdminPage):
    """GET: what restoring would change; POST: restore (a new ``restore`` revision)."""

    permission = "change"

    def get(self, request, pk: int):
        revision = get_object_or_404(Revision, pk=pk)
        current = Entry.objects.filter(external_id=revision.external_id).first()
        diff = snapshot_diff(entry_snapshot(current) if current else None, revision.snapshot)
        return TemplateResponse(
            request,
            "admin/knowledge/restore.html",
            self.context(request, title=_("恢复修订"), revision=revision, current=current, diff=diff_html(diff)),
        )

    def post(self, request, pk: int):
        revision = get_object_or_404(Revision, pk=pk)
        try:
            entry = revision_restore(revision, user=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.detail)
            return HttpResponseRedirect(reverse("admin:knowledge_revision_change", args=[pk]))
        messages.success(request, _("已恢复 %(id)s 到 %(when)s 的版本") % {"id": entry.external_id, "when": timezone.localtime(revision.created_at).strftime("%Y-%m-%d %H:%M")})
        return HttpResponseRedirect(reverse("admin:knowledge_entry_change", args=[entry.pk]))
