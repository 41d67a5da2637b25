"""Pages of the curation loop: 待处理问题 (grouped unanswered questions and their actions).

Mounted by ``UnansweredQuestionAdmin.get_urls`` inside ``admin_site.admin_view``. The views
validate input and call ``knowledge.curation``; the FAQ-creation action is the Entry add form
itself, prefilled through ``EntryAdmin`` from the group token (see ``entry_prefill``).
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from csbot.errors import ApplicationError
from knowledge.curation.actions import unanswered_add_to_entry, unanswered_ignore, visitor_texts
from knowledge.curation.unanswered import (
    DEFAULT_DAYS,
    EntryPrefill,
    faq_prefill_from_agent_message,
    faq_prefill_from_group,
    group_token_ids,
    unanswered_groups,
)
from knowledge.models import Entry

MAX_GROUPS_SHOWN = 200


class RangeForm(forms.Form):
    since = forms.DateField(label=gettext_lazy("从"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    until = forms.DateField(label=gettext_lazy("到"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError(_("开始日期不能晚于结束日期"))
        return data

    def window(self) -> tuple[datetime, datetime]:
        """``[since 00:00, until+1 00:00)`` in the local time zone; default the last 30 days."""
        today = timezone.localdate()
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        since = data.get("since") or today - timedelta(days=DEFAULT_DAYS)
        until = data.get("until") or today
        tz = timezone.get_current_timezone()
        return datetime.combine(since, time.min, tz), datetime.combine(until + timedelta(days=1), time.min, tz)


class AddToEntryForm(forms.Form):
    entry = forms.ModelChoiceField(
        label=gettext_lazy("加入到 FAQ 条目"),
        queryset=Entry.objects.select_related("category").order_by("external_id"),
        help_text=gettext_lazy("所选问题会作为该条目的相似问法（记录修订、更新检索索引）"),
    )
    texts = forms.MultipleChoiceField(label=gettext_lazy("问题"), widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, texts: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["texts"].choices = [(t, t) for t in texts]
        self.fields["texts"].initial = texts


def _token_texts(token: str) -> list[str]:
    try:
        ids = group_token_ids(token)
    except signing.BadSignature as exc:
        raise PermissionDenied(_("问题组参数无效")) from exc
    return visitor_texts(ids)


class _CurationPage(View):
    model_admin = None
    permission = "knowledge.change_entry"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(self.permission):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def context(self, request: HttpRequest, **extra):
        opts = Entry._meta
        return {**self.model_admin.admin_site.each_context(request), "opts": opts, "app_label": opts.app_label, **extra}


class UnansweredListView(_CurationPage):
    """The grouped unanswered questions of a date range, each group with its three actions."""

    def get(self, request):
        today = timezone.localdate()
        form = RangeForm(request.GET or None, initial={"since": today - timedelta(days=DEFAULT_DAYS), "until": today})
        since, until = form.window()
        groups = unanswered_groups(since=since, until=until)
        return TemplateResponse(
            request,
            "admin/knowledge/unanswered.html",
            self.context(
                request,
                title=_("待处理问题"),
                form=form,
                groups=groups[:MAX_GROUPS_SHOWN],
                group_total=len(groups),
                occurrence_total=sum(g.count for g in groups),
                since=since,
                until=until - timedelta(seconds=1),
                can_add=request.user.has_perm("knowledge.add_entry"),
                entry_add_url=reverse("admin:knowledge_entry_add"),
                back=request.get_full_path(),
            ),
        )


def _back(request: HttpRequest) -> str:
    back = request.POST.get("back") or request.GET.get("back") or ""
    changelist = reverse("admin:knowledge_unansweredquestion_changelist")
    return back if back.startswith(changelist) else changelist


class UnansweredIgnoreView(_CurationPage):
    def post(self, request):
        texts = _token_texts(request.POST.get("token", ""))
        n = unanswered_ignore(texts=texts, user=request.user)
        messages.success(request, _("已忽略 %(n)d 个问题；之后再有人问，会重新出现在这里") % {"n": n})
        return HttpResponseRedirect(_back(request))


class UnansweredAddToEntryView(_CurationPage):
    """Pick an existing entry; the group's (checked) questions become its similar questions."""

    def _render(self, request, form, texts):
        return TemplateResponse(
            request,
            "admin/knowledge/unanswered_add.html",
            self.context(request, title=_("加入已有 FAQ 的相似问法"), form=form, texts=texts, token=request.GET.get("token") or request.POST.get("token"), back=_back(request)),
        )

    def get(self, request):
        texts = _token_texts(request.GET.get("token", ""))
        return self._render(request, AddToEntryForm(texts=texts), texts)

    def post(self, request):
        texts = _token_texts(request.POST.get("token", ""))
        form = AddToEntryForm(request.POST, texts=texts)
        if not form.is_valid():
            return self._render(request, form, texts)
        entry = form.cleaned_data["entry"]
        try:
            added = unanswered_add_to_entry(entry=entry, texts=form.cleaned_data["texts"], user=request.user)
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
            return self._render(request, form, texts)
        messages.success(request, _("已为 %(id)s 添加 %(n)d 个相似问法：%(texts)s") % {"id": entry.external_id, "n": len(added), "texts": "、".join(added)})
        return HttpResponseRedirect(_back(request))


def create_faq_url(token: str) -> str:
    return reverse("admin:knowledge_entry_add") + "?" + urlencode({"curation": token})


def promote_url(message_id: int) -> str:
    return reverse("admin:knowledge_entry_add") + "?" + urlencode({"from_message": message_id})


def entry_prefill(request: HttpRequest) -> EntryPrefill | None:
    """The prefill the Entry add form's URL asks for (``?curation=<group token>`` or
    ``?from_message=<agent message id>``), computed once per request."""
    if hasattr(request, "_kb_prefill"):
        return request._kb_prefill
    prefill = None
    if request.GET.get("curation"):
        try:
            prefill = faq_prefill_from_group(group_token_ids(request.GET["curation"]))
        except signing.BadSignature:
            prefill = None
    elif request.GET.get("from_message", "").isdigit():
        prefill = faq_prefill_from_agent_message(int(request.GET["from_message"]))
    request._kb_prefill = prefill
    return prefill
