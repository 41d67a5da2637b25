"""Import / export: round trips in every format, previews, and invalid files that change nothing."""
from __future__ import annotations

import io
import json

import pytest
import tablib
from django.core.management import call_command
from django.core.management.base import CommandError

from csbot.errors import ApplicationError
from knowledge.models import Entry, Revision, SimilarQuestion
from knowledge.services import kb_export, kb_import, kb_import_plan
from knowledge.services.revisions import entry_snapshot

pytestmark = pytest.mark.django_db


def _state() -> list[dict]:
    return [entry_snapshot(e) for e in Entry.objects.order_by("external_id")]


def _rows_csv(rows: list[list[str]]) -> bytes:
    data = tablib.Dataset(headers=["id", "category", "question", "similar_questions", "answer", "keywords", "status"])
    for row in rows:
        data.append(row)
    return data.export("csv").encode("utf-8")


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "jsonl"])
def test_export_then_import_round_trips_every_field(small_kb, fmt):
    # given a KB (with a draft, multi-keyword entries and Markdown answers) exported to a file
    before = _state()
    content = kb_export(fmt)
    # when everything is deleted and the file imported again
    Entry.objects.all().delete()
    plan = kb_import(content, fmt)
    # then every entry comes back identical, and a second import changes nothing
    assert plan.counts["create"] == len(before)
    assert _state() == before
    again = kb_import(content, fmt)
    assert again.counts == {"create": 0, "update": 0, "unchanged": len(before), "error": 0}


def test_import_upserts_by_id_and_preview_classifies_rows(small_kb):
    # given a file that changes one entry, repeats one unchanged and adds one
    rows = [json.loads(line) for line in kb_export("jsonl").decode().splitlines()]
    by_id = {r["id"]: r for r in rows}
    changed = dict(by_id["REFUND-1"], answer="新的答案", similar_questions=["退款到账要多久"])
    unchanged = by_id["SHIP-1"]
    new = {"id": "NEW-1", "category": "会员/权益", "question": "会员有什么权益？", "answer": "包邮。", "similar_questions": ["会员福利"], "keywords": [], "status": "published"}
    content = "\n".join(json.dumps(r, ensure_ascii=False) for r in (changed, unchanged, new)).encode()
    # when previewing it
    plan = kb_import_plan(content, "jsonl")
    # then each row says what would happen, and nothing is written yet
    assert [(r.external_id, r.action) for r in plan.rows] == [("REFUND-1", "update"), ("SHIP-1", "unchanged"), ("NEW-1", "create")]
    assert set(plan.rows[0].changes) == {"answer", "similar_questions"}
    assert not Entry.objects.filter(external_id="NEW-1").exists()
    # when importing it
    kb_import(content, "jsonl")
    # then the entry is updated in place (same row), the new one created under a new sub-category
    refund = Entry.objects.get(external_id="REFUND-1")
    assert refund.pk == small_kb["REFUND-1"].pk and refund.answer == "新的答案"
    assert list(refund.similar_questions.values_list("text", flat=True)) == ["退款到账要多久"]
    assert Entry.objects.get(external_id="NEW-1").category.path == "会员/权益"


@pytest.mark.parametrize(
    "content, fmt, message",
    [
        (_rows_csv([["X-1", "退款", "", "", "答案", "", "published"]]), "csv", "question"),
        (_rows_csv([["X-1", "退款", "问题", "", "答案", "", "publish-now"]]), "csv", "status"),
        (_rows_csv([["X-1", "退款", "问题一", "", "答案", "", ""], ["X-1", "退款", "问题二", "", "答案", "", ""]]), "csv", "重复"),
        (b'{"id": "X-1", "question": "q", "answer": "a"}\n{not json}\n', "jsonl", "JSON"),
        (b"id,question\n", "csv", "没有数据行"),
        (b"PK\x03\x04 not really a workbook", "xlsx", "XLSX"),
        (b"question,answer\nq,a\n", "csv", "列名"),
    ],
)
def test_invalid_file_changes_nothing_and_reports_the_row(small_kb, content, fmt, message):
    # given a KB and a file with one bad row (plus, for most cases, valid rows before it)
    before = _state()
    revisions = Revision.objects.count()
    # when importing it
    with pytest.raises(ApplicationError) as caught:
        kb_import(content, fmt)
    # then the error names the problem and the database is exactly as before
    assert message in " ".join([caught.value.detail, *caught.value.extra.get("errors", [])])
    assert _state() == before
    assert Revision.objects.count() == revisions


