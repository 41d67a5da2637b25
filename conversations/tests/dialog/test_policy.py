"""The dialog policy from tables: (context) → (action, template/entry, escalation reason)."""
from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from conversations.dialog.context import Action, TurnContext
from conversations.dialog.policy import decide
from conversations.tests.fixtures import make_analysis, make_candidate, make_match
from handoff.rules import EscalationRules

RETURNS = make_candidate(1, "怎么申请退货？", probability=0.91, slug="returns")
REFUND_1 = make_candidate(2, "退款多久到账？", probability=0.55, slug="refund")
REFUND_2 = make_candidate(3, "退款会退到哪里？", probability=0.41, slug="refund")
SHIPPING = make_candidate(4, "多久发货？", probability=0.30, slug="shipping")
ANSWER = make_match("answer", RETURNS, REFUND_2)
SUGGEST = make_match("suggest", REFUND_1, REFUND_2, RETURNS, SHIPPING)
FALLBACK = make_match("fallback", SHIPPING)
NOTHING = make_match("fallback")
RETURNS_LOW = make_match(
    "fallback",
    make_candidate(1, "怎么申请退货？", probability=0.13, slug="returns"),
    make_candidate(5, "退款多久到账？", probability=0.05, slug="refund"),
    make_candidate(6, "赠品需要一起退回吗？", probability=0.011, slug="returns"),
)

# (id, analysis kwargs, faq, extra context, expected action, expected template / reason / entry)
TABLE = [
    ("greeting", {"intent": "greeting"}, NOTHING, {}, Action.SMALLTALK, "greeting"),
    ("thanks", {"intent": "thanks"}, FALLBACK, {}, Action.SMALLTALK, "thanks"),
    ("goodbye", {"intent": "goodbye"}, SUGGEST, {}, Action.SMALLTALK, "goodbye"),
    ("smalltalk yields to a direct KB answer", {"intent": "thanks"}, ANSWER, {}, Action.ANSWER, 1),
    ("human request beats a KB answer", {"intent": "human_request"}, ANSWER, {}, Action.ESCALATE, "human_request"),
    ("complaint", {"intent": "complaint"}, NOTHING, {}, Action.ESCALATE, "complaint"),
    ("angry sentiment", {"intent": "refund", "angry": 0.85}, ANSWER, {}, Action.ESCALATE, "negative_sentiment"),
    ("very negative sentiment", {"intent": "refund", "negative": 0.95}, SUGGEST, {}, Action.ESCALATE, "negative_sentiment"),
    ("mildly negative stays with the bot", {"intent": "returns", "negative": 0.6, "angry": 0.3}, ANSWER, {}, Action.ANSWER, 1),
    ("button handoff without analysis", None, None, {"handoff_requested": True}, Action.ESCALATE, "human_request"),
    ("button handoff beats small talk", {"intent": "greeting"}, NOTHING, {"handoff_requested": True}, Action.ESCALATE, "human_request"),
    ("kb answer", {"intent": "returns"}, ANSWER, {}, Action.ANSWER, 1),
    ("kb answer without any intent model", {"intent": None}, ANSWER, {}, Action.ANSWER, 1),
    ("kb suggest", {"intent": "refund"}, SUGGEST, {}, Action.SUGGEST, "suggest_intro"),
    ("kb fallback", {"intent": None}, FALLBACK, {}, Action.FALLBACK, "fallback"),
    ("nothing found", {"intent": "order"}, NOTHING, {}, Action.FALLBACK, "fallback"),
    ("sure of the category, unsure of the entry: its entries suggested", {"intent": "returns", "confidence": 0.99}, RETURNS_LOW, {}, Action.SUGGEST, "suggest_intro"),
    ("… not when the intent model is unsure", {"intent": "returns", "confidence": 0.8}, RETURNS_LOW, {}, Action.FALLBACK, "fallback"),
    ("… nor when no candidate is of that category", {"intent": "shipping", "confidence": 0.99}, RETURNS_LOW, {}, Action.FALLBACK, "fallback"),
    ("… nor when its best candidate is a guess", {"intent": "order", "confidence": 0.99}, make_match("fallback", make_candidate(7, "如何删除订单？", probability=0.03, slug="order")), {}, Action.FALLBACK, "fallback"),
    ("… nor when out of scope", {"intent": "returns", "confidence": 0.99, "out_of_scope": True}, RETURNS_LOW, {}, Action.FALLBACK, "out_of_scope"),
    ("out of scope flag", {"intent": "order", "out_of_scope": True}, SUGGEST, {}, Action.FALLBACK, "out_of_scope"),
    ("out of scope intent", {"intent": "out_of_scope"}, FALLBACK, {}, Action.FALLBACK, "out_of_scope"),
    ("out of scope but the KB answers", {"intent": "out_of_scope"}, ANSWER, {}, Action.ANSWER, 1),
    ("second fallback in a row", {"intent": None}, FALLBACK, {"fallback_streak": 1}, Action.FALLBACK, "fallback"),
    ("third fallback in a row escalates", {"intent": None}, FALLBACK, {"fallback_streak": 2}, Action.ESCALATE, "repeated_fallback"),
    ("a suggestion resets nothing but is not a fallback", {"intent": "refund"}, SUGGEST, {"fallback_streak": 5}, Action.SUGGEST, "suggest_intro"),
    ("configured keyword", {"intent": "refund"}, ANSWER, {"text": "我要找你们经理说话"}, Action.ESCALATE, "keyword"),
    ("default keyword 人工", {"intent": None}, FALLBACK, {"text": "人工客服在哪"}, Action.ESCALATE, "keyword"),
    ("second unhelpful answer in a row escalates", {"intent": "refund"}, ANSWER, {"unhelpful_streak": 2}, Action.ESCALATE, "unhelpful"),
    ("one unhelpful answer does not", {"intent": "returns"}, ANSWER, {"unhelpful_streak": 1}, Action.ANSWER, 1),
    ("clicked suggestion answers its entry", None, None, {"selected": REFUND_2}, Action.ANSWER, 3),
    ("clicked suggestion beats an escalating analysis", {"intent": "complaint"}, NOTHING, {"selected": REFUND_2}, Action.ANSWER, 3),
]


