"""Agent REST API: happy paths through the same services, and a permission check for every endpoint."""
from __future__ import annotations

import uuid

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from conversations.enums import ConversationStatus
from handoff.enums import EscalationStatus, Presence
from handoff.models import CannedResponse, Escalation
from handoff.services.agent_chat import escalation_accept

pytestmark = [pytest.mark.django_db, pytest.mark.urls("handoff.tests.urls")]


def url(name: str, conversation=None) -> str:
    kwargs = {"conversation_id": str(conversation.conversation_id if hasattr(conversation, "conversation_id") else conversation)} if conversation is not None else {}
    return reverse(f"api:v1:agent:{name}", kwargs=kwargs)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def alice(make_agent):
    return make_agent("alice")


@pytest.fixture
def bob(make_agent):
    return make_agent("bob")


@pytest.fixture
def alices_chat(alice, make_waiting):
    escalation = make_waiting()
    escalation_accept(user=alice, conversation_id=escalation.conversation_id)
    escalation.refresh_from_db()
    return escalation


def test_whole_story_over_http(alice, make_waiting, make_agent):
    # given a waiting chat
    escalation = make_waiting()
    api = client_for(alice)
    # the agent sees it in the queue
    queue = api.get(url("queue")).json()["results"]
    assert [item["conversation_id"] for item in queue] == [str(escalation.conversation_id)]
    assert queue[0]["reason"] == "human_request" and queue[0]["wait_seconds"] >= 0
    # accepts, replies, notes
    assert api.post(url("accept", escalation)).json()["escalation"]["status"] == "active"
    sent = api.post(url("send", escalation), {"text": "您好，我来帮您", "client_msg_id": "m1"}, format="json")
    assert sent.status_code == 201 and sent.json()["message"]["sender"] == "agent"
    assert api.post(url("note", escalation), {"text": "VIP"}, format="json").status_code == 201
    transcript = api.get(url("transcript", escalation)).json()
    assert [m["kind"] for m in transcript["messages"]][-2:] == ["text", "note"]
    assert api.get(url("chats")).json()["results"][0]["unread"] == 0
    # transfers to bob, who accepts and closes
    bob = make_agent("bob")
    assert api.post(url("transfer", escalation), {"to_user_id": bob.pk}, format="json").json()["escalation"]["status"] == "assigned"
    bob_api = client_for(bob)
    bob_api.post(url("accept", escalation))
    closed = bob_api.post(url("close", escalation))
    assert closed.status_code == 200 and closed.json()["escalation"]["ended_at"]
    escalation.conversation.refresh_from_db()
    assert escalation.conversation.status == ConversationStatus.CLOSED


