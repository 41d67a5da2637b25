"""The visitor REST API: happy paths, every error code, and token isolation."""
from __future__ import annotations

import uuid

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from conversations.models import Conversation, Feedback, Message
from conversations.services import conversation_close

pytestmark = pytest.mark.django_db

CHAT = "api:v1:chat"


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def chat(client, body, token=None, **extra):
    headers = {"HTTP_X_SESSION_TOKEN": token} if token else {}
    return client.post(reverse(CHAT), body, format="json", **headers, **extra)


def history(client, session_id, token=None, **params):
    headers = {"HTTP_X_SESSION_TOKEN": token} if token else {}
    return client.get(reverse("api:v1:session-history", args=[session_id]), params, **headers)


def feedback(client, message_id, body, token=None):
    headers = {"HTTP_X_SESSION_TOKEN": token} if token else {}
    return client.post(reverse("api:v1:message-feedback", args=[message_id]), body, format="json", **headers)


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["detail"], body


# -- happy paths --------------------------------------------------------------------------


def test_a_first_message_starts_a_session_and_returns_the_reply(client, scripted_nlp, kb_entries):
    response = chat(client, {"message": "我想退货", "client_msg_id": "m-1", "user_id": "shop-user-7"})
    assert response.status_code == 200
    body = response.json()
    conversation = Conversation.objects.get(pk=body["session_id"])
    assert conversation.channel == "api" and conversation.visitor.external_id == "shop-user-7"
    assert body["token"] and len(body["token"]) >= 40
    assert conversation.token_hash != body["token"]  # only the hash is stored
    assert (body["intent"], body["confidence"], body["status"], body["duplicate"]) == ("returns", pytest.approx(0.91), "bot", False)
    assert body["response"] == kb_entries["T-RET-1"].answer
    reply = body["reply"]
    assert (reply["kind"], reply["entry_id"], reply["seq"], reply["suggestions"]) == ("answer", kb_entries["T-RET-1"].pk, 2, [])
    assert "<strong>" in reply["html"]


def test_continuing_a_session_needs_its_token_and_keeps_the_sequence(client, scripted_nlp):
    first = chat(client, {"message": "你好"}).json()
    second = chat(client, {"message": "退款的事", "session_id": first["session_id"]}, token=first["token"]).json()
    assert second["session_id"] == first["session_id"] and second["token"] == first["token"]
    assert second["reply"]["kind"] == "suggest" and second["reply"]["seq"] == 4
    assert [s["question"] for s in second["reply"]["suggestions"]] == ["退款多久到账？", "退款会退到哪里？", "怎么申请退货？"]
    clicked = chat(client, {"message": "退款多久到账？", "entry_id": second["reply"]["suggestions"][0]["entry_id"], "session_id": first["session_id"]}, token=first["token"]).json()
    assert clicked["reply"]["kind"] == "answer" and clicked["reply"]["entry_id"] == second["reply"]["suggestions"][0]["entry_id"]


def test_chat_responses_are_exactly_what_the_documented_output_serializer_renders(client, scripted_nlp):
    """The view skips re-serialising its plain-dict body (speed); the OpenAPI schema is the
    OutputSerializer's, so every kind of reply must already be in its shape and types."""
    from conversations.apis import ChatTurnApi

    first = chat(client, {"message": "你好"}).json()  # small talk, new session
    suggest = chat(client, {"message": "退款的事", "session_id": first["session_id"]}, token=first["token"]).json()
    handed = chat(client, {"message": "转人工", "handoff": True}).json()  # no bot reply: null
    for body in (first, suggest, handed):
        assert ChatTurnApi.OutputSerializer(body).data == body


def test_a_repeated_client_msg_id_returns_the_same_reply(client, scripted_nlp):
    first = chat(client, {"message": "你好", "client_msg_id": "dup"}).json()
    again = chat(client, {"message": "你好", "client_msg_id": "dup", "session_id": first["session_id"]}, token=first["token"]).json()
    assert again["duplicate"] is True and again["reply"]["message_id"] == first["reply"]["message_id"]
    assert Message.objects.filter(conversation_id=first["session_id"]).count() == 2


def test_a_handoff_request_answers_with_the_queue_status(client, scripted_nlp):
    body = chat(client, {"message": "转人工", "handoff": True}).json()
    assert body["status"] == "queued" and body["reply"]["kind"] == "event"
    quiet = chat(client, {"message": "在吗", "session_id": body["session_id"]}, token=body["token"]).json()
    assert quiet["reply"] is None and quiet["response"] == "" and quiet["status"] == "queued"


