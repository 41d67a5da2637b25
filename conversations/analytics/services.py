"""Writes of the analytics package: storing daily aggregates (``DailyMetrics``).

``analytics_refresh`` is what the Celery beat task runs (hourly, at minute 10). It stores
every past local day that is missing (a backfill, newest first, bounded per run), and
recomputes every stored day whose underlying rows changed since the last run, because a
day's cohort keeps changing after midnight: chats close, visitors rate agents, escalations
are accepted. Changes are found from timestamps every such write already sets
(``Conversation.updated_at`` — bumped by each message, status change and CSAT —,
``Feedback.updated_at``, ``Message.created_at`` and the escalation's request, accept and end
times), so nothing on the chat path has to know about analytics. Rows deleted outright are
not noticed; ``recompute_days`` rebuilds a trailing window on demand.

Today is never stored: the dashboard computes it live, as it does any past day that has
no row yet, so a missing or late run makes the page slower, never wrong.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Max, Min, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from handoff.models import Escalation

from ..enums import Channel
from ..models import Conversation, DailyMetrics, Feedback, Message
from .compute import partials_compute
from .partials import SCHEMA_VERSION, DayPartial
from .periods import days, local_today, site_tz

logger = logging.getLogger(__name__)

# Look back this much before the last run's start when looking for changes: a transaction
# that stamped its rows just before the run but committed after it read is still found.
CHANGE_MARGIN = timedelta(minutes=15)
# At most this many days are computed per run (a first backfill of a long history spreads
# over several runs; the dashboard computes the rest live meanwhile).
MAX_DAYS_PER_RUN = 400


def day_compute(day: date, *, computed_at: datetime | None = None) -> list[DailyMetrics]:
    """Compute one local day from raw rows and upsert its rows (one per channel); idempotent.

    Every known channel gets a row (zeros included), so "is this day stored?" is simply
    "does any row exist for it"; a channel value outside the enum gets a row when it has data.
    """
    computed_at = computed_at or timezone.now()
    parts = {ch: part for (d, ch), part in partials_compute(day, day).items() if d == day}
    rows: list[DailyMetrics] = []
    with transaction.atomic():
        for channel in sorted(set(Channel.values) | set(parts)):
            part = parts.get(channel, DayPartial())
            row, _ = DailyMetrics.objects.update_or_create(
                day=day,
                channel=channel,
                defaults={"conversations": part.conversations, "messages": part.messages, "data": part.to_json(), "computed_at": computed_at},
            )
            rows.append(row)
        DailyMetrics.objects.filter(day=day).exclude(channel__in=[r.channel for r in rows]).delete()
    return rows


def days_changed_since(since: datetime) -> set[date]:
    """Local days whose metrics may have changed after ``since`` (cohort days and message days)."""
    tz = site_tz()

    def day_set(queryset, field: str) -> set[date]:  # noqa: ANN001
        return set(queryset.annotate(d=TruncDate(field, tzinfo=tz)).order_by().values_list("d", flat=True).distinct())

    changed = day_set(Conversation.objects.filter(updated_at__gte=since), "created_at")
    recent_messages = Message.objects.filter(created_at__gte=since)
    changed |= day_set(recent_messages, "created_at")
    changed |= day_set(recent_messages, "conversation__created_at")
    changed |= day_set(Feedback.objects.filter(updated_at__gte=since), "message__conversation__created_at")
    escalations = Escalation.objects.filter(Q(requested_at__gte=since) | Q(accepted_at__gte=since) | Q(ended_at__gte=since))
    changed |= day_set(escalations, "conversation__created_at")
    return changed


def analytics_refresh(*, now: datetime | None = None, recompute_days: int = 0, max_days: int = MAX_DAYS_PER_RUN) -> list[date]:
    """Store missing past days and refresh changed ones; returns the days computed (newest first).

    ``recompute_days`` additionally rebuilds the last N past days whatever changed.
    """
    started = now or timezone.now()
    yesterday = local_today(started) - timedelta(days=1)
    first_created = Conversation.objects.aggregate(first=Min("created_at"))["first"]
    if first_created is None:
        return []
    first = first_created.astimezone(site_tz()).date()
    if first > yesterday:
        return []
    stored = dict(DailyMetrics.objects.filter(day__gte=first, day__lte=yesterday).order_by().values_list("day", "data__v").distinct())
    todo = {d for d in days(first, yesterday) if stored.get(d) != SCHEMA_VERSION}
    last_run = DailyMetrics.objects.aggregate(last=Max("computed_at"))["last"]
    if last_run is not None:
        todo |= {d for d in days_changed_since(last_run - CHANGE_MARGIN) if first <= d <= yesterday}
    if recompute_days > 0:
        todo |= set(days(max(first, yesterday - timedelta(days=recompute_days - 1)), yesterday))
    ordered = sorted(todo, reverse=True)[:max_days]
    for day in ordered:
        day_compute(day, computed_at=started)
    if ordered:
        logger.info("analytics: computed %d day(s), %s … %s", len(ordered), ordered[-1], ordered[0])
    return ordered
