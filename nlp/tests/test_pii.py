import pytest

from nlp.pii import find_pii, id_card_valid, luhn_valid, mask_pii, store_text

MASK_CASES = [
    ("我的手机13812345678", "我的手机138****5678"),
    ("电话：+86 138-1234-5678", "电话：+86 138-****-5678"),
    ("１３８１２３４５６７８", "１３８****５６７８"),
    ("身份证11010519491231002X", "身份证110***********002X"),
    ("卡号 6222 0200 0000 0000 000 谢谢", "卡号 6222 **** **** ***0 000 谢谢"),
    ("邮箱 zhang.san@example.com", "邮箱 z***@example.com"),
    ("订单YD20261108123456", "订单YD20261108123456"),
    ("座机 01012345678", "座机 01012345678"),
    ("身份证110105194912310021（校验位错）", "身份证110105194912310021（校验位错）"),
    ("卡号6222020000000000000", "卡号6222***********0000"),
    ("", ""),
]


@pytest.mark.parametrize("raw,masked", MASK_CASES)
def test_mask_pii_masks_phones_ids_cards_and_emails(raw, masked):
    assert mask_pii(raw) == masked


@pytest.mark.parametrize(
    "number,valid",
    [
        ("11010519491231002X", True),
        ("11010519491231002x", True),
        ("110105194912310021", False),  # wrong check digit
        ("110105194913310025", False),  # month 13
        ("11010519491231002", False),  # 17 characters
    ],
)
def test_id_card_checksum_and_birth_date(number, valid):
    assert id_card_valid(number) is valid


@pytest.mark.parametrize(
    "number,valid",
    [("4111111111111111", True), ("6222020000000000000", True), ("6222020000000000001", False), ("4111111111111112", False), ("12345", False)],
)
def test_luhn(number, valid):
    assert luhn_valid(number) is valid


def test_spans_are_on_the_raw_text():
    raw = "😀 手机：１３８１２３４５６７８"
    [span] = find_pii(raw)
    assert (span.kind, span.value) == ("phone", "13812345678")
    assert raw[span.start : span.end] == "１３８１２３４５６７８"


def test_an_id_number_that_also_passes_luhn_is_reported_as_id_only():
    # given an ID number; whatever Luhn says, an ID with a valid checksum wins
    spans = find_pii("11010519491231002X")
    assert [s.kind for s in spans] == ["id_card"]


def test_store_text_follows_the_mask_setting(settings):
    settings.CSBOT_MASK_PII = True
    assert store_text("13812345678") == "138****5678"
    settings.CSBOT_MASK_PII = False
    assert store_text("13812345678") == "13812345678"
