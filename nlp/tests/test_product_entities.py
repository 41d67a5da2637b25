"""Product names come from the KB dictionary: synonym groups a manager marks as 商品名."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from knowledge.models import SynonymGroup
from nlp import tokens
from nlp.entities import extract_entities

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.mark.django_db
def test_product_names_and_aliases_are_entities_with_the_standard_name():
    SynonymGroup.objects.create(canonical="降噪蓝牙耳机", terms="蓝牙耳机, 降噪耳机", is_product=True)
    SynonymGroup.objects.create(canonical="退款", terms="退钱, 返款")  # a plain synonym group is no product
    tokens.refresh_kb_dictionary(force=True)

    found = [(e.kind, e.value, e.text) for e in extract_entities("我上周买的降噪耳机坏了，想退钱", now=NOW) if e.kind == "product"]

    assert found == [("product", "降噪蓝牙耳机", "降噪耳机")]
    # The product name stays one token for search and matching.
    assert "降噪耳机" in tokens.tokenize("降噪耳机坏了")


@pytest.mark.django_db
def test_a_new_product_is_recognised_after_a_kb_change_without_restart():
    tokens.refresh_kb_dictionary(force=True)
    assert not [e for e in extract_entities("扫地机器人不转了", now=NOW) if e.kind == "product"]

    SynonymGroup.objects.create(canonical="扫地机器人", terms="扫地机", is_product=True)
    tokens.refresh_kb_dictionary(force=True)

    assert [e.value for e in extract_entities("扫地机不转了", now=NOW) if e.kind == "product"] == ["扫地机器人"]
