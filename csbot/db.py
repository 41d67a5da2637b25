"""Hot-path SQL: the few statements every chat turn runs, as prepared statements on PostgreSQL.

Django's psycopg 3 backend binds parameters on the client (it quotes every value into the SQL
text) and turns prepared statements off, so that connection poolers such as PgBouncer keep
working. For the two statements of a chat turn (``turn_state`` and ``bot_turn_append``)
that costs more than the statements themselves: quoting ~30 values, JSON included, took
~0.5 ms of Python per turn, and PostgreSQL parsed and planned the same text anew each time.
``fetchone`` runs them with server-side binding and ``prepare=True`` instead: psycopg sends
typed values, PostgreSQL plans each statement once per connection (the pool keeps them).

Set ``CSBOT_DB_PREPARE=0`` behind a pooler that cannot keep prepared statements
(PgBouncer in transaction mode before 1.21). While Django records queries (``DEBUG``,
``CaptureQueriesContext`` in tests) the statement takes Django's own cursor instead, so it
is logged like every other query.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import connection


def fetchone(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """Run ``sql`` (``%s`` placeholders) and return its first row, prepared on PostgreSQL.

    Parameters whose type PostgreSQL cannot infer from context (a bare ``SELECT %s`` feeding
    an ``INSERT``) need an explicit cast in ``sql`` (``%s::integer``): with server-side
    binding a ``None`` or a string has no type of its own. Database errors are Django's
    (``IntegrityError``...), whichever path runs.
    """
    if connection.vendor == "postgresql" and getattr(settings, "CSBOT_DB_PREPARE", True) and not connection.queries_logged:
        import psycopg

        connection.ensure_connection()
        connection.validate_thread_sharing()
        with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(sql, params, prepare=True)
            return cursor.fetchone()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()
