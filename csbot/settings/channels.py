"""Channel layer: in-memory for one process, Redis across processes when REDIS_URL is set.

On Redis, ``CSBOT_CHANNEL_LAYER`` picks the implementation: ``pubsub`` (default; Redis
Pub/Sub, with a resync after a reconnect: ``csbot.layers``) or ``lists`` (channels-redis'
list-based ``RedisChannelLayer``, which keeps messages for a process that is briefly
disconnected from Redis, at ~20 % more server CPU per chat turn).
"""
from .env import env

REDIS_URL = env.str("REDIS_URL", default="")
CSBOT_CHANNEL_LAYER = env.str("CSBOT_CHANNEL_LAYER", default="pubsub")
if CSBOT_CHANNEL_LAYER not in ("pubsub", "lists"):
    raise ValueError(f"CSBOT_CHANNEL_LAYER must be 'pubsub' or 'lists', got {CSBOT_CHANNEL_LAYER!r}")

if REDIS_URL:
    # redis-py caps a pool at 100 connections by default; more concurrent sends would fail
    # with "Too many connections" and close sockets (see DESIGN.md).
    _hosts = [{"address": REDIS_URL, "max_connections": env.int("CSBOT_REDIS_MAX_CONNECTIONS", default=1000)}]
    _prefix = env.str("CSBOT_CHANNEL_PREFIX", default="csbot")
    if CSBOT_CHANNEL_LAYER == "pubsub":
        CHANNEL_LAYERS = {"default": {"BACKEND": "csbot.layers.ResyncPubSubChannelLayer", "CONFIG": {"hosts": _hosts, "prefix": _prefix}}}
    else:
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": _hosts, "prefix": _prefix, "capacity": 1500, "expiry": 60},
            }
        }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
