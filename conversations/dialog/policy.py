"""The dialog policy: one pure function from ``TurnContext`` to ``Decision``.

Order (DESIGN.md "One chat turn", step 4): a clicked suggestion answers its entry; then
escalate, by the rules managers configure (``handoff.rules.escalation_check``: the "转人工"
button, handoff intents such as human_request/complaint, keywords, angry or very negative
sentiment, repeated "not helpful" ratings); then small talk from templates (unless the
knowledge base has a direct answer, so "谢谢，那运费谁出？" is answered rather than
thanked); then out-of-scope; then the knowledge base: answer / suggest / fallback, where
the N-th fallback in a row escalates. Slot-filling flows will slot in after escalation.
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
