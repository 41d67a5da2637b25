"""The admin index as the managers' dashboard: who sees it, what it shows, its CSV, its filter errors."""
from __future__ import annotations

import csv
import gzip
import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from conversations.analytics import analytics_refresh
from conversations.analytics.views import plotly_js_path
from conversations.tests.test_analytics import scenario  # noqa: F401 - the fixture
from csbot.roles import AGENT_GROUP, MANAGER_GROUP

pytestmark = pytest.mark.django_db

INDEX = "admin:index"


def test_the_manager_role_holds_the_dashboard_permission_and_agents_do_not():
    assert Group.objects.get(name=MANAGER_GROUP).permissions.filter(codename="view_dashboard", content_type__app_label="conversations").exists()
    assert not Group.objects.get(name=AGENT_GROUP).permissions.filter(codename="view_dashboard").exists()


def test_sync_groups_stays_idempotent():
    from django.apps import apps

    from csbot.roles import sync_groups

    before = sorted(Group.objects.get(name=MANAGER_GROUP).permissions.values_list("codename", flat=True))
    sync_groups(apps)
    sync_groups(apps)
    assert sorted(Group.objects.get(name=MANAGER_GROUP).permissions.values_list("codename", flat=True)) == before
    assert Permission.objects.filter(codename="view_dashboard").count() == 1


def test_a_manager_sees_the_dashboard_with_the_numbers_and_the_app_list(manager_client, scenario):
    analytics_refresh()  # past days from aggregates, today live: the page shows the same numbers
    response = manager_client.get(reverse(INDEX))
    assert response.status_code == 200
    html = response.content.decode()
    dashboard = response.context["dashboard"]
    assert (dashboard.start, dashboard.end) == (scenario.d3 - timedelta(days=6), scenario.d3)  # default: last 7 days
    # stored: day 1 and 2; live: today, and the days before the first conversation (never stored)
    assert scenario.d3 in dashboard.live_days and not {scenario.d1, scenario.d2} & set(dashboard.live_days)
    for text in (
        'id="kpi-conversations"', ">10<", "消息 38 条",
        "37.5%", "3 / 8 个已结束会话",  # resolution
        "50.0%", "5 个会话转人工",  # handoff
        "30 秒", "P90 1 分 30 秒 · 5 次接入",  # queue wait
        "10 秒", "4 次接入有回复",  # first response
        "3.67", "3 人评价",  # CSAT
        "57.1%", "👍 4 · 👎 3",  # helpful
        "访客要求人工", "负面情绪", "连续差评",  # handoff reasons
        "refund", "小王", "李",
        'id="chart-conversations"', 'id="dashboard-charts"', "/admin/dashboard/plotly.min.js?v=",
        "知识库", "FAQ 条目",  # the app list stays below the dashboard
    ):  # fmt: skip
        assert text in html, text
    ref1 = scenario.entries["REF1"]
    assert f'href="{reverse("admin:knowledge_entry_change", args=[ref1.pk])}"' in html
    # nothing loaded from another host (no CDN); the CSRF token is random letters, so a bare
    # "cdn" substring check failed now and then
    assert re.search(r'(?:src|href)="(?:https?:)?//', html) is None


def test_the_charts_are_plotly_figures_of_the_range(manager_client, scenario):
    response = manager_client.get(reverse(INDEX), {"start": scenario.d1.isoformat(), "end": scenario.d3.isoformat()})
    charts = response.context["dashboard_charts"]
    conversations = charts["chart-conversations"]
    assert conversations["layout"]["barmode"] == "stack"
    assert [trace["name"] for trace in conversations["data"]] == ["网页组件", "REST 接口", "Webhook 渠道"]
    assert conversations["data"][0]["x"] == [scenario.d1.isoformat(), scenario.d2.isoformat(), scenario.d3.isoformat()]
    assert conversations["data"][0]["y"] == [4, 2, 1]
    assert charts["chart-csat"]["data"][0]["y"] == [0, 1, 0, 1, 1]
    assert charts["chart-rates"]["data"][0]["y"] == [25.0, 33.3, 100.0]


def test_presets_and_channel_filter(manager_client, scenario):
    today = manager_client.get(reverse(INDEX), {"range": "today"})
    assert today.status_code == 200
    assert (today.context["dashboard"].start, today.context["dashboard"].kpis.conversations) == (scenario.d3, 2)
    web = manager_client.get(reverse(INDEX), {"range": "30d", "channel": "web"})
    d = web.context["dashboard"]
    assert (d.start, d.channel, d.kpis.conversations, d.kpis.messages) == (scenario.d3 - timedelta(days=29), "web", 7, 25)
    html = web.content.decode()
    assert "?range=7d&amp;channel=web" in html and 'class="dash-preset active" data-preset="30d"' in html


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"start": "2026-13-45"}, "输入一个有效的日期"),
        ({"start": "2026-05-10", "end": "2026-05-01"}, "开始日期不能晚于结束日期"),
        ({"end": "2999-01-01"}, "结束日期不能晚于今天"),
        ({"start": "2000-01-01", "end": "2002-01-01"}, "日期范围最长 366 天"),
        ({"channel": "carrier-pigeon"}, "选择一个有效的选项"),
        ({"range": "forever"}, "选择一个有效的选项"),
    ],
)
def test_a_bad_range_is_a_form_error_not_a_500(manager_client, params, error):
    response = manager_client.get(reverse(INDEX), params)
    assert response.status_code == 400
    html = response.content.decode()
    assert error in html and 'class="errorlist dash-errors"' in html
    assert "dashboard" not in response.context or response.context.get("dashboard") is None
    assert "知识库" in html  # the rest of the admin index still works
    export = manager_client.get(reverse("admin:dashboard_export"), params)
    assert export.status_code == 400 and error in export.content.decode()


