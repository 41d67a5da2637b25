"""The Pub/Sub channel layer's resync after a lost Redis subscription (``csbot.layers``)."""
from __future__ import annotations

import asyncio
import os
import uuid

import pytest

from csbot.layers import RESYNC_EVENT, ResyncPubSubChannelLayer


_REAL_SLEEP = asyncio.sleep  # the receive loop's 1 s back-off, shortened by _fast_sleep


async def _fast_sleep(seconds: float, *args):
    await _REAL_SLEEP(min(seconds, 0.01), *args)


class _FlakyPubSub:
    """Stands in for redis-py's PubSub: fails ``failures`` times, then yields ``messages``."""

    subscribed = True

    def __init__(self, failures: int, messages: list[dict]) -> None:
        self.failures, self.messages = failures, messages

    async def get_message(self, **kwargs):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("Connection closed by server.")
        if self.messages:
            return self.messages.pop(0)
        await asyncio.sleep(0.01)
        return None


async def _layer_with(pubsub: _FlakyPubSub) -> tuple[ResyncPubSubChannelLayer, object, list[str]]:
    layer = ResyncPubSubChannelLayer(hosts=["redis://127.0.0.1:1/0"], prefix=f"t{uuid.uuid4().hex[:6]}")
    loop_layer = layer._get_layer()
    names = [f"{loop_layer.prefix}specific.{i}" for i in range(3)]
    for name in names:  # local channels, as new_channel makes them (without a real SUBSCRIBE)
        loop_layer.channels[name] = asyncio.Queue()
    shard = loop_layer._shards[0]
    shard._pubsub = pubsub
    return layer, shard, names


async def test_every_local_channel_is_told_to_resync_once_after_the_subscription_recovers(monkeypatch):
    monkeypatch.setattr(asyncio, "sleep", _fast_sleep)
    layer, shard, names = await _layer_with(_FlakyPubSub(failures=2, messages=[]))
    task = asyncio.ensure_future(shard._do_receiving())
    try:
        events = [await asyncio.wait_for(layer.receive(name), 2) for name in names]
        assert events == [RESYNC_EVENT] * 3
        await _REAL_SLEEP(0.05)
        assert all(layer._get_layer().channels[name].empty() for name in names)  # once, not per failure
    finally:
        task.cancel()


async def test_a_healthy_subscription_never_resyncs_and_delivers():
    layer, shard, names = await _layer_with(_FlakyPubSub(failures=0, messages=[]))
    loop_layer = layer._get_layer()
    data = layer.serialize({"type": "chat.messages", "n": 1})
    shard._pubsub.messages = [{"channel": names[0].encode(), "data": data}]
    task = asyncio.ensure_future(shard._do_receiving())
    try:
        assert await asyncio.wait_for(layer.receive(names[0]), 2) == {"type": "chat.messages", "n": 1}
        await _REAL_SLEEP(0.05)
        assert all(loop_layer.channels[name].empty() for name in names)
    finally:
        task.cancel()


@pytest.mark.redis
async def test_over_redis_a_killed_subscriber_connection_resyncs_and_keeps_delivering():
    """Live: Redis drops the layer's subscriber connection (CLIENT KILL); the layer reconnects,
    tells its channel to resync, and later broadcasts arrive again."""
    import redis.asyncio as aioredis

    url, name = os.environ["REDIS_URL"], f"csbot-test-{uuid.uuid4().hex[:8]}"
    layer = ResyncPubSubChannelLayer(hosts=[{"address": url, "client_name": name}], prefix=name)
    channel = await layer.new_channel()
    await layer.group_add("test.resync", channel)
    admin = aioredis.Redis.from_url(url)
    try:
        await layer.group_send("test.resync", {"type": "chat.test", "n": 1})
        assert (await asyncio.wait_for(layer.receive(channel), 5))["n"] == 1
        # only this layer's subscriber: other Redis users on the machine are left alone
        ids = [c["id"] for c in await admin.client_list(_type="pubsub") if c.get("name") == name]
        assert len(ids) == 1
        assert await admin.client_kill_filter(_id=ids[0]) == 1
        assert await asyncio.wait_for(layer.receive(channel), 10) == RESYNC_EVENT
        await layer.group_send("test.resync", {"type": "chat.test", "n": 2})
        assert (await asyncio.wait_for(layer.receive(channel), 5))["n"] == 2
    finally:
        await admin.aclose()
        await layer.group_discard("test.resync", channel)
        await layer.flush()


def test_every_socket_handles_the_resync_event():
    """The layer sends ``layer.resync`` to every local channel: a consumer without a handler
    would die with "No handler for message type" instead of catching up."""
    from csbot.routing import websocket_urlpatterns

    def consumer_of(app):
        while not hasattr(app, "consumer_class"):  # unwrap origin checks and auth middleware
            app = getattr(app, "application", None) or app.inner
        return app.consumer_class

    consumers = {consumer_of(pattern.callback) for pattern in websocket_urlpatterns}
    assert len(consumers) >= 3
    assert all(callable(getattr(consumer, "layer_resync", None)) for consumer in consumers), consumers
