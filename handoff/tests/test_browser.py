"""The whole handoff story in a real browser, two contexts against one real server.

A visitor on the demo shop asks for a person; the agent, logged into admin with the console
open, gets it, accepts, replies with a canned response and a KB suggestion; the visitor sees
both live; the agent closes; the visitor rates the service. The server is a separate daphne
process in the embedded mode (its own SQLite file, in-memory layer), exactly like ``make run``.
"""
from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

SETUP = """
from csbot.demo import demo_users_ensure
from conversations.services import demo_site_key_ensure
from handoff.services.demo import handoff_demo_load
from knowledge.services import EntryData, entry_upsert
demo_users_ensure()
demo_site_key_ensure()
handoff_demo_load()
entry_upsert(EntryData(external_id="B-REF-1", category="退款", question="退款多久到账？",
    answer="支付宝/微信 1–3 个工作日到账，银行卡 3–7 个工作日。", category_slugs={"退款": "refund"},
    similar_questions=("退款什么时候到账", "钱多久退回来")))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium (make browsers)")
    if "handoff" not in (ROOT / "csbot" / "routing.py").read_text():
        pytest.skip("the agent socket is not routed yet (csbot/routing.py must include handoff.routing)")
    if "csat" not in (ROOT / "static" / "widget" / "csbot-widget.js").read_text() or "queue_dispatch" not in (ROOT / "handoff" / "services" / "escalations.py").read_text():
        pytest.skip("the widget's CSAT form / escalation routing are not wired yet (issue 5 files)")
    tmp = tmp_path_factory.mktemp("handoff-browser")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "ELASTICSEARCH_URL")}
    env.update(DJANGO_DEBUG="1", DJANGO_SETTINGS_MODULE="csbot.settings.base", CSBOT_VAR_DIR=str(tmp), CSBOT_SQLITE_PATH=str(tmp / "db.sqlite3"))
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=180)
    subprocess.run([*manage, "shell", "-c", SETUP], cwd=ROOT, env=env, check=True, timeout=120)
    port = _free_port()
    log = open(tmp / "daphne.log", "wb")  # noqa: SIM115 - closed in teardown
    proc = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "csbot.asgi:application"], cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # the ASGI module warms the NLP models up before listening
    while True:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("daphne did not start: " + (tmp / "daphne.log").read_text(errors="replace")[-2000:])
            time.sleep(0.2)
    yield {"base": base, "db": tmp / "db.sqlite3"}
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
    log.close()


def test_visitor_asks_for_a_human_agent_serves_closes_and_visitor_rates(server):
    from playwright.sync_api import expect, sync_playwright

    base = server["base"]
    # Generous waits: on a busy 2-core CI box a page or a first NLP turn can take seconds.
    expect.set_options(timeout=30_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            agent = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN").new_page()  # a Chinese-speaking agent
            visitor = browser.new_context(viewport={"width": 420, "height": 800}, locale="zh-CN").new_page()
            for page in (agent, visitor):
                page.set_default_timeout(30_000)
            agent.on("dialog", lambda dialog: dialog.accept())

            # the agent logs into admin, opens the console and goes online
            agent.goto(base + "/admin/login/?next=/admin/handoff/agentconsole/")
            agent.fill("#id_username", "agent")
            agent.fill("#id_password", "csbot-agent-2026")
            agent.click("input[type=submit]")
            expect(agent.locator("#hc-conn.hc-conn-on")).to_be_visible()
            agent.select_option("#hc-presence", "online")
            expect(agent.locator("#hc-presence.hc-presence-online")).to_be_visible()

            # the visitor opens the widget on the demo shop and asks for a person
            visitor.goto(base + "/")
            visitor.click(".launcher")
            visitor.click("button.human")

            # it arrives in the console (assigned to this agent) and the title shows a badge
            item = agent.locator("#hc-queue li").first
            expect(item).to_be_visible()
            expect(agent).to_have_title(re.compile(r"^\(\d+\) "))
            item.locator(".hc-accept-btn").click()
            expect(visitor.locator(".sub")).to_contain_text("小云")

            # a canned response, chosen with /shortcut
            agent.fill("#hc-input", "/refund")
            agent.press("#hc-input", "Enter")
            expect(agent.locator("#hc-input")).to_have_value("退款会原路退回：支付宝/微信 1–3 个工作日到账，银行卡 3–7 个工作日，余额/云朵币即时到账。")
            agent.press("#hc-input", "Enter")
            expect(visitor.locator(".msg.agent").last).to_contain_text("退款会原路退回")

            # the visitor asks; the agent sees it live and inserts the KB suggestion
            visitor.fill("textarea", "退款多久到账")
            visitor.click("button.send")
            expect(agent.locator("#hc-transcript li.hc-visitor").last).to_contain_text("退款多久到账")
            suggestion = agent.locator("#hc-suggestions li.hc-suggestion").filter(has_text="退款多久到账？")
            expect(suggestion).to_be_visible()
            suggestion.get_by_role("button", name="插入").click()
            agent.click("#hc-send")
            expect(visitor.locator(".msg.agent").last).to_contain_text("银行卡 3–7 个工作日")

            # the agent closes; the visitor rates 4 stars with a comment
            agent.click("#hc-close")
            csat = visitor.locator(".csat")
            expect(csat).to_be_visible()
            csat.locator("button.star").nth(3).click()
            csat.locator("textarea").fill("回复很快")
            csat.locator("button.csat-submit").click()
            expect(csat).to_contain_text("感谢")
        finally:
            browser.close()
            expect.set_options(timeout=5_000)  # Playwright's default, for other tests in this process

    with sqlite3.connect(server["db"]) as db:
        rating, comment = db.execute("SELECT csat_rating, csat_comment FROM conversations_conversation WHERE csat_rating IS NOT NULL").fetchone()
        reason, status, *times = db.execute(
            "SELECT reason, status, requested_at, assigned_at, accepted_at, ended_at FROM handoff_escalation ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert (rating, comment) == (4, "回复很快")
    assert (reason, status) == ("human_request", "ended") and all(times)