def test_valid_rows_are_not_saved_when_a_later_row_is_invalid(small_kb):
    # given a file whose first row is valid and second row lacks an answer
    content = _rows_csv([["NEW-1", "退款", "新问题", "a|b", "答案", "", "published"], ["NEW-2", "退款", "另一个", "", "", "", ""]])
    # when importing
    with pytest.raises(ApplicationError):
        kb_import(content, "csv")
    # then not even the valid row exists
    assert not Entry.objects.filter(external_id__in=["NEW-1", "NEW-2"]).exists()
    plan = kb_import_plan(content, "csv")
    assert [r.line for r in plan.error_rows] == [3]


def test_csv_lists_are_pipe_separated_and_gbk_files_are_read(db):
    # given a CSV saved by Excel in GB18030 with | between similar questions
    text = "id,category,question,similar_questions,answer,keywords,status\nG-1,支付,能用花呗吗,花呗可以用吗|支持花呗分期吗,支持。,花呗，分期,published\n"
    # when importing it
    kb_import(text.encode("gb18030"), "csv")
    # then lists are split and the text decoded
    entry = Entry.objects.get(external_id="G-1")
    assert list(entry.similar_questions.values_list("text", flat=True)) == ["花呗可以用吗", "支持花呗分期吗"]
    assert entry.keyword_list == ["花呗", "分期"]


def test_xlsx_numeric_ids_stay_text(db):
    # given a workbook where a spreadsheet turned the id into a number
    data = tablib.Dataset(headers=["id", "question", "answer"])
    data.append([1001, "问题", "答案"])
    # when importing
    kb_import(data.export("xlsx"), "xlsx")
    # then the id is "1001", not "1001.0"
    assert Entry.objects.filter(external_id="1001").exists()


def test_kb_import_and_export_commands_use_the_same_service(small_kb, tmp_path):
    # given an export written by the command
    path = tmp_path / "kb.xlsx"
    call_command("kb_export", str(path))
    Entry.objects.filter(external_id="INV-1").update(answer="被改过的答案")
    # when the command imports it back
    out = io.StringIO()
    call_command("kb_import", str(path), stdout=out)
    # then the changed entry is restored and the summary printed
    assert Entry.objects.get(external_id="INV-1").answer == "在订单详情申请电子发票。"
    assert "更新 1 条" in out.getvalue()


def test_kb_import_command_fails_on_invalid_file_without_writing(db, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(_rows_csv([["A-1", "", "问题", "", "答案", "", ""], ["A-2", "", "", "", "答案", "", ""]]))
    with pytest.raises(CommandError):
        call_command("kb_import", str(path), stderr=io.StringIO())
    assert Entry.objects.count() == 0
    assert SimilarQuestion.objects.count() == 0


def test_unknown_extension_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="不支持"):
        call_command("kb_export", str(tmp_path / "kb.txt"))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_spreadsheet_cells_never_hold_formulas_and_still_round_trip(db, fmt):
    # given an entry whose texts start like spreadsheet formulas (and a similar question with a |)
    kb_import(
        json.dumps(
            {"id": "F-1", "question": "=cmd|' /C calc'!A0", "answer": "- 第一步\n- 第二步", "similar_questions": ["+1 怎么办", "注册|开户怎么弄"], "keywords": ["@客服"]},
            ensure_ascii=False,
        ).encode(),
        "jsonl",
    )
    before = _state()
    # when exported
    content = kb_export(fmt)
    # then no cell is a formula: each such cell starts with a quote
    if fmt == "xlsx":
        import openpyxl

        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row if cell.value]
        assert all(cell.data_type != "f" for cell in cells)
        values = [cell.value for cell in cells]
    else:
        values = tablib.Dataset().load(content.decode("utf-8-sig"), format="csv")[0]
    assert "'=cmd|' /C calc'!A0" in values and "'- 第一步\n- 第二步" in values and "'@客服" in values
    # and importing the file back changes nothing: quotes and the escaped | are undone
    Entry.objects.all().delete()
    kb_import(content, fmt)
    assert _state() == before
    assert before[0]["similar_questions"] == ["+1 怎么办", "注册|开户怎么弄"]


