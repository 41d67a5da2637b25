"""Re-running a ``kb_evaluate`` file from admin, and comparing with the previous run of it.

After a KB change from the curation loop, the manager re-runs a labelled question file (the
same JSONL ``manage.py kb_evaluate`` reads) and sees what changed: metric deltas and the
questions whose outcome flipped. The run executes ``knowledge.evaluation.kb_evaluate`` — the
command's own code — in a Celery task enqueued on commit (inline in the embedded mode).

A question's *outcome* is right when an in-scope question (``expected`` is an entry id) is
answered directly with that entry, or an out-of-scope one (``expected`` null) is not answered
directly; anything else is wrong. Runs are compared when their files have the same content
(``content_hash``); the previous run is the newest finished one before this run.
"""
from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from csbot.errors import ApplicationError
from knowledge.enums import EvaluationStatus, MatchBand
from knowledge.models import EvaluationRun

MAX_BYTES = 5 * 1024 * 1024
# Metrics compared between runs, with whether a higher value is better.
METRICS: tuple[tuple[str, bool], ...] = (
    ("recall_at_1", True),
    ("recall_at_3", True),
    ("mrr", True),
    ("answer_rate", True),
    ("answer_precision", True),
    ("suggest_rate", False),
    ("suggest_hit_rate", True),
    ("oos_false_answer_rate", False),
    ("latency_ms_p50", False),
)


def _rows_of(text: str) -> list[dict[str, Any]]:
    """Validate through the command's own reader (``read_eval_rows`` reads a path)."""
    from knowledge.evaluation import read_eval_rows

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "eval.jsonl"
        path.write_text(text, encoding="utf-8")
        return read_eval_rows(path)


def evaluation_file_read(content: bytes) -> tuple[str, int]:
    """The file's text and its number of questions; ``ApplicationError("invalid_evaluation_file")``
    (with the line at fault) for anything ``kb_evaluate`` would refuse, or an empty file."""
    if len(content) > MAX_BYTES:
        raise ApplicationError("invalid_evaluation_file", _("文件过大（最大 5 MB）"))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApplicationError("invalid_evaluation_file", _("文件不是 UTF-8 编码的文本")) from exc
    try:
        rows = _rows_of(text)
    except ValueError as exc:
        raise ApplicationError("invalid_evaluation_file", _("文件格式错误：%(error)s") % {"error": exc}) from exc
    if not rows:
        raise ApplicationError("invalid_evaluation_file", _("文件里没有问题：每行应为 {\"query\": ..., \"expected\": 条目编号或 null}"))
    return text, len(rows)


@transaction.atomic
def evaluation_run_create(*, file_name: str, content: bytes | str, user: AbstractBaseUser | None = None) -> EvaluationRun:
    """Store a run of ``content`` and enqueue it after commit.

    Raises ``ApplicationError("invalid_evaluation_file")`` before anything is stored.
    """
    text, _n = evaluation_file_read(content.encode("utf-8") if isinstance(content, str) else content)
    run = EvaluationRun.objects.create(
        file_name=(file_name or "eval.jsonl")[:200],
        content=text,
        content_hash=hashlib.sha256(text.strip().encode("utf-8")).hexdigest(),
        created_by=user if user is not None and user.is_authenticated else None,
    )
    from knowledge.tasks import kb_evaluation_run

    run_id = run.pk
    transaction.on_commit(lambda: kb_evaluation_run.delay(run_id))
    return run


def evaluation_run_execute(run_id: int) -> EvaluationRun:
    """Run the stored file through ``kb_evaluate`` and store metrics and per-query results.

    A failure is stored on the run (status ``failed`` with the error), never raised, so a
    broken KB state shows on the page instead of retrying forever.
    """
    from knowledge.evaluation import kb_evaluate

    run = EvaluationRun.objects.get(pk=run_id)
    if run.status == EvaluationStatus.DONE:
        return run  # a duplicate delivery
    EvaluationRun.objects.filter(pk=run.pk).update(status=EvaluationStatus.RUNNING)
    try:
        report = kb_evaluate(_rows_of(run.content))
    except Exception as exc:  # stored for the manager to read; the task must not loop on it
        run.status, run.error = EvaluationStatus.FAILED, f"{type(exc).__name__}: {exc}"
    else:
        run.per_query = report.pop("per_query")
        run.metrics = report
        run.status, run.error = EvaluationStatus.DONE, ""
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "metrics", "per_query", "error", "finished_at"])
    return run


def evaluation_run_previous(run: EvaluationRun) -> EvaluationRun | None:
    """The newest finished run of the same file before ``run``."""
    return (
        EvaluationRun.objects.filter(content_hash=run.content_hash, status=EvaluationStatus.DONE, pk__lt=run.pk)
        .order_by("-pk")
        .first()
    )


def query_right(result: dict[str, Any]) -> bool:
    if result.get("expected") is None:
        return result.get("band") != MatchBand.ANSWER
    return result.get("band") == MatchBand.ANSWER and result.get("top") == result.get("expected")


@dataclass(frozen=True)
class MetricDelta:
    name: str
    before: float | None
    after: float | None
    higher_is_better: bool

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return round(self.after - self.before, 4)

    @property
    def verdict(self) -> str:
        """``better`` / ``worse`` / ``same``."""
        if not self.delta:
            return "same"
        return "better" if (self.delta > 0) == self.higher_is_better else "worse"


@dataclass(frozen=True)
class Comparison:
    previous: EvaluationRun
    metrics: list[MetricDelta]
    right_to_wrong: list[tuple[dict[str, Any], dict[str, Any]]]  # (before, after) per query
    wrong_to_right: list[tuple[dict[str, Any], dict[str, Any]]]


def _keyed(per_query: list[dict[str, Any]]) -> dict[tuple[str, Any, int], dict[str, Any]]:
    seen: dict[tuple[str, Any], int] = {}
    out = {}
    for result in per_query:
        base = (result.get("query"), result.get("expected"))
        seen[base] = seen.get(base, 0) + 1
        out[(*base, seen[base])] = result
    return out


def evaluation_compare(run: EvaluationRun, previous: EvaluationRun | None = None) -> Comparison | None:
    """``run`` against ``previous`` (default: ``evaluation_run_previous``); ``None`` without one."""
    previous = previous or evaluation_run_previous(run)
    if previous is None or run.status != EvaluationStatus.DONE:
        return None
    metrics = [MetricDelta(name, previous.metrics.get(name), run.metrics.get(name), better) for name, better in METRICS]
    before, after = _keyed(previous.per_query), _keyed(run.per_query)
    right_to_wrong, wrong_to_right = [], []
    for key, now in after.items():
        then = before.get(key)
        if then is None or query_right(then) == query_right(now):
            continue
        (wrong_to_right if query_right(now) else right_to_wrong).append((then, now))
    return Comparison(previous=previous, metrics=metrics, right_to_wrong=right_to_wrong, wrong_to_right=wrong_to_right)
