"""Create and update FAQ entries idempotently (the path imports and the demo loader share)."""
from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.text import slugify

from knowledge.enums import EntryStatus
from knowledge.models import Category, Entry, SimilarQuestion


@dataclass(frozen=True)
class EntryData:
    """One entry as files describe it (the ``id, category, question, ...`` columns)."""

    external_id: str
    question: str
    answer: str
    category: str = ""  # "父/子" path, created when missing
    similar_questions: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    status: str = EntryStatus.PUBLISHED
    category_slugs: dict[str, str] = field(default_factory=dict)  # optional name -> slug for new categories


def category_get_or_create_path(path: str, *, slugs: dict[str, str] | None = None) -> Category | None:
    """Return the category at ``父/子`` path, creating missing nodes; ``None`` for an empty path."""
    parent: Category | None = None
    for name in [part.strip() for part in path.split("/") if part.strip()]:
        node = Category.objects.filter(parent=parent, name=name).first()
        if node is None:
            slug = (slugs or {}).get(name) or slugify(name, allow_unicode=False) or f"category-{Category.objects.count() + 1}"
            base, n = slug, 1
            while Category.objects.filter(slug=slug).exists():
                n += 1
                slug = f"{base}-{n}"
            node = Category.objects.create(parent=parent, name=name, slug=slug)
        parent = node
    return parent


@transaction.atomic
def entry_upsert(data: EntryData, *, user: AbstractBaseUser | None = None) -> tuple[Entry, bool]:
    """Create or update the entry with ``data.external_id``; returns ``(entry, changed)``.

    Nothing is written when the stored entry already equals ``data`` (so re-running an
    import or ``demo_setup`` changes nothing). Similar questions are replaced by the given set.
    """
    category = category_get_or_create_path(data.category, slugs=data.category_slugs) if data.category else None
    wanted = {
        "question": data.question.strip(),
        "answer": data.answer.strip(),
        "keywords": ", ".join(k.strip() for k in data.keywords if k.strip()),
        "status": data.status,
        "category": category,
    }
    entry = Entry.objects.filter(external_id=data.external_id).first()
    changed = False
    if entry is None:
        entry = Entry(external_id=data.external_id, created_by=user, updated_by=user, **wanted)
        entry.full_clean()
        entry.save()
        changed = True
    else:
        diff = [name for name, value in wanted.items() if getattr(entry, name) != value]
        if diff:
            for name in diff:
                setattr(entry, name, wanted[name])
            entry.updated_by = user
            entry.full_clean()
            entry.save()
            changed = True
    similar = list(dict.fromkeys(q.strip() for q in data.similar_questions if q.strip() and q.strip() != wanted["question"]))
    existing = set(entry.similar_questions.values_list("text", flat=True))
    if existing != set(similar):
        entry.similar_questions.exclude(text__in=similar).delete()
        SimilarQuestion.objects.bulk_create([SimilarQuestion(entry=entry, text=t) for t in similar if t not in existing])
        changed = True
    return entry, changed
