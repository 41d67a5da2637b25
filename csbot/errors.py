"""The domain error every service raises, and that every interface maps to ``{code, detail}``.

Services raise ``ApplicationError`` for rule violations (bad token, rate limit, ownership);
the DRF exception handler in ``csbot.api`` turns it into an HTTP 4xx and consumers turn it
into a WebSocket ``error`` frame. The code is stable and machine-readable; the detail is
for people and is translated.
"""
from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A domain rule was broken; ``status`` is the HTTP status an API should answer with."""

    def __init__(self, code: str, detail: str, *, status: int = 400, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status
        self.extra = extra or {}

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "detail": str(self.detail), **self.extra}
