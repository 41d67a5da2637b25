"""Channel-group names, the events services broadcast, and the frames sockets send.

Groups: one per conversation (the visitor's sockets and the agents watching it), one for
the agent queue, one per agent. Services broadcast with ``broadcast_on_commit`` so nothing
is shown that was not stored (DESIGN.md "Realtime"); consumers only turn events into
frames with ``send_json``.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal, NotRequired, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from csbot.threads import run_coroutine, server_loop

from .enums import ConversationStatus, Sender
from .models import Conversation, Feedback, Message

logger = logging.getLogger(__name__)

# Agents waiting for new work listen here (the handoff console subscribes to it).
AGENT_QUEUE_GROUP = "agents.queue"


def conversation_group(conversation_id: uuid.UUID | str) -> str:
    """The group every socket showing one conversation joins (visitor tabs and agents)."""
    return f"chat.conv.{uuid.UUID(str(conversation_id)).hex}"


def agent_group(user_id: int) -> str:
    return f"agents.user.{int(user_id)}"


class SuggestionData(TypedDict):
    entry_id: int
    question: str


class FeedbackData(TypedDict):
    helpful: bool | None
    rating: int | None


class MessageData(TypedDict):
    """The full message object of ``message`` frames and of the history API."""

    id: int
    seq: int
    sender: str
    kind: str
    text: str
    html: str | None  # sanitised HTML of bot/system Markdown; None: show ``text`` as plain text
    created_at: str
    client_msg_id: str | None
    reply_to: int | None
    entry_id: int | None
    suggestions: list[SuggestionData]
    actions: list[dict[str, str]]
    rateable: bool
    feedback: FeedbackData | None
    agent_name: NotRequired[str]


class MessagesEvent(TypedDict):
    type: Literal["chat.messages"]
    messages: list[MessageData]


class StatusEvent(TypedDict):
    type: Literal["chat.status"]
    status: str
    position: int | None
    agent_name: str | None


class TypingEvent(TypedDict):
    type: Literal["chat.typing"]
    sender: str
    active: bool


_UNSET: Any = object()


def _html(message: Message) -> str | None:
    """Bot and system texts are manager-written Markdown; visitors' and agents' are plain text."""
    if message.sender not in (Sender.BOT, Sender.SYSTEM):
        return None
    from .services.understanding import answer_html

    return answer_html(message.text)


def feedback_data(feedback: Feedback | None) -> FeedbackData | None:
    return None if feedback is None else {"helpful": feedback.helpful, "rating": feedback.rating}


def message_data(message: Message, *, feedback: Feedback | None = _UNSET) -> MessageData:
    """Serialise one message for visitors. Pass ``feedback`` for rows not loaded with it.

    Internal fields (candidates, scores, agent notes' content) never leave the server.
    """
    if feedback is _UNSET:
        feedback = getattr(message, "feedback", None) if message.pk else None
    payload = message.payload or {}
    data: MessageData = {
        "id": message.pk,
        "seq": message.seq,
        "sender": message.sender,
        "kind": message.kind,
        "text": message.text,
        "html": _html(message),
        "created_at": message.created_at.isoformat(),
        "client_msg_id": message.client_msg_id,
        "reply_to": message.reply_to_id,
        "entry_id": message.matched_entry_id,
        "suggestions": list(payload.get("suggestions", [])),
        "actions": list(payload.get("actions", [])),
        "rateable": message.rateable,
        "feedback": feedback_data(feedback),
    }
    if message.sender == Sender.AGENT and payload.get("agent_name"):
        data["agent_name"] = payload["agent_name"]
    return data


def messages_event(messages: list[Message]) -> MessagesEvent:
    """New messages (just created, so no feedback yet), in sequence order."""
    return {"type": "chat.messages", "messages": [message_data(m, feedback=None) for m in sorted(messages, key=lambda m: m.seq)]}


def status_event(conversation: Conversation, *, position: int | None = None, agent_name: str | None = None) -> StatusEvent:
    return {
        "type": "chat.status",
        "status": conversation.status,
        "position": position if conversation.status == ConversationStatus.QUEUED else None,
        "agent_name": agent_name if conversation.status == ConversationStatus.WITH_AGENT else None,
    }


def typing_event(sender: str, *, active: bool = True) -> TypingEvent:
    return {"type": "chat.typing", "sender": sender, "active": active}


# Set by ``broadcasts_deferred``: the broadcasts of the sync code running inside it, in order.
_deferred: ContextVar[list[tuple[str, dict[str, Any]]] | None] = ContextVar("csbot_deferred_broadcasts", default=None)


@contextmanager
def broadcasts_deferred() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Collect the broadcasts that sync code makes inside the block instead of sending them.

    For a socket handler that runs a service in a worker thread: every ``group_send`` there
    would otherwise hand its coroutine to the event loop and block the thread until the loop
    ran it (a thread round trip per broadcast: under 200 paced visitors its ``Condition.notify``
    alone was 2.4 % of a server's GIL samples), and with one worker thread it could wait on
    itself (``consumers._in_worker``). The handler sends the collected ``(group, event)`` pairs itself with
    ``broadcasts_send`` once the service returns: after its commits, in their order. If the
    block raises, what was collected (committed work) is sent before the error propagates.
    """
    pending: list[tuple[str, dict[str, Any]]] = []
    token = _deferred.set(pending)
    try:
        yield pending
    except BaseException:
        _deferred.reset(token)
        for group, event in pending:
            group_send(group, event)
        raise
    _deferred.reset(token)


async def broadcasts_send(pending: list[tuple[str, dict[str, Any]]]) -> None:
    """Send what ``broadcasts_deferred`` collected, in order, from the event loop (errors logged)."""
    layer = get_channel_layer()
    for group, event in pending:
        try:
            await layer.group_send(group, event)
        except Exception:  # noqa: BLE001 - a broadcast must not fail a committed turn
            logger.exception("broadcast to %s failed", group)


def group_send(group: str, event: dict[str, Any]) -> None:
    """Send now, from sync code. A broken layer is logged, never raised: the data is stored
    already and clients catch up with ``resume``. Inside ``broadcasts_deferred`` the event is
    collected for the caller to send instead.

    Through the process's long-lived loop (``csbot.threads.run_coroutine``: no new thread,
    loop and Redis connection per send from WSGI or Celery). The in-memory layer outside a
    server (tests driving services directly) keeps ``async_to_sync``: its queues belong to
    whichever loop the test reads them from.
    """
    pending = _deferred.get()
    if pending is not None:
        pending.append((group, event))
        return
    layer = get_channel_layer()
    try:
        if isinstance(layer, InMemoryChannelLayer) and server_loop() is None:
            async_to_sync(layer.group_send)(group, event)
        else:
            run_coroutine(lambda: layer.group_send(group, event))
    except Exception:  # noqa: BLE001 - a broadcast must not fail a committed turn
        logger.exception("broadcast to %s failed", group)


def broadcast_on_commit(group: str, event: dict[str, Any]) -> None:
    """Send ``event`` to ``group`` once the current transaction commits (now, outside one)."""
    transaction.on_commit(lambda: group_send(group, event))
