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
    from csbot.layers import ResyncPubSubChannelLayer

    layer = get_channel_layer()
    assert isinstance(layer, ResyncPubSubChannelLayer)
    loops = _record_loops(monkeypatch, layer)

    async def scenario() -> list[int]:
        # given a channel listening to a group on the Redis layer (Pub/Sub: subscribed on this loop)
        channel = await layer.new_channel()
        await layer.group_add("test.realtime", channel)
        try:
            # when sync code broadcasts twice (as a REST turn on gunicorn does), from a thread
            for n in (1, 2):
                await asyncio.to_thread(group_send, "test.realtime", {"type": "chat.test", "n": n})
            return [(await asyncio.wait_for(layer.receive(channel), 5))["n"] for _ in range(2)]
        finally:
            await layer.group_discard("test.realtime", channel)

    # then both arrive, in order, and were sent from one loop that is still alive: no new
    # thread, loop and Redis connection pool per broadcast
    assert async_to_sync(scenario)() == [1, 2]
    assert len(loops) == 2 and loops[0] is loops[1] and loops[0].is_running()


def test_a_broken_layer_is_logged_not_raised(monkeypatch, caplog):
    layer = get_channel_layer()

    async def broken(group, message):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(layer, "group_send", broken)
    group_send("test.realtime", {"type": "chat.test"})
    assert "broadcast to test.realtime failed" in caplog.text
