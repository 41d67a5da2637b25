"""Project-level sockets that belong to no app."""
from channels.generic.websocket import AsyncJsonWebsocketConsumer


class PingConsumer(AsyncJsonWebsocketConsumer):
    """Echoes every JSON frame back; the baseline the chat benchmarks compare against."""

    async def receive_json(self, content: object, **kwargs: object) -> None:
        await self.send_json(content)
