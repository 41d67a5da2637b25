"""Managers: add an intent with examples, retrain from admin, read the new version's report, activate."""
import pytest
from django.urls import reverse

from nlp.enums import ModelStatus
from nlp.models import Intent, ModelVersion
from nlp.services import IntentData, intent_upsert
from nlp.services.training import model_train

pytestmark = pytest.mark.django_db


@pytest.fixture
def db_intents(tiny_examples):
    by_label: dict[str, list[str]] = {}
    for text, label in tiny_examples:
        by_label.setdefault(label, []).append(text)
    for label, texts in by_label.items():
        intent_upsert(IntentData(name=label, display_name=label, examples=tuple(texts)))


def _add_intent_in_admin(client, name, examples):
    data = {
        "name": name, "display_name": "发票", "description": "", "enabled": "on",
        "examples-TOTAL_FORMS": str(len(examples)), "examples-INITIAL_FORMS": "0",
        "examples-MIN_NUM_FORMS": "0", "examples-MAX_NUM_FORMS": "1000",
    }
    for i, text in enumerate(examples):
        data[f"examples-{i}-text"] = text
    return client.post(reverse("admin:nlp_intent_add"), data)


def test_manager_adds_an_intent_retrains_and_reads_the_report(manager_client, db_intents, model_dir, django_capture_on_commit_callbacks):
    # given a manager adds a new intent with examples in admin
    response = _add_intent_in_admin(manager_client, "invoice", ["怎么开发票", "能开发票吗", "发票在哪下载", "电子发票怎么看", "开个发票", "要发票"])
    assert response.status_code == 302
    assert Intent.objects.get(name="invoice").examples.count() == 6
    # when they start a training from the model-version page (eager Celery runs it on commit)
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(reverse("admin:nlp_modelversion_train"), {"backend": "linear", "activate": "on"})
    version = ModelVersion.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("admin:nlp_modelversion_report", args=[version.pk])
    # then the new version is ready, active and knows the new intent
    version.refresh_from_db()
    assert version.status == ModelStatus.READY and version.is_active and version.trained_by.username == "mgr"
    assert "invoice" in version.report["heldout"]["per_intent"]
    # and its report page shows the numbers
    page = manager_client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert f'{version.metrics["accuracy"]:.4f}' in html and "macro-F1" in html and "ECE" in html and "invoice" in html


def test_retrain_action_on_the_intent_list(manager_client, db_intents, model_dir, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(
            reverse("admin:nlp_intent_changelist"), {"action": "retrain", "_selected_action": [Intent.objects.first().pk]}
        )
    version = ModelVersion.objects.get()
    assert response.status_code == 302 and str(version.pk) in response["Location"]
    version.refresh_from_db()
    assert version.status == ModelStatus.READY and version.is_active


def test_a_failed_admin_training_shows_the_error(manager_client, model_dir, django_capture_on_commit_callbacks):
    # no intents at all: the task records the failure on the version
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(reverse("admin:nlp_modelversion_train"), {"backend": "linear"})
    version = ModelVersion.objects.get()
    assert version.status == ModelStatus.FAILED
    assert "两个" in manager_client.get(response["Location"]).content.decode()


def test_activate_action_switches_the_active_version(manager_client, tiny_examples, model_dir):
    first = model_train(examples=tiny_examples, activate=True)
    second = model_train(examples=tiny_examples)
    response = manager_client.post(reverse("admin:nlp_modelversion_changelist"), {"action": "activate", "_selected_action": [second.pk]})
    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.is_active and not first.is_active


def test_activate_action_refuses_a_failed_version(manager_client, model_dir):
    failed = ModelVersion.objects.create(backend="linear", status=ModelStatus.FAILED)
    manager_client.post(reverse("admin:nlp_modelversion_changelist"), {"action": "activate", "_selected_action": [failed.pk]})
    failed.refresh_from_db()
    assert not failed.is_active


def test_changelist_and_train_page_render(manager_client):
    assert manager_client.get(reverse("admin:nlp_modelversion_changelist")).status_code == 200
    page = manager_client.get(reverse("admin:nlp_modelversion_train"))
    assert page.status_code == 200 and "开始训练" in page.content.decode()
    assert manager_client.get(reverse("admin:nlp_entitypattern_changelist")).status_code == 200


def test_agents_cannot_train(client, agent_user):
    client.force_login(agent_user)
    assert client.get(reverse("admin:nlp_modelversion_train")).status_code == 403