def test_presence_round_trip_and_bad_value(alice):
    api = client_for(alice)
    assert api.put(url("presence"), {"presence": "away"}, format="json").json()["presence"] == "away"
    bad = api.put(url("presence"), {"presence": "sleeping"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_presence"


def test_return_to_bot(alice, alices_chat):
    response = client_for(alice).post(url("return-to-bot", alices_chat))
    assert response.status_code == 200
    alices_chat.conversation.refresh_from_db()
    assert alices_chat.conversation.status == ConversationStatus.BOT


def test_agents_and_canned_responses_lists(alice, bob, make_agent):
    make_agent("carol", presence=Presence.OFFLINE)
    CannedResponse.objects.create(shortcut="hi", title="问候", text="您好，请问有什么可以帮您？")
    api = client_for(alice)
    assert [a["display_name"] for a in api.get(url("agents")).json()["results"]] == ["Bob"]
    assert api.get(url("canned-responses")).json()["results"][0]["shortcut"] == "hi"


def test_errors_have_code_and_detail(alice, alices_chat):
    api = client_for(alice)
    empty = api.post(url("send", alices_chat), {"text": "  "}, format="json")
    assert empty.status_code == 400 and empty.json()["code"] == "empty_message" and empty.json()["detail"]
    malformed = api.post(url("send", alices_chat), ["x"], format="json")
    assert malformed.status_code == 400 and malformed.json()["code"] == "malformed_body"
    missing = api.post(url("accept", uuid.uuid4()))
    assert missing.status_code == 404 and missing.json()["code"] == "conversation_not_found"
    garbage = api.get(url("transcript", "not-a-uuid"))
    assert garbage.status_code == 404


WRITE_ENDPOINTS = [
    ("post", "send", {"text": "hi"}),
    ("post", "note", {"text": "hi"}),
    ("post", "transfer", {}),
    ("post", "return-to-bot", None),
    ("post", "close", None),
    ("post", "read", {"seq": 1}),
    ("post", "accept", None),
    ("get", "transcript", None),
    ("get", "suggestions", None),
]


@pytest.mark.parametrize(("method", "name", "body"), WRITE_ENDPOINTS)
def test_agent_b_can_neither_read_nor_write_agent_a_s_chat(bob, alices_chat, method, name, body):
    response = getattr(client_for(bob), method)(url(name, alices_chat), body, format="json")
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "conversation_not_found"
    alices_chat.refresh_from_db()
    assert alices_chat.status == EscalationStatus.ACTIVE
    assert Escalation.objects.filter(conversation=alices_chat.conversation).count() == 1


ALL_ENDPOINTS = [("get", "queue", False), ("get", "chats", False), ("get", "presence", False), ("get", "agents", False), ("get", "canned-responses", False)] + [
    (method, name, True) for method, name, _body in WRITE_ENDPOINTS
]


@pytest.mark.parametrize(("method", "name", "per_chat"), ALL_ENDPOINTS)
def test_anonymous_and_non_agent_users_are_refused_everywhere(django_user_model, alices_chat, method, name, per_chat):
    target = url(name, alices_chat) if per_chat else url(name)
    anonymous = getattr(APIClient(), method)(target, {}, format="json")
    assert anonymous.status_code == 403 and anonymous.json()["code"] in ("not_authenticated", "permission_denied")
    staff_without_role = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    refused = getattr(client_for(staff_without_role), method)(target, {}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "not_an_agent"


def test_visitor_session_token_is_not_an_agent_credential(alices_chat):
    from conversations.services import session_start

    grant = session_start()
    for headers in ({"HTTP_X_SESSION_TOKEN": grant.token}, {"HTTP_AUTHORIZATION": f"Token {grant.token}"}):
        response = APIClient().get(url("queue"), **headers)
        assert response.status_code in (401, 403), headers
        refused = APIClient().get(url("transcript", grant.conversation), **headers)
        assert refused.status_code in (401, 403), headers


def test_session_auth_requires_csrf(alice, client):
    client.force_login(alice)
    api = APIClient(enforce_csrf_checks=True)
    api.cookies = client.cookies
    response = api.put(url("presence"), {"presence": "away"}, format="json")
    assert response.status_code == 403


def test_manager_sees_every_live_chat(alices_chat, make_agent):
    boss = make_agent("boss", manager=True)
    api = client_for(boss)
    assert api.get(url("chats")).json()["results"] == []
    assert [c["conversation_id"] for c in api.get(url("chats") + "?all=1").json()["results"]] == [str(alices_chat.conversation_id)]
    assert api.get(url("transcript", alices_chat)).status_code == 200


def test_kb_suggestions_for_the_latest_visitor_message(alice, alices_chat, monkeypatch):
    from types import SimpleNamespace

    from conversations.enums import Sender
    from conversations.services import understanding
    from conversations.services.messages import message_append

    message_append(conversation=alices_chat.conversation, sender=Sender.VISITOR, text="怎么退款")
    seen = {}
    monkeypatch.setattr(understanding, "text_analyze", lambda text, now: seen.setdefault("text", text) and SimpleNamespace(text=text))
    candidate = SimpleNamespace(entry_id=7, question="如何申请退款？", answer="在订单页点击退款", category_slug="refund", probability=0.91)
    monkeypatch.setattr(understanding, "faq_match", lambda analysis, limit: SimpleNamespace(candidates=(candidate, candidate)))
    results = client_for(alice).get(url("suggestions", alices_chat)).json()["results"]
    assert seen["text"] == "怎么退款"
    assert results == [{"entry_id": 7, "question": "如何申请退款？", "answer": "在订单页点击退款", "category": "refund", "probability": 0.91}]


def test_openapi_schema_documents_the_agent_api(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    import json

    paths = json.loads(response.content)["paths"] if response["Content-Type"].startswith("application/json") else response.content.decode()
    for path in ("/api/v1/agent/queue", "/api/v1/agent/conversations/{conversation_id}/accept", "/api/v1/sessions/{session_id}/csat"):
        assert path in paths
