"""Create, update and change the status of FAQ entries (the path admin, imports and the demo share)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify

from knowledge.enums import EntryStatus
from knowledge.models import Category, Entry, SimilarQuestion

from .indexing import kb_index_schedule
from .revisions import entry_record_change


class _Keep:
    """Marker: leave the stored value alone (files without a ``valid_until`` column)."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


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
    valid_until: datetime | None = KEEP

    @classmethod
    def from_snapshot(cls, snapshot: dict[str, Any]) -> EntryData:
        valid_until = snapshot.get("valid_until")
        return cls(
            external_id=snapshot["external_id"],
            question=snapshot["question"],
            answer=snapshot["answer"],
            category=snapshot.get("category") or "",
            similar_questions=tuple(snapshot.get("similar_questions") or ()),
            keywords=tuple(snapshot.get("keywords") or ()),
            status=snapshot.get("status") or EntryStatus.DRAFT,
            valid_until=parse_datetime(valid_until) if valid_until else None,
        )


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


def _clean_similar(data: EntryData, question: str) -> list[str]:
    return list(dict.fromkeys(q.strip() for q in data.similar_questions if q.strip() and q.strip() != question))


@transaction.atomic
def entry_upsert(
    data: EntryData,
    *,
    user: AbstractBaseUser | None = None,
    source: str = "import",
    action: str | None = None,
    index: bool = True,
) -> tuple[Entry, bool]:
    """Create or update the entry with ``data.external_id``; returns ``(entry, changed)``.

    Nothing is written when the stored entry already equals ``data`` (so re-running an
    import or ``demo_setup`` changes nothing). Similar questions are replaced by the given set.
    A change is recorded as a revision and synced to the search index after commit.
    Raises ``ValidationError`` for values the model rejects.
    """
    category = category_get_or_create_path(data.category, slugs=data.category_slugs) if data.category else None
    question = data.question.strip()
    wanted: dict[str, Any] = {
        "question": question,
        "answer": data.answer.strip(),
        "keywords": ", ".join(dict.fromkeys(k.strip() for k in data.keywords if k.strip())),
        "status": data.status,
        "category": category,
    }
    if data.valid_until is not KEEP:
        wanted["valid_until"] = data.valid_until
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
    similar = _clean_similar(data, question)
    existing = list(entry.similar_questions.order_by("id").values_list("text", flat=True))
    if existing != similar:
        # Replace wholesale so the stored order follows the file (exports round-trip exactly).
        entry.similar_questions.all().delete()
        rows = [SimilarQuestion(entry=entry, text=t) for t in similar]
        for row in rows:
            row.full_clean(exclude=["entry"])
        SimilarQuestion.objects.bulk_create(rows)
        if not changed:
            entry.updated_by = user
            entry.save(update_fields=["updated_by", "updated_at"])  # moves kb_fingerprint for other processes
        changed = True
    if changed or action is not None:
        entry_record_change(entry, user=user, source=source, action=action, index=index)
    return entry, changed


@transaction.atomic
def entries_set_status(entries: Iterable[Entry], *, status: str, user: AbstractBaseUser | None = None, source: str = "bulk") -> int:
    """Bulk publish / archive / unpublish; returns how many entries changed (each gets a revision)."""
    if status not in EntryStatus.values:
        raise ValueError(f"unknown status {status!r}")
    changed: list[int] = []
    for entry in entries:
        if entry.status == status:
            continue
        entry.status = status
        entry.updated_by = user
        entry.save(update_fields=["status", "updated_by", "updated_at"])
        entry_record_change(entry, user=user, source=source, index=False)
        changed.append(entry.pk)
    kb_index_schedule(changed)
    return len(changed)
