"""The curation loop in a real browser, with the real NLP and matcher on the demo KB:
a visitor's question falls back → the manager finds it under 待处理问题 → creates and publishes
an FAQ from it → the visitor asks again and gets that answer.

Same set-up as ``conversations/tests/test_browser.py`` (Debian's Chromium through Playwright,
a forked daphne sharing the test database), but without the scripted NLP stand-in.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from conversations.enums import MessageKind, Sender
from conversations.models import Message
from conversations.services import demo_site_key_ensure
from csbot.demo import demo_users_ensure
from csbot.testing import browser_test_requirements, chromium, in_thread, live_daphne
from knowledge.models import Entry, UnansweredDecision
from knowledge.services import demo_kb_load

ARTIFACTS = Path(os.environ.get("CSBOT_TEST_ARTIFACTS", "test-results"))
QUESTION = "可以用数字人民币付款吗"
ANSWER = "支持！结算页选择“数字人民币”即可付款。"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_world(transactional_db):
    """The demo shop as ``demo_setup`` makes it: KB, site key, staff users."""
    demo_kb_load()
    demo_users_ensure()
    return demo_site_key_ensure()[0]


@pytest.fixture
def live_server_url(demo_world):
    browser_test_requirements()
    with live_daphne(warm=True) as url:
        yield url


@pytest.fixture
def browser():
    with chromium() as launched:
        yield launched


def _ask(page, text: str):
    """Send ``text`` in the widget and return the locator of the bot's reply to it."""
    before = page.locator(".msg.bot").count()
    page.locator(".compose textarea").fill(text)
    page.keyboard.press("Enter")
    reply = page.locator(".msg.bot").nth(before)
    reply.wait_for(timeout=60_000)  # the first question warms jieba and trains the matcher
    return reply


def test_a_manager_turns_an_unanswered_question_into_an_faq_that_answers_it(live_server_url, browser):
    errors: list[str] = []
    visitor = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN").new_page()
    visitor.on("pageerror", lambda exc: errors.append(str(exc)))
    manager = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    manager.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        # A visitor asks something the demo KB cannot answer: the fallback
        visitor.goto(live_server_url + "/")
        visitor.locator(".launcher").click()
        visitor.locator(".head .sub").filter(has_text="智能客服在线").wait_for()
        _ask(visitor, QUESTION)
        replies = in_thread(lambda: list(Message.objects.filter(sender=Sender.BOT, reply_to__text=QUESTION).values_list("kind", flat=True)))
        assert replies == [MessageKind.FALLBACK]

        # The manager logs in and finds it under 待处理问题
        manager.goto(live_server_url + "/admin/")
        manager.locator("#id_username").fill("manager")
        manager.locator("#id_password").fill("csbot-manager-2026")
        manager.locator("input[type=submit]").click()
        manager.locator("a", has_text="待处理问题").first.click()
        group = manager.locator(".uq-group", has=manager.locator(".uq-representative", has_text=QUESTION))
        group.wait_for()
        assert group.locator(".uq-count").inner_text() == "1"
        manager.screenshot(path=str(_artifact("curation-unanswered.png")), full_page=True)

        # ... reads the example conversation's transcript (the question is highlighted)
        group.locator("summary", has_text="示例会话").click()
        group.locator(".uq-examples a").first.click()
        asked = manager.locator(".tx-msg.tx-visitor:target")
        asked.wait_for()
        assert QUESTION in asked.inner_text()
        assert "兜底回复" in manager.locator(".tx-msg.tx-bot").last.inner_text()
        manager.screenshot(path=str(_artifact("curation-transcript.png")), full_page=True)
        manager.go_back()

        # ... creates an FAQ from it: the question is prefilled, she writes the answer and publishes
        group.locator(".uq-create").click()
        assert manager.locator("#id_question").input_value() == QUESTION
        external_id = manager.locator("#id_external_id").input_value()
        assert external_id
        manager.locator("#id_answer").fill(ANSWER)
        manager.locator("#id_status").select_option("published")
        manager.locator("input[name=_save]").click()
        manager.locator(".messagelist .success").wait_for()
        assert manager.locator(".uq-representative", has_text=QUESTION).count() == 0
        entry = in_thread(lambda: Entry.objects.get(external_id=external_id))
        assert (entry.question, entry.status) == (QUESTION, "published")
        assert in_thread(lambda: UnansweredDecision.objects.filter(entry_id=entry.pk).count()) == 1

        # The visitor asks again and gets the new answer
        reply = _ask(visitor, QUESTION)
        reply.filter(has_text="数字人民币").wait_for()
        assert "结算页选择" in reply.inner_text()
        visitor.screenshot(path=str(_artifact("curation-answered.png")))
        answered = in_thread(lambda: Message.objects.filter(sender=Sender.BOT, reply_to__text=QUESTION).order_by("-seq").values_list("kind", "matched_entry_id").first())
        assert answered == (MessageKind.ANSWER, entry.pk)
        assert errors == []
    finally:
        visitor.close()
        manager.close()


def _artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name
