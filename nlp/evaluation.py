"""Evaluation of an intent classifier: the report ``rasa test nlu`` gives, plus calibration.

``evaluate(classifier, texts, labels)`` returns a JSON-able dict: n, accuracy, macro_f1,
weighted_f1, per_intent {precision, recall, f1, support}, the most frequent confusions,
ECE and reliability bins. Labels unknown to the model count as errors (their recall is 0),
never silently dropped.
"""
from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from .classifier.base import IntentClassifier

__all__ = ["evaluate", "report_from_predictions"]


def report_from_predictions(
    labels: Sequence[str], predicted: Sequence[str], probs=None, model_labels: Sequence[str] | None = None, *, top_confusions: int = 10
) -> dict[str, Any]:
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    from .classifier.calibration import expected_calibration_error, reliability_bins

    labels, predicted = list(labels), list(predicted)
    names = sorted(set(labels) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(labels, predicted, labels=names, zero_division=0)
    per_intent = {
        name: {"precision": round(float(p), 4), "recall": round(float(r), 4), "f1": round(float(f), 4), "support": int(s)}
        for name, p, r, f, s in zip(names, precision, recall, f1, support)
    }
    present = sorted(set(labels))
    confusions = Counter((t, p) for t, p in zip(labels, predicted) if t != p)
    report: dict[str, Any] = {
        "n": len(labels),
        "accuracy": round(float(accuracy_score(labels, predicted)), 4) if labels else 0.0,
        "macro_f1": round(float(f1_score(labels, predicted, labels=present, average="macro", zero_division=0)), 4) if labels else 0.0,
        "weighted_f1": round(float(f1_score(labels, predicted, labels=present, average="weighted", zero_division=0)), 4) if labels else 0.0,
        "per_intent": per_intent,
        "confusions": [{"true": t, "predicted": p, "count": c} for (t, p), c in confusions.most_common(top_confusions)],
    }
    if probs is not None and model_labels is not None and len(labels):
        index = {l: i for i, l in enumerate(model_labels)}
        probs = np.asarray(probs)
        # A gold label the model does not know can never be right: target -1 never equals argmax.
        targets = np.array([index.get(l, -1) for l in labels])
        report["ece"] = round(expected_calibration_error(probs, targets), 4)
        report["mean_confidence"] = round(float(probs.max(axis=1).mean()), 4)
        report["reliability"] = reliability_bins(probs, targets)
    unknown = sorted(set(labels) - set(model_labels or labels))
    if unknown:
        report["unknown_labels"] = unknown
    return report


def evaluate(classifier: "IntentClassifier", texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Predict ``texts`` and compare with ``labels``; see the module docstring for the shape."""
    probs = classifier.predict_proba(list(texts))
    predicted = [classifier.labels[i] for i in probs.argmax(axis=1)] if len(texts) else []
    return report_from_predictions(labels, predicted, probs, classifier.labels)
