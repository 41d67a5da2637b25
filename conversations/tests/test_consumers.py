"""The visitor socket ``/ws/chat/`` over whatever channel layer the settings give
(in-memory locally, Redis in CI where REDIS_URL is set)."""
from __future__ import annotations

import json
from contextlib import asynccontextmanager

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import connections

from conversations.models import Conversation, Feedback, Message
from conversations.realtime import conversation_group
from conversations.services import conversation_close, session_start
from csbot.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)

APP = URLRouter(websocket_urlpatterns)
ORIGIN = "https://shop.example.com"
WAIT = 5


@pytest.fixture(autouse=True)
async def _close_worker_connections():
    """Sync helpers run in worker threads that outlive the test; close their database
    connections so the test database can be dropped (persistent connections in CI)."""
    yield
    await database_sync_to_async(connections.close_all)()
    await database_sync_to_async(connections.close_all, thread_sensitive=False)()


def _path(site, session=None, token=None) -> str:
    path = f"/ws/chat/?site={site}"
    if session:
        path += f"&session={session}&token={token}"
    return path


@asynccontextmanager
async def socket(path: str, *, origin: str | None = ORIGIN, host: str = "csbot.example.org", expect_open: bool = True):
    """A connected communicator that is always disconnected afterwards."""
    headers = [(b"host", host.encode())]
    if origin:
        headers.append((b"origin", origin.encode()))
    communicator = WebsocketCommunicator(APP, path, headers=headers)
    communicator.scope["client"] = ("203.0.113.50", 40000)  # what daphne puts there
    connected, _ = await communicator.connect(timeout=WAIT)
    assert connected is expect_open
    try:
        yield communicator
    finally:
        await communicator.disconnect()


async def receive(communicator, count: int = 1) -> list[dict]:
    return [await communicator.receive_json_from(timeout=WAIT) for _ in range(count)]


async def open_session(communicator) -> dict:
    (hello,) = await receive(communicator)
    assert hello["type"] == "status", hello
    return hello


async def send_message(communicator, text: str, client_msg_id: str, **extra) -> None:
    await communicator.send_json_to({"type": "message", "text": text, "client_msg_id": client_msg_id, **extra})


# -- sessions and turns -------------------------------------------------------------------


async def test_a_new_socket_starts_a_session_and_the_first_frame_carries_it(site_key):
    async with socket(_path(site_key.key)) as ws:
        hello = await open_session(ws)
        assert hello["status"] == "bot" and hello["last_seq"] == 0 and len(hello["token"]) >= 40
        conversation = await Conversation.objects.select_related("site_key").aget(pk=hello["session_id"])
        assert (conversation.channel, conversation.site_key_id) == ("web", site_key.pk)


async def test_a_message_comes_back_stored_then_the_reply_follows(site_key, scripted_nlp, kb_entries):
    async with socket(_path(site_key.key)) as ws:
        await open_session(ws)
        await send_message(ws, "我想退货", "c-1")
        visitor, reply = await receive(ws, 2)
        assert visitor["type"] == reply["type"] == "message"
        assert (visitor["message"]["seq"], visitor["message"]["sender"], visitor["message"]["client_msg_id"]) == (1, "visitor", "c-1")
        bot = reply["message"]
        assert (bot["seq"], bot["sender"], bot["kind"], bot["entry_id"], bot["reply_to"]) == (2, "bot", "answer", kb_entries["T-RET-1"].pk, visitor["message"]["id"])
        assert bot["rateable"] is True and "<strong>" in bot["html"]
        assert await ws.receive_nothing(timeout=0.2)


async def test_resume_sends_every_missed_message_exactly_once(site_key, scripted_nlp):
    async with socket(_path(site_key.key)) as first:
        hello = await open_session(first)
        await send_message(first, "你好", "a")
        await send_message(first, "退款的事", "b")
        await receive(first, 4)
        # Given a second tab/reconnect that last saw seq 1
        async with socket(_path(site_key.key, hello["session_id"], hello["token"])) as second:
            again = await open_session(second)
            assert again["session_id"] == hello["session_id"] and "token" not in again and again["last_seq"] == 4
            await second.send_json_to({"type": "resume", "since_seq": 1})
            assert [f["message"]["seq"] for f in await receive(second, 3)] == [2, 3, 4]
            suggestion = (await sync_to_async(Message.objects.get)(conversation_id=hello["session_id"], seq=4)).payload["suggestions"][0]
            # When a new turn happens while both are connected
            await send_message(first, suggestion["question"], "c", entry_id=suggestion["entry_id"])
            assert [f["message"]["seq"] for f in await receive(second, 2)] == [5, 6]
            # Then asking again for everything sends only what this socket has not had
            await second.send_json_to({"type": "resume", "since_seq": 0})
            assert [f["message"]["seq"] for f in await receive(second, 1)] == [1]
            assert await second.receive_nothing(timeout=0.3)
        assert [f["message"]["seq"] for f in await receive(first, 2)] == [5, 6]


