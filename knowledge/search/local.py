"""The embedded in-process search index (the default backend, and Elasticsearch's fallback).

One index per process, shared by every ``LocalBackend`` instance. It is rebuilt from the
database when ``KbChangeWatcher`` says the KB changed (a change made by any process: admin,
import, a worker) or when this process changed the KB itself (``mark_stale``), so no
restart is ever needed. Small KBs rebuild inline on the next search; large ones rebuild in a
background thread while the old index keeps answering.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from django.conf import settings
from django.db import close_old_connections

from nlp.matcher.text import content_chars

from .base import SearchBackend, SearchHit
from .documents import KbDocument, kb_documents
from .lexical import IndexDoc, LexicalHit, LexicalIndex

if TYPE_CHECKING:
    from nlp.matcher.embeddings import Embedder

logger = logging.getLogger(__name__)

# Above this many texts a refresh runs in the background (a 10k-entry KB takes seconds).
BACKGROUND_REBUILD_UNITS = 20_000
# With a sentence-embedding model, the entries of this many nearest texts are added to the
# lexical top-10 as candidates (on the demo KB the lexical top-10 holds the right entry for
# 94.6 % of the held-out questions, the union with the 10 nearest by embedding for 99.2 %).
DENSE_CANDIDATES = 10
# A KB change needing more new text embeddings than this is re-indexed in the background.
INLINE_ENCODE_LIMIT = 50


def synonym_expander(mapping: dict[str, str]):
    """Tokens plus the canonical term of each synonym (退钱 → 退钱, 退款)."""

    def expand(tokens: Sequence[str]) -> list[str]:
        out = list(tokens)
        out.extend(mapping[t] for t in tokens if t in mapping)
        return out

    return expand


@dataclass
class BuiltIndex:
    """A lexical index plus the documents it was built from (hits are made from these)."""

    index: LexicalIndex
    documents: list[KbDocument]
    synonyms: dict[str, str]
    built_at: float
    build_seconds: float
    _positions: dict[int, int] | None = None
    _tokens: dict[int, tuple[tuple[str, ...], ...]] = field(default_factory=dict)  # position → its units' tokens
    # Sentence embeddings of every unit's normalised text (rows = lexical units), when
    # ``NLP_EMBEDDING_MODEL`` is set; ``embedder`` encoded them and encodes the questions.
    unit_vectors: np.ndarray | None = None
    embedder: Embedder | None = None
    embed_seconds: float = 0.0
    # content characters of each KB text → (position, unit) of the one entry that has it
    # (None when several do); built with the index, read by ``exact_unit`` on every question.
    exact: dict[str, tuple[int, int] | None] = field(default_factory=dict)

    def exact_unit(self, text: str) -> tuple[int, int] | None:
        """(position, unit) of the one entry that has ``text`` word for word as its standard or a
        similar question (spaces and punctuation aside); None when no entry has it, or several do.

        The matcher learns from KB texts with each text hidden from itself, so it never sees a
        question that *is* a curated wording and scores one like any short paraphrase: 怎么退货,
        a similar question of "如何申请退货？", got 0.10 and the fallback. ``faq_match`` uses this
        to take the manager's own wording at its word.
        """
        return self.exact.get(content_chars(text)) if text else None

    def dense_docs(
        self, query_vector: np.ndarray, *, limit: int = DENSE_CANDIDATES, exclude_units: Sequence[int] = (), exclude_docs: Sequence[int] = ()
    ) -> list[int]:
        """Positions of the entries owning the ``limit`` texts nearest to ``query_vector``, best first."""
        if self.unit_vectors is None or not len(self.unit_vectors):
            return []
        sims = self.unit_vectors @ query_vector
        if len(exclude_units):
            sims[np.asarray(exclude_units, dtype=np.int64)] = -np.inf
        if len(exclude_docs):
            sims[np.isin(self.index.unit_doc, np.asarray(exclude_docs))] = -np.inf
        k = min(len(sims), limit * 3)  # several texts of one entry may be among the nearest
        top = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
        docs: dict[int, None] = {}
        for unit in top[np.argsort(-sims[top], kind="stable")].tolist():
            if sims[unit] == -np.inf:
                break
            docs.setdefault(int(self.index.unit_doc[unit]), None)
            if len(docs) >= limit:
                break
        return list(docs)

    def candidates(
        self, text: str, tokens: Sequence[str], *, limit: int = 10, exclude_units: Sequence[int] = (), exclude_docs: Sequence[int] = ()
    ) -> list[LexicalHit]:
        """Lexical top ``limit``, plus the entries nearest by sentence embedding when a model is set.

        Costs one question embedding (kept by the embedder, so the matcher's features reuse it).
        """
        include: list[int] = []
        if self.unit_vectors is not None and self.embedder is not None and text:
            query_vector = self.embedder.encode_query(text)
            include = self.dense_docs(query_vector, exclude_units=exclude_units, exclude_docs=exclude_docs)
        return self.index.search(text, tokens, limit=limit, exclude_units=exclude_units, exclude_docs=exclude_docs, include_docs=include)

    def positions(self) -> dict[int, int]:
        """entry id → position in ``documents`` (and in the lexical index)."""
        if self._positions is None:
            self._positions = {doc.entry_id: i for i, doc in enumerate(self.documents)}
        return self._positions

    def to_hit(self, position: int, score: float, unit: int) -> SearchHit:
        doc = self.documents[position]
        return SearchHit(
            entry_id=doc.entry_id,
            external_id=doc.external_id,
            question=doc.question,
            answer=doc.answer,
            category_slug=doc.category_slug,
            score=score,
            texts=doc.texts,
            keywords=doc.keywords,
            matched_text=doc.texts[unit - int(self.index.unit_start[position])],
            tokens=self._doc_tokens(position),
        )

    def _doc_tokens(self, position: int) -> tuple[tuple[str, ...], ...]:
        tokens = self._tokens.get(position)
        if tokens is None:  # built once per entry: every turn's candidates need them
            tokens = self._tokens[position] = tuple(tokens for _, tokens in self.index.docs[position].units)
        return tokens


def add_dense_hits(built: BuiltIndex, text: str, tokens: Sequence[str], hits: list[SearchHit]) -> list[SearchHit]:
    """Append the entries nearest by sentence embedding that ``hits`` (e.g. Elasticsearch's) lack.

    The local backend does this inside ``search``; other backends' hits get it here, so the
    matcher sees the same kind of candidate set it was trained on. No-op without embeddings.
    """
    if built.unit_vectors is None or built.embedder is None or not text:
        return hits
    have = {h.entry_id for h in hits}
    positions = built.positions()
    include = [d for d in built.dense_docs(built.embedder.encode_query(text)) if built.documents[d].entry_id not in have]
    if not include:
        return hits
    known = [positions[h.entry_id] for h in hits if h.entry_id in positions]
    extra = built.index.search(text, tokens, limit=0, include_docs=include, exclude_docs=())
    extra = [h for h in extra if h.doc not in known]
    return list(hits) + [built.to_hit(h.doc, h.score, h.unit) for h in extra]


@lru_cache(maxsize=200_000)
def answer_key(answer: str) -> str:
    """The normalised plain text an entry's answer is embedded as (passage side)."""
    from nlp.text import normalize_text

    from ..rendering import answer_plain_text

    return normalize_text(answer_plain_text(answer))


def analyse_text(text: str) -> tuple[str, tuple[str, ...]]:
    """Normalised text and jieba tokens of a KB text (the same functions queries go through)."""
    from nlp.text import normalize_text
    from nlp.tokens import tokenize

    normalised = normalize_text(text)
    return normalised, tuple(tokenize(normalised))


def _keyword_tokens(keywords: Sequence[str]) -> list[str]:
    """Each keyword whole (jieba keeps KB keywords whole) and its jieba pieces."""
    tokens: dict[str, None] = {}
    for keyword in keywords:
        normalised, pieces = analyse_text(keyword)
        tokens.setdefault(normalised.replace(" ", ""), None)
        for piece in pieces:
            tokens.setdefault(piece, None)
    return [t for t in tokens if t]


def _exact_wordings(index: LexicalIndex) -> dict[str, tuple[int, int] | None]:
    """``BuiltIndex.exact``: built once per index, off the chat turn's path."""
    exact: dict[str, tuple[int, int] | None] = {}
    for position, doc in enumerate(index.docs):
        start = int(index.unit_start[position])
        for offset, (normalised, _tokens) in enumerate(doc.units):
            key = content_chars(normalised)
            if key:
                seen = exact.get(key, (position, start + offset))
                exact[key] = None if seen is None or seen[0] != position else seen
    return exact


class TooManyNewTexts(Exception):
    """``build_index(max_new_texts=...)``: more KB texts to encode than an inline rebuild may."""


def build_index(
    documents: list[KbDocument],
    synonyms: dict[str, str],
    *,
    embedder: Embedder | None = None,
    vector_dir: Path | None = None,
    max_new_texts: int | None = None,
) -> BuiltIndex:
    """Tokenise every text of ``documents`` and build the lexical index over them.

    With an ``embedder`` (``nlp.matcher.embeddings``) the units' sentence embeddings are
    computed too — only for texts the embedder has not seen (a KB edit encodes the edited
    texts), and persisted under ``vector_dir`` so a restart does not re-encode the KB.
    Raises ``TooManyNewTexts`` when more than ``max_new_texts`` texts would need encoding.
    """
    started = time.perf_counter()
    index_docs = [
        IndexDoc(
            key=doc.entry_id,
            units=tuple(analyse_text(text) for text in doc.texts),
            keyword_tokens=tuple(_keyword_tokens(doc.keywords)),
        )
        for doc in documents
    ]
    index = LexicalIndex(index_docs, expand=synonym_expander(synonyms))
    exact = _exact_wordings(index)
    built = BuiltIndex(index, documents, synonyms, time.time(), time.perf_counter() - started, exact=exact)
    if embedder is not None:
        started = time.perf_counter()
        answers = [answer_key(doc.answer) for doc in documents if doc.answer]
        if max_new_texts is not None:
            texts = [text for doc in index.docs for text, _ in doc.units]
            if embedder.count_missing(texts, answers) > max_new_texts:
                raise TooManyNewTexts
        built.unit_vectors = embed_units(embedder, index, vector_dir, answers=answers)
        built.embedder = embedder
        built.embed_seconds = time.perf_counter() - started
    return built


def embed_units(embedder: Embedder, index: LexicalIndex, vector_dir: Path | None = None, *, answers: Sequence[str] = ()) -> np.ndarray:
    """Vectors of the index's normalised unit texts (rows = units), reusing cached/persisted ones.

    ``answers`` (normalised plain answer texts) are encoded on the passage side and kept in
    the embedder's cache too, for the matcher's answer feature.
    """
    texts = [text for doc in index.docs for text, _ in doc.units]
    path = vector_dir / f"{embedder.cache_name()}.npz" if vector_dir is not None else None
    if path is not None and embedder.encoded_texts == 0 and path.exists():
        embedder.load_kb(path)  # first KB of this process: start from what any process saved
    encoded = embedder.refresh(texts, answers)
    if encoded:
        logger.info("encoded %d new KB texts with %s", encoded, embedder.path)
    if path is not None and (encoded or not path.exists()):
        try:
            embedder.save_kb(path)
        except OSError:
            logger.warning("could not persist KB vectors to %s", path)
    return embedder.encode(texts) if texts else np.zeros((0, embedder.dimension), dtype=np.float32)


class _State:
    """The process-wide index and what decides when to rebuild it."""

    def __init__(self) -> None:
        from knowledge.selectors import KbChangeWatcher

        self.lock = threading.Lock()
        self.built: BuiltIndex | None = None
        self.stale = True
        self.watcher = KbChangeWatcher()
        self.rebuilding = False
        self.generation = 0  # bumps on every rebuild; the matcher cache keys on it


_state: _State | None = None
_state_lock = threading.Lock()


def _get_state() -> _State:
    global _state
    if _state is None:
        with _state_lock:
            if _state is None:
                _state = _State()
    return _state


def mark_stale() -> None:
    """This process changed the KB: rebuild before the next search (no watcher delay)."""
    _get_state().stale = True


def _load(*, max_new_texts: int | None = None) -> BuiltIndex:
    from knowledge.selectors import synonym_map
    from nlp.matcher.embeddings import get_embedder

    embedder = get_embedder()
    vector_dir = Path(settings.CSBOT_MODEL_DIR) / "kb_vectors" if embedder is not None else None
    return build_index(kb_documents(), synonym_map(), embedder=embedder, vector_dir=vector_dir, max_new_texts=max_new_texts)


def _rebuild_in_background(state: _State) -> None:
    def run() -> None:
        try:
            built = _load()
            with state.lock:
                state.built = built
                state.generation += 1
            logger.info("local KB index rebuilt in background: %d entries in %.1fs", len(built.documents), built.build_seconds)
        except Exception:  # keep serving the old index; the next change retries
            logger.exception("background rebuild of the local KB index failed")
            state.stale = True
        finally:
            state.rebuilding = False
            close_old_connections()

    state.rebuilding = True
    threading.Thread(target=run, name="kb-local-index", daemon=True).start()


def current_index() -> BuiltIndex:
    """The up-to-date index of this process, rebuilding it first when the KB changed."""
    state = _get_state()
    changed = state.watcher.changed()  # rate-limited fingerprint query
    if state.built is not None and not (changed or state.stale):
        return state.built
    with state.lock:
        if state.built is not None and not (changed or state.stale):
            return state.built
        state.stale = False
        if state.built is not None and state.built.index.n_units > BACKGROUND_REBUILD_UNITS:
            if not state.rebuilding:
                _rebuild_in_background(state)
            return state.built
        try:
            # A KB edit encodes its few new texts inline; a bulk import (hundreds of new texts,
            # ~20 ms each) must not stall this request: the old index answers meanwhile.
            built = _load(max_new_texts=INLINE_ENCODE_LIMIT if state.built is not None else None)
        except TooManyNewTexts:
            if not state.rebuilding:
                _rebuild_in_background(state)
            return state.built
        state.built = built
        state.generation += 1
        logger.debug("local KB index built: %d entries in %.3fs", len(state.built.documents), state.built.build_seconds)
        return state.built


def index_generation() -> int:
    """Changes whenever the local index is rebuilt (caches derived from it key on this)."""
    return _get_state().generation


class LocalBackend(SearchBackend):
    name = "local"

    def search(self, query_text: str, tokens: Sequence[str], *, limit: int = 10) -> list[SearchHit]:
        built = current_index()
        return [built.to_hit(h.doc, h.score, h.unit) for h in built.candidates(query_text, tokens, limit=limit)]

    def index_entries(self, ids: Iterable[int]) -> None:
        mark_stale()

    def delete_entries(self, ids: Iterable[int]) -> None:
        mark_stale()

    def rebuild(self) -> dict:
        state = _get_state()
        with state.lock:
            state.watcher.reset()
            state.watcher.changed()  # remember the fingerprint before reading, so no change is missed
            state.built = _load()
            state.generation += 1
            state.stale = False
            built = state.built
        report = {
            "backend": self.name,
            "entries": len(built.documents),
            "texts": built.index.n_units,
            "seconds": round(built.build_seconds, 3),
            "index_bytes": built.index.memory_bytes(),
        }
        if built.unit_vectors is not None:
            report["embedding_seconds"] = round(built.embed_seconds, 3)
            report["embedding_bytes"] = int(built.unit_vectors.nbytes)
        return report

    def health(self) -> str | None:
        built = _get_state().built
        return f"in-process index, {len(built.documents)} entries" if built else "in-process index (not built yet)"
