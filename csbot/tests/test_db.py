"""``csbot.db.fetchone``: the chat turn's statements really run prepared on PostgreSQL."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings

from csbot import db

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

SQL = "SELECT %s::integer + 1 AS csbot_db_test"


def _server_side_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", ["%csbot_db_test%"])
        return [row[0] for row in cursor.fetchall()]


def test_the_statement_is_prepared_once_and_reused():
    """Django opens connections with prepare_threshold=None, under which psycopg silently
    ignores prepare=True: the statement must still exist on the server after the call."""
    assert [db.fetchone(SQL, [i]) for i in (1, 2, 3)] == [(2,), (3,), (4,)]
    assert len(_server_side_statements()) == 1


def test_django_own_queries_stay_unprepared_after_the_call():
    db.fetchone(SQL, [1])
    assert connection.connection.prepare_threshold is None
    with connection.cursor() as cursor:
        for _ in range(10):
            cursor.execute("SELECT 41 + 1 AS csbot_db_test_django")
    assert not [s for s in _server_side_statements() if "csbot_db_test_django" in s]


@override_settings(CSBOT_DB_PREPARE=False)
def test_preparing_can_be_switched_off_for_poolers():
    assert db.fetchone(SQL, [5]) == (6,)
    assert _server_side_statements() == []
