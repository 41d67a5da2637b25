"""The embedded in-process search index (the default backend)."""
from __future__ import annotations

from .base import SearchBackend


class LocalBackend(SearchBackend):
    name = "local"

    def health(self) -> str | None:
        return "in-process index"
