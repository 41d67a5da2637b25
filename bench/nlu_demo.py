"""The demo shop's intents (nlp/fixtures/demo_intents.json): what ``make run`` trains.

5-fold stratified cross-validation (3 seeds) of the default linear backend: accuracy,
macro-F1, ECE of the calibrated probabilities, and the out-of-scope signal (the
``out_of_scope`` intent, or any top intent below the confidence threshold) as precision /
recall of "out of scope". Also the time of one full training as ``nlu_train`` runs it.

Run: .venv/bin/python bench/nlu_demo.py [--backend linear]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from nlp.analysis import DEFAULT_OUT_OF_SCOPE_THRESHOLD, OUT_OF_SCOPE  # noqa: E402
from nlp.classifier import new_classifier  # noqa: E402
from nlp.classifier.calibration import expected_calibration_error  # noqa: E402

DATA = ROOT / "nlp" / "fixtures" / "demo_intents.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="linear")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    rows = json.loads(DATA.read_text(encoding="utf-8"))
    texts = [e for r in rows for e in r["examples"]]
    labels = np.array([r["name"] for r in rows for _ in r["examples"]])
    print(f"demo intents: {len(rows)} intents, {len(texts)} examples")
    started = time.perf_counter()
    new_classifier(args.backend).fit(texts, list(labels))
    print(f"one full training ({args.backend}): {time.perf_counter() - started:.1f} s (includes 5-fold calibration)")
    accs, f1s, eces = [], [], []
    oos_rows = {t: {"tp": 0, "fp": 0, "fn": 0} for t in (0.0, 0.3, 0.5)}
    in_scope_kept = {t: [0, 0] for t in oos_rows}
    for seed in range(args.seeds):
        predicted = np.empty(len(texts), dtype=object)
        confidence = np.zeros(len(texts))
        probs_all, targets_all = [], []
        for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(texts, labels):
            model = new_classifier(args.backend).fit([texts[i] for i in train], list(labels[train]))
            probs = model.predict_proba([texts[i] for i in test])
            predicted[test] = [model.labels[i] for i in probs.argmax(axis=1)]
            confidence[test] = probs.max(axis=1)
            index = {l: i for i, l in enumerate(model.labels)}
            probs_all.append(probs)
            targets_all.append(np.array([index[l] for l in labels[test]]))
        accs.append(float((predicted == labels).mean()))
        f1s.append(float(f1_score(labels, predicted.astype(str), average="macro")))
        eces.append(expected_calibration_error(np.concatenate(probs_all), np.concatenate(targets_all)))
        for threshold, counts in oos_rows.items():
            flagged = (predicted == OUT_OF_SCOPE) | (confidence < threshold)
            gold = labels == OUT_OF_SCOPE
            counts["tp"] += int((flagged & gold).sum())
            counts["fp"] += int((flagged & ~gold).sum())
            counts["fn"] += int((~flagged & gold).sum())
            in_scope_kept[threshold][0] += int((~flagged & ~gold & (predicted == labels)).sum())
            in_scope_kept[threshold][1] += int((~gold).sum())
    print(f"5-fold CV × {args.seeds}: accuracy {np.mean(accs):.4f} ± {np.std(accs):.4f}, macro-F1 {np.mean(f1s):.4f}, ECE {np.mean(eces):.4f}")
    print("| out-of-scope rule | precision | recall | in-scope answered correctly |")
    print("|---|---|---|---|")
    for threshold, c in oos_rows.items():
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
        recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
        kept = in_scope_kept[threshold][0] / in_scope_kept[threshold][1]
        rule = "intent == out_of_scope" + (f" or confidence < {threshold}" if threshold else "")
        mark = " (default)" if threshold == DEFAULT_OUT_OF_SCOPE_THRESHOLD else ""
        print(f"| {rule}{mark} | {precision:.3f} | {recall:.3f} | {kept:.3f} |")


if __name__ == "__main__":
    main()
