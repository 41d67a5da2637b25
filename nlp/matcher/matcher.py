"""Training the re-ranker from a KB's own texts, and scoring candidates with it.

Training pairs come from the KB itself: every standard or similar question becomes a
pseudo-query, searched with *its own text hidden* (leave-one-out), so the right entry can
only be found through its other texts — as with a real customer's new wording. The
candidates the search returns are labelled 1 for the query's own entry and 0 for the others.
A share of the pseudo-queries is searched with their *whole entry hidden*: those teach the
model what a near-miss without the right answer looks like (a question the KB cannot
answer), so a high lexical score alone does not mean a high probability. ``negatives``
(questions nothing in the KB answers: the NLU's ``out_of_scope`` examples) add real
out-of-scope questions, all of whose candidates are wrong: KB texts never look like them,
so without them the model cannot learn what an out-of-scope intent or a weak best match
means for the probability.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .features import CandidateLike, QueryView, candidate_features, feature_names
from .model import MatcherModel, fit_matcher

TOP_N = 10  # candidates re-ranked per question (training and serving alike)


@dataclass(frozen=True)
class PseudoQuery:
    """A KB text used as a training question: which group (entry) it belongs to, which unit it is."""

    group: int
    unit: int
    text: str
    tokens: tuple[str, ...]
    intent: str | None = None
    confidence: float = 0.0
    intent_probs: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class TrainingHit:
    group: int
    score: float
    texts: tuple[str, ...]
    keywords: tuple[str, ...]
    category_slug: str | None
    centroid: float = 0.0
    tokens: tuple[tuple[str, ...], ...] = ()
    answer: str = ""


SearchFn = Callable[[str, tuple[str, ...], Sequence[int], Sequence[int]], list[TrainingHit]]


@dataclass
class TrainingSet:
    rows: np.ndarray
    labels: np.ndarray
    query_ids: np.ndarray  # which pseudo-query each row came from (for grouped cross-validation)
    held_out_entry: np.ndarray  # 1 when the row's query had its whole entry hidden
    names: tuple[str, ...] = field(default=())


@dataclass
class Matcher:
    """A fitted model plus the featurisation it was fitted with."""

    model: MatcherModel
    text_tokens: Callable[[str], tuple[str, ...]]
    expand: Callable[[Sequence[str]], list[str]]
    kb_slugs: frozenset[str]
    embedder: object | None = None  # nlp.matcher.embeddings.Embedder
    # KB text → the form its embedding is cached under (the index's normalised text)
    embed_key: Callable[[str], str] = str
    # entry answer (Markdown) → the plain text its passage embedding is cached under
    answer_key: Callable[[str], str] = str
    # Vectors of the questions the KB must not answer (the training negatives), for the
    # ``oos_embedding`` features. Held here, not in the embedder's KB cache, which a KB
    # refresh trims to the KB's own texts.
    negative_vectors: np.ndarray | None = None

    def oos_cosine(self, text: str) -> float | None:
        """The question's best cosine with the out-of-scope examples (None without a model or examples)."""
        if self.embedder is None or self.negative_vectors is None:
            return None
        return nearest_cosine(self.negative_vectors, self.embedder.encode_query(text))

    def probabilities(self, query: QueryView, hits: Sequence[CandidateLike], *, centroids: np.ndarray | None = None) -> np.ndarray:
        """Calibrated P(answers) of each hit, in the order given."""
        if not hits:
            return np.zeros(0)
        cosines = embedding_centroids = answers = None
        if self.embedder is not None:
            key = self.embed_key
            cosines, embedding_centroids = self.embedder.cosine_stats(query.text, [tuple(key(t) for t in h.texts) for h in hits])
            answers = answer_cosines(self.embedder, query.text, hits, self.answer_key)
        rows = candidate_features(
            query, hits, text_tokens=self.text_tokens, expand=self.expand, kb_slugs=self.kb_slugs, centroids=centroids,
            embeddings=cosines, embedding_centroids=embedding_centroids, answer_embeddings=answers,
            oos_embedding=self.oos_cosine(query.text),
        )
        return self.model.predict_proba(rows)


def nearest_cosine(vectors: np.ndarray, query: np.ndarray, *, skip: int | None = None) -> float | None:
    """The best cosine between ``query`` and the rows of ``vectors`` (row ``skip`` left out);
    None when no row is left."""
    if len(vectors) - (skip is not None) <= 0:
        return None
    sims = vectors @ query
    if skip is not None:
        sims[skip] = -np.inf
    return float(sims.max())


