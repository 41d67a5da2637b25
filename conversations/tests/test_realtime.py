"""Broadcasts from sync code (services called by WSGI views and Celery tasks)."""
from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from conversations.realtime import group_send


def _record_loops(monkeypatch, layer) -> list[asyncio.AbstractEventLoop]:
    loops: list[asyncio.AbstractEventLoop] = []
    original = layer.group_send

    async def recording(group, message):
        loops.append(asyncio.get_running_loop())
        await original(group, message)

    monkeypatch.setattr(layer, "group_send", recording)
    return loops


@pytest.mark.redis
def test_sync_callers_broadcast_over_redis_through_one_long_lived_loop(monkeypatch):
    from channels_redis.core import RedisChannelLayer

    # given a channel listening to a group on the Redis layer
    layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("test.realtime", channel)
    loops = _record_loops(monkeypatch, layer)
    # when sync code broadcasts twice (as a REST turn on gunicorn does)
    group_send("test.realtime", {"type": "chat.test", "n": 1})
    group_send("test.realtime", {"type": "chat.test", "n": 2})
    # then both arrive, in order, and were sent from one loop that is still alive: no new
    # thread, loop and Redis connection pool per broadcast
    async def both() -> list[int]:
        return [(await layer.receive(channel))["n"] for _ in range(2)]

    assert async_to_sync(both)() == [1, 2]
    assert len(loops) == 2 and loops[0] is loops[1] and loops[0].is_running()
    async_to_sync(layer.group_discard)("test.realtime", channel)


def test_a_broken_layer_is_logged_not_raised(monkeypatch, caplog):
    layer = get_channel_layer()

    async def broken(group, message):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(layer, "group_send", broken)
    group_send("test.realtime", {"type": "chat.test"})
    assert "broadcast to test.realtime failed" in caplog.text
