"""A BM25 index over jieba tokens and character uni/bigrams, in plain numpy/scipy.

Each entry is a group of *units* (its standard question and each similar question); a unit
is scored with BM25 and an entry takes its best unit's score, plus a smaller bonus for query
words found among the entry's keywords. Scoring per unit (not over one concatenated entry)
keeps an entry with 30 similar questions from being favoured or penalised by its length.

Pure Python: it knows nothing about Django, so benchmarks and the matcher's training can build
one from any list of texts.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from nlp.matcher.text import char_ngrams

# Query terms found in more texts than this and with an idf below STOP_IDF are skipped: on a
# 100k-entry KB a character like 么 is in half a million texts and adds ~nothing to a score,
# but summing its posting list dominated the p99 latency. Small KBs never reach the limit.
STOP_POSTINGS = 20_000
STOP_IDF = 2.0
# Relative weight of each term family in a query (tuned on the BQ dev split, bench/kb_bq.py).
FAMILY_WEIGHTS = {"w": 1.0, "c": 0.35, "b": 0.8}
KEYWORD_WEIGHT = 0.5


def unit_terms(text: str, tokens: Sequence[str]) -> list[str]:
    """Index terms of one normalised text: ``w:`` words, ``c:`` characters, ``b:`` character bigrams."""
    terms = [f"w:{t}" for t in tokens]
    terms.extend(f"c:{c}" for c in char_ngrams(text, 1))
    terms.extend(f"b:{g}" for g in char_ngrams(text, 2))
    return terms


def _l2_rows(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.diags(1.0 / norms).astype(np.float32) @ matrix


def _gather_postings(
    matrix: sparse.csr_matrix | sparse.csc_matrix, majors: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every stored entry of rows (CSR) or columns (CSC) ``majors`` of ``matrix``, gathered in
    a few numpy calls instead of scipy's fancy indexing (which cost more per call than the
    rest of a chat turn's search on the demo KB).

    Returns, per entry: which of ``majors`` it came from (position), its minor index, and
    its value times that major's weight.
    """
    indptr = matrix.indptr
    starts, ends = indptr[majors], indptr[majors + 1]
    lengths = (ends - starts).astype(np.int64)
    offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))
    owner = np.repeat(np.arange(len(majors)), lengths)
    return owner, matrix.indices[offsets], matrix.data[offsets] * np.asarray(weights, dtype=np.float32)[owner]


@dataclass(frozen=True)
class IndexDoc:
    """One searchable group of texts (an entry): ``units`` are (normalised text, tokens) pairs."""

    key: int
    units: tuple[tuple[str, tuple[str, ...]], ...]
    keyword_tokens: tuple[str, ...] = ()


@dataclass(frozen=True)
class LexicalHit:
    doc: int  # position in the docs the index was built from
    score: float
    unit: int  # global unit position of the best-matching text


