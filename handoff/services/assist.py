"""Agent assist: FAQ answers for the visitor's latest message, for one-click insert in the console.

Runs the same analysis and KB matching as the bot (``conversations.services.understanding``:
``nlp.analyze`` → ``knowledge.selectors.faq_match``), so agents see what the bot would have
said. Read-only. Runs NLP: call it from a worker thread, never on the event loop.
"""
from __future__ import annotations

from typing import Any, TypedDict

from django.utils import timezone

from conversations.models import Conversation
from conversations.services import understanding

from ..selectors import latest_visitor_text

MAX_SUGGESTIONS = 3


class KbSuggestion(TypedDict):
    entry_id: int
    question: str
    answer: str
    category: str
    probability: float


def kb_suggestions(conversation: Conversation, *, text: str | None = None) -> list[KbSuggestion]:
    """Up to three FAQ entries answering ``text`` (default: the visitor's latest message), best first."""
    text = text if text is not None else latest_visitor_text(conversation)
    if not text.strip():
        return []
    analysis = understanding.text_analyze(text, now=timezone.now())
    match: Any = understanding.faq_match(analysis, limit=MAX_SUGGESTIONS)
    seen: set[int] = set()
    result: list[KbSuggestion] = []
    for candidate in match.candidates:
        if candidate.entry_id in seen:
            continue
        seen.add(candidate.entry_id)
        result.append(
            {
                "entry_id": candidate.entry_id,
                "question": candidate.question,
                "answer": candidate.answer,
                "category": candidate.category_slug or "",
                "probability": round(float(candidate.probability), 3),
            }
        )
        if len(result) == MAX_SUGGESTIONS:
            break
    return result
