"""A bot turn updates its conversation row in place on PostgreSQL (a HOT update).

Every bot turn writes ``last_seq``, ``last_activity_at``, ``updated_at`` and ``context``. If an
index covered one of them, each turn would add an entry to every index of the table and leave
a dead row version behind for VACUUM (migration 0006).
"""
from __future__ import annotations

import pytest
from django.db import connection

from conversations.enums import MessageKind, Sender
from conversations.models import Conversation, Message
from conversations.services.messages import bot_turn_append

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

TURN_WRITES = {"last_seq", "last_activity_at", "updated_at", "context"}


def _hot_updates() -> tuple[int, int]:
    """(updates, of which HOT) of the conversation table in this transaction so far."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = %s", [Conversation._meta.db_table])
        return cursor.fetchone()


def test_no_index_covers_a_column_the_bot_turn_writes():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Conversation._meta.db_table)
    indexed = {column for c in constraints.values() if c["index"] or c["unique"] for column in c["columns"]}
    assert indexed & TURN_WRITES == set()


def test_bot_turns_update_the_conversation_in_place(api_session):
    conversation, _ = api_session
    before = _hot_updates()
    for n in range(3):
        visitor = Message(conversation_id=conversation.pk, sender=Sender.VISITOR, text=f"问题 {n}", payload={"source": "api"})
        reply = Message(conversation_id=conversation.pk, sender=Sender.BOT, kind=MessageKind.ANSWER, text="回答", confidence=0.9)
        assert bot_turn_append(conversation_id=conversation.pk, context={"turns": [{"text": f"问题 {n}"}]}, visitor=visitor, reply=reply)
    after = _hot_updates()
    assert (after[0] - before[0], after[1] - before[1]) == (3, 3)


def test_the_table_leaves_room_on_each_page_for_in_place_updates():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [Conversation._meta.db_table])
        assert "fillfactor=70" in (cursor.fetchone()[0] or [])
