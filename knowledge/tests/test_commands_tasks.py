"""kb_evaluate / kb_reindex commands, the index-sync task, and answer rendering."""
from __future__ import annotations

import io
import json
from unittest import mock

import pytest
from django.core.management import call_command

from knowledge.rendering import answer_plain_text, render_answer
from knowledge.services import EntryData, entry_upsert

pytestmark = pytest.mark.django_db


def test_kb_evaluate_prints_one_json_with_the_metrics(small_kb, tmp_path):
    path = tmp_path / "eval.jsonl"
    rows = [{"query": "快递到哪里了呢", "expected": "SHIP-2"}, {"query": "忘了密码", "expected": "ACC-1"}, {"query": "今天天气不错", "expected": None}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    out = io.StringIO()
    call_command("kb_evaluate", str(path), "--json", stdout=out)
    report = json.loads(out.getvalue())
    for key in ("n", "recall_at_1", "recall_at_3", "mrr", "answer_rate", "answer_precision", "oos_false_answer_rate", "per_query"):
        assert key in report
    assert report["n"] == 3 and report["n_out_of_scope"] == 1
    assert report["recall_at_1"] == 1.0 and report["mrr"] == 1.0
    assert [q["expected"] for q in report["per_query"]] == ["SHIP-2", "ACC-1", None]
    for q in report["per_query"]:  # the runner-up: another entry, never likelier than the best
        assert q["runner_up"] != q["top"] and 0.0 <= q["runner_up_probability"] <= q["probability"]


def test_kb_evaluate_rejects_malformed_lines(db, tmp_path):
    from django.core.management.base import CommandError

    path = tmp_path / "bad.jsonl"
    path.write_text('{"query": "x"}\n', encoding="utf-8")
    with pytest.raises(CommandError, match="line 1"):
        call_command("kb_evaluate", str(path), "--json")


def test_kb_reindex_local_reports_entries_and_trains_the_matcher(small_kb):
    out = io.StringIO()
    call_command("kb_reindex", stdout=out)
    report = json.loads(out.getvalue())
    assert report["backend"] == "local" and report["entries"] == 7 and report["matcher_pairs"] > 0


def test_changes_enqueue_the_index_sync_after_commit_for_elasticsearch(db, settings, django_capture_on_commit_callbacks):
    settings.CSBOT_SEARCH_BACKEND = "elasticsearch"
    with mock.patch("knowledge.tasks.kb_index_sync.delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            entry, _ = entry_upsert(EntryData(external_id="E-1", question="问题", answer="答案"))
        delay.assert_not_called()  # nothing before commit
        for callback in callbacks:
            callback()
    delay.assert_called_once_with([entry.pk])


def test_index_sync_task_calls_the_backend(db):
    from knowledge.tasks import kb_index_sync

    backend = mock.Mock()
    with mock.patch("knowledge.search.get_backend", return_value=backend):
        kb_index_sync.apply(args=([3, 4],)).get()
    backend.index_entries.assert_called_once_with([3, 4])


def test_answer_plain_text_drops_markup_and_keeps_words():
    text = "订单在**发货前**可以取消：进入 **我的订单→取消订单**，详见[退款说明](https://example.com/r)。\n> 注意 `24小时`"
    assert answer_plain_text(text) == "订单在发货前可以取消：进入 我的订单→取消订单，详见退款说明。\n 注意 24小时"


def test_render_answer_keeps_markdown_and_drops_scripts():
    html = render_answer("**退款**请看[说明](https://example.com)<script>alert(1)</script>[x](javascript:alert(1))<img src=x onerror=alert(1)>")
    assert "<strong>退款</strong>" in html and 'href="https://example.com"' in html and 'rel="noopener noreferrer nofollow"' in html
    assert "<script" not in html and "javascript:" not in html and "onerror" not in html


def test_demo_kb_load_is_idempotent(db):
    from knowledge.models import Revision
    from knowledge.services import demo_kb_load

    first = demo_kb_load()
    revisions = Revision.objects.count()
    second = demo_kb_load()
    assert first["entries"] >= 150 and first["changed"] == first["entries"]
    assert second["changed"] == 0 and Revision.objects.count() == revisions
