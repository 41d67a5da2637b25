"""Bench-only experiment (``chat_load.py --free-models``): make the models cost nothing.

Memoises ``understanding.text_analyze`` and ``understanding.faq_match`` per question text
inside each gunicorn worker, so after the first time a question is asked its analysis and FAQ
match are free. The bench asks the same 301 questions over and over, so this measures what a
REST chat request costs *without* any model work: storage, the token check, DRF, Django and
gunicorn. It is an upper bound for what faster models could ever give, never a serving mode.
"""
from __future__ import annotations

from typing import Any


def install() -> None:
    from conversations.services import understanding

    analyze, match = understanding.text_analyze, understanding.faq_match
    analyses: dict[str, Any] = {}
    matches: dict[tuple[int, int], Any] = {}

    def text_analyze(text: str, *, now: Any) -> Any:
        if text not in analyses:
            analyses[text] = analyze(text, now=now)
        return analyses[text]

    def faq_match(analysis: Any, *, limit: int = 3) -> Any:
        key = (id(analysis), limit)  # analyses are kept above, so ids stay unique
        if key not in matches:
            matches[key] = match(analysis, limit=limit)
        return matches[key]

    understanding.text_analyze, understanding.faq_match = text_analyze, faq_match
