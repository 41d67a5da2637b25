"""Celery tasks of the conversations app: thin wrappers that call services."""
from __future__ import annotations

from celery import shared_task

from .services import conversations_close_idle


@shared_task(name="conversations.close_idle", ignore_result=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def conversations_close_idle_task(idle_minutes: int | None = None) -> int:
    """Beat runs this every minute: close conversations idle for ``CSBOT_IDLE_CLOSE_MINUTES``."""
    return conversations_close_idle(idle_minutes=idle_minutes)


@shared_task(name="conversations.analytics_refresh", ignore_result=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def analytics_refresh_task(recompute_days: int = 0) -> int:
    """Beat runs this hourly (minute 10): store missing past days of the dashboard's aggregates
    and refresh the ones whose chats changed since; returns how many days were computed."""
    from .analytics.services import analytics_refresh

    return len(analytics_refresh(recompute_days=recompute_days))
