"""Writes of the handoff app. Other apps escalate only through ``escalation_create``.

``escalations`` creates escalations (queue the conversation, tell the visitor, notify
agents, route after commit); ``intake`` handles nobody-available (missed requests, the
leave-a-message offer); ``routing`` assigns waiting chats, re-routes unaccepted ones and
broadcasts queue positions; ``presence`` sets agents online/away/offline; ``agent_chat``
is everything an agent does to a chat; ``visitor`` is CSAT and left messages; ``assist``
finds KB answers for agents; ``demo`` loads demo canned responses and hours.
"""
from .agent_chat import (
    agent_message_send,
    agent_note_add,
    agent_read_mark,
    agent_typing,
    escalation_accept,
    escalation_close,
    escalation_return_to_bot,
    escalation_transfer,
)
from .escalations import escalation_create, escalation_queue_position
from .presence import agent_profile_ensure, presence_set
from .routing import escalations_end_for_conversation, queue_dispatch, queue_tick
from .visitor import csat_submit, left_message_create, left_message_handle

__all__ = [
    "agent_message_send",
    "agent_note_add",
    "agent_profile_ensure",
    "agent_read_mark",
    "agent_typing",
    "csat_submit",
    "escalation_accept",
    "escalation_close",
    "escalation_create",
    "escalation_queue_position",
    "escalation_return_to_bot",
    "escalation_transfer",
    "escalations_end_for_conversation",
    "left_message_create",
    "left_message_handle",
    "presence_set",
    "queue_dispatch",
    "queue_tick",
]
