"""All WebSocket routes: each app contributes its ``websocket_urlpatterns``."""
from django.urls import re_path

from csbot.consumers import PingConsumer

websocket_urlpatterns = [
    # A trivial socket used by readiness tooling and benchmarks as the "bare echo" baseline.
    re_path(r"^ws/ping/$", PingConsumer.as_asgi()),
]
