"""The agent socket ``/ws/agent/``: who may open it, live queue and chat events, actions.

Runs over whichever channel layer settings give (in-memory by default, Redis when
``REDIS_URL`` is set, as in CI); the two-socket story is marked ``redis`` as well.
"""
from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore

from conversations.enums import ConversationStatus, Sender
from conversations.models import Conversation, SiteKey, Visitor
from conversations.routing import websocket_urlpatterns as chat_routes
from conversations.services import session_start
from conversations.services.messages import message_append
from handoff.enums import EscalationReason, EscalationStatus, Presence
from handoff.models import Escalation
from handoff.routing import websocket_urlpatterns as agent_routes
from handoff.services.routing import queue_dispatch

pytestmark = pytest.mark.django_db(transaction=True)

application = URLRouter([*agent_routes, *chat_routes])
ORIGIN = b"http://localhost"


def _session_cookie(user) -> str:
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.save()
    return session.session_key


async def agent_socket(user=None, *, origin: bytes = ORIGIN, query: str = "") -> WebsocketCommunicator:
    headers = [(b"origin", origin), (b"host", b"localhost")]
    if user is not None:
        key = await database_sync_to_async(_session_cookie)(user)
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={key}".encode()))
    return WebsocketCommunicator(application, f"/ws/agent/{query}", headers=headers)


async def receive_until(communicator: WebsocketCommunicator, frame_type: str, *, timeout: float = 3, where=lambda frame: True) -> dict:
    async def _loop():
        while True:
            frame = await communicator.receive_json_from(timeout=timeout)
            if frame["type"] == frame_type and where(frame):
                return frame

    return await asyncio.wait_for(_loop(), timeout)


@database_sync_to_async
def _waiting_chat(**kwargs) -> Escalation:
    conversation = Conversation.objects.create(visitor=Visitor.objects.create(), status=ConversationStatus.QUEUED)
    return Escalation.objects.create(conversation=conversation, reason=EscalationReason.HUMAN_REQUEST, **kwargs)


@pytest.fixture
def agents(make_agent):
    return make_agent("alice"), make_agent("bob")


async def test_anonymous_socket_is_refused():
    communicator = await agent_socket()
    connected, code = await communicator.connect()
    assert not connected and code == 4403


async def test_visitor_session_token_never_opens_the_agent_socket(agents):
    grant = await database_sync_to_async(session_start)()
    communicator = await agent_socket(query=f"?session={grant.conversation.pk}&token={grant.token}")
    connected, code = await communicator.connect()
    assert not connected and code == 4403


async def test_staff_without_agent_role_is_refused():
    user = await database_sync_to_async(get_user_model().objects.create_user)("clerk", password="x", is_staff=True)
    communicator = await agent_socket(user)
    connected, code = await communicator.connect()
    assert not connected and code == 4403


async def test_cookie_from_a_foreign_origin_is_refused(agents):
    communicator = await agent_socket(agents[0], origin=b"https://evil.example.com")
    connected, _code = await communicator.connect()
    assert not connected


async def test_agent_gets_hello_then_a_live_assignment_and_serves_the_chat(agents):
    alice, _bob = agents
    communicator = await agent_socket(alice)
    connected, _ = await communicator.connect()
    assert connected
    try:
        hello = await receive_until(communicator, "hello")
        assert hello["user"]["role"] == "agent" and hello["queue"] == [] and hello["chats"] == [] and hello["all_chats"] is None
        # a visitor asks for a human and routing assigns alice: her console is alerted
        escalation = await _waiting_chat()
        await database_sync_to_async(queue_dispatch)()
        chats = await receive_until(communicator, "chats")
        assert chats["alert"] is True
        queue = await receive_until(communicator, "queue")
        assert [item["escalation_id"] for item in queue["queue"]] == [escalation.pk]
        conversation_id = str(escalation.conversation_id)
        # she accepts and replies
        await communicator.send_json_to({"type": "accept", "conversation_id": conversation_id})
        await receive_until(communicator, "ok", where=lambda f: f["action"] == "accept")
        await communicator.send_json_to({"type": "send", "conversation_id": conversation_id, "text": "您好，我是 Alice", "client_msg_id": "a1"})
        mine = await receive_until(communicator, "message", where=lambda f: f["message"]["sender"] == "agent")
        assert mine["conversation_id"] == conversation_id and mine["message"]["text"] == "您好，我是 Alice"
        # the visitor writes: she sees it live
        conversation = await database_sync_to_async(Conversation.objects.get)(pk=escalation.conversation_id)
        await database_sync_to_async(message_append)(conversation=conversation, sender=Sender.VISITOR, text="我的退款到哪了")
        visitor_frame = await receive_until(communicator, "message", where=lambda f: f["message"]["sender"] == "visitor")
        assert visitor_frame["message"]["text"] == "我的退款到哪了"
        # an internal note reaches staff sockets
        await communicator.send_json_to({"type": "note", "conversation_id": conversation_id, "text": "VIP"})
        note = await receive_until(communicator, "message", where=lambda f: f["message"]["kind"] == "note")
        assert note["message"]["note"] is True
    finally:
        await communicator.disconnect()


async def test_a_layer_resync_makes_the_console_reconnect_and_reload(agents):
    from channels.layers import get_channel_layer

    from conversations.realtime import agent_group
    from csbot.ws import CLOSE_RESYNC

    alice, _bob = agents
    communicator = await agent_socket(alice)
    assert (await communicator.connect())[0]
    try:
        await receive_until(communicator, "hello")
        await get_channel_layer().group_send(agent_group(alice.pk), {"type": "layer.resync"})
        closed = await communicator.receive_output(timeout=3)
        assert closed == {"type": "websocket.close", "code": CLOSE_RESYNC}
    finally:
        await communicator.disconnect()


