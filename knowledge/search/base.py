"""The search-backend interface every backend implements, and the hit it returns."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SearchHit:
    """One answerable entry a search found, with what the matcher needs to re-rank it.

    ``score`` is the backend's raw relevance (BM25-like; only comparable within one query
    and one backend); ``texts`` are the standard question first, then the similar questions.
    """

    entry_id: int
    external_id: str
    question: str
    answer: str
    category_slug: str | None
    score: float
    texts: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    matched_text: str = ""
    # jieba tokens of each text, when the backend has them (the local index does): saves the
    # matcher re-tokenising every candidate's texts on every question.
    tokens: tuple[tuple[str, ...], ...] = ()


class SearchBackend(ABC):
    """Finds answerable entries for a normalised question.

    Backends index only what ``entries_answerable()`` returns (published, still valid) and
    must never return anything else. ``index_entries``/``delete_entries`` take entry ids and
    are called after commit; ``rebuild`` re-creates the whole index from the database.
    """

    name: str = "base"

    @abstractmethod
    def search(self, query_text: str, tokens: Sequence[str], *, limit: int = 10) -> list[SearchHit]:
        """Best ``limit`` hits for the normalised ``query_text`` and its jieba ``tokens``, best first."""

    @abstractmethod
    def index_entries(self, ids: Iterable[int]) -> None:
        """(Re-)index these entries; ids no longer answerable are removed from the index."""

    @abstractmethod
    def delete_entries(self, ids: Iterable[int]) -> None:
        """Remove these entries from the index (unknown ids are ignored)."""

    @abstractmethod
    def rebuild(self) -> dict:
        """Re-create the index from the database; returns a small report (counts, timings)."""

    @abstractmethod
    def health(self) -> str | None:
        """Raise when the backend cannot serve searches; may return a short detail string."""
