"""Elasticsearch backend: request bodies, reindex choreography, fallback — and live tests when a cluster is set."""
from __future__ import annotations

import os
from unittest import mock

import pytest

from knowledge.search import elasticsearch as es
from knowledge.search.documents import kb_documents

pytestmark = pytest.mark.django_db


def test_mapping_uses_builtin_cjk_bigram_and_pretokenised_fields():
    definition = es.index_definition()
    analysis = definition["settings"]["analysis"]
    assert analysis["filter"]["kb_bigram"]["type"] == "cjk_bigram"
    assert analysis["analyzer"]["kb_cjk"]["filter"] == ["cjk_width", "lowercase", "kb_bigram"]
    assert analysis["analyzer"]["kb_tokens"]["tokenizer"] == "whitespace"
    props = definition["mappings"]["properties"]
    for field in ("question", "similar_questions", "keywords"):
        assert props[field]["analyzer"] == "kb_cjk"
    for field in ("question_tokens", "similar_tokens", "keyword_tokens"):
        assert props[field]["analyzer"] == "kb_tokens"
    assert props["answer"]["index"] is False and props["valid_until"]["type"] == "date"


def test_bulk_actions_hold_tokens_joined_by_spaces_with_synonyms(small_kb):
    docs = [d for d in kb_documents() if d.external_id == "REFUND-2"]
    (action,) = list(es.bulk_actions(docs, "csbot-kb-1", {"退钱": "退款"}))
    assert action["_op_type"] == "index" and action["_index"] == "csbot-kb-1" and action["_id"] == str(docs[0].entry_id)
    source = action["_source"]
    assert source["question"] == "怎么申请退款？" and source["question_tokens"].split(" ")[0] == "怎么"
    assert len(source["similar_tokens"]) == 3 and source["status"] == "published"
    assert list(es.delete_actions([5], "csbot-kb")) == [{"_op_type": "delete", "_index": "csbot-kb", "_id": "5"}]


def test_search_body_filters_to_answerable_and_searches_both_analyses():
    body = es.search_body("我要退钱", ["退钱"], limit=7, synonyms={"退钱": "退款"})
    assert body["size"] == 7
    should = body["query"]["bool"]["should"]
    assert should[0]["multi_match"]["query"] == "我要退钱"
    assert should[1]["multi_match"]["query"] == "退钱 退款"
    assert any("question_tokens" in f for f in should[1]["multi_match"]["fields"])
    filters = body["query"]["bool"]["filter"]
    assert {"term": {"status": "published"}} in filters
    assert "valid_until" in str(filters[1])


def test_unreachable_cluster_falls_back_to_local_and_counts(small_kb, analysed, settings, caplog):
    # given a backend pointed at a port nothing listens on
    settings.ELASTICSEARCH_URL = "http://127.0.0.1:9"
    settings.ELASTICSEARCH_TIMEOUT = 0.5
    backend = es.ElasticsearchBackend()
    before = es.search_fallback_counts().get("total", 0)
    a = analysed("快递到哪里了")
    # when searching twice (the second inside the cool-down)
    first = backend.search(a.text, a.tokens, limit=3)
    second = backend.search(a.text, a.tokens, limit=3)
    # then the local index answered both, the failure was logged once and both were counted
    assert first[0].external_id == second[0].external_id == "SHIP-2"
    assert es.search_fallback_counts()["total"] == before + 2
    assert es.search_fallback_counts().get("cooldown", 0) >= 1
    assert "Elasticsearch search failed" in caplog.text


def test_api_error_response_also_falls_back(small_kb, analysed):
    client = mock.Mock()
    client.search.side_effect = RuntimeError("index_not_found_exception")
    backend = es.ElasticsearchBackend(client=client)
    a = analysed("忘记密码")
    assert backend.search(a.text, a.tokens, limit=1)[0].external_id == "ACC-1"