async def test_agent_cannot_watch_or_write_another_agents_chat(agents):
    alice, bob = agents
    escalation = await _waiting_chat(status=EscalationStatus.ACTIVE, agent=alice)
    communicator = await agent_socket(bob)
    await communicator.connect()
    try:
        await receive_until(communicator, "hello")
        for frame in ("watch", "send", "note", "close", "transfer", "return_to_bot", "accept", "suggest", "typing"):
            await communicator.send_json_to({"type": frame, "conversation_id": str(escalation.conversation_id), "text": "x"})
            error = await receive_until(communicator, "error")
            assert error["code"] in ("conversation_not_found", "not_your_chat"), (frame, error)
        await database_sync_to_async(escalation.refresh_from_db)()
        assert escalation.status == EscalationStatus.ACTIVE and escalation.agent_id == alice.pk
    finally:
        await communicator.disconnect()


async def test_manager_can_watch_any_live_chat(agents, make_agent):
    alice, _bob = agents
    boss = await database_sync_to_async(make_agent)("boss", manager=True, presence=Presence.OFFLINE)
    escalation = await _waiting_chat(status=EscalationStatus.ACTIVE, agent=alice)
    communicator = await agent_socket(boss)
    await communicator.connect()
    try:
        hello = await receive_until(communicator, "hello")
        assert hello["user"]["role"] == "manager"
        assert [chat["conversation_id"] for chat in hello["all_chats"]] == [str(escalation.conversation_id)]
        await communicator.send_json_to({"type": "watch", "conversation_id": str(escalation.conversation_id)})
        transcript = await receive_until(communicator, "transcript")
        assert transcript["conversation_id"] == str(escalation.conversation_id) and transcript["mine"] is False
    finally:
        await communicator.disconnect()


async def test_malformed_and_unknown_frames_get_error_frames(agents):
    communicator = await agent_socket(agents[0])
    await communicator.connect()
    try:
        await receive_until(communicator, "hello")
        await communicator.send_to(text_data="not json")
        assert (await receive_until(communicator, "error"))["code"] == "malformed_frame"
        await communicator.send_json_to({"type": "__class__"})
        assert (await receive_until(communicator, "error"))["code"] == "unknown_frame"
        await communicator.send_json_to({"type": "send", "conversation_id": "nope", "text": "x"})
        assert (await receive_until(communicator, "error"))["code"] == "conversation_not_found"
        await communicator.send_json_to({"type": "presence", "presence": "asleep"})
        assert (await receive_until(communicator, "error"))["code"] == "invalid_presence"
    finally:
        await communicator.disconnect()


@pytest.mark.redis
async def test_visitor_and_agent_sockets_talk_live_over_redis(agents):
    """Both sockets over the Redis layer: the agent's reply and typing reach the visitor live."""
    alice, _bob = agents

    @database_sync_to_async
    def _visitor_session():
        site = SiteKey.objects.create(name="shop", key="test-site-handoff", allowed_origins="http://localhost")
        grant = session_start(site_key=site)
        Conversation.objects.filter(pk=grant.conversation.pk).update(status=ConversationStatus.QUEUED)
        escalation = Escalation.objects.create(conversation=grant.conversation, reason=EscalationReason.HUMAN_REQUEST)
        return site, grant, escalation

    site, grant, escalation = await _visitor_session()
    visitor = WebsocketCommunicator(
        application, f"/ws/chat/?site={site.key}&session={grant.conversation.pk}&token={grant.token}", headers=[(b"origin", ORIGIN), (b"host", b"localhost")]
    )
    agent = await agent_socket(alice)
    assert (await visitor.connect())[0] and (await agent.connect())[0]
    try:
        first = await visitor.receive_json_from(timeout=3)
        assert first["type"] == "status", first
        await receive_until(agent, "hello")
        conversation_id = str(escalation.conversation_id)
        await agent.send_json_to({"type": "accept", "conversation_id": conversation_id})
        joined = await receive_until(visitor, "status", where=lambda f: f.get("status") == "with_agent")
        assert joined["agent_name"] == "Alice"
        await agent.send_json_to({"type": "typing", "conversation_id": conversation_id})
        assert (await receive_until(visitor, "typing"))["sender"] == "agent"
        await agent.send_json_to({"type": "send", "conversation_id": conversation_id, "text": "您好", "client_msg_id": "r1"})
        reply = await receive_until(visitor, "message", where=lambda f: f["message"]["sender"] == "agent")
        assert reply["message"]["text"] == "您好" and reply["message"]["agent_name"] == "Alice"
        await agent.send_json_to({"type": "note", "conversation_id": conversation_id, "text": "内部备注"})
        await receive_until(agent, "message", where=lambda f: f["message"]["kind"] == "note")
        await agent.send_json_to({"type": "close", "conversation_id": conversation_id})
        closed = await receive_until(visitor, "message", where=lambda f: f["message"]["actions"])
        assert closed["message"]["actions"][0]["type"] == "csat"
        # the note never reached the visitor
        while not await visitor.receive_nothing(timeout=0.2):
            frame = await visitor.receive_json_from()
            assert not (frame["type"] == "message" and frame["message"]["kind"] == "note")
    finally:
        await visitor.disconnect()
        await agent.disconnect()
