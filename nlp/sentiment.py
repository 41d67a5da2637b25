"""Sentiment of a visitor message: how negative and how angry, to escalate on.

Two parts, blended by a noisy-or (``negative = 1 − (1 − lexicon)(1 − 0.7 · model)``):

1. A small learned model: logistic regressions (negative? angry?) over character 1–2-grams and
   jieba-dictionary character vectors, trained lazily once per process on
   ``nlp/data/sentiment_train.tsv`` (sentences written for it, disjoint from the evaluation
   set). It generalises to wording the lexicon does not list (心累, 闹心).
2. A lexicon (``nlp/data/sentiment_lexicon.tsv``: angry, negative, positive and shadowing
neutral phrases with weights) with negation handling (我不是要投诉 is not a complaint,
不满意 is negative), intensifiers (太差 > 差) and exclamation marks. Matches are found on the
normalised text, longest phrase first, so 不好意思 shadows 不好 and 还不错 shadows 还不.
Weights add up and are squashed to 0..1. It is precise, and decides alone when
scikit-learn is unavailable.

``bench/nlu_sentiment.py`` measures both and the blend on ``nlp/fixtures/sentiment_eval.jsonl``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .text import normalize

__all__ = ["Sentiment", "sentiment", "sentiment_normalized", "lexicon_sentiment", "model_scores", "warm_up", "NEGATIVE_THRESHOLD", "ANGRY_THRESHOLD"]

_LEXICON_FILE = Path(__file__).resolve().parent / "data" / "sentiment_lexicon.tsv"
_TRAIN_FILE = Path(__file__).resolve().parent / "data" / "sentiment_train.tsv"
# How much the learned model counts in the noisy-or blend (see bench/results/nlu.md).
MODEL_WEIGHT = 0.7
# A message at or above these scores is labelled negative / counted as angry.
NEGATIVE_THRESHOLD = 0.5
ANGRY_THRESHOLD = 0.5

# A negator right before a term, optionally followed by a light verb or adverb (不是要投诉, 没有很差).
_NEGATION = re.compile(r"(?:不|没|别|无|并不|没有|不要|不是|不想|不用|无需|不需要|不必|并没有|从没|从来没|从不)"
                       r"(?:是|要|想|会|太|很|再|用|去|在|打算|准备|算|能|可能|是要|是想|有)?$")
# Words that name a topic as often as they express a feeling: in a calm information question
# (投诉建议的入口在哪里, 差评后还能追评吗) they count for little.
_TOPIC_TERMS = frozenset({"投诉", "差评", "举报", "赔偿", "破损", "重复扣", "不满意", "假货", "退钱", "质量问题", "损坏", "坏了"})
_QUESTION = re.compile(r"怎么|怎样|如何|在哪|哪里|哪儿|多久|什么时候|几天|能不能|能否|可不可以|可以.*吗|吗[?？]?$|么[?？]?$|流程|入口|规则")
# Productive patterns a word list cannot enumerate: a degree adverb before a bad quality
# (有点慢, 太贵了, 这么难用), a thing that still has not happened (还没到, 一直没回复), a hedged
# negative (不太方便, 不怎么好).
_PATTERNS: tuple[tuple[re.Pattern[str], str, float], ...] = (
    (re.compile(r"(?:太|有点|有些|好|真|很|挺|特别|超|巨|这么|那么|非常|相当|越来越)(?:慢|贵|差|烂|难用|难吃|难看|难闻|累|烦|亏|脏|旧|臭|吵|薄|硬|丑|麻烦|复杂|失望)"), "neg", 0.7),
    (re.compile(r"(?:偏|有点|太)(?:小|大|短|长|紧|松)"), "neg", 0.5),
    (re.compile(r"(?:还|一直|迟迟|始终|到现在|至今)(?:没|不|没有)(?:到|发|退|回|处理|解决|给|收到|送|动|更新|联系|理)"), "neg", 0.7),
    (re.compile(r"不(?:太|怎么|大)(?:好|行|满意|方便|清楚|明白|合适|新鲜|舒服|灵|准|对)"), "neg", 0.6),
    (re.compile(r"到底(?:还|要|能不能|是不是|怎么|什么|有没有)"), "ang", 0.5),
)
_INTENSIFIER = re.compile(r"(?:太|非常|特别|超级|超|真|真的|极其|十分|很|实在|简直|巨|好)$")


# Emoji carry sentiment the text may not (还没发货😡): (kind, weight) as in the lexicon.
_EMOJI = {
    "😡": ("ang", 1.0), "🤬": ("ang", 1.3), "😠": ("ang", 0.9), "💢": ("ang", 0.8), "👿": ("ang", 0.8), "🖕": ("ang", 1.3),
    "😤": ("ang", 0.6), "😭": ("neg", 0.7), "😢": ("neg", 0.6), "😞": ("neg", 0.6), "😩": ("neg", 0.7), "😫": ("neg", 0.7),
    "🙄": ("neg", 0.5), "😒": ("neg", 0.5), "👎": ("neg", 0.8), "💔": ("neg", 0.6),
    "👍": ("pos", 0.7), "😊": ("pos", 0.6), "😄": ("pos", 0.6), "😁": ("pos", 0.6), "🙏": ("pos", 0.4), "❤": ("pos", 0.7),
    "🥰": ("pos", 0.8), "💯": ("pos", 0.6), "🌹": ("pos", 0.5), "👏": ("pos", 0.6),
}


@dataclass(frozen=True)
class Sentiment:
    """``negative`` and ``angry`` in 0..1; ``label`` is negative / neutral / positive."""

    negative: float
    angry: float
    label: str
    # The lexicon found negative words explicitly not meant (我不是要投诉, 不着急, 不好意思).
    negated: bool = False

    @property
    def is_angry(self) -> bool:
        return self.angry >= ANGRY_THRESHOLD


@lru_cache(maxsize=1)
def _lexicon() -> tuple[dict[str, tuple[str, float]], int]:
    terms: dict[str, tuple[str, float]] = {}
    with _LEXICON_FILE.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip() or line.startswith("#"):
                continue
            term, kind, weight = line.rstrip("\n").split("\t")[:3]
            terms[term.strip().lower()] = (kind.strip(), float(weight))
    return terms, max(len(t) for t in terms)


def _matches(text: str) -> list[tuple[int, int, str, float]]:
    terms, longest = _lexicon()
    found = []
    for start in range(len(text)):
        for length in range(min(longest, len(text) - start), 0, -1):
            hit = terms.get(text[start : start + length])
            if hit:
                found.append((start, start + length, *hit))
    chosen: list[tuple[int, int, str, float]] = []
    for match in sorted(found, key=lambda m: (-(m[1] - m[0]), m[0])):
        if all(match[1] <= c[0] or match[0] >= c[1] for c in chosen):
            chosen.append(match)
    return sorted(chosen)


def _squash(score: float) -> float:
    return 1.0 - math.exp(-max(score, 0.0))


@lru_cache(maxsize=1)
def _model():
    """(tfidf, char vectors, weights, weights, bias) trained on the shipped sentences; None without scikit-learn."""
    import csv
    import logging

    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from scipy.sparse import hstack

        from .classifier.charvec import CharVectorMean
    except ImportError:  # pragma: no cover - scikit-learn is a dependency; the lexicon still works
        logging.getLogger(__name__).warning("scikit-learn unavailable: sentiment uses the lexicon only")
        return None
    from .text import normalize_text

    with _TRAIN_FILE.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    texts = [normalize_text(r["text"]) for r in rows]

    tfidf = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True, lowercase=False).fit(texts)
    vectors = CharVectorMean(128, 1.0).fit(texts)
    matrix = hstack([tfidf.transform(texts), vectors.transform(texts)]).tocsr()

    def head(targets: list[bool]):
        return LogisticRegression(C=10, max_iter=2000, class_weight="balanced").fit(matrix, targets)

    heads = [head([r["label"] == "negative" for r in rows]), head([r["angry"] == "1" for r in rows])]
    # Score with two dot products instead of sklearn's per-call machinery (~10x faster for one text).
    weights = np.vstack([h.coef_[0] for h in heads]).T  # (features, 2)
    bias = np.array([h.intercept_[0] for h in heads])
    n_tfidf = len(tfidf.vocabulary_)
    return tfidf.vocabulary_, tfidf.idf_, vectors, weights[:n_tfidf], weights[n_tfidf:], bias


def warm_up() -> None:
    """Train the small sentiment model now (a few seconds, once per process)."""
    _model()


def model_scores(text: str) -> tuple[float, float]:
    """(negative, angry) probabilities of the learned model alone for normalised ``text``."""
    model = _model()
    if model is None or not text:
        return 0.0, 0.0
    vocabulary, idf, vectors, w_tfidf, w_vectors, bias = model
    # The same features TfidfVectorizer(char 1-2, sublinear_tf, l2) and CharVectorMean compute,
    # without sklearn's per-call overhead (≈1 ms → ≈30 µs for one short text).
    counts: dict[int, int] = {}
    for n in (1, 2):
        for i in range(len(text) - n + 1):
            column = vocabulary.get(text[i : i + n])
            if column is not None:
                counts[column] = counts.get(column, 0) + 1
    z = bias.copy()
    if counts:
        columns = np.fromiter(counts, dtype=np.int64)
        values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64))) * idf[columns]
        z += (values / np.linalg.norm(values)) @ w_tfidf[columns]
    ids = [vectors.index_[c] for c in text if c in vectors.index_]
    if ids:
        mean = vectors.vectors_[ids].mean(axis=0)
        norm = float(np.linalg.norm(mean))
        if norm:
            z += (mean / norm * vectors.weight) @ w_vectors
    negative, angry = 1.0 / (1.0 + np.exp(-z))
    return float(negative), float(angry)


def lexicon_sentiment(text: str, raw: str) -> Sentiment:
    """Sentiment of normalised ``text`` from the lexicon alone; ``raw`` is only used for ! and emoji."""
    negative = angry = positive = 0.0
    cancelled = False  # the lexicon saw a negative word said not to count (我不是要投诉, 不着急)
    calm_question = bool(_QUESTION.search(text)) and not re.search(r"[!！]", raw)
    for start, end, kind, weight in _matches(text):
        if calm_question and text[start:end] in _TOPIC_TERMS:
            weight *= 0.2
        before = text[max(0, start - 5) : start]
        if kind == "neu":
            cancelled = True
            continue
        if _NEGATION.search(before) and not text[start] in "不没":
            if kind == "pos":
                negative += 0.8 * weight  # 不满意, 不太好, 没有很专业
            else:
                cancelled = True
            continue  # 我不是要投诉, 没有不满
        if _INTENSIFIER.search(before):
            weight *= 1.3
        if kind == "ang":
            angry += weight
            negative += weight
        elif kind == "neg":
            negative += weight
            angry += 0.25 * weight
        elif kind == "pos":
            positive += weight
    for pattern, kind, weight in _PATTERNS:
        if pattern.search(text):
            if kind == "ang":
                angry += weight
            else:
                angry += 0.25 * weight
            negative += weight
    for char in raw:
        kind, weight = _EMOJI.get(char, ("", 0.0))
        if kind == "ang":
            angry += weight
            negative += weight
        elif kind == "neg":
            negative += weight
            angry += 0.25 * weight
        elif kind == "pos":
            positive += weight
    marks = len(re.findall(r"[!！]", raw)) + len(re.findall(r"[?？][!！]|[!！][?？]", raw))
    if marks >= 2 and negative > 0:
        angry += 0.25 * min(marks, 4)
        negative += 0.2
    neg_score = _squash(negative - 0.5 * positive)
    angry_score = _squash(angry - 0.3 * positive)
    return Sentiment(round(neg_score, 4), round(angry_score, 4), _label(neg_score, positive), cancelled)


def _label(negative: float, positive: float) -> str:
    if negative >= NEGATIVE_THRESHOLD:
        return "negative"
    if positive >= 0.5 and negative < 0.3:
        return "positive"
    return "neutral"


def sentiment_normalized(text: str, raw: str) -> Sentiment:
    """Sentiment of normalised ``text`` (lexicon and learned model blended); ``raw`` adds ! and emoji."""
    lexicon = lexicon_sentiment(text, raw)
    model_negative, model_angry = model_scores(text)
    # The model cannot see negation; where the lexicon saw a negative word negated, it counts less.
    weight = MODEL_WEIGHT * (0.3 if lexicon.negated else 1.0)
    negative = 1.0 - (1.0 - lexicon.negative) * (1.0 - weight * model_negative)
    angry = 1.0 - (1.0 - lexicon.angry) * (1.0 - weight * model_angry)
    # A positive message stays positive unless the blend is clearly negative.
    positive = 0.5 if lexicon.label == "positive" else 0.0
    return Sentiment(round(negative, 4), round(angry, 4), _label(negative, positive), lexicon.negated)


def sentiment(text: str) -> Sentiment:
    """Sentiment of the raw ``text``."""
    norm = normalize(text)
    return sentiment_normalized(norm.text, norm.raw)
