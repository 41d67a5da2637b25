import pytest

from nlp import tokens
from nlp.text import normalize_text


def test_tokenize_drops_punctuation_spaces_and_stop_words():
    result = tokens.tokenize(normalize_text("请问，我的订单 为什么还没发货啊？"))
    assert "," not in result and "?" not in result and " " not in result
    assert "的" not in result and "啊" not in result and "请问" not in result
    assert "订单" in result and "发货" in result
    # negations are never stop words: they carry the meaning
    assert "没" in result


def test_keep_stopwords_keeps_function_words_but_not_punctuation():
    result = tokens.tokenize(normalize_text("我的订单呢？"), keep_stopwords=True)
    assert result == ["我", "的", "订单", "呢"]


def test_tokenize_works_without_database_access():
    # no db fixture: pytest-django blocks the database, tokenisation falls back to plain jieba
    assert "退款" in tokens.tokenize("我要退款")


def test_empty_text_gives_no_tokens():
    assert tokens.tokenize("") == []


@pytest.fixture
def kb_entry(db):
    from knowledge.models import Category, Entry

    category = Category.objects.create(name="会员", slug="membership")
    return Entry.objects.create(
        external_id="T-1", category=category, question="云朵PLUS怎么开通", answer="在会员中心开通", keywords="云朵PLUS会员,极速退款通道",
        status="published",
    )


def test_kb_terms_are_kept_whole_and_follow_kb_changes(kb_entry):
    # given a KB keyword jieba does not know
    tokens.refresh_kb_dictionary(force=True)
    # then it is one token (normalised: lower case)
    assert "极速退款通道" in tokens.tokenize("我想走极速退款通道")
    assert "云朵plus会员" in tokens.kb_terms()
    # when the keyword is removed from the KB
    kb_entry.keywords = "云朵PLUS会员"
    kb_entry.save()
    tokens.refresh_kb_dictionary(force=True)
    # then it is split again like plain jieba would
    assert "极速退款通道" not in tokens.tokenize("我想走极速退款通道")
    assert "极速退款通道" not in tokens.kb_terms()


def test_synonyms_enter_the_dictionary(db):
    from knowledge.models import SynonymGroup

    SynonymGroup.objects.create(canonical="退款", terms="退钱钱,返款款项")
    tokens.refresh_kb_dictionary(force=True)
    assert "返款款项" in tokens.tokenize("返款款项到了吗")


def test_warm_up_is_idempotent():
    tokens.warm_up()
    tokens.warm_up()
    assert tokens.tokenize("你好")
