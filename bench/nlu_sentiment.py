"""Sentiment on the labelled set nlp/fixtures/sentiment_eval.jsonl: precision/recall of "negative"
and "angry", the confusion of labels, and the neutral-with-negative-words subset (我不是要投诉).

Run: .venv/bin/python bench/nlu_sentiment.py [--json] [--errors]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlp.sentiment import ANGRY_THRESHOLD, NEGATIVE_THRESHOLD, lexicon_sentiment, model_scores, sentiment, warm_up  # noqa: E402
from nlp.text import normalize  # noqa: E402

DATA = ROOT / "nlp" / "fixtures" / "sentiment_eval.jsonl"
# Words that look negative out of context; fixed here (not taken from the lexicon) so the
# subset does not depend on the system under test.
NEGATIVE_LOOKING = ("投诉", "差", "坏", "假", "骗", "垃圾", "慢", "退", "问题", "不满", "生气", "气", "烦", "坑", "错", "破", "丢", "漏", "没", "不")


def prf(gold: list[bool], pred: list[bool]) -> dict[str, float]:
    tp = sum(g and p for g, p in zip(gold, pred))
    fp = sum(p and not g for g, p in zip(gold, pred))
    fn = sum(g and not p for g, p in zip(gold, pred))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "support": sum(gold), "predicted": sum(pred)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--errors", action="store_true", help="print the misclassified rows of the tuning half")
    parser.add_argument("--half", choices=("all", "tuning", "heldout"), default="all",
                        help="even rows (tuning: the lexicon was adjusted while reading their errors) or odd rows (held out)")
    args = parser.parse_args()
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.half != "all":
        rows = rows[0 if args.half == "tuning" else 1 :: 2]
    started = time.perf_counter()
    warm_up()
    warm_seconds = time.perf_counter() - started
    started = time.perf_counter()
    results = [sentiment(r["text"]) for r in rows]
    seconds = time.perf_counter() - started
    norms = [normalize(r["text"]) for r in rows]
    lexicon = [lexicon_sentiment(n.text, n.raw) for n in norms]
    model = [model_scores(n.text) for n in norms]
    gold_neg = [r["label"] == "negative" for r in rows]
    gold_angry = [bool(r.get("angry")) for r in rows]
    labels = ("negative", "neutral", "positive")
    confusion = {g: {p: sum(1 for r, s in zip(rows, results) if r["label"] == g and s.label == p) for p in labels} for g in labels}
    subset = [i for i, r in enumerate(rows) if r["label"] == "neutral" and any(w in r["text"] for w in NEGATIVE_LOOKING)]
    report = {
        "n": len(rows),
        "negative": prf(gold_neg, [s.label == "negative" for s in results]),
        "angry": prf(gold_angry, [s.angry >= ANGRY_THRESHOLD for s in results]),
        "label_accuracy": round(sum(r["label"] == s.label for r, s in zip(rows, results)) / len(rows), 4),
        "confusion": confusion,
        "neutral_with_negative_words": {
            "n": len(subset),
            "kept_neutral": sum(results[i].label == "neutral" for i in subset),
            "false_negative_alarm": sum(results[i].label == "negative" for i in subset),
            "false_angry_alarm": sum(results[i].angry >= ANGRY_THRESHOLD for i in subset),
        },
        "us_per_message": round(seconds / len(rows) * 1e6, 1),
        "model_training_seconds": round(warm_seconds, 2),
        "parts": {
            "lexicon": {"negative": prf(gold_neg, [s.negative >= NEGATIVE_THRESHOLD for s in lexicon]),
                        "angry": prf(gold_angry, [s.angry >= ANGRY_THRESHOLD for s in lexicon])},
            "model": {"negative": prf(gold_neg, [m[0] >= 0.5 for m in model]), "angry": prf(gold_angry, [m[1] >= 0.5 for m in model])},
        },
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(f"n={report['n']}  label accuracy {report['label_accuracy']:.3f}  {report['us_per_message']} µs/message "
              f"(model trained in {report['model_training_seconds']} s)")
        for part, metrics in report["parts"].items():
            for key in ("negative", "angry"):
                m = metrics[key]
                print(f"  {part:<7} alone: {key:<8} precision {m['precision']:.3f}  recall {m['recall']:.3f}  F1 {m['f1']:.3f}")
        for key in ("negative", "angry"):
            m = report[key]
            print(f"{key:<9} precision {m['precision']:.3f}  recall {m['recall']:.3f}  F1 {m['f1']:.3f}  (gold {m['support']}, predicted {m['predicted']})")
        sub = report["neutral_with_negative_words"]
        print(f"neutral rows with negative-looking words: {sub['n']}, kept neutral {sub['kept_neutral']}, "
              f"labelled negative {sub['false_negative_alarm']}, flagged angry {sub['false_angry_alarm']}")
        print("confusion (gold → predicted):", json.dumps(confusion, ensure_ascii=False))
    if args.errors:
        for i, (r, s) in enumerate(zip(rows, results)):
            if args.half == "all" and i % 2:
                continue  # only ever read the errors of the tuning half
            if r["label"] != s.label or bool(r.get("angry")) != (s.angry >= ANGRY_THRESHOLD):
                print(f"  gold {r['label']:<8} angry={bool(r.get('angry'))!s:<5} → {s.label:<8} neg={s.negative:.2f} angry={s.angry:.2f}  {r['text']}")


if __name__ == "__main__":
    main()
