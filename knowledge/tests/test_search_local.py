"""The local in-process index: what it finds, what it never returns, and refresh without restart."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from knowledge.models import Entry, SimilarQuestion
from knowledge.search.lexical import IndexDoc, LexicalIndex
from knowledge.search.local import LocalBackend

pytestmark = pytest.mark.django_db


def _ids(hits) -> list[str]:
    return [h.external_id for h in hits]


def test_search_finds_an_entry_through_its_similar_question(small_kb, analysed):
    a = analysed("快递到哪里了呢")
    hits = LocalBackend().search(a.text, a.tokens, limit=3)
    assert hits[0].external_id == "SHIP-2"
    assert hits[0].matched_text == "快递到哪里了"
    assert hits[0].texts[0] == "怎么查物流？" and hits[0].category_slug == "shipping"


def test_drafts_archived_and_expired_entries_are_never_returned(small_kb, analysed):
    # given the draft "发票抬头" entry and the refund entry expired yesterday
    Entry.objects.filter(external_id="REFUND-1").update(valid_until=timezone.now() - timedelta(days=1))
    backend = LocalBackend()
    # then neither is found even with their exact wording
    for question in ("发票抬头可以改吗", "退款多久到账"):
        a = analysed(question)
        assert not {"DRAFT-1", "REFUND-1"} & set(_ids(backend.search(a.text, a.tokens, limit=10)))


def test_second_backend_instance_sees_a_change_made_elsewhere(small_kb, analysed):
    # given a backend that has built its index
    first = LocalBackend()
    a = analysed("能用数字人民币付款吗")
    assert "PAY-9" not in _ids(first.search(a.text, a.tokens, limit=3))
    # when another writer adds an entry with raw ORM writes (no on_commit hook runs in this process)
    entry = Entry.objects.create(external_id="PAY-9", question="支持数字人民币吗？", answer="支持。", status="published")
    SimilarQuestion.objects.create(entry=entry, text="能用数字人民币付款吗")
    # then any backend instance finds it on the next search, through the fingerprint watcher
    assert _ids(LocalBackend().search(a.text, a.tokens, limit=3))[0] == "PAY-9"
    assert _ids(first.search(a.text, a.tokens, limit=3))[0] == "PAY-9"


def test_synonyms_match_both_ways():
    # given an index where 退款 is canonical for 退钱 (as SynonymGroup rows produce)
    mapping = {"退钱": "退款"}
    index = LexicalIndex(
        [IndexDoc(key=1, units=(("怎么退款", ("退款",)),)), IndexDoc(key=2, units=(("怎么开发票", ("开发票",)),))],
        expand=lambda tokens: [*tokens, *(mapping[t] for t in tokens if t in mapping)],
        family_weights={"w": 1.0, "c": 0.0, "b": 0.0},  # words only: characters can't help here
    )
    # when searching with the synonym
    hits = index.search("我要退钱", ("退钱",), limit=2)
    # then the entry written with the canonical word is found
    assert [h.doc for h in hits] == [0]


def test_exact_unit_names_the_one_entry_owning_a_wording():
    from knowledge.search.documents import KbDocument
    from knowledge.search.local import build_index

    def doc(pk: int, question: str, *similar: str) -> KbDocument:
        return KbDocument(pk, f"E-{pk}", question, "答案", None, "", similar, (), "published", None)

    built = build_index([doc(1, "如何申请退货？", "怎么退货", "退货入口在哪"), doc(2, "退款多久到账？", "退货入口在哪")], {})
    # the wording's content characters decide: case, spaces and punctuation aside
    position, unit = built.exact_unit("怎么 退货！")
    assert built.documents[position].external_id == "E-1"
    assert built.to_hit(position, 0.0, unit).matched_text == "怎么退货"
    assert built.exact_unit("如何申请退货")[0] == 0 and built.exact_unit("退款多久到账")[0] == 1
    # shared by two entries, a longer text or nothing at all: no owner
    assert built.exact_unit("退货入口在哪") is None
    assert built.exact_unit("怎么退货呢") is None and built.exact_unit("") is None and built.exact_unit("？") is None


def test_centroid_cosine_leaves_out_every_hidden_text():
    import numpy as np

    # given an entry of three texts and another entry
    units = (("退款多久到账", ("退款", "多久", "到账")), ("钱几天退回来", ("钱", "几天", "退回来")), ("怎么申请退款", ("怎么", "申请", "退款")))
    index = LexicalIndex([IndexDoc(key=1, units=units), IndexDoc(key=2, units=(("怎么开发票", ("怎么", "开发票")),))])
    text, tokens = "退款多久到账", ("退款", "多久", "到账")
    # when two of its texts are hidden (as held-out training questions are)
    hidden = index.centroid_cosines(text, tokens, [0, 1], exclude_units=[0, 2])
    # then its centroid is the one text left, whose cosine with the query is the plain one
    cols, _ = index.query_vector(text, tokens)
    weights = index.idf[cols] / np.linalg.norm(index.idf[cols])
    alone = float((index.unit_vectors[1][:, cols] @ weights).ravel()[0])
    assert hidden[0] == pytest.approx(alone, abs=1e-5)
    assert hidden[1] == pytest.approx(index.centroid_cosines(text, tokens, [1])[0])
    # and hiding one text still leaves the other two
    assert index.centroid_cosines(text, tokens, [0], exclude_units=[0])[0] > alone


def test_index_refreshes_across_processes(tmp_path):
    """A long-running process keeps answering and picks up a row another process committed.

    The "server" is a real second Python process with its own Django, jieba and index; the
    other writer is this test process, committing straight to the shared SQLite file (so no
    hook of the server's code can have told it about the change).
    """
    database = tmp_path / "shared.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "csbot.settings.test",
        "DJANGO_DEBUG": "1",
        "CSBOT_SQLITE_PATH": str(database),
        "CSBOT_MODEL_DIR": str(tmp_path / "models"),
        "CSBOT_SEARCH_BACKEND": "local",
        "PYTHONPATH": str(settings.BASE_DIR),
    }
    env.pop("DATABASE_URL", None)
    first = tmp_path / "a.jsonl"
    first.write_text(json.dumps({"id": "A-1", "category": "物流", "question": "什么时候发货", "answer": "48小时内", "similar_questions": ["多久发货"]}, ensure_ascii=False) + "\n", encoding="utf-8")
    server = textwrap.dedent(
        f"""
        import io, json, sys, django
        django.setup()
        from django.core.management import call_command
        call_command("migrate", "knowledge", verbosity=0)
        call_command("kb_import", {str(first)!r}, stdout=io.StringIO())
        from knowledge.search.local import LocalBackend, _get_state
        from nlp.text import normalize_text
        from nlp.tokens import tokenize
        _get_state().watcher.interval = 0.0
        backend = LocalBackend()
        print("ready", flush=True)
        for line in sys.stdin:
            text = normalize_text(line.strip())
            hits = backend.search(text, tuple(tokenize(text)), limit=3)
            print(json.dumps([h.external_id for h in hits]), flush=True)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", server], env=env, cwd=settings.BASE_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.stdin.write("支持开发票吗\n")
        proc.stdin.flush()
        assert "B-1" not in json.loads(proc.stdout.readline())
        # when another process commits a new published entry with a similar question
        now = timezone.now().isoformat(sep=" ")
        with sqlite3.connect(database) as db:
            cursor = db.execute(
                "INSERT INTO knowledge_entry (created_at, updated_at, external_id, question, answer, keywords, status)"
                " VALUES (?, ?, 'B-1', '支持开发票吗', '支持', '', 'published')",
                (now, now),
            )
            db.execute(
                "INSERT INTO knowledge_similarquestion (created_at, updated_at, entry_id, text) VALUES (?, ?, ?, '能开发票吗')",
                (now, now, cursor.lastrowid),
            )
        # then the running process finds it on its next search, without a restart
        proc.stdin.write("支持开发票吗\n")
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline())[0] == "B-1"
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)


