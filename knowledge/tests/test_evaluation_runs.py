"""Re-running a kb_evaluate file from admin and comparing with the previous run."""
from __future__ import annotations

import json
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import floatformat
from django.urls import reverse

from knowledge.curation.evaluation_runs import evaluation_compare, evaluation_run_create, evaluation_run_execute
from knowledge.enums import EvaluationStatus
from knowledge.evaluation import kb_evaluate
from knowledge.models import EvaluationRun
from knowledge.selectors import thresholds_invalidate
from knowledge.services import threshold_set

pytestmark = pytest.mark.django_db

ROWS = [
    {"query": "快递到哪里了", "expected": "SHIP-2"},
    {"query": "忘了密码登录不上去怎么办", "expected": "ACC-1"},
    {"query": "今天天气怎么样", "expected": None},
]


def _jsonl(rows) -> bytes:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()


def _start(client, django_capture_on_commit_callbacks, **data):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("admin:knowledge_evaluationrun_add"), data)


def test_uploading_a_file_runs_the_same_evaluation_as_the_command(manager_client, small_kb, django_capture_on_commit_callbacks):
    response = _start(manager_client, django_capture_on_commit_callbacks, file=SimpleUploadedFile("golden.jsonl", _jsonl(ROWS)))
    run = EvaluationRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("admin:knowledge_evaluationrun_change", args=[run.pk])
    assert (run.status, run.file_name, run.created_by.username) == (EvaluationStatus.DONE, "golden.jsonl", "mgr")
    expected = kb_evaluate(ROWS)
    assert [q["band"] for q in run.per_query] == [q["band"] for q in expected["per_query"]]
    assert {k: run.metrics[k] for k in ("n", "recall_at_1", "answer_rate")} == {k: expected[k] for k in ("n", "recall_at_1", "answer_rate")}
    page = manager_client.get(response["Location"]).content.decode()
    assert "已完成" in page and "第一次运行" in page


def test_the_second_run_of_a_file_is_compared_with_the_first(manager_client, small_kb, django_capture_on_commit_callbacks):
    # given a first run where the in-scope questions are answered
    _start(manager_client, django_capture_on_commit_callbacks, file=SimpleUploadedFile("golden.jsonl", _jsonl(ROWS)))
    first = EvaluationRun.objects.get()
    assert first.metrics["answer_rate"] == 1.0
    # when the KB changes so nothing is answered directly, and the same file is picked again
    threshold_set(category=None, answer=1.0, suggest=0.2)
    thresholds_invalidate()  # as the threshold admin does on save
    response = _start(manager_client, django_capture_on_commit_callbacks, previous=first.pk)
    second = EvaluationRun.objects.exclude(pk=first.pk).get()
    # then the comparison shows the drop and the questions that went right → wrong
    comparison = evaluation_compare(second)
    assert comparison is not None and comparison.previous == first
    deltas = {m.name: (m.delta, m.verdict) for m in comparison.metrics}
    assert deltas["answer_rate"] == (-1.0, "worse")
    assert {after["query"] for _, after in comparison.right_to_wrong} == {"快递到哪里了", "忘了密码登录不上去怎么办"}
    assert comparison.wrong_to_right == []
    page = manager_client.get(response["Location"]).content.decode()
    assert 'class="flip-worse"><td>快递到哪里了' in page and "delta-worse" in page
    # the wrong answers list each question's runner-up: how close another entry came
    shipping = next(q for q in second.per_query if q["query"] == "快递到哪里了")
    assert shipping["runner_up"] and f'{shipping["runner_up"]} {floatformat(shipping["runner_up_probability"], 2)}</td>' in page
    # and a third run, after the KB is fixed, shows them coming back
    threshold_set(category=None, answer=0.5, suggest=0.2)
    thresholds_invalidate()
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(reverse("admin:knowledge_evaluationrun_rerun", args=[second.pk]))
    third = EvaluationRun.objects.order_by("-pk").first()
    assert {after["query"] for _, after in evaluation_compare(third).wrong_to_right} == {"快递到哪里了", "忘了密码登录不上去怎么办"}


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b'{"query": "x", "expected": null}\nnot json\n', "line 2"),
        (b'{"question": "x"}\n', "line 1"),
        (b"\n\n", "没有问题"),
        ("退款".encode("gbk"), "UTF-8"),
    ],
)
def test_an_invalid_file_is_a_form_error_and_nothing_is_saved(manager_client, small_kb, django_capture_on_commit_callbacks, content, error):
    response = _start(manager_client, django_capture_on_commit_callbacks, file=SimpleUploadedFile("bad.jsonl", content))
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not EvaluationRun.objects.exists()


def test_neither_file_nor_previous_run_is_a_form_error(manager_client, db):
    response = manager_client.post(reverse("admin:knowledge_evaluationrun_add"), {})
    assert response.status_code == 200 and "二选一" in response.content.decode()


def test_the_run_is_enqueued_after_commit_with_its_id(small_kb, django_capture_on_commit_callbacks):
    with mock.patch("knowledge.tasks.kb_evaluation_run.delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            run = evaluation_run_create(file_name="golden.jsonl", content=_jsonl(ROWS))
        delay.assert_not_called()
        for callback in callbacks:
            callback()
        delay.assert_called_once_with(run.pk)


def test_a_failing_evaluation_is_stored_on_the_run(small_kb, django_capture_on_commit_callbacks):
    with mock.patch("knowledge.tasks.kb_evaluation_run.delay"):
        run = evaluation_run_create(file_name="golden.jsonl", content=_jsonl(ROWS))
    with mock.patch("knowledge.evaluation.kb_evaluate", side_effect=RuntimeError("search backend down")):
        run = evaluation_run_execute(run.pk)
    assert run.status == EvaluationStatus.FAILED and "search backend down" in run.error


def test_agents_cannot_run_evaluations(client, agent_user):
    client.force_login(agent_user)
    assert client.get(reverse("admin:knowledge_evaluationrun_add")).status_code == 403
    assert client.get(reverse("admin:knowledge_evaluationrun_changelist")).status_code == 403
