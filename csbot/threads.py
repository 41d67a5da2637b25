"""Threads and event loops of a server process: the sockets' worker pool, and the one loop
that sync code (services, Celery tasks, WSGI views) sends channel-layer messages through.

How many threads the sockets' sync work runs in:

Socket handlers hand their sync work (a chat turn: database, models) to the event loop's
default executor (``thread_sensitive=False``). asyncio sizes that pool at ``cpu + 4``
threads, but the work holds the GIL almost throughout, so more threads than the few that
overlap database round trips only fight over it: under 200 paced visitors a process with
2 threads answered ~40 % more turns per second than with 6, at less CPU per turn, and once
the turn's statements ran prepared (session 9) one thread beat two in four interleaved
pairs: p99 64–74 against 74–98 ms, ~10 % less CPU per reply (bench/results/chat.md). The
price of one thread: a turn stuck on the database holds up that process's other sockets, as
a sync WSGI worker holds up its next request. ``CSBOT_WORKER_THREADS`` sets the size; the
pool is made per event loop, on the first ASGI call (a forked test server gets its own).

How long a thread keeps the GIL when another wants it (``CSBOT_SWITCH_INTERVAL_MS``, 0.5 ms):
a turn lets go of the GIL a few dozen times (each numpy sort or search, each database round
trip); the event loop takes it each time, and the turn then waits until the loop blocks or
Python's switch interval (5 ms) runs out. Interleaved runs with 0.5 ms answered more turns
per second at less CPU per turn than with 5 ms (bench/results/chat.md, session 8).

Where sync code runs async calls (``run_coroutine``): ``async_to_sync`` outside an ASGI
worker thread builds a new thread and event loop for every call, and channels-redis a new
connection pool for every loop, so each broadcast from a gunicorn worker or a Celery task
paid a thread start and a Redis connect. Here they go to a long-lived loop instead: the ASGI
server's own loop in a server process, else one background loop thread per process.
"""
from __future__ import annotations

import asyncio
import os
import sys
import threading
import weakref
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable, TypeVar

from django.conf import settings

ASGIApp = Callable[[dict[str, Any], Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]], Awaitable[None]]

T = TypeVar("T")

_configured: "weakref.WeakSet[asyncio.AbstractEventLoop]" = weakref.WeakSet()
_lock = threading.Lock()
# (pid, loop): a loop is only valid in the process that made it (forked servers, Celery).
_server_loop: tuple[int, asyncio.AbstractEventLoop] | None = None
_background_loop: tuple[int, asyncio.AbstractEventLoop] | None = None


def worker_threads_ensure() -> None:
    """Give the running loop a default executor of ``CSBOT_WORKER_THREADS`` threads (once),
    and the process the GIL switch interval ``CSBOT_SWITCH_INTERVAL_MS`` (0 keeps Python's)."""
    global _server_loop
    loop = asyncio.get_running_loop()
    if loop in _configured:
        return
    _server_loop = (os.getpid(), loop)
    interval_ms = float(getattr(settings, "CSBOT_SWITCH_INTERVAL_MS", 0) or 0)
    if interval_ms > 0:
        sys.setswitchinterval(interval_ms / 1000)
    threads = int(getattr(settings, "CSBOT_WORKER_THREADS", 0) or 0)
    if threads > 0:
        loop.set_default_executor(ThreadPoolExecutor(max_workers=threads, thread_name_prefix="csbot-worker"))
    _configured.add(loop)


class WorkerThreads:
    """ASGI wrapper: on the first call, size the loop's worker pool and make it the loop that
    this process's sync code sends through (``run_coroutine``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Awaitable[Any]], send: Callable[..., Awaitable[Any]]) -> None:
        worker_threads_ensure()
        await self.app(scope, receive, send)


def server_loop() -> asyncio.AbstractEventLoop | None:
    """The running ASGI server's event loop in this process, if it has served anything."""
    entry = _server_loop
    if entry is None or entry[0] != os.getpid() or not entry[1].is_running():
        return None  # none yet, inherited through a fork, or stopped (a finished test's loop)
    return entry[1]


def _background() -> asyncio.AbstractEventLoop:
    global _background_loop
    with _lock:
        entry = _background_loop
        if entry is not None and entry[0] == os.getpid() and not entry[1].is_closed():
            return entry[1]
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, name="csbot-async", daemon=True).start()
        _background_loop = (os.getpid(), loop)
        return loop


def run_coroutine(make: Callable[[], Coroutine[Any, Any, T]], *, timeout: float = 10.0) -> T:
    """Run ``make()`` from sync code on the process's long-lived loop and return its result.

    Must not be called on an event loop's own thread (it would wait on itself): there,
    await the coroutine instead. Raises what the coroutine raises, or ``TimeoutError``.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("run_coroutine() called from an event loop thread: await the coroutine instead")
    loop = server_loop() or _background()
    return asyncio.run_coroutine_threadsafe(make(), loop).result(timeout=timeout)
