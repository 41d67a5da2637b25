"""Reads of the analytics package: the dashboard for a date range.

Past days come from ``DailyMetrics`` (one small query for the whole range); today, and any
past day the task has not stored yet, are computed from raw rows in the same request.
Both give ``DayPartial`` values, merged by ``metrics.dashboard_build`` — so the page shows
exactly what computing the whole range from raw rows shows (``dashboard_live``).
"""
from __future__ import annotations

from datetime import date, timedelta

from ..models import DailyMetrics
from .compute import partials_compute
from .metrics import Dashboard, DayCounts, dashboard_build
from .partials import SCHEMA_VERSION, DayPartial
from .periods import days, local_today, runs


def _live(start: date, end: date, channel: str | None, per_day: dict[date, dict[str, DayCounts]], total: DayPartial) -> None:
    for (day, ch), part in partials_compute(start, end, channel=channel).items():
        if part.conversations or part.messages:  # (a day and channel without either has no other data)
            per_day[day][ch] = DayCounts.of(part)
            total.add(part)


def dashboard(start: date, end: date, channel: str | None = None, *, today: date | None = None) -> Dashboard:
    """The dashboard of local days ``start``..``end`` (inclusive), optionally one channel."""
    today = today or local_today()
    per_day: dict[date, dict[str, DayCounts]] = {d: {} for d in days(start, end)}
    total = DayPartial()
    stored_days: set[date] = set()
    last_stored = min(end, today - timedelta(days=1))
    if start <= last_stored:
        rows = DailyMetrics.objects.filter(day__gte=start, day__lte=last_stored).order_by().values_list("day", "channel", "conversations", "messages", "data")
        for day, ch, conversations, messages, data in rows:
            if data.get("v") != SCHEMA_VERSION:
                continue  # written by an older version: computed live until the task rewrites it
            stored_days.add(day)
            if (channel and ch != channel) or not (conversations or messages):
                continue
            total.add_json(data, conversations=conversations, messages=messages)
            per_day[day][ch] = DayCounts(conversations, messages, int(data.get("closed", 0)), int(data.get("resolved", 0)), int(data.get("escalated", 0)))
    live = [d for d in per_day if d not in stored_days]
    for first, last in runs(live):
        _live(first, last, channel, per_day, total)
    return dashboard_build(start=start, end=end, channel=channel or None, per_day=per_day, total=total, live_days=tuple(live))


def dashboard_live(start: date, end: date, channel: str | None = None) -> Dashboard:
    """The same dashboard computed entirely from raw rows (the reference the aggregates must equal)."""
    per_day: dict[date, dict[str, DayCounts]] = {d: {} for d in days(start, end)}
    total = DayPartial()
    _live(start, end, channel, per_day, total)
    return dashboard_build(start=start, end=end, channel=channel or None, per_day=per_day, total=total, live_days=tuple(per_day))