def test_xlsx_export_survives_control_characters_stored_earlier(small_kb):
    # given an answer with an escape character that reached the database before validation refused it
    Entry.objects.filter(external_id="INV-1").update(answer="在订单详情\x1b申请电子发票。")
    # when exporting XLSX, then it works and the character is dropped
    content = kb_export("xlsx")
    rows = tablib.Dataset().load(io.BytesIO(content), format="xlsx").dict
    assert [r["answer"] for r in rows if r["id"] == "INV-1"] == ["在订单详情申请电子发票。"]


def test_columns_missing_from_a_file_keep_the_stored_values(small_kb):
    # given a draft entry with a category, similar questions and keywords
    entry = Entry.objects.get(external_id="REFUND-1")
    Entry.objects.filter(pk=entry.pk).update(status="draft")
    before = {k: v for k, v in entry_snapshot(Entry.objects.get(pk=entry.pk)).items() if k != "answer"}
    assert before["similar_questions"] and before["category"]
    # when a file with only id, question, answer (and a blank status) updates it
    plan = kb_import(f"id,question,answer,status\nREFUND-1,{entry.question},新答案,\n".encode(), "csv")
    # then only the answer changed: nothing was wiped and the draft was not published
    assert plan.rows[0].changes == ["answer"]
    after = entry_snapshot(Entry.objects.get(pk=entry.pk))
    assert after["answer"] == "新答案"
    assert {k: v for k, v in after.items() if k != "answer"} == before


def test_a_new_entry_from_a_partial_file_gets_the_defaults(db):
    kb_import(b'{"id": "P-1", "question": "q", "answer": "a"}\n', "jsonl")
    entry = Entry.objects.get(external_id="P-1")
    assert (entry.status, entry.category_id, entry.keywords, entry.similar_questions.count()) == ("published", None, "", 0)


@pytest.mark.parametrize(
    "row, message",
    [
        ({"similar_questions": [None, 1, {"a": 1}]}, "similar_questions 必须是文本列表"),
        ({"keywords": [None, True]}, "keywords 必须是文本列表"),
        ({"question": {"x": 1}}, "question 必须是文本"),
        ({"answer": ["a"]}, "answer 必须是文本"),
        ({"status": True}, "status 必须是文本"),
        ({"answer": "长" * 20_001}, "answer 超过 20000 个字符"),
    ],
)
def test_jsonl_values_of_the_wrong_type_or_size_are_row_errors(db, row, message):
    content = json.dumps({"id": "TY-1", "question": "类型测试", "answer": "答案", **row}, ensure_ascii=False).encode()
    with pytest.raises(ApplicationError) as caught:
        kb_import(content, "jsonl")
    assert message in " ".join(caught.value.extra["errors"])
    assert not Entry.objects.exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "jsonl"])
def test_valid_until_round_trips_without_a_false_update(small_kb, fmt):
    # given an entry with an expiry date, exported (local time) and imported back
    from datetime import timedelta

    from django.utils import timezone

    Entry.objects.filter(external_id="INV-1").update(valid_until=timezone.now().replace(microsecond=0) + timedelta(days=3))
    plan = kb_import_plan(kb_export(fmt), fmt)
    # then every row is unchanged
    assert plan.counts["update"] == 0 and plan.counts["unchanged"] == len(small_kb)


def test_preview_says_which_categories_an_import_would_create(small_kb):
    content = _rows_csv([["N-1", "会员/新权益", "问题一", "", "答案", "", ""], ["N-2", "会员/新权益", "问题二", "", "答案", "", ""]])
    plan = kb_import_plan(content, "csv")
    assert [row.notes for row in plan.rows] == [["将新建分类：会员/新权益"], []]


def test_a_big5_csv_is_read_as_big5_not_as_gbk_mojibake(db):
    # given a CSV saved in Big5 (Traditional Chinese Excel), which GB18030 would also "decode"
    text = "id,category,question,similar_questions,answer,keywords,status\nB-1,退貨,怎麼申請退貨？,退貨流程|我要退貨,請在訂單詳情申請售後。,退貨,published\n"
    kb_import(text.encode("big5"), "csv")
    entry = Entry.objects.get(external_id="B-1")
    assert (entry.question, entry.category.name) == ("怎麼申請退貨？", "退貨")
    assert list(entry.similar_questions.values_list("text", flat=True)) == ["退貨流程", "我要退貨"]
