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


def test_deferred_broadcasts_are_collected_in_order_then_sent_from_the_loop(monkeypatch):
    """A socket turn runs in a worker thread: its broadcasts come back to the handler, which
    sends them on its own loop (no thread round trip per broadcast), in commit order."""
    from conversations.realtime import broadcasts_deferred, broadcasts_send

    layer = get_channel_layer()
    sent: list[tuple[str, int]] = []

    async def recording(group, message):
        sent.append((group, message["n"]))

    monkeypatch.setattr(layer, "group_send", recording)
    with broadcasts_deferred() as pending:
        group_send("g.one", {"type": "chat.test", "n": 1})
        group_send("g.two", {"type": "chat.test", "n": 2})
    assert sent == []
    assert [(g, e["n"]) for g, e in pending] == [("g.one", 1), ("g.two", 2)]
    async_to_sync(broadcasts_send)(pending)
    assert sent == [("g.one", 1), ("g.two", 2)]
    group_send("g.three", {"type": "chat.test", "n": 3})  # outside the block: sent at once
    assert sent[-1] == ("g.three", 3)


def test_deferred_broadcasts_of_committed_work_are_sent_when_the_block_raises(monkeypatch):
    from conversations.realtime import broadcasts_deferred

    layer = get_channel_layer()
    sent: list[int] = []

    async def recording(group, message):
        sent.append(message["n"])

    monkeypatch.setattr(layer, "group_send", recording)
    with pytest.raises(RuntimeError), broadcasts_deferred():
        group_send("g.one", {"type": "chat.test", "n": 1})
        raise RuntimeError("after the commit")
    assert sent == [1]


def test_a_broken_layer_fails_no_deferred_broadcast(monkeypatch, caplog):
    from conversations.realtime import broadcasts_send

    layer = get_channel_layer()

    async def broken(group, message):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(layer, "group_send", broken)
    async_to_sync(broadcasts_send)([("g.one", {"type": "chat.test"}), ("g.two", {"type": "chat.test"})])
    assert "broadcast to g.one failed" in caplog.text and "broadcast to g.two failed" in caplog.text
