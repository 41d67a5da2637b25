"""WebSocket routes of the handoff app, collected by ``csbot.routing``.

The agent socket authenticates with the admin session cookie, so it is wrapped here (not in
``csbot.asgi``) in ``AuthMiddlewareStack`` and an origin check: a cookie-authenticated socket
opened from another site would otherwise act as the agent (cross-site WebSocket hijacking).
The visitor socket stays unwrapped: it authenticates by session token and is embedded on
customers' own sites, whose origins its site key allows.
"""
from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import re_path

from .consumers import AgentConsumer

websocket_urlpatterns = [
    re_path(r"^ws/agent/$", AllowedHostsOriginValidator(AuthMiddlewareStack(AgentConsumer.as_asgi()))),
]
