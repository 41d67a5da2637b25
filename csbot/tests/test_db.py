"""``csbot.db.fetchone``: the chat turn's statements really run prepared on PostgreSQL."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings

from csbot import db

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

SQL = "SELECT %s::integer + 1 AS csbot_db_test"


def _server_side_statements(like: str = "%csbot_db_test%") -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", [like])
        return [row[0] for row in cursor.fetchall()]


def test_the_statement_is_prepared_once_and_reused():
    assert [db.fetchone(SQL, [i]) for i in (1, 2, 3)] == [(2,), (3,), (4,)]
    assert len(_server_side_statements()) == 1


def test_the_statement_is_prepared_on_a_connection_that_prepares_nothing():
    """Under prepare_threshold=None (Django's default for psycopg) psycopg silently ignores
    prepare=True: the statement must still exist on the server, and the connection must be
    left as it was."""
    raw = (connection.ensure_connection(), connection.connection)[1]
    previous, raw.prepare_threshold = raw.prepare_threshold, None
    try:
        assert db.fetchone(SQL, [1]) == (2,)
        assert len(_server_side_statements()) == 1
        assert raw.prepare_threshold is None
    finally:
        raw.prepare_threshold = previous


def test_the_orms_repeated_queries_are_prepared_too():
    """Server-side binding (settings, with CSBOT_DB_PREPARE): a query the ORM runs again with
    other values is one statement, prepared on its fifth run on the connection."""
    from conversations.models import Conversation

    for n in range(6):
        list(Conversation.objects.filter(last_seq__gte=n).values_list("pk")[:1])
    assert [s for s in _server_side_statements(like="%last_seq%") if "conversations_conversation" in s]


@override_settings(CSBOT_DB_PREPARE=False)
def test_preparing_can_be_switched_off_for_poolers():
    assert db.fetchone(SQL, [5]) == (6,)
    assert _server_side_statements() == []
