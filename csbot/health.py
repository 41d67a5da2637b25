"""Readiness checks, one per component ``/readyz`` reports.

Each check returns a ``ComponentStatus``; none raises. A check that needs a service runs
with a short timeout so a dead dependency makes ``/readyz`` answer 503 quickly instead of
hanging the probe.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TypedDict

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.cache import cache
from django.db import connection

CHECK_TIMEOUT_SECONDS = 2.0


class ComponentStatus(TypedDict, total=False):
    status: str  # "ok" or "down"
    backend: str
    detail: str
    latency_ms: float


def _timed(backend: str, probe: Callable[[], str | None]) -> ComponentStatus:
    started = time.perf_counter()
    try:
        detail = probe()
    except Exception as exc:  # a probe must report, never raise
        return {"status": "down", "backend": backend, "detail": f"{type(exc).__name__}: {exc}"[:300]}
    result: ComponentStatus = {"status": "ok", "backend": backend, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    if detail:
        result["detail"] = detail
    return result


def check_database() -> ComponentStatus:
    def probe() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    return _timed(connection.vendor, probe)


def check_cache() -> ComponentStatus:
    def probe() -> None:
        key = f"readyz:{uuid.uuid4().hex}"
        cache.set(key, "1", timeout=5)
        if cache.get(key) != "1":
            raise RuntimeError("cache did not return the value just written")
        cache.delete(key)

    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    return _timed(backend, probe)


def check_channel_layer() -> ComponentStatus:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()

    async def roundtrip() -> None:
        import asyncio

        channel = await layer.new_channel()
        await layer.send(channel, {"type": "readyz.ping"})
        message = await asyncio.wait_for(layer.receive(channel), timeout=CHECK_TIMEOUT_SECONDS)
        if message.get("type") != "readyz.ping":
            raise RuntimeError("channel layer returned an unexpected message")

    return _timed(type(layer).__name__, lambda: async_to_sync(roundtrip)())


def check_search() -> ComponentStatus:
    from knowledge.search import get_backend

    backend = get_backend()
    return _timed(backend.name, backend.health)


def check_broker() -> ComponentStatus:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"status": "ok", "backend": "eager", "detail": "tasks run inline (no CELERY_BROKER_URL)"}

    def probe() -> None:
        from csbot.celery import app

        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_SECONDS)

    scheme = settings.CELERY_BROKER_URL.split(":", 1)[0]
    return _timed(scheme, probe)


CHECKS: dict[str, Callable[[], ComponentStatus]] = {
    "database": check_database,
    "cache": check_cache,
    "channel_layer": check_channel_layer,
    "search": check_search,
    "broker": check_broker,
}


def readiness() -> tuple[bool, dict[str, ComponentStatus]]:
    """Run every check; ``ready`` is true only when all components are ok."""
    results = {name: check() for name, check in CHECKS.items()}
    return all(r["status"] == "ok" for r in results.values()), results