def test_postings_gathered_without_scipy_fancy_indexing_equal_scipy():
    """``_gather_postings`` (the search's hot path) returns what slicing the matrix would."""
    import numpy as np
    from scipy import sparse

    from knowledge.search.lexical import _gather_postings

    rng = np.random.default_rng(5)
    dense = (rng.random((12, 9)) < 0.3) * rng.random((12, 9))
    for matrix in (sparse.csr_matrix(dense, dtype=np.float32), sparse.csc_matrix(dense, dtype=np.float32)):
        majors = np.array([3, 0, 3, 7, 11] if matrix.format == "csr" else [8, 0, 4, 4], dtype=np.int64)
        weights = rng.random(len(majors))
        owner, minor, values = _gather_postings(matrix, majors, weights)
        rebuilt = np.zeros((len(majors), dense.shape[1] if matrix.format == "csr" else dense.shape[0]))
        np.add.at(rebuilt, (owner, minor), values)
        expected = (dense[majors] if matrix.format == "csr" else dense[:, majors].T) * weights[:, None]
        assert rebuilt == pytest.approx(expected, rel=1e-6)
    # and no majors gives empty arrays, not an error
    assert all(len(a) == 0 for a in _gather_postings(sparse.csr_matrix(dense), np.zeros(0, dtype=np.int64), np.zeros(0)))
