"""What one turn knows when the policy decides, and what the policy returns.

The shapes of ``nlp.analyze``'s ``Analysis`` and ``knowledge.selectors.faq_match``'s
``FaqMatch`` are written here as Protocols: the policy reads only these attributes, so it
can be table-tested with hand-built objects and never imports the heavy modules.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, Sequence

from handoff.rules import EscalationRules


class SentimentLike(Protocol):
    negative: float | bool
    angry: float | bool
    label: str


class AnalysisLike(Protocol):
    """The attributes of ``nlp.analysis.Analysis`` the policy depends on."""

    intent: str | None
    confidence: float
    out_of_scope: bool
    sentiment: SentimentLike


class CandidateLike(Protocol):
    """The attributes of ``knowledge`` ``Candidate`` the policy and the turn depend on."""

    entry_id: int
    external_id: str
    question: str
    answer: str
    category_slug: str
    probability: float
    score: float


class FaqMatchLike(Protocol):
    band: str  # "answer" | "suggest" | "fallback"
    best: CandidateLike | None
    candidates: Sequence[CandidateLike]


class Action(StrEnum):
    ESCALATE = "escalate"
    SMALLTALK = "smalltalk"
    ANSWER = "answer"
    SUGGEST = "suggest"
    FALLBACK = "fallback"


# Most questions the suggest band offers ("您是不是想问：" + up to 3 clickable questions).
MAX_SUGGESTIONS = 3


@dataclass(frozen=True)
class TurnContext:
    """Everything ``decide`` may look at; built once per turn by ``services.turn``."""

    analysis: AnalysisLike | None
    faq: FaqMatchLike | None
    # The visitor's text (escalation keywords are matched on it).
    text: str = ""
    # A suggestion the visitor clicked, already resolved to an answerable entry.
    selected: CandidateLike | None = None
    # The visitor pressed "转人工" (an explicit request, independent of what NLP thinks).
    handoff_requested: bool = False
    # Consecutive fallback replies immediately before this turn.
    fallback_streak: int = 0
    # Consecutive bot answers rated "not helpful" immediately before this turn.
    unhelpful_streak: int = 0
    # When to hand over to a person: what managers configured (handoff's EscalationPolicy).
    rules: EscalationRules = field(default_factory=EscalationRules)
    max_suggestions: int = MAX_SUGGESTIONS


@dataclass(frozen=True)
class Decision:
    """What the bot does this turn; ``services.turn`` turns it into stored messages."""

    action: Action
    intent: str = ""
    confidence: float | None = None
    entry: CandidateLike | None = None
    suggestions: tuple[CandidateLike, ...] = ()
    template: str | None = None  # a TemplateKey value
    escalation_reason: str | None = None  # an EscalationReason value
    offer_human: bool = False
    why: str = ""  # short machine-readable explanation, stored with the bot message
