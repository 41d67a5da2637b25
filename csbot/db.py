"""Hot-path SQL: the few statements every chat turn runs, as prepared statements on PostgreSQL.

Django's psycopg 3 backend binds parameters on the client by default (it quotes every value
into the SQL text) and turns prepared statements off, so that connection poolers such as
PgBouncer keep working. For the two statements of a chat turn (``turn_state`` and ``bot_turn_append``)
that costs more than the statements themselves: quoting ~30 values, JSON included, took
~0.5 ms of Python per turn, and PostgreSQL parsed and planned the same text anew each time.
``fetchone`` runs them with server-side binding and ``prepare=True`` instead: psycopg sends
typed values, PostgreSQL plans each statement once per connection (the pool keeps them).

With ``CSBOT_DB_PREPARE`` the settings also switch Django to server-side binding with
psycopg's ``prepare_threshold=5``, so the ORM's own repeated queries are prepared on their
fifth run; ``fetchone`` prepares on the first and skips Django's cursor wrapper. Where a
connection has ``prepare_threshold=None`` (Django's default) psycopg ignores ``prepare=True``
without a word: until session 9 these statements were parsed and planned on every turn
(PostgreSQL CPU per turn 1.6 → 0.8 ms in process once they really were prepared).
``fetchone`` lifts the threshold for its own statement in that case and puts it back;
``csbot/tests/test_db.py`` checks ``pg_prepared_statements``.

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

# A threshold no statement reaches: psycopg prepares only what asks for it (prepare=True).
_ONLY_WHEN_ASKED = 2**31 - 1


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
        raw = connection.connection
        # Django opens connections with prepare_threshold=None, and psycopg then ignores
        # prepare=True: lift it for this statement only (Django's own cursors bind on the
        # client and never prepare, whatever the threshold).
        previous = raw.prepare_threshold
        if previous is None:
            raw.prepare_threshold = _ONLY_WHEN_ASKED
        try:
            with connection.wrap_database_errors, psycopg.Cursor(raw) as cursor:
                cursor.execute(sql, params, prepare=True)
                return cursor.fetchone()
        finally:
            if previous is None:
                raw.prepare_threshold = None
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()
