"""csbot.threads: the socket work's thread pool is sized by CSBOT_WORKER_THREADS, per event loop."""
from __future__ import annotations

import asyncio
import sys
import threading

import pytest

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


@pytest.mark.parametrize(
    ("configured_ms", "expected_s"),
    [(0.7, 0.0007), (0, 0.004)],  # 0 keeps whatever interval the process had (0.004 here)
)
def test_the_first_call_sets_the_configured_gil_switch_interval(settings, configured_ms, expected_s):
    settings.CSBOT_SWITCH_INTERVAL_MS = configured_ms
    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.004)
        _serve_once(WorkerThreads(None))
        assert sys.getswitchinterval() == pytest.approx(expected_s)
    finally:
        sys.setswitchinterval(before)


def test_zero_keeps_asyncios_default_pool(settings):
    settings.CSBOT_WORKER_THREADS = 0
    names = _serve_once(WorkerThreads(None))
    assert not any(n.startswith("csbot-worker") for n in names)


def test_the_asgi_application_sizes_the_socket_pool(settings):
    from csbot.asgi import application

    assert isinstance(application, WorkerThreads)


def test_sync_code_outside_a_server_reuses_one_background_loop():
    from csbot.threads import run_coroutine, server_loop

    async def which() -> tuple[int, int]:
        return id(asyncio.get_running_loop()), threading.get_ident()

    # when sync code runs coroutines with no ASGI server loop in the process
    assert server_loop() is None
    first, second = run_coroutine(which), run_coroutine(which)
    # then both ran on one long-lived loop in another thread (not a new loop per call)
    assert first == second
    assert first[1] != threading.get_ident()


def test_sync_code_in_a_server_runs_on_the_servers_loop(settings):
    from csbot.threads import run_coroutine

    settings.CSBOT_WORKER_THREADS = 2

    async def serve() -> tuple[int, int]:
        async def inner(scope, receive, send):
            return None

        await WorkerThreads(inner)({"type": "http"}, None, None)

        async def where() -> int:
            return id(asyncio.get_running_loop())

        # a worker thread's sync code (as a consumer's turn) sends through the server loop
        ran_on = await asyncio.get_running_loop().run_in_executor(None, lambda: run_coroutine(where))
        return ran_on, id(asyncio.get_running_loop())

    ran_on, server = asyncio.run(serve())
    assert ran_on == server


def test_run_coroutine_refuses_an_event_loop_thread():
    import pytest

    from csbot.threads import run_coroutine

    async def nothing() -> None:
        return None

    async def main() -> None:
        with pytest.raises(RuntimeError):
            run_coroutine(nothing)

    asyncio.run(main())
