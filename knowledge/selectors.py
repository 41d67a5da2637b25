"""Reads of the knowledge base: answerable entries, change detection, thresholds and ``faq_match``."""
from __future__ import annotations

import time
from dataclasses import dataclass
from threading import Lock
from typing import Any

from django.db.models import Q
from django.utils import timezone

from .enums import EntryStatus, MatchBand
from .models import Category, Entry, MatchThreshold, SimilarQuestion, SynonymGroup


def entries_answerable():
    """Published entries whose validity has not run out: the only ones the bot may answer with."""
    now = timezone.now()
    return Entry.objects.filter(status=EntryStatus.PUBLISHED).filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))


_fingerprint_memo: tuple[float, str] | None = None


def kb_fingerprint(*, max_age: float = 0.0) -> str:
    """A cheap value that changes whenever any KB row is added, changed or deleted.

    Every process compares it with the value its in-memory index / jieba dictionary was
    built from, so a change made by any process (admin, import, worker) is noticed without
    a restart and without a shared cache. Counts catch deletes; the newest ``updated_at``
    (read through its index, not aggregated over the table) catches edits. ``max_age`` lets
    several watchers of one process share one reading taken at most that many seconds ago.
    """
    global _fingerprint_memo
    now = time.monotonic()
    if max_age > 0 and _fingerprint_memo is not None and now - _fingerprint_memo[0] <= max_age:
        return _fingerprint_memo[1]
    parts = []
    for model in (Entry, SimilarQuestion, SynonymGroup, Category):
        last = model.objects.order_by("-updated_at").values_list("updated_at", flat=True).first()
        parts.append(f"{model.objects.count()}:{last.timestamp() if last else 0}")
    # An entry passing its valid_until changes what is answerable without any write.
    expired = Entry.objects.filter(valid_until__lte=timezone.now()).count()
    value = "|".join(parts) + f"|x{expired}"
    _fingerprint_memo = (now, value)
    return value


class KbChangeWatcher:
    """Tells a per-process cache whether the KB changed since it was built.

    ``changed()`` runs the fingerprint query at most once per ``interval`` seconds, so a
    hot path can call it on every request.
    """

    def __init__(self, interval: float = 2.0) -> None:
        self.interval = interval
        self._seen: str | None = None
        self._checked_at = 0.0
        self._lock = Lock()

    def changed(self) -> bool:
        now = time.monotonic()
        if self._seen is not None and now - self._checked_at < self.interval:
            return False
        with self._lock:
            current = kb_fingerprint(max_age=min(self.interval, 2.0))  # watchers of a process share one reading
            self._checked_at = now
            if current != self._seen:
                self._seen = current
                return True
            return False

    def reset(self) -> None:
        """Force the next ``changed()`` to return True (tests, explicit rebuilds)."""
        with self._lock:
            self._seen = None
            self._checked_at = 0.0


def kb_dictionary_terms() -> list[str]:
    """Terms jieba must keep whole: keywords, synonyms, category names of the live KB."""
    terms: dict[str, None] = {}
    for keywords in entries_answerable().values_list("keywords", flat=True):
        for term in Entry(keywords=keywords).keyword_list:
            terms.setdefault(term, None)
    for group in SynonymGroup.objects.filter(enabled=True):
        for term in (group.canonical, *group.term_list):
            terms.setdefault(term, None)
    for name in Category.objects.values_list("name", flat=True):
        terms.setdefault(name, None)
    return [t for t in terms if 1 < len(t) <= 20]


def product_names() -> dict[str, str]:
    """Every name of a product (standard word and aliases of groups marked 商品名) -> its standard word."""
    names: dict[str, str] = {}
    for group in SynonymGroup.objects.filter(enabled=True, is_product=True):
        for term in (group.canonical, *group.term_list):
            names.setdefault(term, group.canonical)
    return names


def synonym_map() -> dict[str, str]:
    """Each synonym -> its canonical term (enabled groups only)."""
    mapping: dict[str, str] = {}
    for group in SynonymGroup.objects.filter(enabled=True):
        for term in group.term_list:
            mapping[term] = group.canonical
    return mapping


_synonym_cache: dict[str, object] = {"map": None, "watcher": None}
_synonym_lock = Lock()


def synonym_map_cached() -> dict[str, str]:
    """``synonym_map()`` cached per process, refreshed when the KB changes (hot-path safe)."""
    with _synonym_lock:
        watcher = _synonym_cache["watcher"]
        if watcher is None:
            watcher = _synonym_cache["watcher"] = KbChangeWatcher()
        if watcher.changed() or _synonym_cache["map"] is None:
            _synonym_cache["map"] = synonym_map()
        return _synonym_cache["map"]  # type: ignore[return-value]


