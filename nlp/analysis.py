"""``analyze(text, *, now)``: everything the dialog needs to know about one visitor message.

A pure function of the text, the time and the active models: normalised text, jieba
tokens, emoji, intent with a calibrated confidence and runners-up, an out-of-scope flag,
entities, sentiment and PII spans with the masked text. Models load lazily once per process;
when none is trained or active yet the intent is ``None`` with confidence 0.0, and a broken
model never breaks the chat (the error is logged and the message is analysed without intent).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from .entities import Entity, extract_entities_normalized
from .pii import PiiSpan, find_pii_normalized, mask_spans
from .sentiment import Sentiment, sentiment_normalized
from .text import normalize
from .tokens import tokenize

__all__ = ["Analysis", "IntentScore", "Entity", "Sentiment", "PiiSpan", "analyze", "warm_up", "OUT_OF_SCOPE", "out_of_scope_threshold"]

logger = logging.getLogger(__name__)

OUT_OF_SCOPE = "out_of_scope"
# Below this calibrated confidence the message counts as out of scope whatever the top intent.
DEFAULT_OUT_OF_SCOPE_THRESHOLD = 0.3


@dataclass(frozen=True)
class IntentScore:
    name: str
    probability: float


@dataclass(frozen=True)
class Analysis:
    """One analysed message. ``intent`` is the top label (possibly ``out_of_scope``) or None without a model."""

    raw: str
    text: str
    tokens: tuple[str, ...]
    emojis: tuple[str, ...]
    intent: str | None
    confidence: float
    ranking: tuple[IntentScore, ...]
    out_of_scope: bool
    entities: tuple[Entity, ...]
    sentiment: Sentiment
    pii: tuple[PiiSpan, ...]
    masked: str
    model_version: int | None = None  # the ModelVersion that classified it (None: no model)

    def entities_of(self, kind: str) -> tuple[Entity, ...]:
        return tuple(e for e in self.entities if e.kind == kind)


def out_of_scope_threshold() -> float:
    from django.conf import settings

    if not settings.configured:  # benchmarks and pure tests without Django
        return DEFAULT_OUT_OF_SCOPE_THRESHOLD
    return float(getattr(settings, "NLP_OUT_OF_SCOPE_THRESHOLD", DEFAULT_OUT_OF_SCOPE_THRESHOLD))


def _classify(text: str) -> tuple[tuple[IntentScore, ...], int | None]:
    from .runtime import active_classifier

    try:
        loaded = active_classifier()
        if loaded is None or not text:
            return (), None
        return tuple(IntentScore(n, p) for n, p in loaded.classifier.rank(text, k=3)), loaded.version_id
    except Exception:  # noqa: BLE001 - a broken model must not break the chat
        logger.exception("intent classification failed; continuing without intent")
        return (), None


def warm_up() -> None:
    """Load everything ``analyze`` needs now (jieba + KB dictionary, sentiment model, active intent
    model): a few seconds once per process, so the first visitor does not wait. Never raises."""
    from . import sentiment, tokens
    from .runtime import active_classifier

    for step in (tokens.warm_up, sentiment.warm_up, active_classifier):
        try:
            step()
        except Exception:  # noqa: BLE001 - warming up is best effort; analyze() degrades the same way
            logger.exception("nlp warm-up step %s failed", getattr(step, "__qualname__", step))


def analyze(text: str, *, now: datetime) -> Analysis:
    """Analyse one raw visitor message received at ``now`` (aware datetime)."""
    norm = normalize(text)
    tokens = tuple(tokenize(norm.text))
    ranking, version = _classify(norm.text)
    intent = ranking[0].name if ranking else None
    confidence = ranking[0].probability if ranking else 0.0
    out_of_scope = bool(ranking) and (intent == OUT_OF_SCOPE or confidence < out_of_scope_threshold())
    pii = tuple(find_pii_normalized(norm))
    return Analysis(
        raw=norm.raw,
        text=norm.text,
        tokens=tokens,
        emojis=norm.emojis,
        intent=intent,
        confidence=float(confidence),
        ranking=ranking,
        out_of_scope=out_of_scope,
        entities=tuple(extract_entities_normalized(norm, now=now)),
        sentiment=sentiment_normalized(norm.text, norm.raw),
        pii=pii,
        masked=mask_spans(norm.raw, pii),
        model_version=version,
    )
