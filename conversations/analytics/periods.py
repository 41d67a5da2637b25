"""Days in the site's time zone (``TIME_ZONE``, Asia/Shanghai by default).

Managers think in local calendar days: "yesterday" starts at local midnight, not UTC
midnight (08:00 in Shanghai). Every analytics query turns local dates into aware UTC
bounds here, and every timestamp is assigned to its local date here, so the live and the
stored computations agree on which day a row belongs to.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def site_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_today(now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(site_tz()).date()


def local_day(moment: datetime) -> date:
    """The site-local calendar date of an aware timestamp."""
    return moment.astimezone(site_tz()).date()


def day_start(day: date) -> datetime:
    """Aware local midnight at the start of ``day``."""
    return datetime.combine(day, time.min, tzinfo=site_tz())


def range_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """``[start 00:00, end+1 00:00)`` in local time, as aware datetimes for ``__gte``/``__lt``."""
    return day_start(start), day_start(end + timedelta(days=1))


def days(start: date, end: date) -> Iterator[date]:
    """Every date from ``start`` to ``end`` inclusive."""
    for offset in range((end - start).days + 1):
        yield start + timedelta(days=offset)


def runs(dates: list[date]) -> list[tuple[date, date]]:
    """Sorted dates grouped into consecutive ``(first, last)`` runs (one query per run)."""
    result: list[tuple[date, date]] = []
    for day in sorted(set(dates)):
        if result and day == result[-1][1] + timedelta(days=1):
            result[-1] = (result[-1][0], day)
        else:
            result.append((day, day))
    return result
