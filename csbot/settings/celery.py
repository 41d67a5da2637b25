"""Celery: workers on CELERY_BROKER_URL, or eager (inline, in the caller's process) without it."""
from celery.schedules import crontab

from .env import env

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# No broker: run tasks inline so the embedded mode needs no worker process.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = env.str("DJANGO_TIME_ZONE", default="Asia/Shanghai")
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Periodic jobs; later apps add their entries here (idle-conversation closing, daily stats...).
CELERY_BEAT_SCHEDULE: dict = {
    # Close bot conversations idle for CSBOT_IDLE_CLOSE_MINUTES (the service re-checks each one).
    "conversations-close-idle": {"task": "conversations.close_idle", "schedule": 60.0},
}
# Handoff: re-route chats an agent did not accept within the policy's timeout; fill free agent slots.
CELERY_BEAT_SCHEDULE["handoff-queue-tick"] = {"task": "handoff.queue_tick", "schedule": 10.0}
# Dashboard aggregates: hourly at minute 10 (so 00:10 stores yesterday), backfilling missing
# days and refreshing days whose chats changed since (late closes, CSAT); today is always live.
CELERY_BEAT_SCHEDULE["conversations-analytics-refresh"] = {"task": "conversations.analytics_refresh", "schedule": crontab(minute=10)}
# The embedded mode has no beat process: the ASGI server runs this schedule in a thread
# (csbot/embedded_beat.py). Off with a broker, where `celery beat` runs it.
CSBOT_EMBEDDED_BEAT = env.bool("CSBOT_EMBEDDED_BEAT", default=CELERY_TASK_ALWAYS_EAGER)
