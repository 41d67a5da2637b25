"""Chinese understanding of a message: normalisation, jieba tokenisation with KB dictionaries,
intent classification (training, evaluation, model versions), entities, sentiment, PII masking
and the answer matcher. Heavy models load lazily, once per process.

Public entry points: ``nlp.analyze(text, *, now)`` and ``nlp.warm_up()`` (``nlp.analysis``), ``nlp.text.normalize``,
``nlp.tokens.tokenize``/``warm_up``, ``nlp.pii.mask_pii``. Importing ``nlp`` imports nothing
heavy (no jieba, torch, transformers or scikit-learn).
"""
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .analysis import Analysis, analyze, warm_up
    from .pii import mask_pii

__all__ = ["analyze", "Analysis", "mask_pii", "warm_up"]


def __getattr__(name: str) -> Any:
    if name in ("analyze", "Analysis", "warm_up"):
        from . import analysis

        return getattr(analysis, name)
    if name == "mask_pii":
        from .pii import mask_pii

        return mask_pii
    raise AttributeError(f"module 'nlp' has no attribute {name!r}")
