import pytest

from nlp.sentiment import sentiment


@pytest.mark.parametrize(
    "text",
    ["你们是骗子吧！", "垃圾平台，再也不买了！！！", "再不给我退款我就去12315投诉！", "什么破服务，气死我了"],
)
def test_angry_messages_are_negative_and_angry(text):
    result = sentiment(text)
    assert result.label == "negative"
    assert result.is_angry


@pytest.mark.parametrize("text", ["我不是要投诉，就是问问", "不好意思，问一下怎么开发票", "拖鞋可以退吗", "没关系，不着急"])
def test_negative_words_in_neutral_questions_do_not_count(text):
    result = sentiment(text)
    assert result.label == "neutral"
    assert result.negative < 0.5 and not result.is_angry


def test_negated_praise_is_negative():
    assert sentiment("我很不满意").label == "negative"
    assert sentiment("我很满意").label == "positive"


def test_scores_are_probabilities():
    for text in ["", "你好", "垃圾垃圾垃圾骗子骗子滚蛋！！！"]:
        result = sentiment(text)
        assert 0.0 <= result.negative <= 1.0 and 0.0 <= result.angry <= 1.0


def test_more_anger_scores_higher():
    assert sentiment("太慢了").angry < sentiment("太慢了，骗子！！我要投诉！").angry
