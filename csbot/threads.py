"""How many threads a server process runs the sockets' sync work in.

Socket handlers hand their sync work (a chat turn: database, models) to the event loop's
default executor (``thread_sensitive=False``). asyncio sizes that pool at ``cpu + 4``
threads, but the work holds the GIL almost throughout, so more threads than the few that
overlap database round trips only fight over it: under 200 paced visitors a process with
2 threads answered ~40 % more turns per second than with 6, at less CPU per turn
(bench/results/chat.md). ``CSBOT_WORKER_THREADS`` sets the size; the pool is made per event
loop, on the first ASGI call (a forked test server gets its own).
"""
from __future__ import annotations

import asyncio
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable

from django.conf import settings

ASGIApp = Callable[[dict[str, Any], Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]], Awaitable[None]]

_configured: "weakref.WeakSet[asyncio.AbstractEventLoop]" = weakref.WeakSet()


def worker_threads_ensure() -> None:
    """Give the running loop a default executor of ``CSBOT_WORKER_THREADS`` threads (once)."""
    loop = asyncio.get_running_loop()
    if loop in _configured:
        return
    threads = int(getattr(settings, "CSBOT_WORKER_THREADS", 0) or 0)
    if threads > 0:
        loop.set_default_executor(ThreadPoolExecutor(max_workers=threads, thread_name_prefix="csbot-worker"))
    _configured.add(loop)


class WorkerThreads:
    """ASGI wrapper that sizes the loop's worker pool before the first connection is handled."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Awaitable[Any]], send: Callable[..., Awaitable[Any]]) -> None:
        worker_threads_ensure()
        await self.app(scope, receive, send)
