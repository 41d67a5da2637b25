"""The embedded mode's periodic jobs: Celery beat's schedule, run inside the server process.

Without ``CELERY_BROKER_URL`` tasks run eagerly and there is no beat process, so nothing
would close idle chats (``conversations.close_idle``), re-route handoffs an agent did not
accept (``handoff.queue_tick``) or store the dashboard's daily aggregates. ``make run``
serves from one daphne process, so that process runs the same ``CELERY_BEAT_SCHEDULE`` in one
daemon thread: the same tasks, the same intervals, no extra command to start. With a broker
(production) the real ``celery beat`` owns the schedule and this stays off
(``CSBOT_EMBEDDED_BEAT``, default: on exactly when Celery is eager).

A job that fails is logged and tried again at its next due time; it never stops the others.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)

MAX_SLEEP = 5.0  # seconds between two looks at the schedule, at most

_started: int | None = None  # pid of the process whose thread runs (a fork starts its own)
_lock = threading.Lock()


@dataclass
class Job:
    """One ``CELERY_BEAT_SCHEDULE`` entry and when it last ran."""

    name: str
    task: str
    schedule: Any  # a celery.schedules schedule / crontab
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    last_run_at: datetime | None = None


def jobs_from_settings() -> list[Job]:
    from celery.schedules import maybe_schedule

    from csbot.celery import app

    jobs = []
    for name, entry in (getattr(settings, "CELERY_BEAT_SCHEDULE", None) or {}).items():
        schedule = maybe_schedule(entry["schedule"], app=app)
        # Like beat, the first run is one interval after start (crontabs: at their next time).
        jobs.append(Job(name, entry["task"], schedule, tuple(entry.get("args", ())), dict(entry.get("kwargs", {})), schedule.now()))
    return jobs


def jobs_run_due(jobs: list[Job], *, tasks: Mapping[str, Any] | None = None) -> float:
    """Run every job that is due, in this thread; returns seconds until the next one is.
    ``tasks``: name → task (default: the Celery app's registry)."""
    from csbot.celery import app

    tasks = app.tasks if tasks is None else tasks
    wait = MAX_SLEEP
    for job in jobs:
        due, next_seconds = job.schedule.is_due(job.last_run_at)
        if due:
            job.last_run_at = job.schedule.now()
            try:
                # Called directly, as eager Celery would run it, minus a log line every 10 s.
                tasks[job.task](*job.args, **job.kwargs)
            except Exception:  # noqa: BLE001 - one failing job must not stop the schedule
                logger.exception("embedded beat: %s (%s) failed", job.name, job.task)
            finally:
                close_old_connections()
        wait = min(wait, max(float(next_seconds), 0.1))
    return wait


def _loop(jobs: list[Job], stop: threading.Event) -> None:
    while not stop.is_set():
        stop.wait(jobs_run_due(jobs))


def embedded_beat_start(*, jobs: list[Job] | None = None, stop: threading.Event | None = None) -> threading.Thread | None:
    """Start the schedule's thread in this process once; returns it (None when already running)."""
    global _started
    with _lock:
        if _started == os.getpid():
            return None
        _started = os.getpid()
    from csbot.celery import app

    app.loader.import_default_modules()  # every app's tasks.py: Celery discovers them lazily
    jobs = jobs if jobs is not None else jobs_from_settings()
    thread = threading.Thread(target=_loop, args=(jobs, stop or threading.Event()), name="csbot-beat", daemon=True)
    thread.start()
    logger.info("embedded beat started: %s", ", ".join(job.name for job in jobs))
    return thread


def embedded_beat_start_if_enabled() -> None:
    """Called by the ASGI entry point: run the schedule here when no real beat exists."""
    if getattr(settings, "CSBOT_EMBEDDED_BEAT", False):
        embedded_beat_start()
