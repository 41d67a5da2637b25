"""Offline evaluation of search + matcher on labelled questions (``manage.py kb_evaluate``).

Input rows are ``{"query": ..., "expected": "<entry external id>" | null}``; ``null`` marks a
question the KB must not answer (out of scope). Metrics:

- ``recall_at_1`` / ``recall_at_3`` / ``mrr``: ranking quality over in-scope rows (the
  matcher's order of the returned candidates, up to ``TOP_N``);
- ``answer_rate``: share of in-scope rows answered directly (band ``answer``);
- ``answer_precision``: answered with the expected entry / answered (in-scope rows);
- ``oos_false_answer_rate``: share of out-of-scope rows answered directly;
- ``suggest_rate`` / ``suggest_hit_rate``: in-scope rows in the suggest band, and how many
  of those had the expected entry among the suggestions.

Each per-query row also names the runner-up entry and its probability: a runner-up close to
the best marks two entries the matcher cannot tell apart for that wording.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from django.utils import timezone

from .enums import MatchBand


def read_eval_rows(path: Path) -> list[dict[str, Any]]:
    """JSONL rows; raises ValueError naming the line for anything malformed."""
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"line {number}: not JSON ({exc.msg})") from exc
            if not isinstance(row, dict) or not isinstance(row.get("query"), str) or "expected" not in row:
                raise ValueError(f'line {number}: need {{"query": str, "expected": id | null}}')
            rows.append(row)
    return rows


def default_analyze(text: str) -> Any:
    from nlp.analysis import analyze

    return analyze(text, now=timezone.now())


def kb_evaluate(
    rows: Iterable[dict[str, Any]],
    *,
    analyze_fn: Callable[[str], Any] = default_analyze,
    match_fn: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """Run every question through ``nlp.analyze`` + ``faq_match`` and aggregate the metrics."""
    from nlp.matcher import TOP_N

    from .selectors import faq_match

    match_fn = match_fn or faq_match
    per_query = []
    for row in rows:
        started = time.perf_counter()
        analysis = analyze_fn(row["query"])
        match = match_fn(analysis, limit=TOP_N)
        elapsed = (time.perf_counter() - started) * 1000
        expected = row["expected"]
        ranked = [c.external_id for c in match.candidates]
        runner_up = match.candidates[1] if len(match.candidates) > 1 else None
        rank = ranked.index(expected) + 1 if expected in ranked else None
        per_query.append(
            {
                "query": row["query"],
                "expected": expected,
                "band": match.band,
                "top": ranked[0] if ranked else None,
                "probability": match.best.probability if match.best else 0.0,
                # how close the runner-up came: near the best's, the two entries overlap
                "runner_up": runner_up.external_id if runner_up else None,
                "runner_up_probability": runner_up.probability if runner_up else 0.0,
                "rank": rank,
                "suggested": ranked[:3] if match.band == MatchBand.SUGGEST else [],
                "intent": getattr(analysis, "intent", None),
                "ms": round(elapsed, 2),
            }
        )
    return summarise(per_query)


def summarise(per_query: list[dict[str, Any]]) -> dict[str, Any]:
    ins = [q for q in per_query if q["expected"] is not None]
    oos = [q for q in per_query if q["expected"] is None]
    answered = [q for q in ins if q["band"] == MatchBand.ANSWER]
    suggested = [q for q in ins if q["band"] == MatchBand.SUGGEST]

    def share(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    timings = sorted(q["ms"] for q in per_query)
    return {
        "n": len(per_query),
        "n_in_scope": len(ins),
        "n_out_of_scope": len(oos),
        "recall_at_1": share(sum(q["rank"] == 1 for q in ins), len(ins)),
        "recall_at_3": share(sum(q["rank"] is not None and q["rank"] <= 3 for q in ins), len(ins)),
        "mrr": round(sum(1 / q["rank"] for q in ins if q["rank"]) / len(ins), 4) if ins else None,
        "answer_rate": share(len(answered), len(ins)),
        "answer_precision": share(sum(q["top"] == q["expected"] for q in answered), len(answered)),
        "suggest_rate": share(len(suggested), len(ins)),
        "suggest_hit_rate": share(sum(q["expected"] in q["suggested"] for q in suggested), len(suggested)),
        "oos_false_answer_rate": share(sum(q["band"] == MatchBand.ANSWER for q in oos), len(oos)),
        "latency_ms_p50": timings[len(timings) // 2] if timings else None,
        "per_query": per_query,
    }
