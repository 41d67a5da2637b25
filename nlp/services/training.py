"""Train, activate and evaluate intent-model versions.

``model_train`` records a ``ModelVersion`` (status training → ready/failed) with the data
hash, counts, timing, held-out metrics and report, and the artifact directory under
``settings.CSBOT_MODEL_DIR``. ``model_activate`` makes one ready version the active one;
every process notices within seconds (``nlp.runtime``) and loads it lazily.
"""
from __future__ import annotations

import logging
import shutil
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from csbot.errors import ApplicationError
from nlp.datasets import DatasetError, data_hash, database_examples, read_labelled
from nlp.enums import ClassifierBackend, ModelStatus
from nlp.models import ModelVersion

__all__ = ["model_train", "model_activate", "model_evaluate", "active_version", "training_report"]

logger = logging.getLogger(__name__)

DEFAULT_BACKEND = ClassifierBackend.LINEAR


def active_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(is_active=True, status=ModelStatus.READY).first()


def _model_dir() -> Path:
    return Path(getattr(settings, "CSBOT_MODEL_DIR", Path(settings.VAR_DIR) / "models"))


def training_report(classifier: Any, *, seconds: float, n_examples: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(metrics, report) of a freshly trained classifier, computed on its held-out predictions."""
    from nlp.evaluation import report_from_predictions

    report: dict[str, Any] = {"kind": "training", "calibration": dict(classifier.calibration), "config": dict(classifier.config)}
    metrics: dict[str, Any] = {"training_seconds": round(seconds, 2), "n_examples": n_examples}
    if classifier.heldout is not None:
        targets, probs = classifier.heldout
        labels = [classifier.labels[i] for i in targets]
        predicted = [classifier.labels[i] for i in probs.argmax(axis=1)]
        held = report_from_predictions(labels, predicted, probs, classifier.labels)
        held["method"] = classifier.calibration.get("method", "")
        report["heldout"] = held
        metrics.update({k: held[k] for k in ("accuracy", "macro_f1", "ece") if k in held})
        metrics["n_heldout"] = held["n"]
    if "ece_uncalibrated" in classifier.calibration:
        metrics["ece_uncalibrated"] = round(float(classifier.calibration["ece_uncalibrated"]), 4)
    metrics["temperature"] = round(float(classifier.temperature), 4)
    return metrics, report


def model_train(
    *,
    backend: str = DEFAULT_BACKEND,
    data_path: str | Path | None = None,
    examples: list[tuple[str, str]] | None = None,
    activate: bool = False,
    user: Any = None,
    config: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
    version: ModelVersion | None = None,
) -> ModelVersion:
    """Train a new version from ``data_path``, ``examples`` or the database's enabled intents.

    Writes the version row first (status ``training``) so admin shows it; on success saves the
    artifact, metrics and report (``ready``) and activates it if asked; on failure stores the
    error (``failed``) and raises ``ApplicationError``. Pass ``version`` to fill a row created
    earlier (the admin's retrain task does).
    """
    from nlp.classifier import new_classifier

    if backend not in ClassifierBackend.values:
        raise ApplicationError("nlu_backend_unknown", _("未知算法 %(name)s，可选：%(choices)s") % {"name": repr(backend), "choices": ", ".join(ClassifierBackend.values)})
    source = str(data_path) if data_path else ("database" if examples is None else "examples")
    try:
        if examples is None:
            examples = read_labelled(data_path) if data_path else database_examples()
        if len({label for _, label in examples}) < 2:
            raise ApplicationError("nlu_data_too_small", _("训练至少需要两个带例句的意图"))
    except (DatasetError, ApplicationError) as exc:
        error = exc if isinstance(exc, ApplicationError) else ApplicationError("nlu_data_invalid", str(exc))
        if version is not None:  # a row the admin created must not stay "training" forever
            version.status, version.error = ModelStatus.FAILED, str(error.detail)
            version.save(update_fields=["status", "error", "updated_at"])
        raise error from (None if error is exc else exc)
    labels = {label for _, label in examples}
    if version is None:
        version = ModelVersion.objects.create(backend=backend, status=ModelStatus.TRAINING, trained_by=user)
    version.backend = backend
    version.status = ModelStatus.TRAINING
    version.data_hash = data_hash(examples)
    version.data_source = source
    version.n_examples = len(examples)
    version.n_intents = len(labels)
    version.error = ""
    version.save()
    started = time.perf_counter()
    directory = _model_dir() / f"v{version.pk}-{backend}-{version.data_hash[:8]}"
    try:
        classifier = new_classifier(backend, **(config or {}))
        classifier.fit([t for t, _ in examples], [l for _, l in examples], progress=progress)
        seconds = time.perf_counter() - started
        if directory.exists():
            shutil.rmtree(directory)
        classifier.save(directory)
        metrics, report = training_report(classifier, seconds=seconds, n_examples=len(examples))
    except Exception as exc:
        version.status = ModelStatus.FAILED
        version.error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
        version.training_seconds = round(time.perf_counter() - started, 2)
        version.save(update_fields=["status", "error", "training_seconds", "updated_at"])
        logger.exception("training model version %s failed", version.pk)
        shutil.rmtree(directory, ignore_errors=True)
        raise ApplicationError("nlu_training_failed", _("训练失败：%(error)s") % {"error": exc}) from exc
    version.status = ModelStatus.READY
    version.artifact_path = str(directory)
    version.training_seconds = round(seconds, 2)
    version.metrics = metrics
    version.report = report
    version.save(update_fields=["status", "artifact_path", "training_seconds", "metrics", "report", "updated_at"])
    if activate:
        version = model_activate(version)
    return version


@transaction.atomic
def model_activate(version: ModelVersion) -> ModelVersion:
    """Make ``version`` the only active one; it must be ready and its artifact present."""
    version = ModelVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != ModelStatus.READY:
        raise ApplicationError("nlu_version_not_ready", _("只能启用训练成功的模型版本"))
    if not version.artifact_path or not (Path(version.artifact_path) / "meta.json").is_file():
        raise ApplicationError("nlu_artifact_missing", _("模型文件不存在：%(path)s") % {"path": version.artifact_path})
    ModelVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(is_active=False, updated_at=timezone.now())
    if not version.is_active:
        version.is_active = True
        version.save(update_fields=["is_active", "updated_at"])
    from nlp import runtime

    # This process picks the new model up at once; the others within runtime.CHECK_INTERVAL.
    transaction.on_commit(runtime.reset)
    return version


def model_evaluate(*, path: str | Path, version: ModelVersion | None = None, save: bool = True) -> dict[str, Any]:
    """Evaluate ``version`` (default: the active one) on a labelled file; store the report on the version if ``save``."""
    from nlp.classifier import load_classifier
    from nlp.evaluation import evaluate

    version = version or active_version()
    if version is None:
        raise ApplicationError("nlu_no_active_model", _("没有启用的意图模型，请先运行 nlu_train --activate"))
    if version.status != ModelStatus.READY:
        raise ApplicationError("nlu_version_not_ready", _("该模型版本不可用"))
    try:
        examples = read_labelled(path)
    except DatasetError as exc:
        raise ApplicationError("nlu_data_invalid", str(exc)) from exc
    classifier = load_classifier(version.artifact_path)
    started = time.perf_counter()
    report = evaluate(classifier, [t for t, _ in examples], [l for _, l in examples])
    report["seconds"] = round(time.perf_counter() - started, 3)
    report["version"] = version.pk
    report["data_source"] = str(path)
    report["data_hash"] = data_hash(examples)
    if save:
        stored = dict(version.report or {})
        stored["evaluation"] = {**report, "evaluated_at": timezone.now().isoformat()}
        version.report = stored
        version.save(update_fields=["report", "updated_at"])
    return report