def test_hits_from_response_build_search_hits():
    response = {"hits": {"hits": [{"_score": 3.5, "_source": {"entry_id": 4, "external_id": "X", "question": "q", "answer": "a", "category_slug": "order", "similar_questions": ["s"], "keywords": ["k"]}}]}}
    (hit,) = es.hits_from_response(response)
    assert (hit.entry_id, hit.score, hit.texts, hit.keywords) == (4, 3.5, ("q", "s"), ("k",))


def test_rebuild_creates_new_index_loads_swaps_alias_then_deletes_old(small_kb, settings):
    # given a cluster where the alias points at an older versioned index
    settings.ELASTICSEARCH_INDEX_ALIAS = "kbtest"
    client = mock.MagicMock()
    client.options.return_value = client
    client.indices.exists_alias.return_value = True
    client.indices.get_alias.return_value = mock.Mock(body={"kbtest-20240101000000000000": {}})
    client.indices.get.side_effect = lambda **kw: {"kbtest-20240101000000000000": {}, created["name"]: {}}
    created: dict = {}
    client.indices.create.side_effect = lambda index, **kw: created.setdefault("name", index)
    backend = es.ElasticsearchBackend(client=client)
    with mock.patch("elasticsearch.helpers.bulk", return_value=(7, [])) as bulk:
        report = backend.rebuild()
    # then: create → bulk into the new index → one atomic alias update → delete the old index
    new = created["name"]
    assert new.startswith("kbtest-") and report["index"] == new and report["entries"] == 7
    actions = list(bulk.call_args.args[1])
    assert len(actions) == 7 and {a["_index"] for a in actions} == {new}
    client.indices.update_aliases.assert_called_once_with(
        actions=[{"remove": {"index": "kbtest-20240101000000000000", "alias": "kbtest"}}, {"add": {"index": new, "alias": "kbtest"}}]
    )
    client.indices.delete.assert_called_once_with(index="kbtest-20240101000000000000")
    names = [c[0] for c in client.indices.method_calls]
    assert names.index("create") < names.index("refresh") < names.index("update_aliases") < names.index("delete")


def test_index_entries_indexes_answerable_and_deletes_the_rest(small_kb):
    client = mock.MagicMock()
    backend = es.ElasticsearchBackend(client=client)
    ids = [small_kb["SHIP-1"].pk, small_kb["DRAFT-1"].pk]
    with mock.patch("elasticsearch.helpers.bulk", return_value=(2, [])) as bulk:
        backend.index_entries(ids)
    ops = {(a["_op_type"], a["_id"]) for a in bulk.call_args.args[1]}
    assert ops == {("index", str(small_kb["SHIP-1"].pk)), ("delete", str(small_kb["DRAFT-1"].pk))}


@pytest.mark.elasticsearch
@pytest.mark.django_db(transaction=True)
def test_live_reindex_search_and_sync(small_kb, analysed, settings):
    """Against a real cluster (ELASTICSEARCH_URL): reindex, search, single-entry sync, alias swap."""
    settings.ELASTICSEARCH_URL = os.environ["ELASTICSEARCH_URL"]
    settings.ELASTICSEARCH_INDEX_ALIAS = "csbot-kb-test"
    backend = es.ElasticsearchBackend()
    first = backend.rebuild()
    second = backend.rebuild()
    assert first["index"] in second["deleted_indices"]
    a = analysed("快递到哪里了")
    before = es.search_fallback_counts().get("total", 0)
    assert backend.search(a.text, a.tokens, limit=3)[0].external_id == "SHIP-2"
    assert es.search_fallback_counts().get("total", 0) == before  # answered by the cluster
    from knowledge.enums import EntryStatus
    from knowledge.models import Entry

    Entry.objects.filter(external_id="SHIP-2").update(status=EntryStatus.ARCHIVED)
    backend.index_entries([small_kb["SHIP-2"].pk])
    assert "SHIP-2" not in [h.external_id for h in backend.search(a.text, a.tokens, limit=5)]
    backend.client.indices.delete(index=second["index"])
