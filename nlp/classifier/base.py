"""The interface every intent-classifier backend implements, and what they share.

A backend turns labelled texts into a model that gives calibrated probabilities over its
labels. ``fit`` trains and calibrates (temperature fitted on held-out predictions: out-of-fold
for the linear model, a validation split for BERT); ``save``/``load`` round-trip it through a
directory with a ``meta.json`` saying which backend wrote it. Inputs are raw or normalised
texts: every backend normalises them itself, so training and serving can never disagree.
"""
from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable, ClassVar, Sequence

import numpy as np

from nlp.text import normalize_text

from .calibration import softmax

__all__ = ["IntentClassifier", "TrainingError", "Progress"]

Progress = Callable[[str], None]
META_FILE = "meta.json"


class TrainingError(ValueError):
    """The training data cannot produce a model (too few labels or examples)."""


class IntentClassifier(ABC):
    """Calibrated multi-class intent classifier; subclasses set ``backend`` and the hooks below."""

    backend: ClassVar[str]

    def __init__(self, **config: Any) -> None:
        self.config: dict[str, Any] = dict(config)
        self.labels: list[str] = []
        self.temperature: float = 1.0
        # Held-out calibration evidence recorded by ``fit`` (out-of-fold or validation predictions).
        self.calibration: dict[str, Any] = {}
        # (targets, calibrated probabilities) of the held-out predictions behind ``calibration``;
        # the training report is computed from them. Not saved with the model.
        self.heldout: tuple[np.ndarray, np.ndarray] | None = None

    # --- hooks -----------------------------------------------------------------------------
    @abstractmethod
    def _fit(self, texts: list[str], targets: np.ndarray, progress: Progress) -> None:
        """Train on normalised texts and integer targets; set ``self.temperature``/``calibration``."""

    @abstractmethod
    def _scores(self, texts: list[str]) -> np.ndarray:
        """Raw (uncalibrated) scores, shape (n, n_labels), for normalised texts."""

    @abstractmethod
    def _save(self, directory: Path) -> None: ...

    @abstractmethod
    def _load(self, directory: Path) -> None: ...

    # --- public API ------------------------------------------------------------------------
    def fit(self, texts: Sequence[str], labels: Sequence[str], *, progress: Progress | None = None) -> "IntentClassifier":
        if len(texts) != len(labels):
            raise TrainingError("texts and labels differ in length")
        pairs = [(normalize_text(t), str(l)) for t, l in zip(texts, labels)]
        pairs = [(t, l) for t, l in pairs if t and l]
        self.labels = sorted({l for _, l in pairs})
        if len(self.labels) < 2:
            raise TrainingError("at least two intents with examples are needed")
        index = {l: i for i, l in enumerate(self.labels)}
        self._fit([t for t, _ in pairs], np.array([index[l] for _, l in pairs]), progress or (lambda _msg: None))
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, shape (n, len(labels)), columns in ``labels`` order."""
        if not texts:
            return np.zeros((0, len(self.labels)))
        return softmax(self._scores([normalize_text(t) for t in texts]), self.temperature)

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [self.labels[i] for i in self.predict_proba(texts).argmax(axis=1)]

    def rank(self, text: str, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` most probable intents of one text with their calibrated probabilities."""
        probs = self.predict_proba([text])[0]
        order = np.argsort(-probs)[:k]
        return [(self.labels[i], float(probs[i])) for i in order]

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self._save(directory)
        meta = {"backend": self.backend, "labels": self.labels, "temperature": self.temperature, "config": self.config}
        (directory / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "IntentClassifier":
        directory = Path(directory)
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        if meta.get("backend") != cls.backend:
            raise ValueError(f"{directory} holds a {meta.get('backend')!r} model, not {cls.backend!r}")
        model = cls(**meta.get("config", {}))
        model.labels = list(meta["labels"])
        model.temperature = float(meta.get("temperature", 1.0))
        model._load(directory)
        return model
