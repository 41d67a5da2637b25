"""KB search backends behind one interface; ``get_backend()`` picks one from settings.

``base`` defines the interface, ``local`` the embedded in-process index, ``elasticsearch``
the production backend (which falls back to ``local`` when the cluster is unreachable).
"""
from __future__ import annotations

from functools import lru_cache

from django.conf import settings

from .base import SearchBackend


@lru_cache(maxsize=1)
def get_backend() -> SearchBackend:
    """The configured backend, built once per process."""
    name = settings.CSBOT_SEARCH_BACKEND
    if name == "elasticsearch":
        from .elasticsearch import ElasticsearchBackend

        return ElasticsearchBackend()
    from .local import LocalBackend

    return LocalBackend()