# --- thresholds -------------------------------------------------------------------------------

_THRESHOLD_TTL = 5.0
_threshold_cache: dict[str, object] = {"at": 0.0, "rows": None}


@dataclass(frozen=True)
class Thresholds:
    """The cut-offs applied to the best candidate's probability, and where they came from."""

    answer: float
    suggest: float
    scope: str = "global"  # "global", a category slug, or "default" (no row in the database)


@dataclass(frozen=True)
class _ThresholdTable:
    global_row: Thresholds | None
    by_category: dict[int, Thresholds]
    pk_of_slug: dict[str, int]
    parent_of: dict[int, int | None]


def _threshold_table() -> _ThresholdTable:
    """All threshold rows and the category tree, cached for a few seconds per process."""
    now = time.monotonic()
    cached = _threshold_cache["rows"]
    if cached is not None and now - float(_threshold_cache["at"]) < _THRESHOLD_TTL:
        return cached  # type: ignore[return-value]
    global_row: Thresholds | None = None
    by_category: dict[int, Thresholds] = {}
    for row in MatchThreshold.objects.select_related("category"):
        if row.category_id is None:
            global_row = Thresholds(row.answer_threshold, row.suggest_threshold, "global")
        else:
            by_category[row.category_id] = Thresholds(row.answer_threshold, row.suggest_threshold, row.category.slug)
    tree = list(Category.objects.values_list("pk", "slug", "parent_id"))
    table = _ThresholdTable(
        global_row=global_row,
        by_category=by_category,
        pk_of_slug={slug: pk for pk, slug, _ in tree},
        parent_of={pk: parent for pk, _, parent in tree},
    )
    _threshold_cache.update(at=now, rows=table)
    return table


def thresholds_invalidate() -> None:
    """Drop the cached thresholds of this process (the admin calls it after a save)."""
    _threshold_cache.update(at=0.0, rows=None)


def thresholds_for(category_slug: str | None) -> Thresholds:
    """The category's own thresholds, else its nearest ancestor's, else the global row."""
    from .services.thresholds import DEFAULT_ANSWER_THRESHOLD, DEFAULT_SUGGEST_THRESHOLD

    table = _threshold_table()
    pk = table.pk_of_slug.get(category_slug) if category_slug else None
    seen: set[int] = set()
    while pk is not None and pk not in seen:
        seen.add(pk)
        if pk in table.by_category:
            return table.by_category[pk]
        pk = table.parent_of.get(pk)
    return table.global_row or Thresholds(DEFAULT_ANSWER_THRESHOLD, DEFAULT_SUGGEST_THRESHOLD, "default")


# --- matching -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """An entry that may answer the question; ``probability`` is calibrated, ``score`` is raw search."""

    entry_id: int
    external_id: str
    question: str
    answer: str
    category_slug: str | None
    probability: float
    score: float


@dataclass(frozen=True)
class FaqMatch:
    """What the KB says about one question: the band, the best candidate and the ranked list."""

    band: str  # MatchBand: "answer" | "suggest" | "fallback"
    best: Candidate | None
    candidates: tuple[Candidate, ...]
    thresholds: Thresholds
    backend: str = "local"
    calibrated: bool = True  # False only when the KB has nothing to train the matcher on
    exact: bool = False  # the question is word for word one of the best entry's questions


# A question that is, spaces and punctuation aside, one of an entry's own questions (and no
# other entry's) is that entry's: a manager wrote the wording down for it. Below 1.0 so that a
# manager who sets an answer threshold of 1.0 for a category still gets only suggestions there.
EXACT_WORDING_PROBABILITY = 0.99


def _band(probability: float, thresholds: Thresholds) -> str:
    if probability >= thresholds.answer:
        return MatchBand.ANSWER
    if probability >= thresholds.suggest:
        return MatchBand.SUGGEST
    return MatchBand.FALLBACK


