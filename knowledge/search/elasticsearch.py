"""Elasticsearch backend: a versioned index behind an alias, with the local index as fallback.

Layout: documents live in ``<alias>-<timestamp>`` indices; searches and single-entry
updates go through ``settings.ELASTICSEARCH_INDEX_ALIAS``. ``rebuild()`` (``manage.py
kb_reindex``) creates a new versioned index, bulk-loads it, swaps the alias in one atomic
``update_aliases`` call and only then deletes the old indices, so searches never see a
missing or half-built index.

Analysis uses only what ships with Elasticsearch (no plugins): ``*_tokens`` fields hold
csbot's own jieba tokens joined by spaces (split again by the ``whitespace`` tokenizer), and
the plain text fields use the ``standard`` tokenizer + ``cjk_bigram`` (with unigrams), so a
word jieba splits differently in a query and a document can still match on characters.

Any transport or API error during a search is logged, counted (``search_fallback_counts``)
and answered by the local in-process index instead; after a failure the cluster is skipped
for a short cool-down so visitors don't each wait for the timeout.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from functools import cached_property
from typing import Any

from django.conf import settings
from django.utils import timezone

from .base import SearchBackend, SearchHit
from .documents import KbDocument, kb_documents
from .local import LocalBackend, analyse_text, synonym_expander

logger = logging.getLogger(__name__)

COOL_DOWN_SECONDS = 10.0
_SOURCE_FIELDS = ["entry_id", "external_id", "question", "answer", "category_slug", "similar_questions", "keywords"]

_counter_lock = threading.Lock()
_fallbacks: Counter[str] = Counter()


def search_fallback_counts() -> dict[str, int]:
    """How many searches this process answered from the local index, by reason (for /metrics)."""
    with _counter_lock:
        return dict(_fallbacks)


def _count_fallback(reason: str) -> None:
    with _counter_lock:
        _fallbacks[reason] += 1
        _fallbacks["total"] += 1


# --- request bodies (pure functions; tested without a cluster) ------------------------------------


def index_definition() -> dict[str, Any]:
    """Settings and mappings of one versioned KB index."""
    text_cjk = {"type": "text", "analyzer": "kb_cjk"}
    text_tokens = {"type": "text", "analyzer": "kb_tokens"}
    return {
        "settings": {
            "number_of_shards": 1,
            "analysis": {
                "filter": {"kb_bigram": {"type": "cjk_bigram", "output_unigrams": True}},
                "analyzer": {
                    "kb_cjk": {"type": "custom", "tokenizer": "standard", "filter": ["cjk_width", "lowercase", "kb_bigram"]},
                    "kb_tokens": {"type": "custom", "tokenizer": "whitespace", "filter": ["lowercase"]},
                },
            },
        },
        "mappings": {
            "dynamic": "strict",
            "properties": {
                "entry_id": {"type": "long"},
                "external_id": {"type": "keyword"},
                "category_slug": {"type": "keyword"},
                "category_path": {"type": "keyword"},
                "status": {"type": "keyword"},
                "valid_until": {"type": "date"},
                "question": text_cjk,
                "question_tokens": text_tokens,
                "similar_questions": text_cjk,
                "similar_tokens": text_tokens,
                "keywords": text_cjk,
                "keyword_tokens": text_tokens,
                "answer": {"type": "text", "index": False},
            },
        },
    }


def _tokens_text(text: str, synonyms: dict[str, str]) -> str:
    _, tokens = analyse_text(text)
    return " ".join(synonym_expander(synonyms)(tokens))


def document_body(doc: KbDocument, synonyms: dict[str, str]) -> dict[str, Any]:
    """The ``_source`` of one entry: raw texts for ``cjk_bigram`` and pre-tokenised copies."""
    return {
        "entry_id": doc.entry_id,
        "external_id": doc.external_id,
        "category_slug": doc.category_slug,
        "category_path": doc.category_path,
        "status": doc.status,
        "valid_until": doc.valid_until.isoformat() if doc.valid_until else None,
        "question": doc.question,
        "question_tokens": _tokens_text(doc.question, synonyms),
        "similar_questions": list(doc.similar_questions),
        "similar_tokens": [_tokens_text(q, synonyms) for q in doc.similar_questions],
        "keywords": list(doc.keywords),
        "keyword_tokens": [_tokens_text(k, synonyms) for k in doc.keywords],
        "answer": doc.answer,
    }


def bulk_actions(docs: Iterable[KbDocument], index: str, synonyms: dict[str, str]) -> Iterator[dict[str, Any]]:
    """``helpers.bulk`` index actions, one per entry, keyed by the entry's primary key."""
    for doc in docs:
        yield {"_op_type": "index", "_index": index, "_id": str(doc.entry_id), "_source": document_body(doc, synonyms)}