def test_an_agent_gets_the_plain_index_with_the_console_and_no_dashboard(client, agent_user, scenario):
    client.force_login(agent_user)
    response = client.get(reverse(INDEX))
    assert response.status_code == 200
    html = response.content.decode()
    assert "dashboard" not in response.context
    assert 'id="dashboard"' not in html and "机器人解决率" not in html
    assert reverse("admin:handoff_agentconsole_changelist") in html and "进入坐席工作台" in html
    assert client.get(reverse("admin:dashboard_export")).status_code == 403


def test_a_superuser_sees_the_dashboard(client, scenario):
    admin = get_user_model().objects.create_superuser("root", password="pw-root-1")
    client.force_login(admin)
    response = client.get(reverse(INDEX))
    assert response.status_code == 200 and 'id="dashboard"' in response.content.decode()


def test_anonymous_users_are_sent_to_the_login_page(client):
    for url in (reverse(INDEX), reverse("admin:dashboard_export"), reverse("admin:dashboard_plotly")):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_csv_export_holds_the_metrics_of_the_range(manager_client, scenario):
    analytics_refresh()
    params = {"start": scenario.d1.isoformat(), "end": scenario.d3.isoformat()}
    response = manager_client.get(reverse("admin:dashboard_export"), params)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="csbot-dashboard-{scenario.d1:%Y%m%d}-{scenario.d3:%Y%m%d}.csv"'
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows[0] == ["分组", "对象", "指标", "数值"]
    values = {(section, key, metric): value for section, key, metric, value in rows[1:]}
    assert values[("range", "", "channel")] == "all"
    assert values[("summary", "", "conversations")] == "10"
    assert values[("summary", "", "messages")] == "38"
    assert values[("summary", "", "resolution_rate")] == "0.375"
    assert values[("summary", "", "handoff_rate")] == "0.5"
    assert values[("summary", "", "queue_wait_median")] == "30.0"
    assert values[("summary", "", "queue_wait_p90")] == "90.0"
    assert values[("summary", "", "first_response_median")] == "10.0"
    assert float(values[("summary", "", "csat_average")]) == pytest.approx(11 / 3)
    assert values[("csat_distribution", "2", "conversations")] == "1"
    assert values[("daily", f"{scenario.d1.isoformat()}/api", "messages")] == "6"
    assert values[("handoff_reason", "human_request", "conversations")] == "2"
    assert values[("intent", "refund", "bot_replies")] == "5"
    ref1 = scenario.entries["REF1"]
    assert values[("faq", f"{ref1.pk} {ref1.question}", "handoffs_after")] == "2"
    assert values[("faq", f"{ref1.pk} {ref1.question}", "helpful_rate")] == "0.0"
    assert values[("agent", f"{scenario.a1.pk} 小王", "accepted")] == "4"
    assert values[("agent", f"{scenario.a2.pk} 李", "first_response_median")] == ""  # no sample: empty, not 0
    # The page links to the same export for the range shown.
    page = manager_client.get(reverse(INDEX), params).content.decode()
    assert f'{reverse("admin:dashboard_export")}?start={scenario.d1.isoformat()}&amp;end={scenario.d3.isoformat()}' in page


def test_csv_export_of_one_channel(manager_client, scenario):
    response = manager_client.get(reverse("admin:dashboard_export"), {"range": "7d", "channel": "api"})
    assert response.status_code == 200 and response["Content-Disposition"].endswith('-api.csv"')
    values = {(s, k, m): v for s, k, m, v in csv.reader(io.StringIO(response.content.decode("utf-8")[1:]))}
    assert (values[("range", "", "channel")], values[("summary", "", "conversations")]) == ("api", "2")


def test_plotly_js_is_served_locally_compressed_and_cached(manager_client):
    url = reverse("admin:dashboard_plotly")
    response = manager_client.get(url, HTTP_ACCEPT_ENCODING="gzip, br")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip" and "immutable" in response["Cache-Control"]
    assert gzip.decompress(response.content) == plotly_js_path().read_bytes()
    plain = manager_client.get(url)
    assert not plain.has_header("Content-Encoding") and plain.content == plotly_js_path().read_bytes()
    again = manager_client.get(url, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_the_page_reads_stored_days_with_a_bounded_number_of_queries(manager_client, scenario):
    """One query for all stored days, whatever the range's length (no per-day or N+1 queries)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    analytics_refresh()
    counts = []
    for preset in ("7d", "30d"):
        with CaptureQueriesContext(connection) as queries:
            assert manager_client.get(reverse(INDEX), {"range": preset}).status_code == 200
        counts.append(len(queries))
        assert sum("conversations_dailymetrics" in q["sql"] for q in queries) == 1
    # both ranges: session/user/permissions, the stored days, 6–7 queries per live run (the days
    # before the first chat, and today), entries, agent names, the app list's role checks
    assert counts[0] == counts[1] <= 25


def test_today_is_live_even_right_after_the_task_ran(manager_client, scenario):
    analytics_refresh()
    from conversations.tests.test_analytics import Script, local

    s = Script()
    late = s.conversation(local(scenario.d3, 0, 40))
    s.say(late, timezone.now())
    response = manager_client.get(reverse(INDEX), {"range": "today"})
    assert response.context["dashboard"].kpis.conversations == 3
