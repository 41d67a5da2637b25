"""Support shared by the apps' browser tests: csbot served by a real daphne in a child process.

Lives outside ``tests`` packages so every app's tests import the same code. Nothing here runs
in production.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from django.db import connection, connections

T = TypeVar("T")

CHROMIUM = os.environ.get("CSBOT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def unavailable(reason: str) -> None:
    """Skip a test whose service is missing — or fail it when CI says the services are there."""
    import pytest

    if os.environ.get("CSBOT_REQUIRE_SERVICES"):
        pytest.fail(reason)
    pytest.skip(reason)


def browser_test_requirements() -> None:
    """Debian's Chromium, and a test database another process can open (not in-memory SQLite)."""
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
        unavailable(f"browser tests need Debian's chromium at {CHROMIUM} (make browsers)")
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        unavailable("the live server runs in another process: needs DATABASE_URL (or an on-disk SQLite test database)")


@contextmanager
def chromium() -> Iterator[Any]:
    """Playwright's Chromium driving the Debian binary (Playwright cannot download browsers here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def connections_close_for_fork() -> None:
    """Close every database connection of this process, pooled ones included.

    A forked server must open its own connections: sharing a socket with the parent corrupts
    both sessions. ``close_all`` only hands pooled connections back to psycopg's pool, so the
    pools are closed too (this process re-creates its pool on the next query).
    """
    connections.close_all()
    for wrapper in connections.all(initialized_only=True):
        close_pool = getattr(wrapper, "close_pool", None)
        if close_pool is not None and wrapper.settings_dict.get("OPTIONS", {}).get("pool"):
            close_pool()


def end_test_database_sessions() -> None:
    """End what still holds a PostgreSQL test database open after the pools are closed.

    Closing a pool leaves what it has not got back: after the last socket test of
    ``handoff/tests/test_consumers.py``, psycopg's pool still counts a connection as lent out
    or being opened (the pool had just grown), and that one session made ``DROP DATABASE``
    fail. Only the test run's own databases are touched, through Django's maintenance
    connection.
    """
    for wrapper in connections.all():
        if wrapper.vendor != "postgresql":
            continue
        name = wrapper.settings_dict["NAME"]
        with wrapper._nodb_cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [name])


def _forked_daphne_class() -> type:
    from daphne.testing import DaphneProcess

    class ForkedDaphne(DaphneProcess):
        """daphne in a forked child that first drops what threads left behind in the parent.

        Threads do not survive ``fork``: asgiref's single thread-sensitive executor, if an earlier
        async test started its worker, would accept work in the child and never run it (every
        consumer would hang in ``sync_to_async``); the channel layer object holds per-loop state.
        """

        def run(self) -> None:
            from asgiref.sync import SyncToAsync
            from channels.layers import channel_layers

            SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
            channel_layers.backends.clear()
            super().run()

    return ForkedDaphne


@contextmanager
def live_daphne(*, warm: bool = True) -> Iterator[str]:
    """Serve csbot (HTTP, static files, WebSockets) on a free port; yields its base URL.

    With ``warm`` the models (jieba, intent model, KB matcher) are loaded here first, so the
    forked server inherits them instead of training inside its event loop's process while a
    browser waits (which can hold the GIL long enough for channel-layer reads to time out).
    """
    from channels.testing.live import make_application
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    if warm:
        from conversations.services.understanding import warm_up

        warm_up()
    connections_close_for_fork()
    server = _forked_daphne_class()("127.0.0.1", partial(make_application, static_wrapper=ASGIStaticFilesHandler))
    server.daemon = True
    server.start()
    if not server.ready.wait(timeout=30):
        server.terminate()
        raise RuntimeError("daphne did not start")
    try:
        yield f"http://127.0.0.1:{server.port.value}"
    finally:
        server.terminate()
        server.join(timeout=10)


def in_thread(fn: Callable[[], T]) -> T:
    """Run ORM code outside Playwright's event loop (Django refuses sync queries inside one)."""

    def run() -> T:
        try:
            return fn()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()
