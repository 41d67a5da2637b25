"""The search-backend interface every backend implements."""
from __future__ import annotations

from abc import ABC, abstractmethod


class SearchBackend(ABC):
    name: str = "base"

    @abstractmethod
    def health(self) -> str | None:
        """Raise when the backend cannot serve searches; may return a short detail string."""
