"""The dashboard's filter: a date range (with presets) and a channel, validated like any admin form.

A bad range (end before start, a future end, an unparsable date, more than a year) is a
form error shown on the page with HTTP 400, never a 500 and never a silently changed range.
"""
from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from ..enums import Channel
from .periods import local_today

DEFAULT_DAYS = 7
MAX_DAYS = 366
PRESETS: dict[str, int] = {"today": 1, "7d": 7, "30d": 30}
PRESET_LABELS = (("today", _("今天")), ("7d", _("近 7 天")), ("30d", _("近 30 天")))


class DashboardFilterForm(forms.Form):
    start = forms.DateField(label=_("开始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label=_("结束日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    channel = forms.ChoiceField(label=_("渠道"), required=False, choices=[("", _("全部渠道")), *Channel.choices])
    range = forms.ChoiceField(required=False, choices=[("", ""), *PRESET_LABELS], widget=forms.HiddenInput)

    def __init__(self, *args, today: date | None = None, **kwargs) -> None:  # noqa: ANN002,ANN003
        super().__init__(*args, **kwargs)
        self.today = today or local_today()

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        preset = data.get("range")
        if preset:
            data["end"] = self.today
            data["start"] = self.today - timedelta(days=PRESETS[preset] - 1)
        start, end = data.get("start"), data.get("end")
        if end is None:
            end = self.today
        if start is None:
            start = end - timedelta(days=DEFAULT_DAYS - 1)
        if end > self.today:
            self.add_error("end", _("结束日期不能晚于今天（%(today)s）") % {"today": self.today.isoformat()})
        if start > end:
            self.add_error("start", _("开始日期不能晚于结束日期"))
        elif (end - start).days + 1 > MAX_DAYS:
            self.add_error("start", _("日期范围最长 %(n)s 天") % {"n": MAX_DAYS})
        data["start"], data["end"] = start, end
        return data

    def params(self, **override: str) -> str:
        """The query string of the validated filter (for the CSV link and the presets)."""
        from urllib.parse import urlencode

        data = self.cleaned_data
        values = {"start": data["start"].isoformat(), "end": data["end"].isoformat()}
        if data.get("channel"):
            values["channel"] = data["channel"]
        values.update(override)
        return urlencode({k: v for k, v in values.items() if v})
