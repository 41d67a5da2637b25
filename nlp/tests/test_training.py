"""Training and evaluating model versions: services, commands, activation, the runtime swap."""
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from csbot.errors import ApplicationError
from nlp import runtime
from nlp.analysis import analyze
from nlp.enums import ModelStatus
from nlp.models import ModelVersion
from nlp.services import IntentData, intent_upsert
from nlp.services.training import model_activate, model_evaluate, model_train

from .conftest import TINY_BERT

pytestmark = pytest.mark.django_db


@pytest.fixture
def db_intents(tiny_examples):
    by_label: dict[str, list[str]] = {}
    for text, label in tiny_examples:
        by_label.setdefault(label, []).append(text)
    for label, texts in by_label.items():
        intent_upsert(IntentData(name=label, display_name=label, examples=tuple(texts)))
    return by_label


def test_train_from_database_records_a_ready_version(db_intents, model_dir):
    version = model_train()
    assert version.status == ModelStatus.READY and not version.is_active
    assert version.backend == "linear" and version.data_source == "database"
    assert version.n_examples == 24 and version.n_intents == 3 and len(version.data_hash) == 64
    assert Path(version.artifact_path).parent == model_dir and (Path(version.artifact_path) / "meta.json").is_file()
    assert {"accuracy", "macro_f1", "ece", "training_seconds"} <= set(version.metrics)
    heldout = version.report["heldout"]
    assert heldout["n"] == 24 and set(heldout["per_intent"]) == {"greeting", "refund", "human_request"}


def test_same_data_gives_the_same_hash_whatever_the_order(tiny_examples, model_dir):
    first = model_train(examples=tiny_examples)
    second = model_train(examples=list(reversed(tiny_examples)))
    assert first.data_hash == second.data_hash


def test_disabled_intents_are_not_trained(db_intents, model_dir):
    from nlp.models import Intent

    Intent.objects.filter(name="refund").update(enabled=False)
    version = model_train()
    assert version.n_intents == 2


def test_nlu_train_command_from_tsv_and_activate(tiny_path, model_dir):
    out = StringIO()
    call_command("nlu_train", "--data", str(tiny_path), "--activate", stdout=out)
    version = ModelVersion.objects.get()
    assert version.is_active and version.data_source == str(tiny_path)
    assert "已设为当前模型" in out.getvalue()


def test_nlu_train_if_none_active_is_a_no_op_when_a_model_is_active(tiny_path, model_dir):
    call_command("nlu_train", "--data", str(tiny_path), "--activate", stdout=StringIO())
    out = StringIO()
    call_command("nlu_train", "--if-none-active", "--activate", stdout=out)
    assert ModelVersion.objects.count() == 1
    assert "跳过" in out.getvalue()


def test_nlu_train_rejects_a_bad_file_without_leaving_a_version(tmp_path, model_dir):
    bad = tmp_path / "bad.tsv"
    bad.write_text("sentence\tintent\n你好\tgreeting\n", encoding="utf-8")
    with pytest.raises(CommandError, match="text"):
        call_command("nlu_train", "--data", str(bad), stdout=StringIO())
    assert not ModelVersion.objects.exists()
    broken = tmp_path / "bad.jsonl"
    broken.write_text('{"text": "你好", "label": "greeting"}\n{"text": 1}\n', encoding="utf-8")
    with pytest.raises(CommandError, match=":2"):
        call_command("nlu_train", "--data", str(broken), stdout=StringIO())


def test_training_with_one_intent_is_refused(tmp_path, model_dir):
    one = tmp_path / "one.jsonl"
    one.write_text('{"text": "你好", "label": "greeting"}\n{"text": "您好", "label": "greeting"}\n', encoding="utf-8")
    with pytest.raises(ApplicationError):
        model_train(data_path=one)


def test_a_failing_training_is_recorded_as_failed(tiny_examples, model_dir):
    # an invalid backend parameter makes scikit-learn fail inside training
    with pytest.raises(ApplicationError):
        model_train(examples=tiny_examples, config={"C": -1.0})
    version = ModelVersion.objects.get()
    assert version.status == ModelStatus.FAILED and "C" in version.error
    assert version.artifact_path == "" and not any(model_dir.glob("v*"))


