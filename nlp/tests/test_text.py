import json

import pytest

from nlp.text import normalize, normalize_text

from .conftest import DATA

CASES = json.loads((DATA / "normalize.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[c["raw"][:12] or "empty" for c in CASES])
def test_normalize_matches_golden_table(case):
    result = normalize(case["raw"])
    assert result.text == case["text"]
    assert list(result.emojis) == case["emojis"]


@pytest.mark.parametrize("case", CASES, ids=[c["raw"][:12] or "empty" for c in CASES])
def test_normalize_is_idempotent(case):
    once = normalize_text(case["raw"])
    assert normalize_text(once) == once


def test_offsets_map_every_normalised_character_to_its_raw_source():
    # given a message with full-width digits, spaces and emoji
    raw = "😀订单 ＹＤ１２ 好好好好"
    # when normalised
    result = normalize(raw)
    # then each character points at the raw character it came from
    assert len(result.offsets) == len(result.text)
    start = result.text.index("yd12")
    assert raw[slice(*result.raw_span(start, start + 4))] == "ＹＤ１２"


def test_normalize_text_is_the_text_of_normalize():
    assert normalize_text("ＨＥＬＬＯ 世界") == normalize("ＨＥＬＬＯ 世界").text == "hello世界"
