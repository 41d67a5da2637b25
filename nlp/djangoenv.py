"""Whether Django is set up in this process: the pure parts of ``nlp`` (benchmarks, scripts,
unit tests without a database) then skip every database look-up instead of failing on it."""
from __future__ import annotations


def django_ready() -> bool:
    """True once ``django.setup()`` has run (apps loaded, so models may be queried)."""
    from django.apps import apps

    return apps.ready
