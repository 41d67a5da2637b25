"""Prometheus metrics for ``GET /metrics``.

Counters are kept in the Django cache (Redis in production), so every process — gunicorn
workers, daphne, Celery workers — adds to the same number and any one of them can report it.
Gauges are read from the database at scrape time. ``prometheus_client`` renders the text format.
"""
from __future__ import annotations

import json
from collections.abc import Iterator

from django.core.cache import cache
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

# name -> (help, label names). Counters must be declared here to be reported.
COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "csbot_search_fallback_total": ("Searches answered by the local index because the configured backend failed", ("backend",)),
    "csbot_turns_total": ("Chat turns handled by the pipeline, by outcome", ("outcome",)),
    "csbot_escalations_total": ("Escalations to a human, by reason", ("reason",)),
}

_PREFIX = "metrics"
_seen_label_sets: set[str] = set()  # per-process memo so the shared index is written once per label set


def _key(name: str, labels: tuple[str, ...]) -> str:
    return f"{_PREFIX}:{name}:{json.dumps(labels, ensure_ascii=True)}"


def counter_inc(name: str, amount: int = 1, **labels: str) -> None:
    """Add ``amount`` to a declared counter. Never raises: metrics must not break a request."""
    if name not in COUNTERS:
        raise KeyError(f"undeclared counter {name}")
    values = tuple(str(labels.get(label, "")) for label in COUNTERS[name][1])
    key = _key(name, values)
    try:
        if cache.add(key, amount, timeout=None):
            pass
        else:
            cache.incr(key, amount)
        if key not in _seen_label_sets:
            index_key = f"{_PREFIX}:index:{name}"
            known = set(cache.get(index_key) or [])
            if key not in known:
                cache.set(index_key, sorted(known | {key}), timeout=None)
            _seen_label_sets.add(key)
    except Exception:  # noqa: BLE001 - a cache outage must not fail the caller
        return


def counter_value(name: str, **labels: str) -> int:
    values = tuple(str(labels.get(label, "")) for label in COUNTERS[name][1])
    return int(cache.get(_key(name, values)) or 0)


class CsbotCollector(Collector):
    """Reads counters from the cache and gauges from the database at scrape time."""

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        for name, (help_text, label_names) in COUNTERS.items():
            family = CounterMetricFamily(name.removesuffix("_total"), help_text, labels=label_names)
            for key in cache.get(f"{_PREFIX}:index:{name}") or []:
                values = json.loads(key.split(":", 2)[2])
                family.add_metric(values, int(cache.get(key) or 0))
            yield family
        yield from self._gauges()

    def _gauges(self) -> Iterator[GaugeMetricFamily]:
        from django.db.models import Count

        from conversations.models import Conversation
        from handoff.models import AgentProfile, Escalation
        from knowledge.models import Entry

        conv = GaugeMetricFamily("csbot_conversations", "Conversations by status", labels=["status"])
        for row in Conversation.objects.values("status").annotate(n=Count("pk")).order_by():
            conv.add_metric([row["status"]], row["n"])
        yield conv
        esc = GaugeMetricFamily("csbot_escalations_open", "Open escalations by status", labels=["status"])
        for row in Escalation.objects.filter(status__in=["queued", "assigned", "active"]).values("status").annotate(n=Count("pk")).order_by():
            esc.add_metric([row["status"]], row["n"])
        yield esc
        agents = GaugeMetricFamily("csbot_agents", "Agents by presence", labels=["presence"])
        for row in AgentProfile.objects.values("presence").annotate(n=Count("pk")).order_by():
            agents.add_metric([row["presence"]], row["n"])
        yield agents
        entries = GaugeMetricFamily("csbot_kb_entries", "Knowledge-base entries by status", labels=["status"])
        for row in Entry.objects.values("status").annotate(n=Count("pk")).order_by():
            entries.add_metric([row["status"]], row["n"])
        yield entries
