"""Writes of the conversations app. Interfaces (REST, sockets, tasks, admin) call these.

``turn.turn_handle`` is the one chat turn; ``sessions`` starts/opens visitor sessions;
``messages`` appends messages and changes status (other apps go through it); ``feedback``
records ratings; ``lifecycle`` closes conversations; ``sites`` holds the demo site key.
"""
from .feedback import feedback_submit
from .lifecycle import conversation_close, conversations_close_idle
from .messages import conversation_lock, conversation_status_set, message_append, seq_allocate, system_message_append
from .sessions import SessionGrant, origin_check, session_start, widget_session_open
from .sites import DEMO_SITE_KEY, demo_site_key_ensure
from .turn import TurnResult, client_msg_id_clean, message_text_clean, turn_handle

__all__ = [
    "DEMO_SITE_KEY",
    "SessionGrant",
    "TurnResult",
    "client_msg_id_clean",
    "conversation_close",
    "conversation_lock",
    "conversation_status_set",
    "conversations_close_idle",
    "demo_site_key_ensure",
    "feedback_submit",
    "message_append",
    "message_text_clean",
    "origin_check",
    "seq_allocate",
    "session_start",
    "system_message_append",
    "turn_handle",
    "widget_session_open",
]
