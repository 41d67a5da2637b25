"""Knowledge fixtures other apps can use too (list ``knowledge.tests.fixtures`` in ``pytest_plugins``).

- ``kb_fresh``: empty the per-process KB caches (local index, matcher, thresholds, synonyms,
  the KB words in jieba) before and after a test, with a watcher that checks on every call.
  Use it in any test that calls ``faq_match``/search after writing KB rows: those caches
  outlive a test's transaction.
- ``small_kb``: seven published entries over four categories (slugs = intent names) + a draft.
- ``analysed``: a factory of objects with the ``nlp.analyze()`` fields ``faq_match`` reads.
"""
from __future__ import annotations

import pytest

from knowledge.services import EntryData, entry_upsert

SMALL_KB = [
    EntryData(
        external_id="REFUND-1", category="退款", question="退款多久到账？",
        similar_questions=("钱什么时候退回来", "退款一般几天能到", "申请退款后多久到银行卡"),
        answer="退款审核通过后 **1-3 个工作日**原路退回。", keywords=("退款到账",),
    ),
    EntryData(
        external_id="REFUND-2", category="退款", question="怎么申请退款？",
        similar_questions=("我要退款在哪里操作", "退款入口在哪", "如何提交退款申请"),
        answer="在 **我的订单** 中点击申请退款。", keywords=("申请退款",),
    ),
    EntryData(
        external_id="SHIP-1", category="物流配送", question="什么时候发货？",
        similar_questions=("下单后多久发货", "付款以后几天发出", "怎么还不发货"),
        answer="付款后 48 小时内发货。", keywords=("发货时间",),
    ),
    EntryData(
        external_id="SHIP-2", category="物流配送", question="怎么查物流？",
        similar_questions=("快递到哪里了", "物流信息在哪看", "查询快递进度"),
        answer="在订单详情查看物流。", keywords=("查物流", "快递"),
    ),
    EntryData(
        external_id="INV-1", category="发票", question="怎么开发票？",
        similar_questions=("可以开发票吗", "发票在哪里申请", "我需要开具增值税发票"),
        answer="在订单详情申请电子发票。", keywords=("开发票",),
    ),
    EntryData(
        external_id="ACC-1", category="账户与安全", question="忘记密码怎么办？",
        similar_questions=("密码忘了登录不上", "怎么重置登录密码", "找回密码"),
        answer="在登录页点击忘记密码，用手机验证码重置。", keywords=("忘记密码", "重置密码"),
    ),
    EntryData(
        external_id="ACC-2", category="账户与安全", question="怎么注销账号？",
        similar_questions=("我不想用了想删除账户", "账号注销在哪", "如何注销账户"),
        answer="在 设置→账户安全→注销账号 提交申请。", keywords=("注销账号",),
    ),
    EntryData(
        external_id="DRAFT-1", category="发票", question="发票抬头可以改吗？",
        similar_questions=("发票抬头写错了",), answer="草稿答案。", status="draft",
    ),
]
SLUGS = {"退款": "refund", "物流配送": "shipping", "发票": "invoice", "账户与安全": "account"}


@pytest.fixture
def kb_fresh(settings, tmp_path):
    """Empty per-process KB caches before and after each test; models go to a temp dir."""
    from knowledge import selectors
    from knowledge.matching import matcher_reset
    from knowledge.search import local
    from nlp.tokens import kb_dictionary_forget

    settings.CSBOT_MODEL_DIR = str(tmp_path / "models")
    kb_dictionary_forget()
    local._state = None
    matcher_reset()
    selectors.thresholds_invalidate()
    selectors._synonym_cache.update(map=None, watcher=None)
    state = local._get_state()
    state.watcher.interval = 0.0
    yield
    kb_dictionary_forget()
    local._state = None
    matcher_reset()
    selectors.thresholds_invalidate()


@pytest.fixture
def small_kb(db):
    """Seven published entries over four categories (slugs = intent names) and one draft."""
    from dataclasses import replace

    entries = {}
    for data in SMALL_KB:
        entry, _ = entry_upsert(replace(data, category_slugs=SLUGS), source="test")
        entries[data.external_id] = entry
    return entries


class FakeAnalysis:
    """The fields of ``nlp.analyze()`` that ``faq_match`` reads, built from real normalisation/tokens."""

    def __init__(self, text: str, *, intent: str | None = None, confidence: float = 0.0) -> None:
        from nlp.text import normalize_text
        from nlp.tokens import tokenize

        self.text = normalize_text(text)
        self.tokens = tuple(tokenize(self.text))
        self.intent = intent
        self.confidence = confidence
        self.out_of_scope = False


@pytest.fixture
def analysed():
    return FakeAnalysis
