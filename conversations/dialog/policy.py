"""The dialog policy: one pure function from ``TurnContext`` to ``Decision``.

Order (DESIGN.md "One chat turn", step 4): a clicked suggestion answers its entry; then
escalate, by the rules managers configure (``handoff.rules.escalation_check``: the "转人工"
button, handoff intents such as human_request/complaint, keywords, angry or very negative
sentiment, repeated "not helpful" ratings); then small talk from templates (unless the
knowledge base has a direct answer, so "谢谢，那运费谁出？" is answered rather than
thanked); then out-of-scope; then the knowledge base: answer / suggest / fallback, where
a question surely about one KB category is offered that category's best entries rather than
the fallback, and the N-th fallback in a row escalates. Slot-filling flows will slot in after escalation.
"""
from __future__ import annotations

from handoff.enums import EscalationReason
from handoff.rules import TurnSignals, escalation_check, fallback_escalates

from ..enums import TemplateKey
from .context import Action, AnalysisLike, CandidateLike, Decision, TurnContext
from .smalltalk import SMALLTALK_INTENTS


def _score(value: float | bool | None) -> float:
    """Sentiment fields may be probabilities or flags; compare both the same way."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    return float(value)


def _escalation(ctx: TurnContext) -> Decision | None:
    analysis = ctx.analysis
    intent = (analysis.intent or "") if analysis else ""
    sentiment = analysis.sentiment if analysis else None
    signals = TurnSignals(
        text=ctx.text,
        intent=intent,
        negative=_score(sentiment.negative) if sentiment is not None else 0.0,
        angry=_score(sentiment.angry) if sentiment is not None else 0.0,
        button=ctx.handoff_requested,
        unhelpful_streak=ctx.unhelpful_streak,
    )
    hit = escalation_check(ctx.rules, signals)
    if hit is None:
        return None
    confidence = 1.0 if ctx.handoff_requested else (analysis.confidence if analysis else None)
    return Decision(
        Action.ESCALATE, intent="human_request" if ctx.handoff_requested else intent, confidence=confidence, escalation_reason=hit.reason, why=hit.why
    )


def _answer(candidate: CandidateLike, analysis: AnalysisLike | None, *, why: str, confidence: float | None = None) -> Decision:
    return Decision(
        Action.ANSWER,
        intent=candidate.category_slug or ((analysis.intent or "") if analysis else ""),
        confidence=candidate.probability if confidence is None else confidence,
        entry=candidate,
        why=why,
    )


def _unique_suggestions(candidates: tuple[CandidateLike, ...] | list[CandidateLike], limit: int) -> tuple[CandidateLike, ...]:
    seen: set[int] = set()
    picked: list[CandidateLike] = []
    for candidate in candidates:
        if candidate.entry_id in seen:
            continue
        seen.add(candidate.entry_id)
        picked.append(candidate)
        if len(picked) == limit:
            break
    return tuple(picked)


# A question the intent model puts in one KB category almost surely ("我要退货": returns, 0.998)
# while the matcher cannot tell which of the category's entries it means (four characters, one
# content word: RETURNS-003 got 0.13, under the suggest threshold) gets that category's best
# candidates as suggestions instead of the fallback; those far behind the best are left out.
TOPIC_MIN_INTENT_CONFIDENCE = 0.9
TOPIC_MIN_PROBABILITY = 0.05  # below it the category's best is a guess (查订单 → 如何删除订单？ 0.03)
TOPIC_MIN_SHARE = 0.25  # of the category's best candidate's probability


def _topic_suggestions(analysis: AnalysisLike | None, candidates: tuple[CandidateLike, ...], limit: int) -> tuple[CandidateLike, ...]:
    intent = (analysis.intent or "") if analysis else ""
    if not intent or float(analysis.confidence or 0.0) < TOPIC_MIN_INTENT_CONFIDENCE:  # type: ignore[union-attr]
        return ()
    in_topic = [c for c in candidates if c.category_slug == intent]
    if not in_topic:
        return ()
    best = max(c.probability for c in in_topic)
    if best < TOPIC_MIN_PROBABILITY:
        return ()
    floor = best * TOPIC_MIN_SHARE
    return _unique_suggestions([c for c in in_topic if c.probability >= floor], limit)


def decide(ctx: TurnContext) -> Decision:
    """Choose the bot's move for this turn. Pure: same context, same decision."""
    if ctx.selected is not None:
        return _answer(ctx.selected, ctx.analysis, why="selected", confidence=1.0)

    escalation = _escalation(ctx)
    if escalation is not None:
        return escalation

    analysis = ctx.analysis
    faq = ctx.faq
    intent = (analysis.intent or "") if analysis else ""
    confidence = analysis.confidence if analysis else None
    kb_direct = faq is not None and faq.band == "answer" and faq.best is not None

    if intent in SMALLTALK_INTENTS and not kb_direct:
        return Decision(Action.SMALLTALK, intent=intent, confidence=confidence, template=intent, why=f"smalltalk:{intent}")

    if kb_direct:
        return _answer(faq.best, analysis, why="kb:answer")  # type: ignore[union-attr, arg-type]

    out_of_scope = analysis is not None and (analysis.out_of_scope or intent == "out_of_scope")
    if not out_of_scope and faq is not None and faq.band == "suggest" and faq.candidates:
        suggestions = _unique_suggestions(tuple(faq.candidates), ctx.max_suggestions)
        best = suggestions[0]
        return Decision(
            Action.SUGGEST,
            intent=best.category_slug or intent,
            confidence=best.probability,
            suggestions=suggestions,
            template=TemplateKey.SUGGEST_INTRO,
            why="kb:suggest",
        )

    topic = _topic_suggestions(analysis, tuple(faq.candidates), ctx.max_suggestions) if faq is not None and not out_of_scope else ()
    if topic:
        return Decision(
            Action.SUGGEST, intent=intent, confidence=topic[0].probability, suggestions=topic, template=TemplateKey.SUGGEST_INTRO, why="kb:topic"
        )

    if fallback_escalates(ctx.rules, ctx.fallback_streak):
        return Decision(Action.ESCALATE, intent=intent, confidence=confidence, escalation_reason=EscalationReason.REPEATED_FALLBACK, why="repeated_fallback")

    best_probability = faq.best.probability if faq is not None and faq.best is not None else None
    return Decision(
        Action.FALLBACK,
        intent="out_of_scope" if out_of_scope else intent,
        confidence=best_probability if best_probability is not None else confidence,
        template=TemplateKey.OUT_OF_SCOPE if out_of_scope else TemplateKey.FALLBACK,
        offer_human=True,
        why="out_of_scope" if out_of_scope else "kb:fallback",
    )
