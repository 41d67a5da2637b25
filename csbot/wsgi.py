"""WSGI entry point: production serves plain HTTP (REST, admin) with gunicorn sync workers."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csbot.settings.base")

application = get_wsgi_application()

from csbot.warmup import warm_up_if_enabled  # noqa: E402

warm_up_if_enabled()
