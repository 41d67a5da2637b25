"""The Celery app. Tasks live in ``<app>/tasks.py``; configuration comes from ``CELERY_*`` settings."""
import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csbot.settings.base")

app = Celery("csbot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def forget_inherited_database_pools(**_: object) -> None:
    """A forked worker process must not reuse its parent's psycopg pool.

    The pool's connections are sockets shared with the parent and its maintenance threads do
    not survive ``fork``. Drop the pools without closing them (closing would end the parent's
    sessions); this process then opens its own on its first query.
    """
    try:
        from django.db.backends.postgresql.base import DatabaseWrapper
    except ImportError:  # pragma: no cover - psycopg is a requirement
        return
    DatabaseWrapper._connection_pools.clear()
