"""Channel layer: in-memory for one process, channels-redis across processes when REDIS_URL is set."""
from .env import env

REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py caps a pool at 100 connections by default; more concurrent group_send
                # calls fail with "Too many connections" and close sockets (see DESIGN.md).
                "hosts": [{"address": REDIS_URL, "max_connections": env.int("CSBOT_REDIS_MAX_CONNECTIONS", default=1000)}],
                "prefix": env.str("CSBOT_CHANNEL_PREFIX", default="csbot"),
                "capacity": 1500,
                "expiry": 60,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
