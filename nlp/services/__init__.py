"""Writes of the nlp app: intents and examples, training and activating model versions."""
from .intents import IntentData, demo_intents_load, intent_upsert

__all__ = ["IntentData", "demo_intents_load", "intent_upsert"]
