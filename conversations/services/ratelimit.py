"""Fixed-window rate limits kept in the Django cache (Redis in production, process memory embedded).

(A conversation's message limit is counted from the stored messages instead, in the turn's
first query: ``services.turn``.)

A limit is written ``"N/S"`` (at most N hits per S seconds). On Redis one pipelined round
trip (``SET NX EX`` + ``INCR``) counts a hit atomically across every worker; other caches use
``cache.add`` + ``cache.incr``.
"""
from __future__ import annotations

import math
import time
import weakref
from dataclasses import dataclass
from typing import Any

from django.core.cache.backends.redis import RedisCache
from django.utils.translation import gettext as _

from csbot.cache import shared_cache
from csbot.errors import ApplicationError


@dataclass(frozen=True)
class Rate:
    limit: int
    seconds: int

    @classmethod
    def parse(cls, spec: str) -> "Rate":
        """``"30/60"`` → 30 per 60 s; a clear error on a malformed setting rather than no limit."""
        try:
            count, seconds = spec.split("/", 1)
            rate = cls(int(count), int(seconds))
        except (ValueError, AttributeError) as exc:
            raise ValueError(f"rate limit must look like '30/60', got {spec!r}") from exc
        if rate.limit < 1 or rate.seconds < 1:
            raise ValueError(f"rate limit must be positive, got {spec!r}")
        return rate


def rate_limit_hit(scope: str, subject: str, spec: str, *, detail: str | None = None) -> None:
    """Count one hit of ``subject`` (a session id, an IP) in ``scope``; raise once over the limit.

    Raises ``ApplicationError("rate_limited", status=429)`` with ``retry_after`` seconds.
    """
    rate = Rate.parse(spec)
    window = int(time.time() // rate.seconds)
    hits = _count_hit(f"rl:{scope}:{subject}:{window}", timeout=rate.seconds + 1)
    if hits > rate.limit:
        raise rate_limited_error(detail, retry_after=(window + 1) * rate.seconds - time.time())


def rate_limited_error(detail: str | None, *, retry_after: float) -> ApplicationError:
    """The 429 ``rate_limited`` error, with ``retry_after`` in whole seconds (at least 1)."""
    return ApplicationError("rate_limited", detail or _("操作太频繁，请稍后再试"), status=429, extra={"retry_after": max(1, math.ceil(retry_after))})


def _count_hit(key: str, *, timeout: int) -> int:
    """Add one hit to ``key`` (created with ``timeout``) and return the new count."""
    backend = shared_cache()  # not caches["default"]: that is one Redis pool per socket under ASGI
    if isinstance(backend, RedisCache):
        full_key = backend.make_and_validate_key(key)
        pipe = _redis_writer(backend).pipeline(transaction=False)
        pipe.set(full_key, 0, ex=timeout, nx=True)
        pipe.incr(full_key)
        return int(pipe.execute()[1])
    # add() is a no-op when the key exists, so exactly one caller starts the window at 0.
    backend.add(key, 0, timeout=timeout)
    try:
        return backend.incr(key)
    except ValueError:  # evicted between add and incr: start again
        backend.set(key, 1, timeout=timeout)
        return 1


_writers: "weakref.WeakKeyDictionary[RedisCache, Any]" = weakref.WeakKeyDictionary()


def _redis_writer(backend: RedisCache) -> Any:
    """The backend's redis-py client for writes, made once: Django builds a new ``Redis``
    object (over the same pool) on every ``get_client`` call, which costs more than the
    round trip it prepares. Writes always go to the first server, whatever the key."""
    client = _writers.get(backend)
    if client is None:
        client = _writers[backend] = backend._cache.get_client(None, write=True)
    return client
