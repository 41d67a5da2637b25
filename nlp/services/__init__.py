"""Writes of the nlp app: intents and examples, training and activating model versions."""
from .intents import IntentData, demo_intents_load, intent_upsert
from .training import active_version, model_activate, model_evaluate, model_train

__all__ = ["IntentData", "demo_intents_load", "intent_upsert", "active_version", "model_activate", "model_evaluate", "model_train"]
