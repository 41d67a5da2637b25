"""What gets indexed: one document per answerable entry, built the same way for every backend."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from knowledge.models import Entry, SimilarQuestion
from knowledge.selectors import entries_answerable


@dataclass(frozen=True)
class KbDocument:
    entry_id: int
    external_id: str
    question: str
    answer: str
    category_slug: str | None
    category_path: str
    similar_questions: tuple[str, ...]
    keywords: tuple[str, ...]
    status: str
    valid_until: datetime | None

    @property
    def texts(self) -> tuple[str, ...]:
        """Standard question first, then the similar questions (what a query is compared with)."""
        return (self.question, *self.similar_questions)


def kb_documents(ids: Iterable[int] | None = None) -> list[KbDocument]:
    """Documents of the answerable entries (all of them, or only those among ``ids``)."""
    queryset = entries_answerable().select_related("category", "category__parent").order_by("pk")
    if ids is not None:
        queryset = queryset.filter(pk__in=list(ids))
    entries: list[Entry] = list(queryset)
    similar: dict[int, list[str]] = {}
    rows = SimilarQuestion.objects.filter(entry_id__in=[e.pk for e in entries]) if ids is not None else SimilarQuestion.objects.all()
    for entry_id, text in rows.order_by("id").values_list("entry_id", "text"):
        similar.setdefault(entry_id, []).append(text)
    return [
        KbDocument(
            entry_id=e.pk,
            external_id=e.external_id,
            question=e.question,
            answer=e.answer,
            category_slug=e.category.slug if e.category_id else None,
            category_path=e.category.path if e.category_id else "",
            similar_questions=tuple(similar.get(e.pk, ())),
            keywords=tuple(e.keyword_list),
            status=e.status,
            valid_until=e.valid_until,
        )
        for e in entries
    ]
