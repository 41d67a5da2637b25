"""Celery tasks of the conversations app: thin wrappers that call services."""
from __future__ import annotations

from celery import shared_task

from .services import conversations_close_idle


@shared_task(name="conversations.close_idle", ignore_result=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def conversations_close_idle_task(idle_minutes: int | None = None) -> int:
    """Beat runs this every minute: close conversations idle for ``CSBOT_IDLE_CLOSE_MINUTES``."""
    return conversations_close_idle(idle_minutes=idle_minutes)
