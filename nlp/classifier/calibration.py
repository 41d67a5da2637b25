"""Calibration: temperature scaling of raw scores, expected calibration error, reliability bins.

A classifier's raw scores (SVM margins, BERT logits) become probabilities through
``softmax(scores / T)``; ``T`` is fitted on held-out scores (out-of-fold predictions or a
validation split) by minimising the negative log-likelihood (Guo et al. 2017). It changes
no prediction, only how much each one is trusted.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["softmax", "fit_temperature", "expected_calibration_error", "reliability_bins"]


def softmax(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(scores, dtype=np.float64) / max(temperature, 1e-6)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _nll(scores: np.ndarray, targets: np.ndarray, temperature: float) -> float:
    probs = softmax(scores, temperature)
    return float(-np.log(np.clip(probs[np.arange(len(targets)), targets], 1e-12, None)).mean())


def fit_temperature(scores: np.ndarray, targets: Sequence[int]) -> float:
    """The temperature minimising held-out NLL (bounded search on a log scale, then refined)."""
    from scipy.optimize import minimize_scalar

    targets = np.asarray(targets)
    if len(targets) == 0:
        return 1.0
    result = minimize_scalar(lambda log_t: _nll(scores, targets, float(np.exp(log_t))), bounds=(np.log(1e-3), np.log(1e3)), method="bounded")
    return float(np.exp(result.x))


def expected_calibration_error(probs: np.ndarray, targets: Sequence[int], n_bins: int = 10) -> float:
    """ECE: |accuracy − confidence| of the top prediction, averaged over equal-width confidence bins."""
    targets = np.asarray(targets)
    if len(targets) == 0:
        return 0.0
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == targets).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ece = 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        mask = (confidence > low) & (confidence <= high) if low > 0 else (confidence >= low) & (confidence <= high)
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def reliability_bins(probs: np.ndarray, targets: Sequence[int], n_bins: int = 10) -> list[dict]:
    """Per confidence bin: count, mean confidence, accuracy (for the admin report)."""
    targets = np.asarray(targets)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == targets
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = []
    for low, high in zip(edges[:-1], edges[1:]):
        mask = (confidence > low) & (confidence <= high) if low > 0 else (confidence >= low) & (confidence <= high)
        if mask.any():
            bins.append({"low": round(float(low), 2), "high": round(float(high), 2), "n": int(mask.sum()),
                         "confidence": round(float(confidence[mask].mean()), 4), "accuracy": round(float(correct[mask].mean()), 4)})
    return bins
