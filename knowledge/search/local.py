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
from dataclasses import dataclass

from django.db import close_old_connections

from .base import SearchBackend, SearchHit
from .documents import KbDocument, kb_documents
from .lexical import IndexDoc, LexicalIndex

logger = logging.getLogger(__name__)

# Above this many texts a refresh runs in the background (a 10k-entry KB takes seconds).
BACKGROUND_REBUILD_UNITS = 20_000


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
            tokens=tuple(tokens for _, tokens in self.index.docs[position].units),
        )


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


def build_index(documents: list[KbDocument], synonyms: dict[str, str]) -> BuiltIndex:
    """Tokenise every text of ``documents`` and build the lexical index over them."""
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
    return BuiltIndex(index, documents, synonyms, time.time(), time.perf_counter() - started)


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


def _load() -> BuiltIndex:
    from knowledge.selectors import synonym_map

    return build_index(kb_documents(), synonym_map())


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
        state.built = _load()
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
        return [built.to_hit(h.doc, h.score, h.unit) for h in built.index.search(query_text, tokens, limit=limit)]

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
        return {
            "backend": self.name,
            "entries": len(built.documents),
            "texts": built.index.n_units,
            "seconds": round(built.build_seconds, 3),
            "index_bytes": built.index.memory_bytes(),
        }

    def health(self) -> str | None:
        built = _get_state().built
        return f"in-process index, {len(built.documents)} entries" if built else "in-process index (not built yet)"