def faq_match(analysis: Any, *, limit: int = 3) -> FaqMatch:
    """Search the KB for an analysed question and decide its band; the chat pipeline's one call.

    ``analysis`` needs ``text`` (normalised), ``tokens``, ``intent`` and ``confidence``. The
    search backend's top candidates are re-scored by the matcher (a calibrated probability
    that the entry answers the question) and re-ranked; the best one's probability against
    its category's thresholds gives the band. A question that is word for word one entry's
    own question or similar question (``BuiltIndex.exact_unit``) is that entry's with
    ``EXACT_WORDING_PROBABILITY``. Read-only; never raises for an empty KB.
    """
    from nlp.matcher import TOP_N, QueryView

    from .matching import current_matcher
    from .search import get_backend
    from .search.local import current_index

    text = (getattr(analysis, "text", "") or "").strip()
    tokens = tuple(getattr(analysis, "tokens", ()) or ())
    backend = get_backend()
    if not text:
        return FaqMatch(MatchBand.FALLBACK, None, (), thresholds_for(None), backend=backend.name)
    hits = backend.search(text, tokens, limit=TOP_N)
    built = current_index()
    if backend.name != "local":
        from .search.local import add_dense_hits

        if hits:
            hits = _rescore_locally(built, text, tokens, hits)
        # The candidates the matcher was trained on: ES's lexical hits plus the nearest by
        # sentence embedding, as the local backend gives (no-op without NLP_EMBEDDING_MODEL).
        hits = add_dense_hits(built, text, tokens, hits)
    exact = built.exact_unit(text)
    exact_id = built.documents[exact[0]].entry_id if exact is not None else None
    if exact is not None and all(h.entry_id != exact_id for h in hits):
        hits = [*hits, built.to_hit(exact[0], 0.0, exact[1])]
    matcher = current_matcher(built)
    ranking = tuple((r.name, float(r.probability)) for r in (getattr(analysis, "ranking", None) or ()))
    query = QueryView(
        text=text,
        tokens=tokens,
        intent=getattr(analysis, "intent", None),
        confidence=float(getattr(analysis, "confidence", 0.0) or 0.0),
        intent_probs=ranking,
    )
    if matcher is not None:
        positions = built.positions()
        centroids = built.index.centroid_cosines(text, tokens, [positions[h.entry_id] for h in hits])
        probabilities = matcher.probabilities(query, hits, centroids=centroids)
    else:
        probabilities = _uncalibrated(query, hits)
    if exact_id is not None:  # first, whatever the matcher thinks of a neighbour
        lifted = max([EXACT_WORDING_PROBABILITY, *(float(p) for p in probabilities)])
        probabilities = [lifted if h.entry_id == exact_id else p for h, p in zip(hits, probabilities)]
    ranked = sorted(zip(hits, probabilities), key=lambda pair: (-pair[1], pair[0].entry_id != exact_id, -pair[0].score))[: max(limit, 1)]
    candidates = tuple(
        Candidate(
            entry_id=h.entry_id,
            external_id=h.external_id,
            question=h.question,
            answer=h.answer,
            category_slug=h.category_slug,
            probability=round(float(p), 4),
            score=round(float(h.score), 4),
        )
        for h, p in ranked
    )
    best = candidates[0] if candidates else None
    thresholds = thresholds_for(best.category_slug if best else None)
    band = _band(best.probability, thresholds) if best else MatchBand.FALLBACK
    exact_best = best is not None and best.entry_id == exact_id
    return FaqMatch(band, best, candidates[:limit], thresholds, backend=backend.name, calibrated=matcher is not None, exact=exact_best)


def _rescore_locally(built: Any, text: str, tokens: tuple[str, ...], hits: list[Any]) -> list[Any]:
    """Give Elasticsearch hits the local BM25 score the matcher was trained on (same scale)."""
    import dataclasses

    import numpy as np

    positions = built.positions()
    index = built.index
    cols, weights = index.query_vector(text, tokens)
    scores = index.unit_scores(cols, weights) if cols.size else np.zeros(index.n_units)
    rescored = []
    for hit in hits:
        position = positions.get(hit.entry_id)
        if position is None:
            continue  # not answerable in this process's view of the KB (yet): skip it
        start = int(index.unit_start[position])
        end = int(index.unit_start[position + 1]) if position + 1 < len(index.unit_start) else index.n_units
        rescored.append(dataclasses.replace(hit, score=float(scores[start:end].max()) if end > start else 0.0))
    return sorted(rescored, key=lambda h: -h.score)


def _uncalibrated(query: Any, hits: list[Any]) -> Any:
    """Without training data: character-bigram Dice with the best text (an honest, uncalibrated proxy)."""
    import numpy as np

    from nlp.matcher.text import char_ngrams

    q = set(char_ngrams(query.text, 2))
    out = []
    for hit in hits:
        best = 0.0
        for text in hit.texts:
            t = set(char_ngrams(text, 2))
            if q or t:
                best = max(best, 2 * len(q & t) / (len(q) + len(t)))
        out.append(best)
    return np.asarray(out)
