"""The visitor socket's handoff frames: CSAT after an agent closed the chat, leave a message."""
from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from conversations.enums import ConversationStatus
from conversations.models import Conversation, SiteKey
from conversations.routing import websocket_urlpatterns
from conversations.services import session_start
from handoff.enums import EscalationReason
from handoff.models import Escalation, LeftMessage
from handoff.services.agent_chat import escalation_accept, escalation_close

pytestmark = pytest.mark.django_db(transaction=True)
application = URLRouter(websocket_urlpatterns)


@database_sync_to_async
def _session():
    site = SiteKey.objects.create(name="shop", key="test-site-visitor-frames", allowed_origins="https://shop.example.com")
    return site, session_start(site_key=site)


async def _socket(site, grant) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application, f"/ws/chat/?site={site.key}&session={grant.conversation.pk}&token={grant.token}", headers=[(b"origin", b"https://shop.example.com")]
    )
    assert (await communicator.connect())[0]
    assert (await communicator.receive_json_from(timeout=3))["type"] == "status"
    return communicator


async def _next(communicator, frame_type):
    while True:
        frame = await communicator.receive_json_from(timeout=3)
        if frame["type"] == frame_type:
            return frame


async def test_visitor_rates_over_the_socket_once_the_agent_closed(make_agent):
    site, grant = await _session()
    agent = await database_sync_to_async(make_agent)("alice")

    @database_sync_to_async
    def _serve_and_close():
        Conversation.objects.filter(pk=grant.conversation.pk).update(status=ConversationStatus.QUEUED)
        Escalation.objects.create(conversation=grant.conversation, reason=EscalationReason.HUMAN_REQUEST)
        escalation_accept(user=agent, conversation_id=grant.conversation.pk)

    visitor = await _socket(site, grant)
    try:
        await visitor.send_json_to({"type": "csat", "rating": 5})
        early = await _next(visitor, "error")
        assert (early["code"], early["action"]) == ("csat_not_available", "csat")
        await _serve_and_close()
        await database_sync_to_async(escalation_close)(user=agent, conversation_id=grant.conversation.pk)
        await visitor.send_json_to({"type": "csat", "rating": 5, "comment": "很好"})
        assert (await _next(visitor, "csat"))["rating"] == 5
        await visitor.send_json_to({"type": "csat", "rating": 1})
        assert (await _next(visitor, "error"))["code"] == "csat_already_submitted"
    finally:
        await visitor.disconnect()
    conversation = await database_sync_to_async(Conversation.objects.get)(pk=grant.conversation.pk)
    assert (conversation.csat_rating, conversation.csat_comment) == (5, "很好")


async def test_visitor_leaves_a_message_over_the_socket():
    site, grant = await _session()
    visitor = await _socket(site, grant)
    try:
        await visitor.send_json_to({"type": "leave_message", "contact": "", "text": "x"})
        error = await _next(visitor, "error")
        assert (error["code"], error["action"]) == ("contact_required", "leave_message")
        await visitor.send_json_to({"type": "leave_message", "name": "王", "contact": "13800000000", "text": "请回电"})
        frame = await _next(visitor, "left_message")
    finally:
        await visitor.disconnect()
    left = await database_sync_to_async(LeftMessage.objects.get)(pk=frame["id"])
    assert (left.contact, left.text, left.conversation_id) == ("13800000000", "请回电", grant.conversation.pk)
