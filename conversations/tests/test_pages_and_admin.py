"""The demo shop page, the site-key admin with its embed snippet, and the reply templates."""
from __future__ import annotations

import pytest
from django.urls import reverse

from conversations.models import ReplyTemplate, SiteKey
from conversations.realtime import message_data
from conversations.services import DEMO_SITE_KEY, demo_site_key_ensure, message_append, session_start

pytestmark = pytest.mark.django_db


def test_the_demo_page_embeds_the_widget_like_a_customer_site(client):
    demo_site_key_ensure()
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<script src="http://testserver/static/widget/csbot-widget.js" data-site-key="{DEMO_SITE_KEY}" async></script>' in html
    assert "云朵优选" in html


def test_without_the_demo_key_the_page_says_how_to_create_it(client):
    html = client.get("/").content.decode()
    assert "demo_setup" in html and "data-site-key" not in html


def test_the_demo_site_key_is_created_once_and_edits_are_kept():
    site, created = demo_site_key_ensure()
    assert created and site.origin_allowed("http://127.0.0.1:8000") and not site.origin_allowed("https://evil.example")
    SiteKey.objects.filter(pk=site.pk).update(welcome_message="改过的欢迎语")
    again, created_again = demo_site_key_ensure()
    assert (again.pk, created_again, again.welcome_message) == (site.pk, False, "改过的欢迎语")


def test_managers_see_the_embed_snippet_of_a_site_key(manager_client):
    site = SiteKey.objects.create(name="官网", allowed_origins="https://www.example.com")
    response = manager_client.get(reverse("admin:conversations_sitekey_change", args=[site.pk]))
    assert response.status_code == 200
    snippet = f'&lt;script src=&quot;http://testserver/static/widget/csbot-widget.js&quot; data-site-key=&quot;{site.key}&quot; async&gt;&lt;/script&gt;'
    assert snippet in response.content.decode()
    assert site.key.startswith("site_") and len(site.key) > 20


def test_managers_create_site_keys_and_bad_origins_are_refused(manager_client):
    url = reverse("admin:conversations_sitekey_add")
    form = {"name": "官网", "key": "official-site", "welcome_message": "您好", "theme_color": "#ff6600", "is_active": "on"}
    bad = manager_client.post(url, {**form, "allowed_origins": "shop.example.com/path"})
    assert bad.status_code == 200 and "格式不对" in bad.content.decode()
    good = manager_client.post(url, {**form, "allowed_origins": "https://Shop.Example.com/\nhttp://localhost:3000"})
    assert good.status_code == 302
    site = SiteKey.objects.get(key="official-site")
    assert site.origin_list == ["https://shop.example.com", "http://localhost:3000"]
    assert site.origin_allowed("https://shop.example.com")


def test_managers_edit_reply_templates_but_cannot_add_or_delete_them(manager_client):
    template = ReplyTemplate.objects.get(key="greeting")
    url = reverse("admin:conversations_replytemplate_change", args=[template.pk])
    response = manager_client.post(url, {"text": "您好呀～"})
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.text == "您好呀～"
    assert manager_client.get(reverse("admin:conversations_replytemplate_add")).status_code == 403
    assert set(ReplyTemplate.objects.values_list("key", flat=True)) == {
        "greeting", "thanks", "goodbye", "suggest_intro", "fallback", "out_of_scope", "handoff_queued", "idle_closed",
    }


def test_bot_html_is_sanitised_and_visitor_text_is_never_html():
    conversation = session_start().conversation
    bot = message_append(conversation=conversation, sender="bot", kind="answer", text='**退货**<img src=x onerror="alert(1)"><script>alert(2)</script>[链接](javascript:alert(3))')
    visitor = message_append(conversation=conversation, sender="visitor", text="<b>hi</b>")
    html = message_data(bot, feedback=None)["html"]
    assert "<strong>退货</strong>" in html
    assert "onerror" not in html and "<script" not in html and "javascript:" not in html
    assert message_data(visitor, feedback=None)["html"] is None
