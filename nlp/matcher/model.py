"""The re-ranker: logistic regression over pair features, giving P(candidate answers the question).

Logistic regression is used on purpose: with a few thousand training pairs from one KB it
trains in well under a second, its log-loss objective yields probabilities that are already
close to calibrated (checked in tests and ``bench/kb_demo_eval.py``), and its weights are
readable in the admin's 试一试 page. Features are standardised so the L2 penalty treats
them alike.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODEL_FORMAT = 1


@dataclass(frozen=True)
class MatcherModel:
    feature_names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    n_train: int = 0
    n_positive: int = 0
    meta: dict | None = None

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        """P(answers) for each feature row."""
        if rows.size == 0:
            return np.zeros(0)
        z = ((rows - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -35, 35)))

    def weights(self) -> dict[str, float]:
        """Standardised weights by feature name (for display: sign and size of influence)."""
        return {name: round(float(w), 3) for name, w in zip(self.feature_names, self.coef)}

    def to_json(self) -> dict:
        return {
            "format": MODEL_FORMAT,
            "feature_names": list(self.feature_names),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "n_train": self.n_train,
            "n_positive": self.n_positive,
            "meta": self.meta or {},
        }

    @classmethod
    def from_json(cls, data: dict) -> MatcherModel:
        if data.get("format") != MODEL_FORMAT:
            raise ValueError("unsupported matcher model format")
        return cls(
            feature_names=tuple(data["feature_names"]),
            mean=np.asarray(data["mean"]),
            scale=np.asarray(data["scale"]),
            coef=np.asarray(data["coef"]),
            intercept=float(data["intercept"]),
            n_train=int(data.get("n_train", 0)),
            n_positive=int(data.get("n_positive", 0)),
            meta=data.get("meta") or {},
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json()), encoding="utf-8")
        tmp.replace(path)  # atomic: another process never reads half a file

    @classmethod
    def load(cls, path: Path) -> MatcherModel:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def fit_matcher(
    rows: np.ndarray, labels: np.ndarray, feature_names: tuple[str, ...], *, c: float = 1.0, meta: dict | None = None
) -> MatcherModel:
    """Fit the logistic regression; raises ValueError without both classes (e.g. no similar questions)."""
    from sklearn.linear_model import LogisticRegression

    labels = np.asarray(labels, dtype=int)
    if rows.shape[0] == 0 or len(set(labels.tolist())) < 2:
        raise ValueError("the matcher needs positive and negative training pairs")
    mean = rows.mean(axis=0)
    scale = rows.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=c, max_iter=2000)
    model.fit((rows - mean) / scale, labels)
    return MatcherModel(
        feature_names=feature_names,
        mean=mean,
        scale=scale,
        coef=model.coef_[0].copy(),
        intercept=float(model.intercept_[0]),
        n_train=int(rows.shape[0]),
        n_positive=int(labels.sum()),
        meta=meta,
    )


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, *, bins: int = 10) -> float:
    """ECE: the gap between predicted and observed frequency, averaged over equal-width bins."""
    probabilities = np.asarray(probabilities, dtype=float)
    labels = np.asarray(labels, dtype=float)
    if probabilities.size == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(probabilities, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            error += mask.mean() * abs(probabilities[mask].mean() - labels[mask].mean())
    return float(error)
