"""WebSocket plumbing shared by the visitor and agent consumers: frame parsing and error frames."""
from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext as _

from csbot.errors import ApplicationError


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
