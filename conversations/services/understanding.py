"""The turn's only doors into ``nlp`` and ``knowledge``: analysis, FAQ matching, masking.

Imports happen on first call so importing the conversations app loads no model. Tests
replace these functions (``monkeypatch``) to drive the pipeline with hand-built analyses.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..dialog.context import AnalysisLike, FaqMatchLike


logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SelectedEntry:
    """An entry the visitor picked from the suggestions; shaped like a matcher candidate."""

    entry_id: int
    external_id: str
    question: str
    answer: str
    category_slug: str
    probability: float = 1.0
    score: float = 0.0


def text_analyze(text: str, *, now: datetime) -> "AnalysisLike":
    """``nlp.analyze``: normalisation, intent, entities, sentiment, PII (runs in a worker thread)."""
    from nlp.analysis import analyze

    return analyze(text, now=now)


def faq_match(analysis: "AnalysisLike", *, limit: int = 3) -> "FaqMatchLike":
    """``knowledge.selectors.faq_match``: search + matcher, banded into answer / suggest / fallback."""
    from knowledge.selectors import faq_match as kb_faq_match

    return kb_faq_match(analysis, limit=limit)


def store_text(text: str) -> str:
    """The form of a visitor message to store (PII masked when ``CSBOT_MASK_PII`` is on)."""
    from nlp.pii import store_text as nlp_store_text

    return nlp_store_text(text)


def entry_selected(entry_id: int) -> SelectedEntry | None:
    """The answerable entry a clicked suggestion names, or None if it is gone or unpublished."""
    from knowledge.selectors import entries_answerable

    row = entries_answerable().filter(pk=entry_id).values("pk", "external_id", "question", "answer", "category__slug").first()
    if row is None:
        return None
    return SelectedEntry(
        entry_id=row["pk"], external_id=row["external_id"], question=row["question"], answer=row["answer"], category_slug=row["category__slug"] or ""
    )


@lru_cache(maxsize=2048)
def answer_html(text: str) -> str:
    """Manager-written Markdown → sanitised HTML (``knowledge.rendering.render_answer``, nh3).

    Cached by text: the same few hundred answers and templates are rendered over and over.
    """
    from knowledge.rendering import render_answer

    return str(render_answer(text))


# Entity kinds that are personal data: with masking on, only their kind is kept.
PII_ENTITY_KINDS = frozenset({"phone", "id_card", "bank_card", "email"})


def analysis_summary(analysis: Any) -> dict[str, Any]:
    """What of an analysis is kept with the visitor message (for analytics and agents).

    Personal data never reaches storage unmasked through here when ``CSBOT_MASK_PII`` is on.
    """
    from django.conf import settings

    mask = getattr(settings, "CSBOT_MASK_PII", True)
    sentiment = getattr(analysis, "sentiment", None)
    return {
        "intent": analysis.intent or "",
        "intent_confidence": round(float(analysis.confidence or 0.0), 4),
        "ranking": [{"name": s.name, "probability": round(float(s.probability), 4)} for s in getattr(analysis, "ranking", ())][:3],
        "out_of_scope": bool(analysis.out_of_scope),
        "entities": [
            {"kind": e.kind} if mask and e.kind in PII_ENTITY_KINDS else {"kind": e.kind, "value": str(e.value)}
            for e in getattr(analysis, "entities", ())
        ],
        "sentiment": None
        if sentiment is None
        else {"negative": round(float(sentiment.negative), 3), "angry": round(float(sentiment.angry), 3), "label": sentiment.label},
        "model_version": getattr(analysis, "model_version", None),
    }


def warm_up() -> float:
    """Load jieba, the intent model and the KB matcher now instead of on a visitor's first
    message; returns the seconds it took. Idempotent (the loaders cache per process).

    Call it when a server process starts, before it serves: loading holds the GIL for
    seconds, which in a running daphne would stall every other socket of the process.
    """
    from django.utils import timezone

    started = time.perf_counter()
    faq_match(text_analyze("你好，请问多久发货？", now=timezone.now()))
    return time.perf_counter() - started
