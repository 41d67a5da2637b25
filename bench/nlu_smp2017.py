"""Intent classification on SMP2017-ECDT task 1 (31 domains): train on train+dev, report on test.

Reads ../shared/data/smp2017_intent (never copied into the repo). For each backend: training
time, test accuracy / macro-F1 / ECE (calibrated and raw), and single-message latency p50/p99
in this one process; for the transformers backend also the dynamic-int8 model (same weights,
quantised at load) with its agreement with fp32 and batch-32 throughput, and the average of
the linear and BERT probabilities (an ensemble, for reference).

Run: .venv/bin/python bench/nlu_smp2017.py [--backends linear,transformers] [--epochs 20] [--json PATH]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from nlp.classifier import load_classifier, new_classifier  # noqa: E402
from nlp.classifier.calibration import expected_calibration_error, softmax  # noqa: E402
from nlp.evaluation import report_from_predictions  # noqa: E402

DATA = Path(os.environ.get("SMP2017_DIR", ROOT.parent / "shared" / "data" / "smp2017_intent"))


def read(split: str) -> tuple[list[str], list[str]]:
    with (DATA / f"{split}.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["text"] for r in rows], [r["label"] for r in rows]


def latency(classifier, texts: list[str]) -> dict[str, float]:
    for text in texts[:20]:  # warm-up
        classifier.rank(text)
    times = []
    for text in texts:
        started = time.perf_counter()
        classifier.rank(text)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 3), "p99_ms": round(times[int(len(times) * 0.99) - 1], 3)}


def throughput(classifier, texts: list[str], batch: int = 32) -> float:
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        classifier.predict_proba(texts[i : i + batch])
    return round(len(texts) / (time.perf_counter() - started), 1)


def score(classifier, texts, labels, *, name: str, train_seconds: float | None) -> tuple[dict, np.ndarray]:
    probs = classifier.predict_proba(texts)
    predicted = [classifier.labels[i] for i in probs.argmax(axis=1)]
    report = report_from_predictions(labels, predicted, probs, classifier.labels)
    index = {l: i for i, l in enumerate(classifier.labels)}
    targets = np.array([index.get(l, -1) for l in labels])
    raw = softmax(np.log(np.clip(probs, 1e-12, None)) * classifier.temperature)  # undo the temperature
    row = {
        "name": name, "accuracy": report["accuracy"], "macro_f1": report["macro_f1"], "ece": report["ece"],
        "ece_raw": round(expected_calibration_error(raw, targets), 4), "temperature": round(classifier.temperature, 4),
        "train_seconds": round(train_seconds, 1) if train_seconds is not None else None,
        **latency(classifier, texts), "batch32_msgs_per_s": throughput(classifier, texts),
        "confusions": report["confusions"][:5],
    }
    print(json.dumps(row, ensure_ascii=False), flush=True)
    return row, probs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backends", default="linear,transformers")
    parser.add_argument("--epochs", type=int, default=None, help="BERT epochs (default: the backend default)")
    parser.add_argument("--bert-config", default="{}", help="extra BERT config as JSON")
    parser.add_argument("--json", help="write all rows to this file")
    parser.add_argument("--reuse", help="a models directory an earlier run printed: skip training, measure again")
    args = parser.parse_args()
    train_x, train_y = read("train")
    dev_x, dev_y = read("dev")
    test_x, test_y = read("test")
    x, y = train_x + dev_x, train_y + dev_y
    print(f"SMP2017: train+dev {len(x)}, test {len(test_x)}, {len(set(y))} labels", flush=True)
    import torch

    print(f"torch threads {torch.get_num_threads()}", flush=True)
    rows, probs = [], {}
    workdir = Path(args.reuse) if args.reuse else Path(tempfile.mkdtemp(prefix="nlu-bench-"))
    print(f"models in {workdir}", flush=True)
    for backend in args.backends.split(","):
        if args.reuse:
            model = loaded = load_classifier(workdir / backend)
            row, probs[backend] = score(loaded, test_x, test_y, name=backend, train_seconds=None)
            row["n_parameters"] = model.config.get("n_parameters")
            rows.append(row)
            if backend == "transformers":
                quantized = load_classifier(workdir / backend, quantize=True)
                qrow, probs["int8"] = score(quantized, test_x, test_y, name="transformers-int8", train_seconds=None)
                qrow["agreement_with_fp32"] = round(float((probs["int8"].argmax(1) == probs[backend].argmax(1)).mean()), 4)
                rows.append(qrow)
            continue
        config = json.loads(args.bert_config) if backend == "transformers" else {}
        if backend == "transformers" and args.epochs:
            config["epochs"] = args.epochs
        started = time.perf_counter()
        model = new_classifier(backend, **config).fit(x, y, progress=lambda m: print(f"  {m}", flush=True))
        seconds = time.perf_counter() - started
        path = model.save(workdir / backend)
        loaded = load_classifier(path)
        row, probs[backend] = score(loaded, test_x, test_y, name=backend, train_seconds=seconds)
        row["n_parameters"] = model.config.get("n_parameters")
        row["calibration"] = model.calibration
        rows.append(row)
        if backend == "transformers":
            quantized = load_classifier(path, quantize=True)
            qrow, probs["int8"] = score(quantized, test_x, test_y, name="transformers-int8", train_seconds=None)
            qrow["agreement_with_fp32"] = round(float((probs["int8"].argmax(1) == probs[backend].argmax(1)).mean()), 4)
            rows.append(qrow)
    if "linear" in probs and "transformers" in probs:
        avg = (probs["linear"] + probs["transformers"]) / 2
        labels = load_classifier(workdir / "linear").labels
        predicted = [labels[i] for i in avg.argmax(axis=1)]
        ens = report_from_predictions(test_y, predicted, avg, labels)
        row = {"name": "ensemble linear+transformers (mean prob.)", "accuracy": ens["accuracy"], "macro_f1": ens["macro_f1"], "ece": ens["ece"]}
        print(json.dumps(row, ensure_ascii=False), flush=True)
        rows.append(row)
    print()
    print("| model | test acc. | macro-F1 | ECE (raw → calibrated) | train s | p50 ms | p99 ms | batch-32 msg/s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        ece = f"{r.get('ece_raw', '—')} → {r['ece']}" if "ece_raw" in r else str(r.get("ece"))
        print(f"| {r['name']} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | {ece} | {r.get('train_seconds') or '—'} | "
              f"{r.get('p50_ms', '—')} | {r.get('p99_ms', '—')} | {r.get('batch32_msgs_per_s', '—')} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
