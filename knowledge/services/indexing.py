"""Keeping search indexes in step with the KB rows, after the transaction commits.

The local in-process index of *this* process is marked stale at once (other processes notice
through ``KbChangeWatcher``); the Elasticsearch index is synced by a Celery task enqueued on
commit, so a rolled-back change is never indexed and a slow cluster never slows a save.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)


def kb_index_schedule(entry_ids: Iterable[int], *, deleted: bool = False) -> None:
    """After commit: refresh this process's caches and enqueue the search-index sync."""
    ids = sorted({int(i) for i in entry_ids if i is not None})

    def _after_commit() -> None:
        from knowledge.search import kb_changed_locally

        kb_changed_locally()
        if ids and settings.CSBOT_SEARCH_BACKEND == "elasticsearch":
            from knowledge.tasks import kb_index_sync

            try:
                kb_index_sync.delay(ids)
            except Exception:  # the save has committed; kb_reindex repairs a lost sync
                logger.exception("could not sync %d entries to the search index", len(ids))

    transaction.on_commit(_after_commit)