async def test_a_layer_resync_sends_what_the_broadcasts_lost_once(site_key, scripted_nlp):
    from conversations.services.messages import message_append

    async with socket(_path(site_key.key)) as ws:
        hello = await open_session(ws)
        await send_message(ws, "你好", "a")
        assert [f["message"]["seq"] for f in await receive(ws, 2)] == [1, 2]

        # Given a message stored while the layer was cut off from Redis (its broadcast lost)
        @database_sync_to_async
        def _lost() -> None:
            conversation = Conversation.objects.get(pk=hello["session_id"])
            message_append(conversation=conversation, sender="system", kind="event", text="转接中", broadcast=False)

        await _lost()
        assert await ws.receive_nothing(timeout=0.2)
        # When the layer tells the socket to resync (csbot.layers, after a reconnect)
        await get_channel_layer().group_send(conversation_group(hello["session_id"]), {"type": "layer.resync"})
        # Then the socket sends what it missed from the database, and only that, once
        (frame,) = await receive(ws, 1)
        assert frame["type"] == "message" and frame["message"]["seq"] == 3 and frame["message"]["text"] == "转接中"
        await get_channel_layer().group_send(conversation_group(hello["session_id"]), {"type": "layer.resync"})
        assert await ws.receive_nothing(timeout=0.3)


async def test_a_retried_client_id_is_answered_from_storage_not_stored_twice(site_key, scripted_nlp):
    async with socket(_path(site_key.key)) as ws:
        hello = await open_session(ws)
        await send_message(ws, "我想退货", "retry-me")
        first = await receive(ws, 2)
    # The reply was lost with the connection: the widget reconnects and re-sends the same id
    async with socket(_path(site_key.key, hello["session_id"], hello["token"])) as ws:
        await open_session(ws)
        await send_message(ws, "我想退货", "retry-me")
        again = await receive(ws, 2)
        assert [f["message"]["id"] for f in again] == [f["message"]["id"] for f in first]
        # The same socket retrying once more gets nothing it already has
        await send_message(ws, "我想退货", "retry-me")
        assert await ws.receive_nothing(timeout=0.3)
    assert await Message.objects.filter(conversation_id=hello["session_id"]).acount() == 2
    assert scripted_nlp.calls == ["我想退货"]


async def test_escalation_sends_the_notice_and_a_queued_status(site_key, scripted_nlp):
    async with socket(_path(site_key.key)) as ws:
        await open_session(ws)
        await send_message(ws, "转人工", "h", handoff=True)
        frames = await receive(ws, 3)
        assert [f["type"] for f in frames] == ["message", "message", "status"]
        assert frames[1]["message"]["sender"] == "system"
        assert (frames[2]["status"], frames[2]["position"]) == ("queued", 1)
        # A person owns it now: the visitor's message is stored and echoed, the bot stays quiet
        await send_message(ws, "在吗？", "q")
        (echo,) = await receive(ws)
        assert echo["message"]["text"] == "在吗？"
        assert await ws.receive_nothing(timeout=0.3)


async def test_typing_reaches_agents_only_while_a_person_owns_the_chat(site_key, scripted_nlp):
    layer = get_channel_layer()
    async with socket(_path(site_key.key)) as ws:
        hello = await open_session(ws)
        agent_channel = await layer.new_channel()
        await layer.group_add(conversation_group(hello["session_id"]), agent_channel)
        await ws.send_json_to({"type": "typing"})
        await send_message(ws, "转人工", "h", handoff=True)
        await receive(ws, 3)
        await ws.send_json_to({"type": "typing"})
        events = []
        for _ in range(4):  # visitor msg + notice, status, typing (in that order)
            events.append(await layer.receive(agent_channel))
        assert [e["type"] for e in events] == ["chat.messages", "chat.messages", "chat.status", "chat.typing"]
        assert events[3]["sender"] == "visitor"
        assert await ws.receive_nothing(timeout=0.3)  # the visitor never sees their own typing


async def test_closing_the_conversation_pushes_closed_and_refuses_messages(site_key, scripted_nlp):
    async with socket(_path(site_key.key)) as ws:
        hello = await open_session(ws)
        conversation = await Conversation.objects.aget(pk=hello["session_id"])
        await sync_to_async(conversation_close)(conversation=conversation)
        (status,) = await receive(ws)
        assert status == {"type": "status", "status": "closed"}
        await send_message(ws, "你好", "late")
        (error,) = await receive(ws)
        assert (error["type"], error["code"], error["client_msg_id"]) == ("error", "session_closed", "late")


