"""Agent-side channel groups and events (the visitor-side ones live in ``conversations.realtime``).

Agent events are *nudges*: "the queue changed", "your chats changed". Each agent socket then
reads what that agent may see through ``handoff.selectors``, so one broadcast never has to
be filtered per recipient and no socket can receive rows it may not read.
"""
from __future__ import annotations

import uuid
from typing import Any, Literal, TypedDict

from conversations.realtime import AGENT_QUEUE_GROUP, agent_group, broadcast_on_commit, conversation_group

__all__ = ["AGENT_QUEUE_GROUP", "agent_group", "conversation_group", "staff_group", "queue_changed_on_commit", "chats_changed_on_commit"]


def staff_group(conversation_id: uuid.UUID | str) -> str:
    """Staff-only side channel of a conversation (internal notes): visitor sockets never join it."""
    return f"{conversation_group(conversation_id)}.staff"


class QueueChangedEvent(TypedDict):
    type: Literal["agent.queue_changed"]
    new_escalation_id: int | None


class ChatsChangedEvent(TypedDict):
    type: Literal["agent.chats_changed"]
    assigned_escalation_id: int | None
    conversation_id: str | None


class NoteEvent(TypedDict):
    type: Literal["agent.note"]
    message_id: int


def queue_changed_on_commit(*, new_escalation_id: int | None = None) -> None:
    event: QueueChangedEvent = {"type": "agent.queue_changed", "new_escalation_id": new_escalation_id}
    broadcast_on_commit(AGENT_QUEUE_GROUP, dict(event))


def chats_changed_on_commit(user_id: int, *, assigned_escalation_id: int | None = None, conversation_id: Any = None) -> None:
    event: ChatsChangedEvent = {
        "type": "agent.chats_changed",
        "assigned_escalation_id": assigned_escalation_id,
        "conversation_id": str(conversation_id) if conversation_id else None,
    }
    broadcast_on_commit(agent_group(user_id), dict(event))


def note_on_commit(conversation_id: uuid.UUID | str, message_id: int) -> None:
    event: NoteEvent = {"type": "agent.note", "message_id": message_id}
    broadcast_on_commit(staff_group(conversation_id), dict(event))
