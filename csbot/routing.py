"""All WebSocket routes: each app contributes its ``websocket_urlpatterns``."""
from django.urls import re_path

from conversations.routing import websocket_urlpatterns as conversation_routes
from csbot.consumers import PingConsumer
from handoff.routing import websocket_urlpatterns as handoff_routes

websocket_urlpatterns = [
    # A trivial socket used by readiness tooling and benchmarks as the "bare echo" baseline.
    re_path(r"^ws/ping/$", PingConsumer.as_asgi()),
    *conversation_routes,  # /ws/chat/ (visitors)
    *handoff_routes,  # /ws/agent/ (agents, cookie-authenticated)
]
