"""Project-level sockets that belong to no app."""
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class PingConsumer(AsyncJsonWebsocketConsumer):
    """Echoes every JSON frame back; the baseline the chat benchmarks compare against."""

    async def receive_json(self, content: object, **kwargs: object) -> None:
        await self.send_json(content)

    async def layer_resync(self, event: dict[str, Any]) -> None:
        """An echo has no broadcasts to miss (``csbot.layers`` sends this to every channel)."""