async def test_feedback_over_the_socket(site_key, scripted_nlp):
    async with socket(_path(site_key.key)) as ws:
        await open_session(ws)
        await send_message(ws, "我想退货", "f")
        visitor, reply = await receive(ws, 2)
        await ws.send_json_to({"type": "feedback", "message_id": reply["message"]["id"], "helpful": True})
        (ack,) = await receive(ws)
        assert ack == {"type": "feedback", "message_id": reply["message"]["id"], "helpful": True, "rating": None}
        assert await Feedback.objects.filter(message_id=reply["message"]["id"], helpful=True).aexists()
        await ws.send_json_to({"type": "feedback", "message_id": visitor["message"]["id"], "helpful": True})
        (error,) = await receive(ws)
        assert (error["code"], error["message_id"]) == ("not_rateable", visitor["message"]["id"])


# -- origin and authentication ------------------------------------------------------------


@pytest.mark.parametrize(("origin", "host"), [("https://evil.example.net", "csbot.example.org"), (None, "csbot.example.org")])
async def test_pages_outside_the_allowed_origins_are_refused(site_key, origin, host):
    async with socket(_path(site_key.key), origin=origin, host=host) as ws:
        (error,) = await receive(ws)
        assert (error["type"], error["code"]) == ("error", "origin_not_allowed")
        assert (await ws.receive_output(timeout=WAIT))["type"] == "websocket.close"
    assert not await Conversation.objects.aexists()


async def test_csbots_own_pages_may_use_any_site_key(site_key):
    async with socket(_path(site_key.key), origin="http://csbot.example.org", host="csbot.example.org") as ws:
        assert (await open_session(ws))["status"] == "bot"


async def test_a_wildcard_origin_allows_every_page(site_key):
    site_key.allowed_origins = "*"
    await site_key.asave()
    async with socket(_path(site_key.key), origin="https://anywhere.example") as ws:
        assert (await open_session(ws))["status"] == "bot"


async def _refused(path: str, code: str, close_code: int) -> None:
    async with socket(path) as ws:
        (error,) = await receive(ws)
        assert (error["type"], error["code"]) == ("error", code)
        closed = await ws.receive_output(timeout=WAIT)
        assert closed == {"type": "websocket.close", "code": close_code}


async def test_bad_site_keys_sessions_and_tokens_are_refused(site_key, db):
    other_site = await sync_to_async(type(site_key).objects.create)(name="别家", key="other-site", allowed_origins=ORIGIN)
    grant = await sync_to_async(session_start)(channel="web", site_key=site_key)
    sid, token = grant.conversation.pk, grant.token
    await _refused(_path("no-such-key"), "site_not_found", 4404)
    await _refused(_path(site_key.key, sid, "wrong-token"), "invalid_token", 4403)
    await _refused(f"/ws/chat/?site={site_key.key}&session={sid}", "token_required", 4401)
    await _refused(_path(site_key.key, "4d2b5c1e-0000-4000-8000-000000000000", token), "session_not_found", 4404)
    await _refused(_path(site_key.key, "not-a-uuid", token), "session_not_found", 4404)
    await _refused(_path(other_site.key, sid, token), "session_not_found", 4404)  # right token, wrong site


async def test_new_sockets_are_rate_limited_per_ip(site_key, settings, clear_cache):
    settings.CSBOT_RATE_LIMIT_SESSIONS = "1/60"
    async with socket(_path(site_key.key)) as ws:
        await open_session(ws)
    await _refused(_path(site_key.key), "rate_limited", 4429)


# -- error frames -------------------------------------------------------------------------


async def test_bad_frames_get_error_frames_and_the_socket_stays_usable(site_key, scripted_nlp):
    async with socket(_path(site_key.key)) as ws:
        await open_session(ws)
        cases = [
            ("{not json", "malformed_frame", None),
            (json.dumps([1, 2]), "malformed_frame", None),
            (json.dumps({"type": "dance"}), "unknown_frame", None),
            (json.dumps({"type": "message", "text": "", "client_msg_id": "e1"}), "empty_message", "e1"),
            (json.dumps({"type": "message", "text": "长" * 1001, "client_msg_id": "e2"}), "message_too_long", "e2"),
            (json.dumps({"type": "message", "text": "你好", "client_msg_id": "e3", "entry_id": "7"}), "invalid_frame", "e3"),
            (json.dumps({"type": "message", "text": "你好", "client_msg_id": 5}), "invalid_client_msg_id", None),
            (json.dumps({"type": "resume", "since_seq": -1}), "invalid_frame", None),
            (json.dumps({"type": "feedback", "message_id": 123456789, "helpful": True}), "message_not_found", None),
        ]
        for raw, code, client_msg_id in cases:
            await ws.send_to(text_data=raw)
            (error,) = await receive(ws)
            assert (error["type"], error["code"]) == ("error", code), raw
            assert bool(error["detail"])
            assert error.get("client_msg_id") == client_msg_id
        await ws.send_to(bytes_data=b"\x00\x01")
        assert (await receive(ws))[0]["code"] == "malformed_frame"
        # Nothing was stored, and the socket still chats
        assert not await Message.objects.aexists()
        await send_message(ws, "你好", "ok")
        assert [f["message"]["seq"] for f in await receive(ws, 2)] == [1, 2]


