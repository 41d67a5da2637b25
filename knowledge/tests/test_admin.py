"""The managers' admin: import preview/confirm, export, 试一试, bulk actions, revisions and restore."""
from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from knowledge.enums import EntryStatus
from knowledge.models import Entry, Revision
from knowledge.services import kb_export

pytestmark = pytest.mark.django_db


def _jsonl(*rows: dict) -> bytes:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()


def test_changelist_links_to_import_export_and_try(manager_client, small_kb):
    response = manager_client.get(reverse("admin:knowledge_entry_changelist"))
    assert response.status_code == 200
    for name in ("knowledge_entry_import", "knowledge_entry_export", "knowledge_entry_try", "knowledge_entry_audit"):
        assert reverse(f"admin:{name}") in response.content.decode()


def test_import_preview_shows_actions_and_writes_nothing_until_confirmed(manager_client, small_kb):
    # given a file updating one entry and creating another
    content = _jsonl(
        {"id": "SHIP-1", "category": "物流配送", "question": "什么时候发货？", "answer": "24 小时内发货。", "similar_questions": ["下单后多久发货"]},
        {"id": "NEW-1", "category": "会员", "question": "会员怎么升级？", "answer": "消费满额自动升级。"},
    )
    url = reverse("admin:knowledge_entry_import")
    # when uploading it
    response = manager_client.post(url, {"file": SimpleUploadedFile("kb.jsonl", content)})
    # then the preview shows one update and one create, and nothing changed yet
    page = response.content.decode()
    assert response.status_code == 200
    assert "kb-row-update" in page and "kb-row-create" in page and "确认导入" in page
    assert not Entry.objects.filter(external_id="NEW-1").exists()
    # when confirming
    token = response.context["token"]
    response = manager_client.post(url, {"token": token, "fmt": "jsonl"})
    # then both rows are applied, with revisions by the manager
    assert response.status_code == 302
    assert Entry.objects.get(external_id="SHIP-1").answer == "24 小时内发货。"
    created = Entry.objects.get(external_id="NEW-1")
    assert Revision.objects.get(entry=created).user.username == "mgr"


def test_import_preview_of_invalid_file_lists_row_errors_and_offers_no_confirm(manager_client, small_kb):
    content = _jsonl({"id": "OK-1", "question": "好的问题", "answer": "答案"}, {"id": "BAD-1", "question": "", "answer": "答案"})
    response = manager_client.post(reverse("admin:knowledge_entry_import"), {"file": SimpleUploadedFile("kb.jsonl", content)})
    page = response.content.decode()
    assert "kb-row-error" in page and "缺少 question" in page
    assert "确认导入" not in page and not response.context["token"]
    assert not Entry.objects.filter(external_id__in=["OK-1", "BAD-1"]).exists()


def test_import_rejects_unknown_format(manager_client, db):
    response = manager_client.post(reverse("admin:knowledge_entry_import"), {"file": SimpleUploadedFile("kb.pdf", b"%PDF")})
    assert "不支持的文件格式" in response.content.decode()


def test_export_downloads_a_file_the_import_reads(manager_client, small_kb):
    response = manager_client.get(reverse("admin:knowledge_entry_export"), {"format": "csv"})
    assert response.status_code == 200 and response["Content-Disposition"].endswith('.csv"')
    assert response.content == kb_export("csv")


def test_try_page_shows_normalised_text_tokens_candidates_and_band(manager_client, small_kb):
    response = manager_client.get(reverse("admin:knowledge_entry_try"), {"question": "快遞到哪裡了？？"})
    page = response.content.decode()
    assert response.status_code == 200
    result = response.context["result"]
    assert result["analysis"].text == "快递到哪里了?"  # traditional → simplified, punctuation collapsed
    assert 'id="kb-normalized">快递到哪里了?<' in page
    assert "<span>快递</span>" in page
    assert result["match"].best.external_id == "SHIP-2" and "SHIP-2" in page
    assert f'kb-badge kb-{result["match"].band}' in page
    # 快递到哪里了 is word for word one of SHIP-2's similar questions, and the page says so
    assert result["match"].exact and 'id="kb-exact"' in page
    paraphrase = manager_client.get(reverse("admin:knowledge_entry_try"), {"question": "我的快递现在到哪了"})
    assert not paraphrase.context["result"]["match"].exact and 'id="kb-exact"' not in paraphrase.content.decode()


