"""Finished dashboard numbers from merged partials: rates, medians, tables.

Statistics are defined once here and shared by the page and the CSV export:

- median: the middle value of all samples; with an even count, the mean of the two middle
  values (so it may end in .5 s).
- p90: nearest rank, the smallest sample such that at least 90 % of samples are ≤ it
  (rank ``ceil(0.9·n)``); always an observed value.
- rates are fractions in [0, 1], ``None`` when the denominator is zero (shown as "—", never
  as 0 %, which would be a claim).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model

from handoff.enums import EscalationReason

from ..enums import Channel
from .partials import DayPartial

TOP_N = 10


def rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _rank_value(hist: Counter[int], rank: int) -> int:
    """The ``rank``-th smallest sample (1-based) of a histogram of whole seconds."""
    seen = 0
    for value in sorted(hist):
        seen += hist[value]
        if seen >= rank:
            return value
    raise ValueError("rank beyond the number of samples")


def hist_count(hist: Counter[int]) -> int:
    return sum(n for n in hist.values() if n > 0)


def median(hist: Counter[int]) -> float | None:
    n = hist_count(hist)
    if not n:
        return None
    if n % 2:
        return float(_rank_value(hist, (n + 1) // 2))
    return (_rank_value(hist, n // 2) + _rank_value(hist, n // 2 + 1)) / 2


def p90(hist: Counter[int]) -> float | None:
    n = hist_count(hist)
    return float(_rank_value(hist, (9 * n + 9) // 10)) if n else None


def average(counts: Counter[int]) -> float | None:
    n = hist_count(counts)
    return sum(value * k for value, k in counts.items()) / n if n else None


@dataclass(frozen=True)
class DayPoint:
    day: date
    conversations: dict[str, int]  # by channel
    messages: dict[str, int]
    resolution_rate: float | None
    handoff_rate: float | None


@dataclass(frozen=True)
class ReasonRow:
    reason: str
    label: str
    conversations: int
    rate: float | None  # of all conversations in the range


@dataclass(frozen=True)
class IntentRow:
    intent: str
    count: int
    share: float | None


@dataclass(frozen=True)
class EntryRow:
    entry_id: int
    question: str
    hits: int
    helpful_yes: int
    helpful_no: int
    helpful_rate: float | None
    handoffs: int


@dataclass(frozen=True)
class AgentRow:
    agent_id: int
    name: str
    accepted: int
    first_response_median: float | None
    csat_average: float | None
    csat_count: int


@dataclass(frozen=True)
class Kpis:
    conversations: int
    messages: int
    closed: int
    resolved: int
    resolution_rate: float | None
    escalated: int
    handoff_rate: float | None
    accepted: int
    queue_wait_median: float | None
    queue_wait_p90: float | None
    first_response_count: int
    first_response_median: float | None
    csat_count: int
    csat_average: float | None
    csat_distribution: tuple[tuple[int, int], ...]  # (rating 1..5, count)
    helpful_yes: int
    helpful_no: int
    helpful_rate: float | None


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard page and its CSV export show, as plain data."""

    start: date
    end: date
    channel: str | None
    channels: tuple[tuple[str, str], ...]  # (value, label) of the series, in display order
    kpis: Kpis
    days: tuple[DayPoint, ...]
    reasons: tuple[ReasonRow, ...]
    intents: tuple[IntentRow, ...]
    entries: tuple[EntryRow, ...]
    agents: tuple[AgentRow, ...]
    live_days: tuple[date, ...] = field(default=(), compare=False)  # computed from raw rows in this request


@dataclass(frozen=True)
class DayCounts:
    """The few numbers the daily series need from one (day, channel) partial."""

    conversations: int = 0
    messages: int = 0
    closed: int = 0
    resolved: int = 0
    escalated: int = 0

    @classmethod
    def of(cls, part: DayPartial) -> DayCounts:
        return cls(part.conversations, part.messages, part.closed, part.resolved, part.escalated)