def delete_actions(ids: Iterable[int], index: str) -> Iterator[dict[str, Any]]:
    for entry_id in ids:
        yield {"_op_type": "delete", "_index": index, "_id": str(entry_id)}


def search_body(query_text: str, tokens: Sequence[str], *, limit: int, synonyms: dict[str, str] | None = None) -> dict[str, Any]:
    """Search request: best of the tokenised and the bigram fields, only answerable entries."""
    expanded = " ".join(synonym_expander(synonyms or {})(tokens))
    should: list[dict[str, Any]] = [
        {
            "multi_match": {
                "query": query_text,
                "type": "best_fields",
                "fields": ["question^1.2", "similar_questions", "keywords^0.5"],
                "tie_breaker": 0.3,
            }
        }
    ]
    if expanded:
        should.append(
            {
                "multi_match": {
                    "query": expanded,
                    "type": "best_fields",
                    "fields": ["question_tokens^1.2", "similar_tokens", "keyword_tokens^0.5"],
                    "tie_breaker": 0.3,
                }
            }
        )
    return {
        "size": limit,
        "query": {
            "bool": {
                "should": should,
                "minimum_should_match": 1,
                "filter": [
                    {"term": {"status": "published"}},
                    {
                        "bool": {
                            "should": [
                                {"bool": {"must_not": {"exists": {"field": "valid_until"}}}},
                                {"range": {"valid_until": {"gt": "now"}}},
                            ],
                            "minimum_should_match": 1,
                        }
                    },
                ],
            }
        },
        "source": _SOURCE_FIELDS,
    }


def hits_from_response(response: Any) -> list[SearchHit]:
    hits = []
    for raw in response["hits"]["hits"]:
        src = raw["_source"]
        question = src["question"]
        hits.append(
            SearchHit(
                entry_id=int(src["entry_id"]),
                external_id=src["external_id"],
                question=question,
                answer=src.get("answer") or "",
                category_slug=src.get("category_slug"),
                score=float(raw["_score"] or 0.0),
                texts=(question, *(src.get("similar_questions") or ())),
                keywords=tuple(src.get("keywords") or ()),
                matched_text=question,
            )
        )
    return hits


def versioned_index_name(alias: str) -> str:
    return f"{alias}-{timezone.now():%Y%m%d%H%M%S%f}"


# --- the backend -----------------------------------------------------------------------------------


