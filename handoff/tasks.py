"""Celery tasks of the handoff app: thin wrappers that call services."""
from __future__ import annotations

from celery import shared_task

from .services.routing import queue_tick


@shared_task(name="handoff.queue_tick", ignore_result=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def queue_tick_task() -> None:
    """Beat runs this every 10 s: re-route assignments nobody accepted in time, fill free slots."""
    queue_tick()
