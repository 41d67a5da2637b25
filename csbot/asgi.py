"""ASGI entry point: HTTP through Django, WebSockets through the apps' routing.

``get_asgi_application()`` runs before any routing import so the app registry is ready
before consumers (and their models) are imported.
"""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csbot.settings.base")
django_asgi_app = get_asgi_application()


from csbot.embedded_beat import embedded_beat_start_if_enabled  # noqa: E402
from csbot.warmup import warm_up_if_enabled  # noqa: E402

warm_up_if_enabled()
embedded_beat_start_if_enabled()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from csbot.routing import websocket_urlpatterns  # noqa: E402
from csbot.threads import WorkerThreads  # noqa: E402

application = WorkerThreads(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": URLRouter(websocket_urlpatterns),
        }
    )
)
