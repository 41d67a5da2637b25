"""The production channel layer: channels-redis over Redis Pub/Sub, with a resync on reconnect.

Why Pub/Sub (``RedisPubSubChannelLayer``) rather than channels-redis' list-based default: a
broadcast there is a Lua script per member plus a sorted-set cleanup, and every process polls
its inbox with ``BZPOPMIN``; on Pub/Sub a broadcast is one ``PUBLISH`` and each process reads
one subscribed connection. Under 200 paced visitors that cut the server's CPU per chat turn
by ~20 % (bench/results/chat.md, session 6).

What Pub/Sub gives up: a message published while a process's subscriber connection is
down is lost (the list layer would keep it in Redis until the process read it again).
Everything a socket shows is stored first, so nothing is lost for good, but a socket would
not know that it missed something. ``ResyncPubSubChannelLayer`` closes that gap: when its
subscriber connection fails and comes back, it puts a ``layer.resync`` event in every local
channel's queue, and the consumers catch up from the database (``SocketConsumer.layer_resync``).

``CSBOT_CHANNEL_LAYER=lists`` selects channels-redis' list-based layer instead.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, RedisSingleShardConnection
from channels_redis.utils import _wrap_close

logger = logging.getLogger(__name__)

RESYNC_EVENT = {"type": "layer.resync"}


class _ResyncShardConnection(RedisSingleShardConnection):
    """A shard connection whose receive loop reports a recovered subscriber connection."""

    async def _do_receiving(self) -> None:
        failed = False
        while True:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
                    if failed:
                        failed = False
                        self._resync_all()
                    self._receive_message(message)
                else:
                    await asyncio.sleep(0.1)
            except (asyncio.CancelledError, asyncio.TimeoutError, GeneratorExit):
                raise
            except BaseException:  # noqa: BLE001 - the loop must outlive any Redis failure
                if not failed:
                    logger.exception("channel layer: the Redis subscriber connection failed; retrying")
                failed = True
                await asyncio.sleep(1)

    def _resync_all(self) -> None:
        """Tell every channel of this process that messages may have been missed."""
        loop_layer = self.channel_layer
        data = loop_layer.channel_layer.serialize(RESYNC_EVENT)
        for queue in list(loop_layer.channels.values()):
            queue.put_nowait(data)
        logger.warning("channel layer: Redis subscriber reconnected; %d channel(s) told to resync", len(loop_layer.channels))


class _ResyncLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The parent made plain shards (they open nothing until first used): swap in ours.
        self._shards = [_ResyncShardConnection(shard.host, self) for shard in self._shards]


class ResyncPubSubChannelLayer(RedisPubSubChannelLayer):
    """``RedisPubSubChannelLayer`` that sends ``layer.resync`` to local channels after a reconnect."""

    def _get_layer(self) -> RedisPubSubLoopLayer:
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = self._layers[loop] = _ResyncLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
            return layer