async def test_the_per_session_message_limit_is_an_error_frame(site_key, scripted_nlp, settings, clear_cache):
    settings.CSBOT_RATE_LIMIT_MESSAGES = "1/60"
    async with socket(_path(site_key.key)) as ws:
        await open_session(ws)
        await send_message(ws, "你好", "r1")
        await receive(ws, 2)
        await send_message(ws, "再见", "r2")
        (error,) = await receive(ws)
        assert (error["code"], error["client_msg_id"]) == ("rate_limited", "r2") and error["retry_after"] >= 1


async def test_an_unexpected_failure_is_an_error_frame_not_a_dead_socket(site_key, scripted_nlp, monkeypatch):
    from conversations.services import understanding

    def broken(text, *, now):
        raise RuntimeError("model file vanished")

    async with socket(_path(site_key.key)) as ws:
        await open_session(ws)
        monkeypatch.setattr(understanding, "text_analyze", broken)
        await send_message(ws, "我想退货", "boom")
        (error,) = await receive(ws)
        assert (error["code"], error["client_msg_id"]) == ("internal_error", "boom")
        monkeypatch.setattr(understanding, "text_analyze", scripted_nlp.analyze)
        await send_message(ws, "我想退货", "boom")  # the widget's retry with the same id
        assert [f["message"]["client_msg_id"] for f in await receive(ws, 2)] == ["boom", None]


async def test_events_do_not_queue_behind_channels_connection_check(site_key, scripted_nlp, monkeypatch):
    """Frames and group messages skip Channels' per-event close_old_connections hop (the
    turn's helpers close their own connections): nothing waits on that one shared thread."""
    import channels.consumer

    calls = []

    async def counted():
        calls.append(1)

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted)
    async with socket(_path(site_key.key)) as ws:
        await open_session(ws)
        await send_message(ws, "我想退货", "c1")
        assert [f["message"]["seq"] for f in await receive(ws, 2)] == [1, 2]
    assert calls == []


async def test_an_event_without_a_handler_is_still_an_error(site_key):
    from conversations.consumers import ChatConsumer

    with pytest.raises(ValueError, match="No handler for message type chat.nothing"):
        await ChatConsumer().dispatch({"type": "chat.nothing"})


# -- Redis ----------------------------------------------------------------------------------


@pytest.mark.redis
async def test_over_redis_every_tab_of_a_session_gets_each_reply_once(site_key, scripted_nlp):
    from csbot.layers import ResyncPubSubChannelLayer

    assert isinstance(get_channel_layer(), ResyncPubSubChannelLayer)
    async with socket(_path(site_key.key)) as first:
        hello = await open_session(first)
        async with socket(_path(site_key.key, hello["session_id"], hello["token"])) as second:
            await open_session(second)
            for i in range(3):
                await send_message(first, "我想退货", f"x{i}")
            got_first = [f["message"]["seq"] for f in await receive(first, 6)]
            got_second = [f["message"]["seq"] for f in await receive(second, 6)]
            assert got_first == got_second == [1, 2, 3, 4, 5, 6]
            assert await first.receive_nothing(timeout=0.3) and await second.receive_nothing(timeout=0.3)


async def test_a_turn_never_waits_on_the_loop_from_its_worker_thread(site_key, scripted_nlp, settings, monkeypatch):
    """With one worker thread (the default), a turn that handed its broadcast to the loop and
    waited would wait on itself whenever the send needs that pool too, as resolving a new Redis
    connection's host name does: its broadcasts are sent from the loop once it returns."""
    import asyncio

    from csbot.threads import WorkerThreads

    settings.CSBOT_WORKER_THREADS = 1
    layer = get_channel_layer()
    original = layer.group_send

    async def needs_the_pool(group, message):
        await asyncio.get_running_loop().run_in_executor(None, lambda: None)
        await original(group, message)

    monkeypatch.setattr(layer, "group_send", needs_the_pool)
    communicator = WebsocketCommunicator(WorkerThreads(APP), _path(site_key.key), headers=[(b"host", b"csbot.example.org"), (b"origin", ORIGIN.encode())])
    communicator.scope["client"] = ("203.0.113.50", 40000)
    assert (await communicator.connect(timeout=WAIT))[0]
    try:
        await open_session(communicator)
        await send_message(communicator, "我想退货", "w1")
        visitor, reply = await receive(communicator, 2)
        assert (visitor["message"]["sender"], reply["message"]["sender"]) == ("visitor", "bot")
    finally:
        await communicator.disconnect()