class ElasticsearchBackend(SearchBackend):
    name = "elasticsearch"

    def __init__(self, client: Any = None) -> None:
        self._client = client
        self.alias: str = settings.ELASTICSEARCH_INDEX_ALIAS
        self.fallback = LocalBackend()
        self._down_until = 0.0

    @cached_property
    def client(self) -> Any:
        """The elasticsearch-py client, created on first use (never at import time)."""
        if self._client is not None:
            return self._client
        from elasticsearch import Elasticsearch

        return Elasticsearch(
            settings.ELASTICSEARCH_URL,
            request_timeout=settings.ELASTICSEARCH_TIMEOUT,
            max_retries=0,  # a retry doubles the wait; the local index is the retry
            retry_on_timeout=False,
        )

    def _synonyms(self) -> dict[str, str]:
        from knowledge.selectors import synonym_map_cached

        return synonym_map_cached()

    def search(self, query_text: str, tokens: Sequence[str], *, limit: int = 10) -> list[SearchHit]:
        if time.monotonic() < self._down_until:
            _count_fallback("cooldown")
            return self.fallback.search(query_text, tokens, limit=limit)
        try:
            body = search_body(query_text, tokens, limit=limit, synonyms=self._synonyms())
            response = self.client.search(index=self.alias, **body)
            return hits_from_response(response)
        except Exception as exc:  # any cluster/transport/API problem: answer locally
            self._down_until = time.monotonic() + COOL_DOWN_SECONDS
            reason = type(exc).__name__
            _count_fallback(reason)
            logger.warning("Elasticsearch search failed (%s: %s); answering from the local index", reason, exc)
            return self.fallback.search(query_text, tokens, limit=limit)

    def index_entries(self, ids: Iterable[int]) -> None:
        """Index the answerable ones among ``ids`` and delete the rest (unpublished, expired, gone)."""
        from elasticsearch import helpers

        ids = list(ids)
        docs = kb_documents(ids)
        present = {d.entry_id for d in docs}
        actions = [*bulk_actions(docs, self.alias, self._synonyms()), *delete_actions([i for i in ids if i not in present], self.alias)]
        if actions:
            helpers.bulk(self.client, actions, raise_on_error=False, refresh="wait_for")
        self.fallback.index_entries(ids)

    def delete_entries(self, ids: Iterable[int]) -> None:
        from elasticsearch import helpers

        helpers.bulk(self.client, delete_actions(list(ids), self.alias), raise_on_error=False, refresh="wait_for")
        self.fallback.delete_entries(ids)

    def rebuild(self) -> dict:
        """New versioned index → bulk load → atomic alias swap → delete the old indices."""
        from elasticsearch import helpers

        from knowledge.selectors import synonym_map

        started = time.perf_counter()
        client = self.client.options(request_timeout=max(60.0, settings.ELASTICSEARCH_TIMEOUT))
        new_index = versioned_index_name(self.alias)
        definition = index_definition()
        client.indices.create(index=new_index, settings=definition["settings"], mappings=definition["mappings"])
        docs = kb_documents()
        ok, errors = helpers.bulk(client, bulk_actions(docs, new_index, synonym_map()), raise_on_error=False, chunk_size=500)
        if errors:
            client.indices.delete(index=new_index)
            raise RuntimeError(f"bulk load into {new_index} failed for {len(errors)} documents: {errors[:3]}")
        client.indices.refresh(index=new_index)
        old = self._indices_behind_alias(client)
        if client.indices.exists_alias(name=self.alias) or not client.indices.exists(index=self.alias):
            actions = [{"remove": {"index": name, "alias": self.alias}} for name in old]
            actions.append({"add": {"index": new_index, "alias": self.alias}})
            client.indices.update_aliases(actions=actions)
        else:
            raise RuntimeError(f"a concrete index is named {self.alias!r}; delete it so the alias can take its name")
        stale = [name for name in self._versioned_indices(client) if name != new_index]
        if stale:
            client.indices.delete(index=",".join(stale))
        self.fallback.rebuild()
        return {
            "backend": self.name,
            "index": new_index,
            "entries": ok,
            "deleted_indices": stale,
            "seconds": round(time.perf_counter() - started, 3),
        }

    def _indices_behind_alias(self, client: Any) -> list[str]:
        if not client.indices.exists_alias(name=self.alias):
            return []
        return sorted(client.indices.get_alias(name=self.alias).body)

    def _versioned_indices(self, client: Any) -> list[str]:
        response = client.indices.get(index=f"{self.alias}-*", allow_no_indices=True, ignore_unavailable=True)
        return sorted(getattr(response, "body", response))

    def health(self) -> str | None:
        info = self.client.options(request_timeout=settings.ELASTICSEARCH_TIMEOUT).cluster.health(index=self.alias)
        status = info["status"]
        if status == "red":
            raise RuntimeError(f"Elasticsearch index {self.alias} is red")
        return f"elasticsearch {status}"
