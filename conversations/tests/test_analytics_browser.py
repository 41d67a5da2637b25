"""The dashboard in a real browser: a manager logs in, the plotly charts draw from the locally
served plotly.js (no request leaves the server), the presets and the channel filter work."""
from __future__ import annotations

from urllib.parse import urlparse

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from conversations.tests.test_analytics import scenario  # noqa: F401 - the fixture
from conversations.tests.test_browser import _artifact, browser, live_server_url  # noqa: F401 - fixtures
from csbot.roles import MANAGER_GROUP, roles_ensure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def boss(transactional_db):
    roles_ensure()  # earlier transactional tests flushed the groups the data migration made
    manager = get_user_model().objects.create_user("boss", password="pw-boss-1", is_staff=True)
    manager.groups.add(Group.objects.get(name=MANAGER_GROUP))
    return manager


def test_a_manager_reads_the_dashboard_with_drawn_charts(scenario, boss, live_server_url, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")  # a Chinese-speaking manager
    hosts: set[str] = set()
    errors: list[str] = []
    page.on("request", lambda request: hosts.add(urlparse(request.url).hostname or ""))
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(live_server_url + "/admin/login/?next=/admin/")
        page.fill("#id_username", "boss")
        page.fill("#id_password", "pw-boss-1")
        page.click("input[type=submit]")
        page.wait_for_selector("#dashboard")
        for chart in ("conversations", "messages", "rates", "reasons", "csat"):
            page.wait_for_selector(f"#chart-{chart}[data-drawn='1'] svg.main-svg", timeout=20000)
        assert page.locator("#kpi-resolution .dash-card-value").inner_text() == "37.5%"
        assert page.locator("#kpi-queue_wait .dash-card-value").inner_text() == "30 秒"
        assert page.locator("#table-entries a").first.inner_text() == scenario.entries["REF1"].question
        # three channels → three stacked bar series in the legend
        assert page.locator("#chart-conversations .legendtext").count() == 3
        page.screenshot(path=str(_artifact("dashboard.png")), full_page=True)

        page.click("a[data-preset='today']")
        page.wait_for_selector("#chart-conversations[data-drawn='1']")
        assert page.locator("#kpi-conversations .dash-card-value").inner_text() == "2"
        page.select_option("#id_channel", "api")
        page.click("#dashboard-filter button[type=submit]")
        page.wait_for_selector("#chart-conversations[data-drawn='1']")
        assert page.locator("#kpi-conversations .dash-card-value").inner_text() == "1"
        assert "channel=api" in page.locator("a.dash-export").get_attribute("href")
        assert page.locator("#content-main .app-knowledge").count() == 1  # the app list is still below
    finally:
        page.close()
    assert errors == []
    assert hosts == {"127.0.0.1"}, hosts  # plotly.js and everything else come from the server itself