class LexicalIndex:
    """Immutable once built; rebuild to change (a rebuild of the demo KB takes milliseconds)."""

    def __init__(
        self,
        docs: Sequence[IndexDoc],
        *,
        k1: float = 1.2,
        b: float = 0.75,
        family_weights: dict[str, float] | None = None,
        keyword_weight: float = KEYWORD_WEIGHT,
        expand: Callable[[Sequence[str]], list[str]] | None = None,
    ) -> None:
        self.docs = list(docs)
        self._last_query: tuple[tuple[str, tuple[str, ...]], tuple[np.ndarray, np.ndarray]] | None = None
        self.family_weights = dict(family_weights or FAMILY_WEIGHTS)
        self.keyword_weight = keyword_weight
        self.expand = expand or (lambda tokens: list(tokens))
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        tfs: list[float] = []
        lengths: list[int] = []
        unit_doc: list[int] = []
        unit_start: list[int] = []
        for d, doc in enumerate(self.docs):
            unit_start.append(len(unit_doc))
            for text, tokens in doc.units:
                counts = Counter(unit_terms(text, self.expand(tokens)))
                u = len(unit_doc)
                unit_doc.append(d)
                lengths.append(sum(counts.values()))
                for term, count in counts.items():
                    rows.append(u)
                    cols.append(vocab.setdefault(term, len(vocab)))
                    tfs.append(count)
        self.vocab = vocab
        self._word_cols = np.zeros(len(vocab), dtype=bool)
        for term, c in vocab.items():
            self._word_cols[c] = term[0] == "w"
        self.n_units = len(unit_doc)
        self.unit_doc = np.asarray(unit_doc, dtype=np.int32)
        self.unit_start = np.asarray(unit_start, dtype=np.int64)
        if self.n_units == 0:
            self.matrix = sparse.csc_matrix((0, 0), dtype=np.float32)
            self.centroid_sums = self.unit_vectors = sparse.csr_matrix((0, 0), dtype=np.float32)
            self.centroid_norms = np.zeros(0)
            self.keyword_matrix = sparse.csc_matrix((0, 0), dtype=np.float32)
            self.idf = np.zeros(0, dtype=np.float32)
            return
        tf = np.asarray(tfs, dtype=np.float32)
        row = np.asarray(rows, dtype=np.int64)
        col = np.asarray(cols, dtype=np.int64)
        length = np.asarray(lengths, dtype=np.float32)
        avg = float(length.mean()) or 1.0
        df = np.bincount(col, minlength=len(vocab)).astype(np.float32)
        n = float(self.n_units)
        self.idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        weight = self.idf[col] * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length[row] / avg))
        self.matrix = sparse.csc_matrix((weight, (row, col)), shape=(self.n_units, len(vocab)), dtype=np.float32)
        # Entry centroids: the sum of its texts' L2-normalised TF-IDF vectors (normalised on use).
        # Cosine with a centroid rewards words spread over an entry's paraphrases (the
        # "Rocchio" view of an entry as a class), which max-over-texts BM25 cannot see.
        unit_vectors = sparse.csr_matrix(
            ((1 + np.log(tf)) * self.idf[col], (row, col)), shape=(self.n_units, len(vocab)), dtype=np.float32
        )
        self.unit_vectors = _l2_rows(unit_vectors).tocsr()
        owner = sparse.csr_matrix(
            (np.ones(self.n_units, dtype=np.float32), (self.unit_doc, np.arange(self.n_units))), shape=(len(self.docs), self.n_units)
        )
        self.centroid_sums = (owner @ self.unit_vectors).tocsr()
        self.centroid_norms = np.sqrt(np.asarray(self.centroid_sums.multiply(self.centroid_sums).sum(axis=1)).ravel())
        self.centroid_norms[self.centroid_norms == 0] = 1.0
        # Keywords: one binary row per doc over word terms, weighted by the words' idf at query time.
        k_rows, k_cols = [], []
        for d, doc in enumerate(self.docs):
            for token in set(self.expand(doc.keyword_tokens)):
                c = vocab.get(f"w:{token}")
                if c is not None:
                    k_rows.append(d)
                    k_cols.append(c)
        self.keyword_matrix = sparse.csc_matrix(
            (np.ones(len(k_rows), dtype=np.float32), (k_rows, k_cols)), shape=(len(self.docs), len(vocab)), dtype=np.float32
        )

    def query_vector(self, text: str, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Column ids and weights of the query's known terms (each term counted once).

        The last query's answer is kept: a turn asks twice (search, then centroid cosines).
        """
        key = (text, tuple(tokens))
        last = self._last_query
        if last is not None and last[0] == key:
            return last[1]
        cols: list[int] = []
        weights: list[float] = []
        indptr = self.matrix.indptr
        for term in dict.fromkeys(unit_terms(text, self.expand(tokens))):
            c = self.vocab.get(term)
            if c is not None:
                if indptr[c + 1] - indptr[c] > STOP_POSTINGS and self.idf[c] < STOP_IDF:
                    continue
                cols.append(c)
                weights.append(self.family_weights.get(term[0], 1.0))
        result = np.asarray(cols, dtype=np.int64), np.asarray(weights, dtype=np.float32)
        result[0].flags.writeable = result[1].flags.writeable = False  # shared between callers
        self._last_query = (key, result)  # one tuple assignment: safe across threads
        return result

    def unit_scores(self, cols: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """BM25 score of every unit: the query columns' posting lists gathered in one go."""
        _, units, values = _gather_postings(self.matrix, np.asarray(cols, dtype=np.int64), weights)
        return np.bincount(units, weights=values, minlength=self.n_units).astype(np.float32)

    def search(
        self,
        text: str,
        tokens: Sequence[str],
        *,
        limit: int = 10,
        exclude_units: Sequence[int] = (),
        exclude_docs: Sequence[int] = (),
        include_docs: Sequence[int] = (),
    ) -> list[LexicalHit]:
        """Best ``limit`` docs; ``exclude_*`` hide units/docs (used to build held-out training data).

        ``include_docs`` (candidates found another way, e.g. by sentence embeddings) are
        appended after the top ``limit`` with their own lexical score, even when it is 0.
        """
        if self.n_units == 0:
            return []
        cols, weights = self.query_vector(text, tokens)
        if cols.size == 0 and not len(include_docs):
            return []
        scores = self.unit_scores(cols, weights)
        if len(exclude_units):
            scores[np.asarray(exclude_units, dtype=np.int64)] = 0.0
        doc_scores = np.maximum.reduceat(scores, self.unit_start)
        if self.keyword_weight:
            word_cols = cols[self._word_cols[cols]] if cols.size else cols
            if word_cols.size:
                _, docs, values = _gather_postings(self.keyword_matrix, word_cols, self.idf[word_cols] * self.keyword_weight)
                doc_scores = doc_scores + np.bincount(docs, weights=values, minlength=len(doc_scores)).astype(np.float32)
        if len(exclude_docs):
            doc_scores[np.asarray(exclude_docs, dtype=np.int64)] = 0.0
        k = min(limit, len(doc_scores))
        if k <= 0:
            top = np.zeros(0, dtype=np.int64)
        elif k < len(doc_scores):
            top = np.argpartition(-doc_scores, k - 1)[:k]
        else:
            top = np.arange(len(doc_scores))
        top = top[np.argsort(-doc_scores[top], kind="stable")]
        chosen = [d for d in top.tolist() if doc_scores[d] > 0]
        if len(include_docs):
            known = set(chosen)
            extra = [d for d in dict.fromkeys(int(d) for d in include_docs) if d not in known]
            chosen.extend(sorted(extra, key=lambda d: -float(doc_scores[d])))
        hits = []
        for d in chosen:
            start = int(self.unit_start[d])
            end = int(self.unit_start[d + 1]) if d + 1 < len(self.unit_start) else self.n_units
            hits.append(LexicalHit(doc=d, score=max(float(doc_scores[d]), 0.0), unit=start + int(np.argmax(scores[start:end]))))
        return hits

    def centroid_cosines(
        self, text: str, tokens: Sequence[str], docs: Sequence[int], *, exclude_units: Sequence[int] = ()
    ) -> np.ndarray:
        """Cosine between the query's TF-IDF vector and each of ``docs``' centroids.

        A centroid is the sum of its texts' L2-normalised TF-IDF vectors; ``exclude_units``
        removes texts from their entry's centroid (held-out training questions must not see
        themselves).
        """
        if not len(docs) or self.n_units == 0:
            return np.zeros(len(docs))
        cols, _ = self.query_vector(text, tokens)
        if cols.size == 0:
            return np.zeros(len(docs))
        weights = self.idf[cols]
        query = weights / (float(np.linalg.norm(weights)) or 1.0)
        positions = np.asarray(docs, dtype=np.int64)
        rows, terms, values = _gather_postings(self.centroid_sums, positions, np.ones(len(positions)))
        order = np.argsort(cols)
        sorted_cols = cols[order]
        at = np.minimum(np.searchsorted(sorted_cols, terms), len(sorted_cols) - 1)
        matched = sorted_cols[at] == terms
        dots = np.bincount(rows[matched], weights=values[matched] * query[order][at[matched]], minlength=len(positions))
        norms = self.centroid_norms[positions].copy()
        hidden: dict[int, list[int]] = {}
        for unit in exclude_units:
            hidden.setdefault(int(self.unit_doc[unit]), []).append(int(unit))
        for owner, units in hidden.items():
            # every hidden text of an entry leaves its centroid (not only the last one)
            vector = self.centroid_sums[owner] - sparse.csr_matrix(self.unit_vectors[units].sum(axis=0))
            norm = float(np.sqrt(vector.multiply(vector).sum()))
            for k in np.flatnonzero(positions == owner):
                dots[k] = float((vector[:, cols] @ query).ravel()[0]) if norm > 1e-6 else 0.0
                norms[k] = norm if norm > 1e-6 else 1.0
        return dots / norms

    def unit_text(self, unit: int) -> str:
        doc = self.docs[int(self.unit_doc[unit])]
        return doc.units[unit - int(self.unit_start[int(self.unit_doc[unit])])][0]

    def memory_bytes(self) -> int:
        """Approximate size of the numeric index (excluding the Python vocabulary dict and texts)."""
        return int(sum(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes for m in (self.matrix, self.keyword_matrix, self.centroid_sums, self.unit_vectors)))
