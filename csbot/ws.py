"""WebSocket plumbing shared by the visitor and agent consumers: the base consumer, frame
parsing and error frames."""
from __future__ import annotations

import json
from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils.translation import gettext as _

from csbot.errors import ApplicationError


# Close code after a channel-layer reconnect: "reconnect and reload" (the console reconnects).
CLOSE_RESYNC = 4503


def error_frame(exc: ApplicationError, **extra: Any) -> dict[str, Any]:
    """The ``{"type": "error", code, detail, ...}`` frame for a domain error (None extras dropped)."""
    return {"type": "error", **exc.as_dict(), **{k: v for k, v in extra.items() if v is not None}}


def frame_parse(text_data: str | None) -> dict[str, Any]:
    """A client frame as a dict with a string ``type``; raises ``malformed_frame`` otherwise."""
    try:
        content = json.loads(text_data) if text_data is not None else None
    except ValueError:
        content = None
    if not isinstance(content, dict) or not isinstance(content.get("type"), str):
        raise ApplicationError("malformed_frame", _("帧必须是带 type 字段的 JSON 对象"))
    return content


class SocketConsumer(AsyncJsonWebsocketConsumer):
    """A JSON socket whose database work all runs through ``DatabaseSyncToAsync`` helpers.

    Channels (≥ 4.2) runs ``close_old_connections`` in the single thread-sensitive executor
    before *every* event a consumer handles: each received frame and each group message
    waits for that one shared thread (measured under 200 paced visitors: ~10 % of the
    server's Python time). These consumers never use the ORM on the event loop, and the
    helpers they call close and return their connections around each call, so the check
    is skipped here.
    """

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def layer_resync(self, event: dict[str, Any]) -> None:
        """The channel layer lost its Redis subscription for a moment (``csbot.layers``), so
        broadcasts may have been missed: close with ``CLOSE_RESYNC`` and let the client
        reconnect, which loads its state afresh. Consumers that can catch up in place override it."""
        await self.close(code=CLOSE_RESYNC)
