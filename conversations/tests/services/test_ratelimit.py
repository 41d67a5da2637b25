"""Fixed-window rate limits (``services.ratelimit``) on the configured cache."""
from __future__ import annotations

import uuid

import pytest

from conversations.services import ratelimit
from csbot.errors import ApplicationError


def test_the_hit_over_the_limit_is_refused_with_retry_after():
    subject = uuid.uuid4().hex
    for _ in range(3):
        ratelimit.rate_limit_hit("test", subject, "3/60")
    with pytest.raises(ApplicationError) as refused:
        ratelimit.rate_limit_hit("test", subject, "3/60")
    assert refused.value.code == "rate_limited" and refused.value.status == 429
    assert 1 <= refused.value.extra["retry_after"] <= 60


@pytest.mark.redis
def test_on_redis_every_hit_reuses_one_client(monkeypatch):
    from django.core.cache.backends.redis import RedisCache

    from csbot.cache import shared_cache

    backend = shared_cache()
    assert isinstance(backend, RedisCache)
    made = []
    original = backend._cache.get_client
    monkeypatch.setattr(backend._cache, "get_client", lambda *a, **k: made.append(1) or original(*a, **k))
    ratelimit._writers.pop(backend, None)
    subject = uuid.uuid4().hex
    for _ in range(5):
        ratelimit.rate_limit_hit("test", subject, "10/60")
    assert len(made) == 1
