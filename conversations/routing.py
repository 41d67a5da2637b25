"""WebSocket routes of the conversations app, collected by ``csbot.routing``."""
from django.urls import re_path

from .consumers import ChatConsumer

websocket_urlpatterns = [
    re_path(r"^ws/chat/$", ChatConsumer.as_asgi()),
]
