"""Celery tasks of the nlp app: thin wrappers over ``nlp.services`` taking ids and primitives."""
from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="nlp.nlu_train")
def nlu_train_task(version_id: int, backend: str, activate: bool = False, user_id: int | None = None) -> int:
    """Train the pre-created ``ModelVersion`` ``version_id`` from the database's examples.

    A failure is recorded on the version (status ``failed`` with the error) and not retried:
    retraining the same bad data would fail the same way, and the manager sees why in admin.
    """
    from django.contrib.auth import get_user_model

    from csbot.errors import ApplicationError
    from nlp.models import ModelVersion
    from nlp.services.training import model_train

    version = ModelVersion.objects.get(pk=version_id)
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    try:
        model_train(backend=backend, activate=activate, user=user, version=version)
    except ApplicationError as exc:
        logger.warning("training version %s failed: %s", version_id, exc.detail)
    return version_id