@pytest.mark.parametrize(("analysis", "faq", "extra", "action", "expected"), [row[1:] for row in TABLE], ids=[row[0] for row in TABLE])
def test_decide_follows_the_policy_order(analysis, faq, extra, action, expected):
    # Given a turn context built by hand (rules: the shipped defaults plus one keyword)
    rules = EscalationRules(keywords=("人工", "投诉", "经理"))
    ctx = TurnContext(analysis=make_analysis("text", **analysis) if analysis is not None else None, faq=faq, rules=rules, **extra)
    # When the policy decides
    decision = decide(ctx)
    # Then the action and its detail are the table's
    assert decision.action == action
    if action == Action.ESCALATE:
        assert decision.escalation_reason == expected
    elif action == Action.ANSWER:
        assert decision.entry is not None and decision.entry.entry_id == expected
    else:
        assert decision.template == expected


def test_suggestions_are_at_most_three_distinct_entries_best_first():
    duplicate = make_candidate(2, "退款多久到账？（相似问法）", probability=0.5, slug="refund")
    ctx = TurnContext(analysis=make_analysis("退款", intent="refund"), faq=make_match("suggest", REFUND_1, duplicate, REFUND_2, RETURNS, SHIPPING))
    decision = decide(ctx)
    assert [c.entry_id for c in decision.suggestions] == [2, 3, 1]
    assert decision.intent == "refund" and decision.confidence == pytest.approx(0.55)


def test_fallback_offers_a_human_and_answers_do_not():
    fallback = decide(TurnContext(analysis=make_analysis("?"), faq=NOTHING))
    answer = decide(TurnContext(analysis=make_analysis("退货", intent="returns"), faq=ANSWER))
    assert fallback.offer_human is True
    assert answer.offer_human is False


def test_answer_takes_intent_from_the_entry_category_and_confidence_from_the_matcher():
    decision = decide(TurnContext(analysis=make_analysis("退货", intent="order", confidence=0.4), faq=ANSWER))
    assert (decision.intent, decision.confidence) == ("returns", pytest.approx(0.91))


def test_thresholds_and_counts_come_from_the_managers_rules():
    negative = make_analysis("x", intent="refund", negative=0.7)
    assert decide(TurnContext(analysis=negative, faq=ANSWER)).action == Action.ANSWER
    assert decide(TurnContext(analysis=negative, faq=ANSWER, rules=EscalationRules(negative_threshold=0.6))).action == Action.ESCALATE
    once = TurnContext(analysis=make_analysis("x"), faq=NOTHING, rules=EscalationRules(fallbacks_before_escalation=1))
    assert decide(once).escalation_reason == "repeated_fallback"


def test_rules_switched_off_never_escalate():
    off = EscalationRules(handoff_intents=frozenset(), keywords=(), negative_threshold=1.0, angry_threshold=1.0, fallbacks_before_escalation=0, unhelpful_before_escalation=0)
    angry_complaint = make_analysis("投诉 人工", intent="complaint", negative=0.99, angry=0.99)
    decision = decide(TurnContext(analysis=angry_complaint, faq=NOTHING, text="投诉 人工", fallback_streak=10, unhelpful_streak=10, rules=off))
    assert decision.action == Action.FALLBACK
    # The button is always honoured
    assert decide(TurnContext(analysis=None, faq=None, handoff_requested=True, rules=off)).action == Action.ESCALATE


@dataclass(frozen=True)
class FlagSentiment:
    negative: bool = False
    angry: bool = True
    label: str = "negative"


def test_sentiment_flags_count_like_probabilities():
    analysis = replace(make_analysis("x", intent="refund"), sentiment=FlagSentiment())
    assert decide(TurnContext(analysis=analysis, faq=ANSWER)).action == Action.ESCALATE


def test_topic_suggestions_are_the_categorys_candidates_near_its_best():
    decision = decide(TurnContext(analysis=make_analysis("我要退货", intent="returns", confidence=0.998), faq=RETURNS_LOW))
    # the refund entry is another category; 赠品 (0.011) is far behind 0.13
    assert [c.entry_id for c in decision.suggestions] == [1]
    assert (decision.why, decision.intent, decision.confidence) == ("kb:topic", "returns", pytest.approx(0.13))
    close = make_match("fallback", make_candidate(1, probability=0.18, slug="refund"), make_candidate(2, probability=0.15, slug="refund"), make_candidate(3, probability=0.06, slug="refund"))
    assert [c.entry_id for c in decide(TurnContext(analysis=make_analysis("怎么退款", intent="refund", confidence=1.0), faq=close)).suggestions] == [1, 2, 3]
