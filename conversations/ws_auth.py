"""Who is on the other end of a chat socket: the site key, origin and session in its scope.

The widget connects to ``/ws/chat/?site=KEY`` (new session) or
``/ws/chat/?site=KEY&session=ID&token=TOKEN`` (resume); the browser adds ``Origin``.
``chat_query`` reads those from the ASGI scope; ``chat_session_open`` (sync, run through
``database_sync_to_async``) checks them with the services.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .services import SessionGrant, widget_session_open


@dataclass(frozen=True)
class ChatQuery:
    site_key: str | None
    session_id: str | None
    token: str | None
    origin: str | None
    own_origin: str | None  # the server's own origin as the browser addressed it (same-origin pages)
    client_ip: str | None


def chat_query(scope: dict[str, Any]) -> ChatQuery:
    """Parse the query string and headers of a WebSocket scope (never raises)."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", [])}

    def first(name: str) -> str | None:
        values = query.get(name)
        return values[0].strip() or None if values else None

    host = headers.get("host")
    origin = headers.get("origin") or None
    own_origin = None
    if host and origin:
        # Compare host[:port] only: behind a TLS proxy the socket's own scheme is not the page's.
        scheme = urlsplit(origin).scheme or "http"
        own_origin = f"{scheme}://{host}"
    client = scope.get("client") or (None, None)
    return ChatQuery(
        site_key=first("site"),
        session_id=first("session"),
        token=first("token"),
        origin=origin,
        own_origin=own_origin,
        client_ip=client[0],
    )


def chat_session_open(query: ChatQuery) -> SessionGrant:
    """Check site key and origin, then resume or start the session (raises ``ApplicationError``)."""
    return widget_session_open(
        site_key=query.site_key,
        origin=query.origin,
        own_origin=query.own_origin,
        session_id=query.session_id,
        token=query.token,
        client_ip=query.client_ip,
    )
