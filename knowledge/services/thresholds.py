"""Answer / suggest thresholds: a global row plus optional per-category overrides (admin data)."""
from __future__ import annotations

from django.db import transaction

from knowledge.models import Category, MatchThreshold

# Used only until a manager edits the global row the data migration creates. Chosen by
# cross-validation on the demo KB's held-out questions (bench/kb_demo_eval.py, bench/results/kb.md).
DEFAULT_ANSWER_THRESHOLD = 0.5
DEFAULT_SUGGEST_THRESHOLD = 0.2


@transaction.atomic
def threshold_set(*, category: Category | None, answer: float, suggest: float) -> MatchThreshold:
    """Create or update the global (``category=None``) or a category's thresholds."""
    row = MatchThreshold.objects.filter(category=category).first() or MatchThreshold(category=category)
    row.answer_threshold = answer
    row.suggest_threshold = suggest
    row.full_clean()
    row.save()
    return row
