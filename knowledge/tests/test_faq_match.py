"""faq_match: the chat pipeline's one call — bands, thresholds, ranking."""
from __future__ import annotations

import pytest

from knowledge.models import Category, MatchThreshold
from knowledge.selectors import (
    Candidate,
    FaqMatch,
    faq_match,
    thresholds_for,
    thresholds_invalidate,
)
from knowledge.services import threshold_set

pytestmark = pytest.mark.django_db


def test_paraphrase_of_a_similar_question_ranks_its_entry_first(small_kb, analysed):
    match = faq_match(analysed("忘了密码登录不上去怎么办"), limit=3)
    assert isinstance(match, FaqMatch) and isinstance(match.best, Candidate)
    assert match.best.external_id == "ACC-1" and match.best.category_slug == "account"
    assert len(match.candidates) <= 3
    assert [c.probability for c in match.candidates] == sorted((c.probability for c in match.candidates), reverse=True)
    assert match.best.answer.startswith("在登录页")


def test_bands_follow_the_global_thresholds(small_kb, analysed):
    # given thresholds that make any candidate an answer, then none
    threshold_set(category=None, answer=0.0, suggest=0.0)
    thresholds_invalidate()
    assert faq_match(analysed("快递到哪里了")).band == "answer"
    threshold_set(category=None, answer=1.0, suggest=1.0)
    thresholds_invalidate()
    match = faq_match(analysed("快递到哪里了"))
    assert match.band == "fallback" and match.thresholds.answer == 1.0


def test_category_threshold_overrides_the_global_one(small_kb, analysed):
    # given a permissive global row and a strict row for 物流配送 only
    threshold_set(category=None, answer=0.0, suggest=0.0)
    threshold_set(category=Category.objects.get(slug="shipping"), answer=1.0, suggest=1.0)
    thresholds_invalidate()
    # then shipping questions fall back while others are answered
    assert faq_match(analysed("快递到哪里了")).band == "fallback"
    assert faq_match(analysed("忘记密码了怎么办")).band == "answer"
    assert thresholds_for("shipping").scope == "shipping" and thresholds_for("refund").scope == "global"


def test_threshold_rows_must_be_ordered(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        threshold_set(category=None, answer=0.2, suggest=0.6)
    assert MatchThreshold.objects.filter(category=None, answer_threshold=0.2).count() == 0


def test_unrelated_question_is_not_answered(small_kb, analysed):
    match = faq_match(analysed("今天天气怎么样"))
    assert match.band != "answer"


def test_empty_question_and_empty_kb_fall_back(db, analysed):
    assert faq_match(analysed("")).band == "fallback"
    match = faq_match(analysed("怎么退款"))
    assert match.band == "fallback" and match.best is None and match.candidates == ()


def test_sub_category_inherits_its_parents_thresholds(small_kb):
    from knowledge.services import category_get_or_create_path

    child = category_get_or_create_path("物流配送/冷链")
    threshold_set(category=Category.objects.get(slug="shipping"), answer=0.9, suggest=0.4)
    thresholds_invalidate()
    assert thresholds_for(child.slug) == thresholds_for("shipping")
    assert thresholds_for(child.slug).answer == 0.9
