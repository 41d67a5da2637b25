"""The active intent model of this process: loaded lazily, swapped when a manager activates another.

``active_classifier()`` is called on every message. At most every ``CHECK_INTERVAL`` seconds
it reads the active version's id (one indexed query); when the id differs from the loaded
one it loads the new artifact (once), so activating a version in admin reaches every
process (daphne, gunicorn workers, Celery workers) within seconds, without a restart.
Without a database or an active version it returns None and the chat goes on without intent.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .classifier.base import IntentClassifier

__all__ = ["LoadedModel", "active_classifier", "reset", "CHECK_INTERVAL"]

logger = logging.getLogger(__name__)

CHECK_INTERVAL = 2.0


@dataclass(frozen=True)
class LoadedModel:
    version_id: int
    classifier: "IntentClassifier"


_lock = threading.Lock()
_loaded: LoadedModel | None = None
_checked_at: float | None = None
_failed_version: int | None = None  # an artifact that failed to load is not retried on every message


def _active_row() -> tuple[int, str] | None:
    from .enums import ModelStatus
    from .models import ModelVersion

    return ModelVersion.objects.filter(is_active=True, status=ModelStatus.READY).values_list("pk", "artifact_path").first()


def active_classifier() -> LoadedModel | None:
    """The loaded active model, reloading when the active version changed (rate-limited)."""
    global _loaded, _checked_at, _failed_version
    now = time.monotonic()
    if _checked_at is not None and now - _checked_at < CHECK_INTERVAL:
        return _loaded
    with _lock:
        if _checked_at is not None and now - _checked_at < CHECK_INTERVAL:
            return _loaded
        _checked_at = now
        from .djangoenv import django_ready

        if not django_ready():
            return _loaded
        try:
            row = _active_row()
        except Exception as exc:  # noqa: BLE001 - no database: keep what is loaded
            logger.debug("active model check failed: %s", exc)
            return _loaded
        if row is None:
            _loaded = None
            return None
        version_id, path = row
        if (_loaded is not None and _loaded.version_id == version_id) or _failed_version == version_id:
            return _loaded if _loaded is not None and _loaded.version_id == version_id else None
        try:
            from .classifier import load_classifier

            started = time.perf_counter()
            classifier = load_classifier(path)
            _loaded = LoadedModel(version_id, classifier)
            _failed_version = None
            logger.info("intent model version %s loaded in %.2fs", version_id, time.perf_counter() - started)
        except Exception:  # noqa: BLE001 - a missing/corrupt artifact must not break the chat
            logger.exception("cannot load intent model version %s from %s", version_id, path)
            _failed_version = version_id
            _loaded = None
        return _loaded


def reset() -> None:
    """Forget the loaded model and check again on the next call (tests, after activating in-process)."""
    global _loaded, _checked_at, _failed_version
    with _lock:
        _loaded = None
        _checked_at = None
        _failed_version = None
