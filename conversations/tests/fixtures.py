"""Fixtures of the conversations app: site keys, sessions, FAQ entries, and a scripted
stand-in for the NLP/KB helpers so pipeline tests do not depend on trained models.

``scripted_nlp`` replaces only ``conversations.services.understanding.text_analyze`` and
``faq_match`` (the pipeline's two doors into nlp/knowledge); masking, rendering and
entry lookup stay real.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from django.core.cache import cache

from conversations.enums import Channel
from conversations.models import SiteKey
from conversations.services import session_start

SHOP_ORIGIN = "https://shop.example.com"


@dataclass(frozen=True)
class FakeSentiment:
    negative: float = 0.0
    angry: float = 0.0
    label: str = "neutral"


@dataclass(frozen=True)
class FakeScore:
    name: str
    probability: float


@dataclass(frozen=True)
class FakeAnalysis:
    """Shaped like ``nlp.analysis.Analysis`` where the pipeline reads it."""

    raw: str
    masked: str
    intent: str | None = None
    confidence: float = 0.0
    out_of_scope: bool = False
    sentiment: FakeSentiment = field(default_factory=FakeSentiment)
    ranking: tuple[FakeScore, ...] = ()
    entities: tuple = ()
    model_version: int | None = None


@dataclass(frozen=True)
class FakeCandidate:
    entry_id: int
    external_id: str
    question: str
    answer: str
    category_slug: str
    probability: float
    score: float = 1.0


@dataclass(frozen=True)
class FakeFaqMatch:
    band: str
    best: FakeCandidate | None
    candidates: tuple[FakeCandidate, ...]
    thresholds: tuple = ()


def make_analysis(text: str = "", *, intent: str | None = None, confidence: float = 0.9, negative: float = 0.0, angry: float = 0.0, out_of_scope: bool = False) -> FakeAnalysis:
    return FakeAnalysis(
        raw=text,
        masked=text,
        intent=intent,
        confidence=confidence if intent else 0.0,
        out_of_scope=out_of_scope,
        sentiment=FakeSentiment(negative=negative, angry=angry, label="negative" if negative >= 0.5 else "neutral"),
        ranking=(FakeScore(intent, confidence),) if intent else (),
    )


def make_candidate(entry_id: int = 1, question: str = "怎么申请退货？", *, probability: float = 0.9, slug: str = "returns") -> FakeCandidate:
    return FakeCandidate(entry_id=entry_id, external_id=f"E{entry_id}", question=question, answer=f"答案 {entry_id}", category_slug=slug, probability=probability)


def make_match(band: str, *candidates: FakeCandidate) -> FakeFaqMatch:
    return FakeFaqMatch(band=band, best=candidates[0] if candidates else None, candidates=tuple(candidates))


@pytest.fixture(autouse=True)
def fresh_process_caches():
    """Rules and templates are cached per process for seconds; every test starts cold."""
    from conversations.selectors import reply_templates_invalidate
    from conversations.services.turn import escalation_rules_invalidate

    escalation_rules_invalidate()
    reply_templates_invalidate()
    yield
    escalation_rules_invalidate()
    reply_templates_invalidate()


@pytest.fixture(autouse=True)
def generous_chat_limits(settings):
    """Generous limits by default (tests create many sessions from one IP); rate-limit
    tests set their own. Each test gets a fresh window namespace via the cache key salt."""
    settings.CSBOT_RATE_LIMIT_SESSIONS = "100000/60"
    settings.CSBOT_RATE_LIMIT_MESSAGES = "100000/60"
    settings.CSBOT_MASK_PII = True


@pytest.fixture
def clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def site_key(db) -> SiteKey:
    return SiteKey.objects.create(name="测试商城", key=f"test-site-{next(_counter)}", allowed_origins=SHOP_ORIGIN, welcome_message="欢迎光临！", theme_color="#123456")


_counter = itertools.count(1)


@pytest.fixture
def kb_entries(db):
    """Four published FAQ entries in two categories, created through the knowledge service."""
    from knowledge.services import EntryData, entry_upsert

    rows = [
        ("T-RET-1", "退换货", "returns", "怎么申请退货？", "在 **我的订单 → 申请售后** 里提交，24 小时内审核。"),
        ("T-REF-1", "退款", "refund", "退款多久到账？", "支付宝/微信 1–3 个工作日，银行卡 3–7 个工作日。"),
        ("T-REF-2", "退款", "refund", "退款会退到哪里？", "原路退回到您的支付账户。"),
        ("T-SHP-1", "物流配送", "shipping", "多久发货？", "付款后 48 小时内发货。"),
    ]
    entries = {}
    for external_id, category, slug, question, answer in rows:
        entry, _ = entry_upsert(EntryData(external_id=external_id, category=category, question=question, answer=answer, category_slugs={category: slug}))
        entries[external_id] = entry
    return entries


class ScriptedNlp:
    """Deterministic analysis and FAQ matching driven by keywords in the message.

    你好/谢谢/再见 → small talk; 人工 → human_request; 投诉 → complaint; 气死 → angry;
    天气 → out of scope; 退货 → KB answer; 退款 → KB suggestions; anything else → fallback.
    """

    def __init__(self, entries: dict) -> None:
        self.entries = entries
        self.calls: list[str] = []

    def candidate(self, external_id: str, probability: float) -> FakeCandidate:
        entry = self.entries[external_id]
        return FakeCandidate(entry.pk, entry.external_id, entry.question, entry.answer, entry.category.slug, probability)

    def analyze(self, text: str, *, now) -> FakeAnalysis:
        from nlp.pii import mask_pii

        self.calls.append(text)
        rules = [("你好", "greeting"), ("谢谢", "thanks"), ("再见", "goodbye"), ("人工", "human_request"), ("投诉", "complaint"), ("天气", "out_of_scope"), ("退货", "returns"), ("退款", "refund")]
        intent = next((name for word, name in rules if word in text), None)
        return FakeAnalysis(
            raw=text,
            masked=mask_pii(text),
            intent=intent,
            confidence=0.93 if intent else 0.0,
            out_of_scope=intent == "out_of_scope",
            sentiment=FakeSentiment(negative=0.95, angry=0.9, label="negative") if "气死" in text else FakeSentiment(),
        )

    def faq_match(self, analysis: FakeAnalysis, *, limit: int = 3) -> FakeFaqMatch:
        if "退货" in analysis.raw:
            return make_match("answer", self.candidate("T-RET-1", 0.91), self.candidate("T-REF-2", 0.2))
        if "退款" in analysis.raw:
            return make_match("suggest", self.candidate("T-REF-1", 0.55), self.candidate("T-REF-2", 0.41), self.candidate("T-RET-1", 0.12))
        return make_match("fallback", *([self.candidate("T-SHP-1", 0.05)] if "发" in analysis.raw else []))


@pytest.fixture
def scripted_nlp(kb_entries, monkeypatch) -> ScriptedNlp:
    from conversations.services import understanding

    nlp = ScriptedNlp(kb_entries)
    monkeypatch.setattr(understanding, "text_analyze", nlp.analyze)
    monkeypatch.setattr(understanding, "faq_match", nlp.faq_match)
    return nlp


@pytest.fixture
def api_session(db):
    """A REST session: ``(conversation, token)``."""
    grant = session_start(channel=Channel.API)
    return grant.conversation, grant.token
