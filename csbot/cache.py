"""The default cache as one object per process, for code that runs on every chat turn.

Django keeps cache backends in ``caches``, an asgiref ``Local``: under ASGI every consumer
and every request runs in its own context, so each one builds its own ``RedisCache`` with its
own connection pool, and its first hit pays a TCP connect and handshake (measured: a Redis
connect on every new chat socket's first rate-limit check). The backends Django ships are
safe to share between threads (redis-py's pool and LocMemCache both lock), so hot paths use
this one instead. ``setting_changed`` (tests' ``override_settings``) drops it.
"""
from __future__ import annotations

import threading

from django.core.cache import BaseCache, caches
from django.core.signals import setting_changed
from django.dispatch import receiver

_lock = threading.Lock()
_shared: BaseCache | None = None


def shared_cache() -> BaseCache:
    """The process's one instance of ``CACHES["default"]``."""
    global _shared
    backend = _shared
    if backend is None:
        with _lock:
            if _shared is None:
                _shared = caches.create_connection("default")
            backend = _shared
    return backend


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: object) -> None:
    global _shared
    if setting == "CACHES":
        with _lock:
            _shared = None
