"""The demo page in a real browser: Debian's Chromium (Playwright) against a real daphne.

The server is a forked daphne process (as channels' ``ChannelsLiveServerTestCase`` starts
it) sharing the test database, so the database must be one another process can open
(PostgreSQL, as in CI, or an on-disk SQLite). The scripted NLP stand-in is installed before
the fork, so the answers are deterministic and no model is trained.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conversations.models import Feedback, Message
from conversations.services import demo_site_key_ensure
from csbot.testing import browser_test_requirements, chromium, in_thread, live_daphne

ARTIFACTS = Path(os.environ.get("CSBOT_TEST_ARTIFACTS", "test-results"))

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live_server_url(transactional_db, scripted_nlp):
    """A daphne process serving csbot (HTTP, static files and WebSockets) on a free port."""
    browser_test_requirements()
    with live_daphne(warm=False) as url:
        yield url


@pytest.fixture
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def demo_site(db):
    return demo_site_key_ensure()[0]


def test_a_visitor_chats_rates_reloads_and_sees_the_history(demo_site, live_server_url, browser, kb_entries):
    page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        # Open the demo shop and the widget (the page's greedy CSS must not reach it)
        page.goto(live_server_url + "/")
        launcher = page.locator(".launcher")
        launcher.click()
        assert page.locator(".launcher").evaluate("el => getComputedStyle(el).borderTopStyle") == "none"
        panel = page.locator(".panel.open")
        panel.wait_for()
        assert "云朵优选" in page.locator(".msg.welcome").inner_text()
        page.locator(".head .sub").filter(has_text="智能客服在线").wait_for()

        # Ask: the answer arrives, with its Markdown rendered safely
        page.locator(".compose textarea").fill("我想退货")
        page.keyboard.press("Enter")
        answer = page.locator(".msg.bot").filter(has_text="申请售后").first
        answer.wait_for()
        assert answer.locator("strong").inner_text() == "我的订单 → 申请售后"

        # A vaguer question offers suggestions; clicking one answers that entry
        page.locator(".compose textarea").fill("退款的事")
        page.locator(".compose .send").click()
        chip = page.locator(".msg.bot .chip", has_text="退款会退到哪里？")
        chip.wait_for()
        assert page.locator(".msg.bot").last.locator(".chip").count() == 3
        chip.click()
        chosen = page.locator(".msg.bot").filter(has_text="原路退回到您的支付账户").first
        chosen.wait_for()

        # Rate that answer helpful
        chosen.locator(".rate-up").click()
        chosen.locator(".thanks", has_text="感谢您的反馈").wait_for()
        entry_id = kb_entries["T-REF-2"].pk
        assert in_thread(lambda: Feedback.objects.filter(message__matched_entry_id=entry_id, helpful=True).count()) == 1
        page.screenshot(path=str(_artifact("widget-chat.png")))

        # Reload: the session is kept, the history and the rating come back
        page.reload()
        page.locator(".launcher").click()
        history = page.locator(".msg[data-seq]")
        history.nth(5).wait_for()
        texts = history.all_inner_texts()
        assert any("我想退货" in t for t in texts) and any("原路退回" in t for t in texts)
        stored = in_thread(lambda: Message.objects.filter(conversation__site_key__key=demo_site.key).count())
        assert history.count() == stored == 6
        restored = page.locator(".msg.bot").filter(has_text="原路退回到您的支付账户").first
        assert "on" in (restored.locator(".rate-up").get_attribute("class") or "")
        assert errors == []
    finally:
        page.close()


def test_the_widget_fills_a_phone_screen(demo_site, live_server_url, browser):
    page = browser.new_page(viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True)
    try:
        page.goto(live_server_url + "/")
        page.locator(".launcher").tap()
        page.locator(".head .sub").filter(has_text="智能客服在线").wait_for()
        box = page.locator(".panel.open").bounding_box()
        assert box is not None and (box["width"], box["height"]) == (375, 667)
        page.screenshot(path=str(_artifact("widget-phone.png")))
    finally:
        page.close()


def test_the_offline_banner_goes_away_when_the_network_comes_back(demo_site, live_server_url, browser, kb_entries):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(live_server_url + "/")
        page.locator(".launcher").click()
        page.locator(".head .sub").filter(has_text="智能客服在线").wait_for()
        banner = page.locator(".banner")
        # The network drops (the socket may survive it): the visitor is told
        context.set_offline(True)
        page.locator(".banner.on", has_text="网络已断开").wait_for()
        # It comes back: the banner goes, and the chat works as before
        context.set_offline(False)
        expect(banner).not_to_have_class(re.compile(r"\bon\b"))
        page.locator(".compose textarea").fill("我想退货")
        page.keyboard.press("Enter")
        page.locator(".msg.bot").filter(has_text="申请售后").first.wait_for()
        assert "on" not in (banner.get_attribute("class") or "").split()
    finally:
        context.close()


def _artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name