def test_a_continued_session_can_ask_for_a_person(client, scripted_nlp):
    """The token check hands turn_handle only the id; escalation loads what it needs itself."""
    first = chat(client, {"message": "你好"}).json()
    handed = chat(client, {"message": "转人工", "handoff": True, "session_id": first["session_id"]}, token=first["token"]).json()
    assert handed["session_id"] == first["session_id"] and handed["status"] == "queued"
    assert Conversation.objects.get(pk=first["session_id"]).status == "queued"


def test_history_lists_every_message_in_order_with_feedback(client, scripted_nlp):
    first = chat(client, {"message": "我想退货"}).json()
    chat(client, {"message": "谢谢", "session_id": first["session_id"]}, token=first["token"])
    feedback(client, first["reply"]["message_id"], {"helpful": True}, token=first["token"])
    response = history(client, first["session_id"], token=first["token"])
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["last_seq"]) == ("bot", 4)
    assert [(m["seq"], m["sender"]) for m in body["messages"]] == [(1, "visitor"), (2, "bot"), (3, "visitor"), (4, "bot")]
    assert body["messages"][1]["feedback"] == {"helpful": True, "rating": None}
    assert body["messages"][1]["rateable"] is True and body["messages"][0]["rateable"] is False
    since = history(client, first["session_id"], token=first["token"], since_seq=2).json()
    assert [m["seq"] for m in since["messages"]] == [3, 4]


def test_feedback_is_recorded_and_can_be_changed(client, scripted_nlp):
    first = chat(client, {"message": "我想退货"}).json()
    message_id = first["reply"]["message_id"]
    response = feedback(client, message_id, {"helpful": False, "rating": 2, "comment": "没说清楚运费"}, token=first["token"])
    assert response.status_code == 200
    assert response.json() == {"message_id": message_id, "helpful": False, "rating": 2, "comment": "没说清楚运费"}
    feedback(client, message_id, {"helpful": True}, token=first["token"])
    stored = Feedback.objects.get(message_id=message_id)
    assert (stored.helpful, stored.rating, stored.comment) == (True, 2, "没说清楚运费")


def test_widget_config_is_readable_cross_origin_by_allowed_sites_only(client, site_key):
    url = reverse("api:v1:widget-config", args=[site_key.key])
    allowed = client.get(url, HTTP_ORIGIN="https://shop.example.com")
    assert allowed.status_code == 200
    assert allowed.json() == {"name": "测试商城", "welcome_message": "欢迎光临！", "welcome_html": "<p>欢迎光临！</p>", "theme_color": "#123456"}
    assert allowed["Access-Control-Allow-Origin"] == "https://shop.example.com"
    other = client.get(url, HTTP_ORIGIN="https://evil.example.net")
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other


def test_schema_and_docs_describe_the_api(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/chat", "/api/v1/sessions/{session_id}/history", "/api/v1/messages/{message_id}/feedback"} <= set(paths)
    assert "X-Session-Token" in str(paths["/api/v1/sessions/{session_id}/history"])
    assert client.get("/api/docs/").status_code == 200


# -- every error code ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"message": ""}, 400, "empty_message"),
        ({"message": "   "}, 400, "empty_message"),
        ({}, 400, "empty_message"),
        ({"message": "长" * 1001}, 400, "message_too_long"),
        ({"message": "你好", "session_id": "not-a-uuid"}, 400, "invalid"),
        ({"message": "你好", "entry_id": "x"}, 400, "invalid"),
        ({"message": "你好", "client_msg_id": "x" * 65}, 400, "invalid"),
        (["not", "an", "object"], 400, "malformed_body"),
    ],
)
def test_bad_chat_bodies_get_a_clear_error_and_create_nothing(client, scripted_nlp, body, status, code):
    assert_error(chat(client, body), status, code)
    assert not Conversation.objects.exists()


def test_a_body_that_is_not_json_is_malformed(client):
    response = client.post(reverse(CHAT), data="{not json", content_type="application/json")
    assert_error(response, 400, "malformed_body")


