"""csbot project package: settings, urls, ASGI/WSGI entry points, Celery app, admin site, health checks."""
from .celery import app as celery_app

__all__ = ("celery_app",)