def test_nlu_evaluate_json_has_the_report_shape(tiny_path, model_dir):
    call_command("nlu_train", "--data", str(tiny_path), "--activate", stdout=StringIO())
    out = StringIO()
    eval_path = tiny_path.parent / "tiny_eval.jsonl"
    call_command("nlu_evaluate", str(eval_path), "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["n"] == 6
    assert 0.0 <= report["accuracy"] <= 1.0 and 0.0 <= report["macro_f1"] <= 1.0 and 0.0 <= report["ece"] <= 1.0
    assert set(report["per_intent"]["refund"]) == {"precision", "recall", "f1", "support"}
    assert report["per_intent"]["refund"]["support"] == 2
    assert isinstance(report["confusions"], list)
    # the report is kept on the version for admin
    assert ModelVersion.objects.get().report["evaluation"]["n"] == 6


def test_nlu_evaluate_table_and_errors(tiny_path, model_dir):
    with pytest.raises(CommandError, match="没有启用"):
        call_command("nlu_evaluate", str(tiny_path), stdout=StringIO())
    call_command("nlu_train", "--data", str(tiny_path), "--activate", stdout=StringIO())
    out = StringIO()
    call_command("nlu_evaluate", str(tiny_path), "--no-save", stdout=out)
    assert "准确率" in out.getvalue() and "refund" in out.getvalue()
    assert "evaluation" not in ModelVersion.objects.get().report


def test_labels_the_model_does_not_know_count_as_errors(tiny_path, tmp_path, model_dir):
    call_command("nlu_train", "--data", str(tiny_path), "--activate", stdout=StringIO())
    data = tmp_path / "new.jsonl"
    data.write_text('{"text": "开发票", "label": "invoice"}\n{"text": "你好", "label": "greeting"}\n', encoding="utf-8")
    report = model_evaluate(path=data)
    assert report["per_intent"]["invoice"]["recall"] == 0.0
    assert report["unknown_labels"] == ["invoice"]


def test_activation_swaps_the_model_every_process_uses(tiny_examples, model_dir, monkeypatch):
    monkeypatch.setattr(runtime, "CHECK_INTERVAL", 0.0)
    now = timezone.now()
    # no model yet: analysis still works, without intent
    first = analyze("我要退款", now=now)
    assert first.intent is None and first.confidence == 0.0 and first.ranking == ()
    # a trained but inactive version is not used
    old = model_train(examples=tiny_examples)
    assert analyze("我要退款", now=now).intent is None
    # once activated it is picked up without a restart
    model_activate(old)
    result = analyze("我要退款", now=now)
    assert result.intent == "refund" and result.model_version == old.pk
    assert 0.0 < result.confidence <= 1.0 and len(result.ranking) == 3
    # a newer version (different intents) replaces it
    new = model_train(examples=[(t, l) for t, l in tiny_examples if l != "refund"], activate=True)
    assert analyze("我要退款", now=now).model_version == new.pk
    assert ModelVersion.objects.filter(is_active=True).count() == 1


def test_a_missing_artifact_never_breaks_analysis(tiny_examples, model_dir, monkeypatch):
    import shutil

    monkeypatch.setattr(runtime, "CHECK_INTERVAL", 0.0)
    version = model_train(examples=tiny_examples, activate=True)
    shutil.rmtree(version.artifact_path)
    result = analyze("我要退款", now=timezone.now())
    assert result.intent is None and result.sentiment is not None


def test_activating_a_failed_version_is_refused(model_dir):
    version = ModelVersion.objects.create(backend="linear", status=ModelStatus.FAILED)
    with pytest.raises(ApplicationError):
        model_activate(version)


def test_transformers_backend_through_the_service(tiny_examples, model_dir, monkeypatch):
    monkeypatch.setattr(runtime, "CHECK_INTERVAL", 0.0)
    version = model_train(examples=tiny_examples, backend="transformers", config=TINY_BERT, activate=True)
    assert version.backend == "transformers" and version.status == ModelStatus.READY
    assert "validation" in version.report["calibration"]["method"]
    assert analyze("转人工", now=timezone.now()).intent == "human_request"