def test_session_errors(client, scripted_nlp, api_session):
    conversation, token = api_session
    sid = str(conversation.pk)
    assert_error(chat(client, {"message": "你好", "session_id": sid}), 401, "token_required")
    assert_error(chat(client, {"message": "你好", "session_id": sid}, token="wrong"), 403, "invalid_token")
    assert_error(chat(client, {"message": "你好", "session_id": str(uuid.uuid4())}, token=token), 404, "session_not_found")
    conversation_close(conversation=conversation)
    assert_error(chat(client, {"message": "你好", "session_id": sid}, token=token), 409, "session_closed")


def test_new_sessions_are_rate_limited_per_ip(client, scripted_nlp, settings, clear_cache):
    settings.CSBOT_RATE_LIMIT_SESSIONS = "2/60"
    ip = {"REMOTE_ADDR": "203.0.113.7"}
    assert chat(client, {"message": "你好"}, **ip).status_code == 200
    assert chat(client, {"message": "你好"}, **ip).status_code == 200
    response = chat(client, {"message": "你好"}, **ip)
    assert_error(response, 429, "rate_limited")
    assert response.json()["retry_after"] >= 1
    assert chat(client, {"message": "你好"}, REMOTE_ADDR="203.0.113.8").status_code == 200


def test_messages_are_rate_limited_per_session(client, scripted_nlp, settings, clear_cache):
    settings.CSBOT_RATE_LIMIT_MESSAGES = "1/60"
    first = chat(client, {"message": "你好"}).json()
    assert_error(chat(client, {"message": "谢谢", "session_id": first["session_id"]}, token=first["token"]), 429, "rate_limited")


def test_history_errors(client, api_session):
    conversation, token = api_session
    assert_error(history(client, conversation.pk), 401, "token_required")
    assert_error(history(client, conversation.pk, token="nope"), 403, "invalid_token")
    assert_error(history(client, uuid.uuid4(), token=token), 404, "session_not_found")
    assert_error(history(client, "garbage", token=token), 404, "session_not_found")
    assert_error(history(client, conversation.pk, token=token, since_seq="-1"), 400, "invalid")


def test_feedback_errors(client, scripted_nlp):
    first = chat(client, {"message": "我想退货"}).json()
    token, reply_id = first["token"], first["reply"]["message_id"]
    visitor_id = Message.objects.get(conversation_id=first["session_id"], seq=1).pk
    assert_error(feedback(client, reply_id, {"helpful": True}), 401, "token_required")
    assert_error(feedback(client, reply_id, {"helpful": True}, token="nope"), 403, "invalid_token")
    assert_error(feedback(client, 987654321, {"helpful": True}, token=token), 404, "message_not_found")
    assert_error(feedback(client, "abc", {"helpful": True}, token=token), 404, "message_not_found")
    assert_error(feedback(client, visitor_id, {"helpful": True}, token=token), 409, "not_rateable")
    assert_error(feedback(client, reply_id, {}, token=token), 400, "invalid_feedback")
    assert_error(feedback(client, reply_id, {"rating": 9}, token=token), 400, "invalid")
    assert_error(feedback(client, reply_id, "[]", token=token), 400, "malformed_body")
    assert not Feedback.objects.exists()


def test_widget_config_of_an_unknown_or_disabled_site(client, site_key):
    assert_error(client.get(reverse("api:v1:widget-config", args=["nope"])), 404, "site_not_found")
    site_key.is_active = False
    site_key.save()
    assert_error(client.get(reverse("api:v1:widget-config", args=[site_key.key])), 404, "site_not_found")


# -- token isolation ----------------------------------------------------------------------


def test_one_visitor_can_never_read_or_write_another_visitors_conversation(client, scripted_nlp):
    alice = chat(client, {"message": "我想退货，电话 13812345678"}).json()
    bob = chat(client, {"message": "你好"}).json()
    # Bob's valid token opens nothing of Alice's
    assert_error(history(client, alice["session_id"], token=bob["token"]), 403, "invalid_token")
    assert_error(chat(client, {"message": "偷看", "session_id": alice["session_id"]}, token=bob["token"]), 403, "invalid_token")
    assert_error(feedback(client, alice["reply"]["message_id"], {"helpful": False}, token=bob["token"]), 404, "message_not_found")
    # Nothing was written to Alice's conversation, and Bob's history holds only his own messages
    assert Message.objects.filter(conversation_id=alice["session_id"]).count() == 2
    assert not Feedback.objects.exists()
    bob_history = history(client, bob["session_id"], token=bob["token"]).json()
    assert {m["text"] for m in bob_history["messages"]} == {"你好", bob["response"]}
