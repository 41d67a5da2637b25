"""The visitor's chat socket, ``/ws/chat/``.

Client frames: ``message {text, client_msg_id, entry_id?, handoff?}``, ``typing``,
``feedback {message_id, helpful?, rating?, comment?}``, ``resume {since_seq}``.
Server frames: ``status`` (the first frame carries ``session_id`` and, for a new session,
``token``), ``message {message}``, ``typing``, ``feedback``, ``error {code, detail}``.

Handlers only validate a frame's shape and await one sync helper in a worker thread (the
turn's models never run on the event loop). Messages reach the socket through the
conversation's group after commit; each is sent at most once per socket (``_sent``), so a
resume that overlaps a live broadcast never duplicates anything.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from channels.db import DatabaseSyncToAsync
from django.utils.translation import gettext as _

from csbot.errors import ApplicationError
from csbot.ws import SocketConsumer, error_frame, frame_parse

from .enums import Channel, ConversationStatus, Sender
from .models import Conversation
from .realtime import MessageData, broadcasts_deferred, broadcasts_send, conversation_group, message_data, typing_event
from .selectors import conversation_history, conversation_queue_position
from .services import feedback_submit, turn_handle
from .ws_auth import chat_query, chat_session_open

logger = logging.getLogger(__name__)

TYPING_MIN_INTERVAL = 2.0  # seconds between two visitor typing broadcasts


def _open(query: Any) -> dict[str, Any]:
    grant = chat_session_open(query)
    conversation = grant.conversation
    return {
        "session_id": str(conversation.pk),
        "token": grant.token,
        "status": conversation.status,
        "last_seq": conversation.last_seq,
        "position": conversation_queue_position(conversation),
    }


def _turn(conversation_id: uuid.UUID, text: Any, client_msg_id: Any, entry_id: int | None, handoff: bool) -> tuple[bool, list[MessageData]]:
    # turn_handle reads only the pk (its first query loads the state it needs): no fetch here.
    result = turn_handle(conversation=Conversation(pk=conversation_id), text=text, client_msg_id=client_msg_id, source=Channel.WEB, entry_id=entry_id, handoff=handoff)
    return result.duplicate, [message_data(m) for m in result.messages] if result.duplicate else []


def _feedback(conversation_id: uuid.UUID, message_id: Any, helpful: Any, rating: Any, comment: Any) -> dict[str, Any]:
    conversation = Conversation.objects.get(pk=conversation_id)
    feedback = feedback_submit(conversation=conversation, message_id=message_id, helpful=helpful, rating=rating, comment=comment or "")
    return {"type": "feedback", "message_id": feedback.message_id, "helpful": feedback.helpful, "rating": feedback.rating}


def _csat(conversation_id: uuid.UUID, rating: Any, comment: Any) -> dict[str, Any]:
    from handoff.services.visitor import csat_submit

    conversation = csat_submit(conversation=Conversation.objects.get(pk=conversation_id), rating=rating, comment=comment or "")
    return {"type": "csat", "rating": conversation.csat_rating, "comment": conversation.csat_comment}


def _leave_message(conversation_id: uuid.UUID, name: Any, contact: Any, text: Any) -> dict[str, Any]:
    from handoff.services.visitor import left_message_create

    left = left_message_create(conversation=Conversation.objects.get(pk=conversation_id), name=name or "", contact=contact, text=text)
    return {"type": "left_message", "id": left.pk}


def _history(conversation_id: uuid.UUID, since_seq: int) -> list[MessageData]:
    return [message_data(m) for m in conversation_history(conversation=conversation_id, since_seq=since_seq)]


T = TypeVar("T")


def _in_worker(function: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """``function`` run in the loop's worker pool; the broadcasts it makes are sent from the loop
    once it returns (in commit order), never handed to the loop from the worker thread.

    The pool, not the single thread-sensitive executor that every database_sync_to_async call
    would otherwise share: one visitor's slow turn must not hold up every other socket's
    connect, resume or feedback. Broadcasts come back to the loop because a worker thread that
    waited on the loop for each one costs a thread round trip per broadcast, and could wait on
    itself: the loop resolves a new Redis connection's host name in that same pool
    (``CSBOT_WORKER_THREADS`` is 1 by default).
    """

    def collecting(*args: Any) -> tuple[T, list[tuple[str, dict[str, Any]]]]:
        with broadcasts_deferred() as broadcasts:
            result = function(*args)
        return result, broadcasts

    in_thread = DatabaseSyncToAsync(collecting, thread_sensitive=False)

    async def call(*args: Any) -> T:
        result, broadcasts = await in_thread(*args)
        await broadcasts_send(broadcasts)
        return result

    return call


_open_async = _in_worker(_open)
_turn_async = _in_worker(_turn)
_feedback_async = _in_worker(_feedback)
_history_async = _in_worker(_history)
_csat_async = _in_worker(_csat)
_leave_message_async = _in_worker(_leave_message)


class ChatConsumer(SocketConsumer):
    conversation_id: uuid.UUID | None = None
    group: str | None = None
    status: str = ConversationStatus.BOT

    async def connect(self) -> None:
        self._sent: set[int] = set()
        self._typing_at = 0.0
        try:
            session = await _open_async(chat_query(self.scope))
        except ApplicationError as exc:
            await self.accept()
            await self.send_json(error_frame(exc))
            await self.close(code=4000 + exc.status if 400 <= exc.status < 500 else 4000)
            return
        self.conversation_id = uuid.UUID(session["session_id"])
        self.status = session["status"]
        self._known_seq = int(session["last_seq"] or 0)  # the client resumes what it lacks up to here
        self.group = conversation_group(self.conversation_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "status", **{k: v for k, v in session.items() if v is not None}})

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    # -- client frames --------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if self.conversation_id is None:
            return
        try:
            content = frame_parse(text_data)
        except ApplicationError as exc:
            await self.send_json(error_frame(exc))
            return
        handler = {"message": self.frame_message, "typing": self.frame_typing, "feedback": self.frame_feedback, "resume": self.frame_resume,
                   "csat": self.frame_csat, "leave_message": self.frame_leave_message}.get(
            content["type"]
        )
        if handler is None:
            await self.send_json(error_frame(ApplicationError("unknown_frame", _("不支持的帧类型：%(type)s") % {"type": content["type"][:32]})))
            return
        try:
            await handler(content)
        except Exception:  # a bug or an outage must cost one frame, not the visitor's socket
            logger.exception("chat frame %s failed", content["type"])
            client_msg_id = content.get("client_msg_id") if isinstance(content.get("client_msg_id"), str) else None
            await self.send_json(error_frame(ApplicationError("internal_error", _("服务器开小差了，请稍后重试"), status=500), client_msg_id=client_msg_id))

    async def frame_message(self, content: dict[str, Any]) -> None:
        client_msg_id = content.get("client_msg_id")
        entry_id, handoff = content.get("entry_id"), content.get("handoff", False)
        if (entry_id is not None and (isinstance(entry_id, bool) or not isinstance(entry_id, int))) or not isinstance(handoff, bool):
            await self.send_json(error_frame(ApplicationError("invalid_frame", _("entry_id 须为整数，handoff 须为布尔值")), client_msg_id=client_msg_id))
            return
        try:
            duplicate, messages = await _turn_async(self.conversation_id, content.get("text"), client_msg_id, entry_id, handoff)
        except ApplicationError as exc:
            await self.send_json(error_frame(exc, client_msg_id=client_msg_id if isinstance(client_msg_id, str) else None))
            return
        if duplicate:  # nothing was broadcast: give this socket what it may have missed
            await self._send_messages(messages)

    async def frame_typing(self, content: dict[str, Any]) -> None:
        # Only people read typing indicators: while the bot answers, nobody needs them.
        now = time.monotonic()
        if self.status in (ConversationStatus.QUEUED, ConversationStatus.WITH_AGENT) and now - self._typing_at >= TYPING_MIN_INTERVAL:
            self._typing_at = now
            await self.channel_layer.group_send(self.group, typing_event(Sender.VISITOR, active=content.get("active", True) is not False))

    async def frame_feedback(self, content: dict[str, Any]) -> None:
        try:
            frame = await _feedback_async(
                self.conversation_id, content.get("message_id"), content.get("helpful"), content.get("rating"), content.get("comment")
            )
        except ApplicationError as exc:
            await self.send_json(error_frame(exc, message_id=content.get("message_id")))
            return
        await self.send_json(frame)

    async def frame_csat(self, content: dict[str, Any]) -> None:
        """Rate the human service after an agent closed the chat (handoff.services.visitor)."""
        try:
            frame = await _csat_async(self.conversation_id, content.get("rating"), content.get("comment"))
        except ApplicationError as exc:
            await self.send_json(error_frame(exc, action="csat"))
            return
        await self.send_json(frame)

    async def frame_leave_message(self, content: dict[str, Any]) -> None:
        """Leave contact details and a message when no agent can take the chat."""
        try:
            frame = await _leave_message_async(self.conversation_id, content.get("name"), content.get("contact"), content.get("text"))
        except ApplicationError as exc:
            await self.send_json(error_frame(exc, action="leave_message"))
            return
        await self.send_json(frame)

    async def frame_resume(self, content: dict[str, Any]) -> None:
        since = content.get("since_seq", 0)
        if isinstance(since, bool) or not isinstance(since, int) or since < 0:
            await self.send_json(error_frame(ApplicationError("invalid_frame", _("since_seq 须为非负整数"))))
            return
        await self._send_messages(await _history_async(self.conversation_id, since))

    # -- group events ---------------------------------------------------------------------

    async def _send_messages(self, messages: list[MessageData]) -> None:
        for message in messages:
            if message["seq"] in self._sent:
                continue
            self._sent.add(message["seq"])
            await self.send_json({"type": "message", "message": message})

    async def layer_resync(self, event: dict[str, Any]) -> None:
        """Broadcasts may have been lost while the layer reconnected to Redis: send from the
        database whatever this socket has not sent since it opened (each message once)."""
        if self.conversation_id is None:
            return
        since = max([self._known_seq, *self._sent])
        await self._send_messages(await _history_async(self.conversation_id, since))

    async def chat_messages(self, event: dict[str, Any]) -> None:
        await self._send_messages(event["messages"])

    async def chat_status(self, event: dict[str, Any]) -> None:
        self.status = event["status"]
        await self.send_json({"type": "status", **{k: v for k, v in event.items() if k != "type" and v is not None}})

    async def chat_typing(self, event: dict[str, Any]) -> None:
        if event["sender"] != Sender.VISITOR:  # never echo the visitor's own typing
            await self.send_json({"type": "typing", "sender": event["sender"], "active": event["active"]})