def dashboard_build(
    *, start: date, end: date, channel: str | None, per_day: dict[date, dict[str, DayCounts]], total: DayPartial, live_days: tuple[date, ...] = ()
) -> Dashboard:
    """Derive every number from the range's merged partial and its per-day, per-channel counts."""
    points: list[DayPoint] = []
    seen_channels: set[str] = set()
    for day in sorted(per_day):
        counts = per_day[day]
        seen_channels.update(ch for ch, c in counts.items() if c.conversations or c.messages)
        conversations = sum(c.conversations for c in counts.values())
        points.append(
            DayPoint(
                day=day,
                conversations={ch: c.conversations for ch, c in counts.items() if c.conversations},
                messages={ch: c.messages for ch, c in counts.items() if c.messages},
                resolution_rate=rate(sum(c.resolved for c in counts.values()), sum(c.closed for c in counts.values())),
                handoff_rate=rate(sum(c.escalated for c in counts.values()), conversations),
            )
        )
    known = dict(Channel.choices)
    channels = tuple((value, str(label)) for value, label in Channel.choices if value in seen_channels or value == channel)
    channels += tuple((value, value) for value in sorted(seen_channels - set(known)))
    return Dashboard(
        start=start,
        end=end,
        channel=channel,
        channels=channels,
        kpis=_kpis(total),
        days=tuple(points),
        reasons=_reasons(total),
        intents=_intents(total),
        entries=_entries(total),
        agents=_agents(total),
        live_days=live_days,
    )


def _kpis(t: DayPartial) -> Kpis:
    return Kpis(
        conversations=t.conversations,
        messages=t.messages,
        closed=t.closed,
        resolved=t.resolved,
        resolution_rate=rate(t.resolved, t.closed),
        escalated=t.escalated,
        handoff_rate=rate(t.escalated, t.conversations),
        accepted=hist_count(t.queue_wait),
        queue_wait_median=median(t.queue_wait),
        queue_wait_p90=p90(t.queue_wait),
        first_response_count=hist_count(t.first_response),
        first_response_median=median(t.first_response),
        csat_count=hist_count(t.csat),
        csat_average=average(t.csat),
        csat_distribution=tuple((r, t.csat.get(r, 0)) for r in range(1, 6)),
        helpful_yes=t.helpful_yes,
        helpful_no=t.helpful_no,
        helpful_rate=rate(t.helpful_yes, t.helpful_yes + t.helpful_no),
    )


def _reasons(t: DayPartial) -> tuple[ReasonRow, ...]:
    labels = dict(EscalationReason.choices)
    rows = [ReasonRow(reason, str(labels.get(reason, reason)), n, rate(n, t.conversations)) for reason, n in t.reasons.items() if n]
    return tuple(sorted(rows, key=lambda r: (-r.conversations, r.reason)))


def _intents(t: DayPartial) -> tuple[IntentRow, ...]:
    total = sum(t.intents.values())
    rows = sorted(((intent, n) for intent, n in t.intents.items() if n), key=lambda x: (-x[1], x[0]))[:TOP_N]
    return tuple(IntentRow(intent, n, rate(n, total)) for intent, n in rows)


def _entries(t: DayPartial) -> tuple[EntryRow, ...]:
    """Top entries by hits; entries deleted since (their messages lost the link) are left out."""
    from knowledge.models import Entry

    ranked = sorted(((eid, s) for eid, s in t.entries.items() if s.hits or s.handoffs), key=lambda x: (-x[1].hits, -x[1].handoffs, x[0]))
    questions = dict(Entry.objects.filter(pk__in=[eid for eid, _ in ranked]).values_list("pk", "question"))
    rows = [
        EntryRow(eid, questions[eid], s.hits, s.helpful_yes, s.helpful_no, rate(s.helpful_yes, s.helpful_yes + s.helpful_no), s.handoffs)
        for eid, s in ranked
        if eid in questions
    ]
    return tuple(rows[:TOP_N])


def agent_names(ids: list[int]) -> dict[int, str]:
    """Display names as visitors see them (agent profile), else the user's name or login."""
    from handoff.models import AgentProfile

    profiles = dict(AgentProfile.objects.filter(user_id__in=ids).values_list("user_id", "display_name"))
    names: dict[int, str] = {}
    for user in get_user_model().objects.filter(pk__in=ids).only("pk", "username", "first_name", "last_name"):
        names[user.pk] = profiles.get(user.pk) or user.get_full_name() or user.get_username()
    return names


def _agents(t: DayPartial) -> tuple[AgentRow, ...]:
    names = agent_names(list(t.agents))
    rows = [
        AgentRow(aid, names.get(aid, f"#{aid}"), a.accepted, median(a.first_response), average(a.csat), hist_count(a.csat))
        for aid, a in t.agents.items()
    ]
    return tuple(sorted(rows, key=lambda r: (-r.accepted, r.name, r.agent_id)))


def as_dict(dashboard: Dashboard) -> dict[str, Any]:
    """Plain nested dicts (for tests and JSON); dates stay ``date`` objects."""
    from dataclasses import asdict

    return asdict(dashboard)
