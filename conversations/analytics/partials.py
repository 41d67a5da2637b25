"""The mergeable parts of every dashboard metric for one (day, channel): ``DayPartial``.

Why partials and not finished numbers: a date range's resolution rate is not the mean of
daily rates, and a 30-day median wait is not the median of daily medians. Every metric is
therefore kept as counts that add up exactly (numerators, denominators, per-key counters and
histograms of whole seconds), and the finished numbers are derived only at the end
(``metrics.dashboard_build``). The live path (today) and the stored path (past days) produce
the same ``DayPartial`` values, so merging them gives exactly what the raw rows say.

Histograms bucket durations by whole seconds (``timedelta // 1 s``, i.e. truncated), which is
the precision the dashboard shows; the raw computation truncates the same way.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Schema version of the JSON stored in DailyMetrics.data; bump it when the shape changes
# (the refresh task then recomputes rows written with an older version).
SCHEMA_VERSION = 1


@dataclass
class EntryStats:
    """One FAQ entry's answers: hits, 👍/👎 on them, and handoffs that followed them."""

    hits: int = 0
    helpful_yes: int = 0
    helpful_no: int = 0
    handoffs: int = 0

    def add(self, other: EntryStats) -> None:
        self.hits += other.hits
        self.helpful_yes += other.helpful_yes
        self.helpful_no += other.helpful_no
        self.handoffs += other.handoffs


@dataclass
class AgentStats:
    """One agent's accepted chats, first-response histogram and the CSAT ratings of their chats."""

    accepted: int = 0
    first_response: Counter[int] = field(default_factory=Counter)
    csat: Counter[int] = field(default_factory=Counter)

    def add(self, other: AgentStats) -> None:
        self.accepted += other.accepted
        self.first_response.update(other.first_response)
        self.csat.update(other.csat)


@dataclass
class DayPartial:
    """Mergeable metric parts; see ``metrics`` for what each number means.

    Conversation-level fields describe the conversations that *started* that day (the
    cohort); ``messages`` counts the messages *sent* that day.
    """

    conversations: int = 0
    messages: int = 0
    closed: int = 0
    resolved: int = 0
    escalated: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    queue_wait: Counter[int] = field(default_factory=Counter)
    first_response: Counter[int] = field(default_factory=Counter)
    csat: Counter[int] = field(default_factory=Counter)
    helpful_yes: int = 0
    helpful_no: int = 0
    intents: Counter[str] = field(default_factory=Counter)
    entries: dict[int, EntryStats] = field(default_factory=dict)
    agents: dict[int, AgentStats] = field(default_factory=dict)

    def add(self, other: DayPartial) -> DayPartial:
        """Add ``other`` into this partial (in place) and return self."""
        for name in ("conversations", "messages", "closed", "resolved", "escalated", "helpful_yes", "helpful_no"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("reasons", "queue_wait", "first_response", "csat", "intents"):
            getattr(self, name).update(getattr(other, name))
        for entry_id, stats in other.entries.items():
            self.entries.setdefault(entry_id, EntryStats()).add(stats)
        for agent_id, agent in other.agents.items():
            self.agents.setdefault(agent_id, AgentStats()).add(agent)
        return self

    def entry(self, entry_id: int) -> EntryStats:
        return self.entries.setdefault(entry_id, EntryStats())

    def agent(self, agent_id: int) -> AgentStats:
        return self.agents.setdefault(agent_id, AgentStats())

    # ------------------------------------------------------------ JSON (DailyMetrics.data)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (object keys become strings; zero counters are dropped)."""

        def counter(c: Counter) -> dict[str, int]:
            return {str(k): v for k, v in sorted(c.items()) if v}

        return {
            "v": SCHEMA_VERSION,
            "closed": self.closed,
            "resolved": self.resolved,
            "escalated": self.escalated,
            "reasons": counter(self.reasons),
            "queue_wait": counter(self.queue_wait),
            "first_response": counter(self.first_response),
            "csat": counter(self.csat),
            "helpful_yes": self.helpful_yes,
            "helpful_no": self.helpful_no,
            "intents": counter(self.intents),
            "entries": {str(k): [e.hits, e.helpful_yes, e.helpful_no, e.handoffs] for k, e in sorted(self.entries.items())},
            "agents": {
                str(k): {"accepted": a.accepted, "first_response": counter(a.first_response), "csat": counter(a.csat)}
                for k, a in sorted(self.agents.items())
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, conversations: int = 0, messages: int = 0) -> DayPartial:
        """The inverse of ``to_json`` (the two scalar columns of the row are passed separately)."""

        def ints(d: dict[str, int] | None) -> Counter[int]:
            return Counter({int(k): int(v) for k, v in (d or {}).items()})

        return cls(
            conversations=conversations,
            messages=messages,
            closed=int(data.get("closed", 0)),
            resolved=int(data.get("resolved", 0)),
            escalated=int(data.get("escalated", 0)),
            reasons=Counter({str(k): int(v) for k, v in (data.get("reasons") or {}).items()}),
            queue_wait=ints(data.get("queue_wait")),
            first_response=ints(data.get("first_response")),
            csat=ints(data.get("csat")),
            helpful_yes=int(data.get("helpful_yes", 0)),
            helpful_no=int(data.get("helpful_no", 0)),
            intents=Counter({str(k): int(v) for k, v in (data.get("intents") or {}).items()}),
            entries={int(k): EntryStats(*map(int, v)) for k, v in (data.get("entries") or {}).items()},
            agents={
                int(k): AgentStats(accepted=int(v.get("accepted", 0)), first_response=ints(v.get("first_response")), csat=ints(v.get("csat")))
                for k, v in (data.get("agents") or {}).items()
            },
        )

    def add_json(self, data: dict[str, Any], *, conversations: int = 0, messages: int = 0) -> DayPartial:
        """``self.add(DayPartial.from_json(data, ...))`` without building the intermediate objects.

        The dashboard merges up to a year × channels of stored rows per request; this is its
        hot loop, so it works on the JSON dicts directly (same result, ~3× faster).
        """
        self.conversations += conversations
        self.messages += messages
        for name in ("closed", "resolved", "escalated", "helpful_yes", "helpful_no"):
            setattr(self, name, getattr(self, name) + int(data.get(name, 0)))
        for name in ("reasons", "intents"):
            target = getattr(self, name)
            for key, n in (data.get(name) or {}).items():
                target[key] += n
        for name in ("queue_wait", "first_response", "csat"):
            target = getattr(self, name)
            for key, n in (data.get(name) or {}).items():
                target[int(key)] += n
        entries = self.entries
        for key, (hits, yes, no, handoffs) in (data.get("entries") or {}).items():
            entry = entries.get(int(key))
            if entry is None:
                entries[int(key)] = EntryStats(hits, yes, no, handoffs)
            else:
                entry.hits += hits
                entry.helpful_yes += yes
                entry.helpful_no += no
                entry.handoffs += handoffs
        for key, value in (data.get("agents") or {}).items():
            agent = self.agent(int(key))
            agent.accepted += value.get("accepted", 0)
            for k, n in (value.get("first_response") or {}).items():
                agent.first_response[int(k)] += n
            for k, n in (value.get("csat") or {}).items():
                agent.csat[int(k)] += n
        return self

    def normalized(self) -> DayPartial:
        """A copy without zero counter entries, so two partials with equal meaning compare equal."""
        return DayPartial.from_json(self.to_json(), conversations=self.conversations, messages=self.messages)
