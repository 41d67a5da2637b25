import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from nlp.entities import extract_entities

from .conftest import DATA

TABLE = json.loads((DATA / "entities.json").read_text(encoding="utf-8"))
NOW = datetime.fromisoformat(TABLE["now"])


@pytest.mark.parametrize("case", TABLE["cases"], ids=[c["text"] for c in TABLE["cases"]])
def test_entities_match_golden_table(case):
    found = extract_entities(case["text"], now=NOW)
    assert [[e.kind, e.value, e.text] for e in found] == case["entities"]
    for entity in found:
        assert case["text"][entity.start : entity.end] == entity.text


@pytest.mark.parametrize(
    "now,text,expected",
    [
        # 23:30 UTC on the 20th is already the 21st in Shanghai
        (datetime(2026, 11, 20, 23, 30, tzinfo=ZoneInfo("UTC")), "今天", "2026-11-21"),
        # a Monday: 上周一 is a week ago, 这周一 is today, 下周一 is in a week
        (datetime(2026, 11, 16, 9, tzinfo=ZoneInfo("Asia/Shanghai")), "上周一", "2026-11-09"),
        (datetime(2026, 11, 16, 9, tzinfo=ZoneInfo("Asia/Shanghai")), "这周一", "2026-11-16"),
        (datetime(2026, 11, 16, 9, tzinfo=ZoneInfo("Asia/Shanghai")), "下周一", "2026-11-23"),
        # a Sunday still belongs to the week that started on Monday
        (datetime(2026, 11, 22, 9, tzinfo=ZoneInfo("Asia/Shanghai")), "上周日", "2026-11-15"),
        # across a year boundary
        (datetime(2026, 1, 1, 9, tzinfo=ZoneInfo("Asia/Shanghai")), "昨天", "2025-12-31"),
        (datetime(2026, 1, 3, 9, tzinfo=ZoneInfo("Asia/Shanghai")), "12月30号", "2025-12-30"),
        (datetime(2026, 12, 20, 9, tzinfo=ZoneInfo("Asia/Shanghai")), "1月5号", "2027-01-05"),
        # leap day
        (datetime(2028, 3, 1, 9, tzinfo=ZoneInfo("Asia/Shanghai")), "2月29号", "2028-02-29"),
        (datetime(2028, 3, 1, 9, tzinfo=ZoneInfo("Asia/Shanghai")), "前天", "2028-02-28"),
    ],
)
def test_tricky_dates(now, text, expected):
    [entity] = extract_entities(text, now=now)
    assert (entity.kind, entity.value) == ("date", expected)


def test_order_number_patterns_come_from_the_database(db):
    from nlp.entities import order_patterns
    from nlp.models import EntityPattern

    now = NOW
    # given the default pattern from the migration, and a manager's new one
    assert EntityPattern.objects.filter(pattern=r"YD\d{14}").exists()
    EntityPattern.objects.create(name="旧单号", pattern=r"OLD\d{6}")
    order_patterns.reset()
    # when a message contains both kinds
    found = extract_entities("旧单号old123456，新单号YD20261108123456", now=now)
    # then both are order numbers
    assert [(e.kind, e.value) for e in found] == [("order_number", "OLD123456"), ("order_number", "YD20261108123456")]
    # and disabling a pattern is picked up
    EntityPattern.objects.filter(pattern=r"YD\d{14}").update(enabled=False)
    order_patterns.reset()
    assert [e.value for e in extract_entities("YD20261108123456", now=now)] == []


def test_invalid_pattern_is_rejected_by_validation(db):
    from django.core.exceptions import ValidationError

    from nlp.models import EntityPattern

    with pytest.raises(ValidationError):
        EntityPattern(name="坏", pattern="YD(\\d").full_clean()
    with pytest.raises(ValidationError):
        EntityPattern(name="空", pattern="a*").full_clean()


@pytest.mark.django_db
def test_pattern_scans_keep_the_gil(monkeypatch):
    """The ``regex`` module lets go of the GIL on every scan unless told not to; in a server
    process the event loop then takes it and the chat turn waits for it (up to Python's switch
    interval) twice per message. Both scans of a turn must pass ``concurrent=False``."""
    import regex

    from knowledge.models import SynonymGroup
    from nlp import entities, tokens

    scans: list[dict] = []
    real_compile = regex.compile

    class Recording:
        def __init__(self, pattern):
            self.pattern = pattern

        def finditer(self, text, **kwargs):
            scans.append(kwargs)
            return self.pattern.finditer(text, **kwargs)

    monkeypatch.setattr(regex, "compile", lambda *a, **k: Recording(real_compile(*a, **k)))
    monkeypatch.setattr(entities, "_product_regex", (None, None))
    SynonymGroup.objects.create(canonical="降噪蓝牙耳机", terms="降噪耳机", is_product=True)
    tokens.refresh_kb_dictionary(force=True)
    entities.order_patterns.reset()
    try:
        found = extract_entities("降噪耳机的订单YD20261108123456还没到", now=NOW)
    finally:
        entities.order_patterns.reset()
    assert {e.kind for e in found} >= {"order_number", "product"}
    assert len(scans) == 2 and all(kwargs.get("concurrent") is False for kwargs in scans)
