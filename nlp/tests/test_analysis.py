import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import nlp

NOW = datetime(2026, 11, 21, 10, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_analyze_without_a_model_or_database_still_answers():
    # no db fixture: database access is blocked, there is no model
    result = nlp.analyze("我的手机13812345678，昨天订单YD20261108123456还没发货！！😡", now=NOW)
    assert result.intent is None and result.confidence == 0.0 and result.ranking == () and not result.out_of_scope
    assert result.emojis == ("😡",)
    assert "订单" in result.tokens and "😡" not in result.text
    assert [e.kind for e in result.entities] == ["phone", "date", "order_number"]
    assert result.entities_of("date")[0].value == "2026-11-20"
    assert [p.kind for p in result.pii] == ["phone"]
    assert result.masked == "我的手机138****5678，昨天订单YD20261108123456还没发货！！😡"
    assert result.sentiment.label == "negative"


def test_empty_message():
    result = nlp.analyze("", now=NOW)
    assert result.text == "" and result.tokens == () and result.entities == () and result.masked == ""


def test_importing_the_app_loads_no_heavy_library():
    code = (
        "import os, sys, django;"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'csbot.settings.test');"
        "django.setup();"
        "import nlp, nlp.models, nlp.admin, nlp.apps, nlp.analysis, nlp.tasks;"
        "heavy = [m for m in ('torch', 'transformers', 'sklearn', 'jieba') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_warm_up_never_raises_without_a_database():
    nlp.warm_up()
    assert nlp.analyze("你好", now=NOW).tokens == ("你好",)