def test_agent_may_try_but_not_import(client, agent_user, small_kb):
    client.force_login(agent_user)
    assert client.get(reverse("admin:knowledge_entry_try"), {"question": "退款"}).status_code == 200
    assert client.get(reverse("admin:knowledge_entry_import")).status_code == 403


def test_bulk_publish_action_records_revisions(manager_client, small_kb):
    draft = small_kb["DRAFT-1"]
    response = manager_client.post(
        reverse("admin:knowledge_entry_changelist"), {"action": "publish", "_selected_action": [draft.pk]}, follow=True
    )
    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.status == EntryStatus.PUBLISHED
    assert Revision.objects.filter(entry=draft).latest("id").user.username == "mgr"


def test_editing_in_admin_records_a_revision_including_inline_changes(manager_client, small_kb):
    entry = small_kb["INV-1"]
    url = reverse("admin:knowledge_entry_change", args=[entry.pk])
    page = manager_client.get(url)
    assert page.status_code == 200 and "修订记录" in page.content.decode()
    similar = list(entry.similar_questions.order_by("id"))
    data = {
        "external_id": entry.external_id, "category": entry.category_id, "question": entry.question,
        "answer": "新的开票说明", "keywords": entry.keywords, "status": entry.status, "valid_until_0": "", "valid_until_1": "",
        "similar_questions-TOTAL_FORMS": str(len(similar) + 1), "similar_questions-INITIAL_FORMS": str(len(similar)),
        "similar_questions-MIN_NUM_FORMS": "0", "similar_questions-MAX_NUM_FORMS": "1000",
        "revisions-TOTAL_FORMS": "0", "revisions-INITIAL_FORMS": "0", "revisions-MIN_NUM_FORMS": "0", "revisions-MAX_NUM_FORMS": "0",
    }
    for i, sq in enumerate(similar):
        data.update({f"similar_questions-{i}-id": sq.pk, f"similar_questions-{i}-entry": entry.pk, f"similar_questions-{i}-text": sq.text})
    data.update({f"similar_questions-{len(similar)}-entry": entry.pk, f"similar_questions-{len(similar)}-text": "发票怎么开"})
    response = manager_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    revision = Revision.objects.filter(entry=entry).latest("id")
    assert "+answer: 新的开票说明" in revision.diff and "+similar_questions[]: 发票怎么开" in revision.diff
    assert revision.user.username == "mgr" and revision.source == "admin"


def test_restore_page_previews_then_restores(manager_client, small_kb):
    entry = small_kb["ACC-2"]
    first = Revision.objects.filter(entry=entry).earliest("id")
    Entry.objects.filter(pk=entry.pk).update(answer="被误改的答案")
    url = reverse("admin:knowledge_revision_restore", args=[first.pk])
    preview = manager_client.get(url)
    assert preview.status_code == 200 and "被误改的答案" in preview.content.decode()
    response = manager_client.post(url)
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.answer == first.snapshot["answer"]


def test_deleting_in_admin_keeps_a_restorable_revision(manager_client, small_kb):
    entry = small_kb["ACC-2"]
    response = manager_client.post(reverse("admin:knowledge_entry_delete", args=[entry.pk]), {"post": "yes"})
    assert response.status_code == 302
    revision = Revision.objects.filter(external_id="ACC-2").latest("id")
    assert revision.action == "delete"
    assert manager_client.get(reverse("admin:knowledge_revision_change", args=[revision.pk])).status_code == 200


def test_threshold_admin_lists_the_global_row(manager_client, db):
    response = manager_client.get(reverse("admin:knowledge_matchthreshold_changelist"))
    assert response.status_code == 200 and "全局" in response.content.decode()
