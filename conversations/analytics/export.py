"""The dashboard's metrics as CSV: one tidy table, ``section, key, metric, value``.

One long table rather than several sheets: it opens in Excel/WPS (UTF-8 with BOM, so the
Chinese headers are not mojibake), filters by section, and loads into pandas/SQL as is.
Rates are fractions (0.8125, not "81.3%") and durations are seconds, so nothing is lost
to display rounding; the page and the file come from the same ``Dashboard`` value.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.utils.translation import gettext as _

from .metrics import Dashboard

Row = tuple[str, str, str, object]


def _fmt(value: object) -> object:
    return "" if value is None else value


def dashboard_rows(d: Dashboard) -> Iterator[Row]:
    k = d.kpis
    yield ("range", "", "start", d.start.isoformat())
    yield ("range", "", "end", d.end.isoformat())
    yield ("range", "", "channel", d.channel or "all")
    for metric in (
        "conversations", "messages", "closed", "resolved", "resolution_rate", "escalated", "handoff_rate",
        "accepted", "queue_wait_median", "queue_wait_p90", "first_response_count", "first_response_median",
        "csat_count", "csat_average", "helpful_yes", "helpful_no", "helpful_rate",
    ):  # fmt: skip
        yield ("summary", "", metric, getattr(k, metric))
    for rating, n in k.csat_distribution:
        yield ("csat_distribution", str(rating), "conversations", n)
    for p in d.days:
        day = p.day.isoformat()
        for value, _label in d.channels:
            yield ("daily", f"{day}/{value}", "conversations", p.conversations.get(value, 0))
            yield ("daily", f"{day}/{value}", "messages", p.messages.get(value, 0))
        yield ("daily", day, "resolution_rate", p.resolution_rate)
        yield ("daily", day, "handoff_rate", p.handoff_rate)
    for r in d.reasons:
        yield ("handoff_reason", r.reason, "conversations", r.conversations)
        yield ("handoff_reason", r.reason, "rate", r.rate)
    for i in d.intents:
        yield ("intent", i.intent, "bot_replies", i.count)
        yield ("intent", i.intent, "share", i.share)
    for e in d.entries:
        key = f"{e.entry_id} {e.question}"
        yield ("faq", key, "hits", e.hits)
        yield ("faq", key, "helpful_yes", e.helpful_yes)
        yield ("faq", key, "helpful_no", e.helpful_no)
        yield ("faq", key, "helpful_rate", e.helpful_rate)
        yield ("faq", key, "handoffs_after", e.handoffs)
    for a in d.agents:
        key = f"{a.agent_id} {a.name}"
        yield ("agent", key, "accepted", a.accepted)
        yield ("agent", key, "first_response_median", a.first_response_median)
        yield ("agent", key, "csat_average", a.csat_average)
        yield ("agent", key, "csat_count", a.csat_count)


def dashboard_csv(d: Dashboard) -> str:
    """The CSV text, with a BOM so spreadsheet programs detect UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_("分组"), _("对象"), _("指标"), _("数值")])
    for section, key, metric, value in dashboard_rows(d):
        writer.writerow([section, key, metric, _fmt(value)])
    return "\ufeff" + buffer.getvalue()
