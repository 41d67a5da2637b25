"""Escalation rule tables: which turn goes to a person, and with which recorded reason."""
from __future__ import annotations

import pytest

from handoff.enums import EscalationReason as R
from handoff.models import EscalationPolicy
from handoff.rules import EscalationRules, TurnSignals, escalation_check, fallback_escalates
from handoff.selectors import escalation_rules

DEFAULT = EscalationRules()
CUSTOM = EscalationRules(
    handoff_intents=frozenset({"refund", "complaint"}),
    keywords=("经理", "VIP"),
    negative_threshold=0.7,
    angry_threshold=1.0,
    fallbacks_before_escalation=2,
    unhelpful_before_escalation=0,
)


@pytest.mark.parametrize(
    ("rules", "turn", "expected"),
    [
        # explicit requests
        (DEFAULT, TurnSignals(text="你好", button=True), (R.HUMAN_REQUEST, "button")),
        (DEFAULT, TurnSignals(text="找个人工", intent="human_request"), (R.HUMAN_REQUEST, "intent:human_request")),
        # handoff intents
        (DEFAULT, TurnSignals(text="你们太差了", intent="complaint"), (R.COMPLAINT, "intent:complaint")),
        (CUSTOM, TurnSignals(text="我要退款", intent="refund"), (R.HANDOFF_INTENT, "intent:refund")),
        (DEFAULT, TurnSignals(text="我要退款", intent="refund"), None),
        (CUSTOM, TurnSignals(text="转人工", intent="human_request"), None),  # removed from the list, no keyword either
        # keywords (case-insensitive, substring)
        (DEFAULT, TurnSignals(text="我要打12315"), (R.KEYWORD, "keyword:12315")),
        (CUSTOM, TurnSignals(text="我是vip客户"), (R.KEYWORD, "keyword:VIP")),
        (CUSTOM, TurnSignals(text="我要打12315"), None),
        # sentiment thresholds (inclusive); 1 switches a rule off
        (DEFAULT, TurnSignals(text="气死了", angry=0.8), (R.NEGATIVE_SENTIMENT, "angry")),
        (DEFAULT, TurnSignals(text="不太好", negative=0.89), None),
        (DEFAULT, TurnSignals(text="很失望", negative=0.9), (R.NEGATIVE_SENTIMENT, "negative")),
        (CUSTOM, TurnSignals(text="气死了", angry=1.0), None),
        (CUSTOM, TurnSignals(text="失望", negative=0.7), (R.NEGATIVE_SENTIMENT, "negative")),
        # unhelpful ratings in a row
        (DEFAULT, TurnSignals(text="还是不行", unhelpful_streak=1), None),
        (DEFAULT, TurnSignals(text="还是不行", unhelpful_streak=2), (R.UNHELPFUL, "unhelpful")),
        (CUSTOM, TurnSignals(text="还是不行", unhelpful_streak=9), None),
        # nothing
        (DEFAULT, TurnSignals(text="运费多少", intent="shipping", negative=0.2), None),
        # order: the button beats everything, intents beat keywords
        (DEFAULT, TurnSignals(text="投诉", intent="complaint", button=True), (R.HUMAN_REQUEST, "button")),
        (DEFAULT, TurnSignals(text="投诉你们", intent="complaint"), (R.COMPLAINT, "intent:complaint")),
    ],
)
def test_escalation_check(rules, turn, expected):
    hit = escalation_check(rules, turn)
    assert (None if hit is None else (hit.reason, hit.why)) == expected


@pytest.mark.parametrize(("n", "streak", "expected"), [(3, 0, False), (3, 1, False), (3, 2, True), (1, 0, True), (0, 10, False)])
def test_fallback_escalates_on_the_nth_in_a_row(n, streak, expected):
    assert fallback_escalates(EscalationRules(fallbacks_before_escalation=n), streak) is expected


@pytest.mark.django_db
def test_admin_policy_becomes_the_rules():
    EscalationPolicy.objects.update_or_create(
        pk=1,
        defaults={"keywords": "经理\n\n  VIP \n", "handoff_intents": "complaint，refund, ", "negative_threshold": 0.5, "fallbacks_before_escalation": 4},
    )
    rules = escalation_rules()
    assert rules.keywords == ("经理", "VIP")
    assert rules.handoff_intents == frozenset({"complaint", "refund"})
    assert (rules.negative_threshold, rules.fallbacks_before_escalation) == (0.5, 4)


@pytest.mark.django_db
def test_shipped_policy_row_equals_the_dataclass_defaults():
    EscalationPolicy.objects.all().delete()
    assert escalation_rules() == EscalationRules()
