"""Escalation rules as pure data and one pure function, so the dialog policy can apply what
managers configured in admin (``EscalationPolicy``) and tests can check it from tables.

``escalation_rules()`` (in ``handoff.selectors``) turns the admin row into ``EscalationRules``;
``escalation_check`` decides whether one visitor turn must go to a person. The N-th
consecutive fallback is decided by the dialog policy itself (only a turn that would fall back
can be the N-th), using ``rules.fallbacks_before_escalation``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .enums import EscalationReason

# Intents with their own reason; any other configured handoff intent is "handoff_intent".
_INTENT_REASONS: dict[str, str] = {"human_request": EscalationReason.HUMAN_REQUEST, "complaint": EscalationReason.COMPLAINT}


@dataclass(frozen=True)
class EscalationRules:
    """What managers configured; defaults equal the shipped ``EscalationPolicy`` row."""

    handoff_intents: frozenset[str] = frozenset({"human_request", "complaint"})
    keywords: tuple[str, ...] = ("人工", "真人", "投诉", "12315", "消协", "律师")
    negative_threshold: float = 0.9
    angry_threshold: float = 0.8
    fallbacks_before_escalation: int = 3  # 0 = never
    unhelpful_before_escalation: int = 2  # 0 = never


@dataclass(frozen=True)
class TurnSignals:
    """What one visitor turn tells the rules (all optional but the text)."""

    text: str = ""
    intent: str = ""
    negative: float = 0.0
    angry: float = 0.0
    button: bool = False  # the visitor pressed "转人工"
    unhelpful_streak: int = 0  # consecutive bot answers rated "not helpful" right before this turn
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RuleHit:
    reason: str  # an EscalationReason value
    why: str  # short machine-readable explanation stored with the bot message / escalation detail


def keyword_hit(text: str, keywords: tuple[str, ...]) -> str | None:
    """The first configured keyword contained in ``text`` (case-insensitive), if any."""
    lowered = text.lower()
    return next((keyword for keyword in keywords if keyword and keyword.lower() in lowered), None)


def escalation_check(rules: EscalationRules, turn: TurnSignals) -> RuleHit | None:
    """Whether this turn goes to a person, and why. Pure; order = most explicit first.

    1. the "转人工" button; 2. a configured handoff intent; 3. a configured keyword;
    4. anger, then negative sentiment, at or above their thresholds (a threshold of 1
    switches that rule off); 5. the N-th consecutive unhelpful rating (N = 0: off).
    """
    if turn.button:
        return RuleHit(EscalationReason.HUMAN_REQUEST, "button")
    if turn.intent and turn.intent in rules.handoff_intents:
        return RuleHit(_INTENT_REASONS.get(turn.intent, EscalationReason.HANDOFF_INTENT), f"intent:{turn.intent}")
    keyword = keyword_hit(turn.text, rules.keywords)
    if keyword is not None:
        return RuleHit(EscalationReason.KEYWORD, f"keyword:{keyword}")
    if rules.angry_threshold < 1 and turn.angry >= rules.angry_threshold:
        return RuleHit(EscalationReason.NEGATIVE_SENTIMENT, "angry")
    if rules.negative_threshold < 1 and turn.negative >= rules.negative_threshold:
        return RuleHit(EscalationReason.NEGATIVE_SENTIMENT, "negative")
    if rules.unhelpful_before_escalation and turn.unhelpful_streak >= rules.unhelpful_before_escalation:
        return RuleHit(EscalationReason.UNHELPFUL, "unhelpful")
    return None


def fallback_escalates(rules: EscalationRules, fallback_streak: int) -> bool:
    """Would one more fallback (after ``fallback_streak`` in a row) be the N-th?"""
    n = rules.fallbacks_before_escalation
    return bool(n) and fallback_streak + 1 >= n
