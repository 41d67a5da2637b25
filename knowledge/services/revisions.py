"""Revisions: a snapshot of an entry after every change, a diff against the one before, restore.


Every write path (admin form, bulk action, import, restore, demo loader) ends in
``entry_record_change`` so the history is complete whichever interface made the change.
"""
from __future__ import annotations

import difflib
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from csbot.errors import ApplicationError
from knowledge.enums import RevisionAction
from knowledge.models import Entry, Revision

from .indexing import kb_index_schedule

SNAPSHOT_FIELDS = ("external_id", "category", "question", "similar_questions", "answer", "keywords", "status", "valid_until")


def entry_snapshot(entry: Entry) -> dict[str, Any]:
    """The entry as plain JSON in the import/export shape (category as its ``父/子`` path)."""
    return {
        "external_id": entry.external_id,
        "category": entry.category.path if entry.category_id else "",
        "question": entry.question,
        "similar_questions": list(entry.similar_questions.order_by("id").values_list("text", flat=True)),
        "answer": entry.answer,
        "keywords": entry.keyword_list,
        "status": entry.status,
        "valid_until": entry.valid_until.isoformat() if entry.valid_until else None,
    }


def _lines(snapshot: dict[str, Any] | None) -> list[str]:
    if not snapshot:
        return []
    lines: list[str] = []
    for name in SNAPSHOT_FIELDS:
        value = snapshot.get(name)
        if isinstance(value, list):
            lines.extend(f"{name}[]: {item}" for item in value)
        elif name == "answer":
            lines.extend(f"answer: {line}" for line in str(value or "").splitlines() or [""])
        else:
            lines.append(f"{name}: {'' if value is None else value}")
    return lines


def snapshot_diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """A unified diff of two snapshots, one line per field / similar question / answer line."""
    return "\n".join(difflib.unified_diff(_lines(before), _lines(after), "before", "after", lineterm="", n=1))


def entry_last_revision(external_id: str) -> Revision | None:
    return Revision.objects.filter(external_id=external_id).order_by("-created_at", "-id").first()


def entry_record_change(
    entry: Entry, *, user: AbstractBaseUser | None = None, source: str = "", action: str | None = None, index: bool = True
) -> Revision | None:
    """Store a revision when the entry differs from its last revision; schedule index sync.

    Returns the new revision, or ``None`` when nothing changed since the last one (so calling
    it twice, or after a no-op admin save, adds nothing). The index sync is enqueued on commit.
    """
    snapshot = entry_snapshot(entry)
    last = entry_last_revision(entry.external_id)
    before = last.snapshot if last is not None and last.action != RevisionAction.DELETE else None
    if before == snapshot and action != RevisionAction.RESTORE:
        return None
    if action is None:
        action = RevisionAction.UPDATE if before is not None else RevisionAction.CREATE
    revision = Revision.objects.create(
        entry=entry,
        external_id=entry.external_id,
        action=action,
        snapshot=snapshot,
        diff=snapshot_diff(before, snapshot),
        source=source,
        user=user if user is not None and user.is_authenticated else None,
    )
    if index:
        kb_index_schedule([entry.pk])
    return revision


@transaction.atomic
def entry_delete(entry: Entry, *, user: AbstractBaseUser | None = None, source: str = "admin") -> Revision:
    """Delete an entry, keeping its last state as a ``delete`` revision so it can be restored."""
    snapshot = entry_snapshot(entry)
    last = entry_last_revision(entry.external_id)
    revision = Revision.objects.create(
        entry=None,
        external_id=entry.external_id,
        action=RevisionAction.DELETE,
        snapshot=snapshot,
        diff=snapshot_diff(last.snapshot if last and last.action != RevisionAction.DELETE else snapshot, None),
        source=source,
        user=user if user is not None and user.is_authenticated else None,
    )
    entry_id = entry.pk
    Revision.objects.filter(entry_id=entry_id).update(entry=None)
    entry.delete()
    kb_index_schedule([entry_id], deleted=True)
    return revision


@transaction.atomic
def revision_restore(revision: Revision, *, user: AbstractBaseUser | None = None) -> Entry:
    """Make the entry look like ``revision`` again (re-creating it if it was deleted).

    The restore itself is a new ``restore`` revision, so it can be undone the same way.
    Raises ``ApplicationError("revision_not_restorable")`` for a ``delete`` revision's empty state.
    """
    from .entries import EntryData, entry_upsert

    snapshot = revision.snapshot or {}
    if not snapshot.get("question"):
        raise ApplicationError("revision_not_restorable", _("这条修订记录没有可恢复的内容"))
    data = EntryData.from_snapshot(snapshot)
    entry, _changed = entry_upsert(data, user=user, source="restore", action=RevisionAction.RESTORE)
    return entry
