"""Celery tasks of the knowledge app: keeping Elasticsearch in step with the KB rows; evaluation runs."""
from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(
    name="knowledge.kb_index_sync",
    autoretry_for=(ConnectionError, TimeoutError, OSError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
    acks_late=True,
)
def kb_index_sync(entry_ids: list[int]) -> None:
    """Index the answerable entries among ``entry_ids`` and remove the others from the index.

    Enqueued on commit by ``knowledge.services`` (ids only); idempotent, so a retry or a
    duplicate delivery is harmless. A lost sync is repaired by ``manage.py kb_reindex``.
    """
    from elastic_transport import ConnectionError as EsConnectionError
    from elastic_transport import ConnectionTimeout

    from knowledge.search import get_backend

    try:
        get_backend().index_entries(entry_ids)
    except (EsConnectionError, ConnectionTimeout) as exc:
        raise ConnectionError(str(exc)) from exc  # retried by autoretry_for


@shared_task(name="knowledge.kb_evaluation_run", acks_late=True)
def kb_evaluation_run(run_id: int) -> None:
    """Run a stored evaluation file (``EvaluationRun``) through ``kb_evaluate``.

    Enqueued on commit by ``knowledge.curation.evaluation_runs.evaluation_run_create``; a
    failure is stored on the run, so there is nothing to retry.
    """
    from knowledge.curation.evaluation_runs import evaluation_run_execute

    evaluation_run_execute(run_id)
