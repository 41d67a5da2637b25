"""csbot.threads: the socket work's thread pool is sized by CSBOT_WORKER_THREADS, per event loop."""
from __future__ import annotations

import asyncio
import threading

from csbot.threads import WorkerThreads


async def _thread_names(calls: int) -> set[str]:
    loop = asyncio.get_running_loop()

    def name() -> str:
        return threading.current_thread().name

    return set(await asyncio.gather(*(loop.run_in_executor(None, name) for _ in range(calls))))


def _serve_once(app: WorkerThreads) -> set[str]:
    async def main() -> set[str]:
        async def inner(scope, receive, send):  # the wrapped ASGI app
            return None

        app.app = inner
        await app({"type": "websocket"}, None, None)
        return await _thread_names(20)

    return asyncio.run(main())


def test_the_first_call_gives_the_loop_a_pool_of_the_configured_size(settings):
    settings.CSBOT_WORKER_THREADS = 2
    names = _serve_once(WorkerThreads(None))
    assert names and all(n.startswith("csbot-worker") for n in names)
    assert len(names) <= 2


def test_zero_keeps_asyncios_default_pool(settings):
    settings.CSBOT_WORKER_THREADS = 0
    names = _serve_once(WorkerThreads(None))
    assert not any(n.startswith("csbot-worker") for n in names)


def test_the_asgi_application_sizes_the_socket_pool(settings):
    from csbot.asgi import application

    assert isinstance(application.application_mapping["websocket"], WorkerThreads)
