"""Intent classifiers: one interface (``base.IntentClassifier``), two backends.

``linear`` (scikit-learn, char + word n-grams, the default) and ``transformers``
(BertForSequenceClassification). Importing this package imports neither scikit-learn nor
torch; ``get_backend``/``load_classifier`` import the one needed.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .base import IntentClassifier

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "get_backend", "load_classifier", "new_classifier"]

BACKENDS = ("linear", "transformers")
DEFAULT_BACKEND = "linear"


def get_backend(name: str) -> type["IntentClassifier"]:
    if name == "linear":
        from .linear import LinearClassifier

        return LinearClassifier
    if name == "transformers":
        from .bert import BertClassifier

        return BertClassifier
    raise ValueError(f"unknown intent backend {name!r}; choose one of {', '.join(BACKENDS)}")


def new_classifier(name: str = DEFAULT_BACKEND, **config) -> "IntentClassifier":
    return get_backend(name)(**config)


def load_classifier(directory: str | Path, **overrides) -> "IntentClassifier":
    """Load whatever backend saved ``directory`` (its ``meta.json`` says which)."""
    directory = Path(directory)
    meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    cls = get_backend(meta["backend"])
    model = cls.load(directory)
    if overrides.get("quantize") and hasattr(model, "quantize") and not model.config.get("quantized"):
        model.quantize()
    return model
