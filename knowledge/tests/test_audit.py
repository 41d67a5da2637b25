"""The confusion audit (knowledge.audit, manage.py kb_audit): overlapping entries found from the KB alone."""
from __future__ import annotations

import json
from dataclasses import replace
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from knowledge.audit import kb_confusions
from knowledge.services import EntryData, entry_upsert

from .fixtures import SLUGS, SMALL_KB

pytestmark = pytest.mark.django_db

# Refund timing asked two ways: REFUND-1 of the small KB and this near-duplicate entry.
DUPLICATE = EntryData(
    external_id="REFUND-9", category="退款", question="退款几天能到账？",
    similar_questions=("退款多久能到账", "钱多久退回来", "退款什么时候到银行卡"),
    answer="审核通过后 1-3 个工作日到账。", keywords=(),
)


def test_a_near_duplicate_entry_is_the_most_confused_pair(kb_fresh, small_kb):
    # given the small KB plus an entry answering the same question as REFUND-1
    entry_upsert(replace(DUPLICATE, category_slugs=SLUGS), source="test")
    # when every KB text is asked with itself hidden
    audit = kb_confusions()
    # then every text was asked and the duplicate pair tops the list, both ways
    assert audit.texts == sum(1 + len(e.similar_questions) for e in [DUPLICATE, *SMALL_KB] if e.status == "published")
    top = audit.pairs[0]
    assert {top.a.external_id, top.b.external_id} == {"REFUND-1", "REFUND-9"}
    assert top.count >= 3 and 0 < top.share <= 1
    assert {c.own.external_id for c in top.confusions} == {"REFUND-1", "REFUND-9"}
    for confusion in top.confusions:
        assert confusion.chosen.external_id != confusion.own.external_id and 0 <= confusion.probability <= 1
    # and entries about different things are not paired with the refund entries
    assert not any({"SHIP-2", "INV-1"} & {p.a.external_id, p.b.external_id} and "REFUND-9" in {p.a.external_id, p.b.external_id} for p in audit.pairs)


def test_min_probability_keeps_only_confident_wrong_winners(kb_fresh, small_kb):
    entry_upsert(replace(DUPLICATE, category_slugs=SLUGS), source="test")
    everything = kb_confusions()
    confident = kb_confusions(min_probability=0.5)
    assert confident.confused <= everything.confused
    assert all(c.probability >= 0.5 for p in confident.pairs for c in p.confusions)
    assert kb_confusions(min_probability=1.01).pairs == []


def test_an_empty_kb_has_nothing_to_audit(kb_fresh, db):
    audit = kb_confusions()
    assert (audit.texts, audit.confused, audit.pairs) == (0, 0, [])


def test_kb_audit_command_prints_json_and_a_readable_table(kb_fresh, small_kb):
    entry_upsert(replace(DUPLICATE, category_slugs=SLUGS), source="test")
    out = StringIO()
    call_command("kb_audit", "--json", "--top", "1", "--examples", "2", stdout=out)
    report = json.loads(out.getvalue())
    assert report["texts"] > 0 and len(report["pairs"]) == 1 and len(report["pairs"][0]["examples"]) <= 2
    assert {report["pairs"][0]["a"]["id"], report["pairs"][0]["b"]["id"]} == {"REFUND-1", "REFUND-9"}
    table = StringIO()
    call_command("kb_audit", stdout=table)
    assert "REFUND-9" in table.getvalue() and "被匹配到其他条目" in table.getvalue()
    with pytest.raises(CommandError):
        call_command("kb_audit", "--min-probability", "2")


def test_admin_audit_page_runs_on_demand_and_links_both_entries(kb_fresh, small_kb, manager_client):
    from django.urls import reverse

    entry = entry_upsert(replace(DUPLICATE, category_slugs=SLUGS), source="test")[0]
    url = reverse("admin:knowledge_entry_audit")
    # a plain visit explains and offers the button, and asks nothing yet
    idle = manager_client.get(url)
    assert idle.status_code == 200 and idle.context["audit"] is None and "开始检查" in idle.content.decode()
    # pressing it lists the duplicate pair with links to both entries
    page = manager_client.get(url, {"run": "1"})
    html = page.content.decode()
    assert page.status_code == 200 and 'id="kb-audit-pairs"' in html
    first_pair = page.context["pairs"][0][0]
    assert {first_pair.a.external_id, first_pair.b.external_id} == {"REFUND-1", "REFUND-9"}
    assert reverse("admin:knowledge_entry_change", args=[entry.pk]) in html
    assert reverse("admin:knowledge_entry_change", args=[small_kb["REFUND-1"].pk]) in html
    # and "only confusions that would be answered" uses the answer threshold
    strict = manager_client.get(url, {"run": "1", "answered": "1"})
    assert strict.context["audit"].confused <= page.context["audit"].confused


def test_a_large_kb_is_sampled_with_a_fixed_seed(kb_fresh, small_kb):
    everything = kb_confusions()
    sampled = kb_confusions(max_texts=10)
    assert not everything.sampled and everything.total_texts == everything.texts
    assert sampled.sampled and (sampled.texts, sampled.total_texts) == (10, everything.texts)
    again = kb_confusions(max_texts=10)
    assert [c.text for p in again.pairs for c in p.confusions] == [c.text for p in sampled.pairs for c in p.confusions]
    assert sampled.as_dict()["sampled"] is True