def answer_cosines(embedder: object, query: str, hits: Sequence[object], answer_key: Callable[[str], str]) -> np.ndarray:
    """Cosine between the question and each hit's answer; 0 for a hit without an answer."""
    keys = [answer_key(getattr(h, "answer", "") or "") for h in hits]
    present = [i for i, k in enumerate(keys) if k]
    out = np.zeros(len(hits))
    if present:
        out[present] = embedder.passage_cosines(query, [keys[i] for i in present])
    return out


def build_training_set(
    queries: Sequence[PseudoQuery],
    search: SearchFn,
    *,
    text_tokens: Callable[[str], tuple[str, ...]],
    expand: Callable[[Sequence[str]], list[str]],
    kb_slugs: frozenset[str],
    embedder: object | None = None,
    embed_key: Callable[[str], str] = str,
    answer_key: Callable[[str], str] = str,
    hide_entry_share: float = 0.3,
    seed: int = 13,
    negatives: Sequence[PseudoQuery] = (),
    negative_vectors: np.ndarray | None = None,
) -> TrainingSet:
    """Search every pseudo-query with its text (or, for a share, its entry) hidden; featurise the hits.

    ``negatives`` are searched as they are, and every hit they get is labelled 0 (their
    ``group`` and ``unit`` are ignored; rows count as entry-hidden). With an ``embedder``
    they are also what the ``oos_embedding`` features compare a question with; a negative is
    compared with the other negatives only (leave-one-out, as a KB text is searched with
    itself hidden), else every negative would look like a perfect out-of-scope match.
    ``negative_vectors``: the negatives' embeddings, row for row, when the caller has them
    already (serving keeps the same vectors); encoded here otherwise.
    """
    rng = random.Random(seed)
    rows, labels, qids, hidden = [], [], [], []
    names = feature_names(embedder is not None)
    n_positive_queries = len(queries)
    # the negatives' vectors, encoded once: every pseudo-query is compared with all of them
    negative_matrix = None
    if embedder is not None and negatives:
        negative_matrix = negative_vectors if negative_vectors is not None else embedder.encode([n.text for n in negatives])
        if len(negative_matrix) != len(negatives):
            raise ValueError("negative_vectors must have one row per negative")
    for qid, query in enumerate([*queries, *negatives]):
        negative = qid >= n_positive_queries
        hide_entry = negative or rng.random() < hide_entry_share
        if negative:
            hits = search(query.text, query.tokens, [], [])
        else:
            hits = search(query.text, query.tokens, [query.unit], [query.group] if hide_entry else [])
        if not hits:
            continue
        view = QueryView(query.text, query.tokens, query.intent, query.confidence, query.intent_probs)
        cosines = embedding_centroids = answers = None
        oos_embedding = None
        if embedder is not None:
            cosines, embedding_centroids = embedder.cosine_stats(query.text, [tuple(embed_key(t) for t in h.texts) for h in hits])
            answers = answer_cosines(embedder, query.text, hits, answer_key)
            if negative_matrix is not None:
                skip = qid - n_positive_queries if negative else None
                oos_embedding = nearest_cosine(negative_matrix, embedder.encode_query(query.text), skip=skip)
        feats = candidate_features(
            view, hits, text_tokens=text_tokens, expand=expand, kb_slugs=kb_slugs,
            centroids=np.array([h.centroid for h in hits]), embeddings=cosines, embedding_centroids=embedding_centroids,
            answer_embeddings=answers, oos_embedding=oos_embedding,
        )
        for hit, row in zip(hits, feats):
            rows.append(row)
            labels.append(int(not negative and hit.group == query.group))
            qids.append(qid)
            hidden.append(int(hide_entry))
    width = len(names)
    return TrainingSet(
        rows=np.asarray(rows, dtype=np.float64).reshape(-1, width),
        labels=np.asarray(labels, dtype=int),
        query_ids=np.asarray(qids, dtype=int),
        held_out_entry=np.asarray(hidden, dtype=int),
        names=names,
    )


def train_matcher(training: TrainingSet, *, c: float = 1.0, meta: dict | None = None) -> MatcherModel:
    return fit_matcher(training.rows, training.labels, training.names, c=c, meta=meta)
