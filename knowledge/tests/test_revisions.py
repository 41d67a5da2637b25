"""Revisions: one per real change from every write path, with a diff, and restore."""
from __future__ import annotations

from dataclasses import replace

import pytest

from knowledge.enums import EntryStatus, RevisionAction
from knowledge.models import Entry, Revision
from knowledge.services import (
    entries_set_status,
    entry_delete,
    entry_upsert,
    revision_restore,
)
from knowledge.tests.fixtures import SMALL_KB

pytestmark = pytest.mark.django_db


def test_create_update_and_noop_write_exactly_one_revision_per_change(db):
    # given a new entry
    data = SMALL_KB[0]
    entry, _ = entry_upsert(data, source="test")
    # when saved again unchanged, then changed
    entry_upsert(data, source="test")
    entry_upsert(replace(data, answer="新答案", similar_questions=("退款几天到",)), source="test")
    # then there is a create and an update revision, and the diff shows the change
    revisions = list(Revision.objects.filter(entry=entry).order_by("id"))
    assert [r.action for r in revisions] == [RevisionAction.CREATE, RevisionAction.UPDATE]
    assert "+answer: 新答案" in revisions[1].diff
    assert "-similar_questions[]: 钱什么时候退回来" in revisions[1].diff
    assert revisions[1].snapshot["similar_questions"] == ["退款几天到"]


def test_restore_brings_back_an_old_version_as_a_new_revision(db):
    # given an entry that was edited
    entry, _ = entry_upsert(SMALL_KB[0], source="test")
    first = Revision.objects.get(entry=entry)
    entry_upsert(replace(SMALL_KB[0], question="退款到账时间", answer="改过"), source="test")
    # when the first revision is restored
    restored = revision_restore(first)
    # then the entry looks like it did, and the restore is itself recorded
    assert restored.pk == entry.pk
    assert (restored.question, restored.answer) == (SMALL_KB[0].question, SMALL_KB[0].answer.strip())
    assert list(restored.similar_questions.values_list("text", flat=True)) == list(SMALL_KB[0].similar_questions)
    assert Revision.objects.filter(entry=entry).latest("id").action == RevisionAction.RESTORE


def test_deleted_entry_keeps_history_and_can_be_restored(db):
    # given an entry that was deleted
    entry, _ = entry_upsert(SMALL_KB[1], source="test")
    entry_delete(entry, source="test")
    assert not Entry.objects.filter(external_id="REFUND-2").exists()
    deleted = Revision.objects.filter(external_id="REFUND-2").latest("id")
    assert deleted.action == RevisionAction.DELETE and deleted.entry is None
    # when its last revision is restored
    restored = revision_restore(deleted)
    # then it exists again with its similar questions
    assert restored.question == SMALL_KB[1].question
    assert restored.similar_questions.count() == 3


def test_bulk_status_change_records_a_revision_per_changed_entry(small_kb):
    # given three published entries, one already archived
    entries_set_status(Entry.objects.filter(external_id="SHIP-1"), status=EntryStatus.ARCHIVED)
    before = Revision.objects.count()
    # when all three are archived in bulk
    n = entries_set_status(Entry.objects.filter(external_id__in=["SHIP-1", "SHIP-2", "INV-1"]), status=EntryStatus.ARCHIVED)
    # then two changed, each with a revision showing the status change
    assert n == 2
    new = Revision.objects.order_by("id")[before:]
    assert len(new) == 2 and all("+status: archived" in r.diff for r in new)
