"""KB search backends behind one interface; ``get_backend()`` picks one from settings.

``base`` defines the interface and ``SearchHit``, ``documents`` what is indexed, ``lexical``
the BM25 index itself, ``local`` the embedded in-process backend, ``elasticsearch`` the
production backend (which falls back to ``local`` when the cluster is unreachable).
"""
from __future__ import annotations

from functools import lru_cache

from django.conf import settings

from .base import SearchBackend, SearchHit

__all__ = ["SearchBackend", "SearchHit", "get_backend", "kb_changed_locally"]


@lru_cache(maxsize=1)
def get_backend() -> SearchBackend:
    """The configured backend, built once per process."""
    name = settings.CSBOT_SEARCH_BACKEND
    if name == "elasticsearch":
        from .elasticsearch import ElasticsearchBackend

        return ElasticsearchBackend()
    from .local import LocalBackend

    return LocalBackend()


def kb_changed_locally() -> None:
    """This process just committed a KB change: drop its in-process index and matcher now.

    Other processes notice the same change through ``KbChangeWatcher`` within seconds.
    """
    from .local import mark_stale

    mark_stale()
