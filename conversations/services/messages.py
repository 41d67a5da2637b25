"""Appending messages with per-conversation sequence numbers, and changing status.

Other apps (handoff: escalations, agent replies) write messages and statuses only through
these functions, so sequence numbers, activity times and broadcasts stay in one place.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from csbot import db

from ..enums import ConversationStatus, MessageKind, Sender
from ..models import Conversation, Message
from ..realtime import broadcast_on_commit, conversation_group, messages_event, status_event


def conversation_lock(conversation_id: Any) -> Conversation:
    """Lock a conversation's row until the transaction ends and return it fresh.

    Writes before reading: on PostgreSQL the UPDATE takes the row lock; on SQLite a
    transaction that starts with a read cannot upgrade to a writer while another one
    commits ("database is locked" without waiting), whereas one that starts with a write
    waits its turn. Must run inside ``atomic``.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("conversation_lock must run inside transaction.atomic()")
    Conversation.objects.filter(pk=conversation_id).update(updated_at=timezone.now())
    return Conversation.objects.select_for_update().get(pk=conversation_id)


@dataclass(frozen=True)
class Advance:
    """What ``conversation_advance`` reserved and saw, under the row lock."""

    first_seq: int
    last_seq: int
    status: str
    assigned_agent_id: int | None


def conversation_advance(conversation_id: Any, *, count: int, context: dict[str, Any] | None = None) -> Advance:
    """Reserve ``count`` sequence numbers (and optionally replace the context) in ONE statement.

    ``UPDATE … SET last_seq = last_seq + count … RETURNING last_seq, status, assigned_agent``:
    the write takes the row lock until commit (so two writers never get the same number, and
    on SQLite the transaction waits for the writer lock instead of failing to upgrade), and
    the returned status is the one that holds while the lock is held. Must run inside ``atomic``.
    Raises ``Conversation.DoesNotExist`` for an unknown id.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("conversation_advance must run inside transaction.atomic()")
    meta = Conversation._meta
    quote = connection.ops.quote_name
    now = meta.get_field("last_activity_at").get_db_prep_save(timezone.now(), connection)
    sets = [f"{quote('last_seq')} = {quote('last_seq')} + %s", f"{quote('last_activity_at')} = %s", f"{quote('updated_at')} = %s"]
    params: list[Any] = [count, now, now]
    if context is not None:
        sets.append(f"{quote('context')} = %s")
        params.append(meta.get_field("context").get_db_prep_save(context, connection))
    params.append(meta.pk.get_db_prep_value(conversation_id, connection))
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(sets)} WHERE {quote(meta.pk.column)} = %s "
        f"RETURNING {quote('last_seq')}, {quote('status')}, {quote(meta.get_field('assigned_agent').column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        raise Conversation.DoesNotExist(f"conversation {conversation_id} does not exist")
    last_seq, status, agent_id = row
    return Advance(first_seq=last_seq - count + 1, last_seq=last_seq, status=status, assigned_agent_id=agent_id)


@lru_cache(maxsize=1)
def _bot_turn_sql() -> tuple[str, tuple[Any, ...]]:
    """The statement ``bot_turn_append`` runs, and the Message fields it binds in order."""
    q = connection.ops.quote_name
    conv, msg = Conversation._meta, Message._meta
    fields = tuple(f for f in msg.concrete_fields if not f.primary_key and f.name not in ("seq", "reply_to"))
    columns = ", ".join(q(f.column) for f in fields)
    # Typed placeholders: prepared with server-side binding (csbot.db), a value feeding
    # INSERT … SELECT has no type of its own (a None would arrive as text).
    values = ", ".join(f"%s::{f.db_type(connection)}" for f in fields)
    seq, reply_to, pk = q("seq"), q(msg.get_field("reply_to").column), q(msg.pk.column)
    sql = f"""
        WITH adv AS (
            UPDATE {q(conv.db_table)} SET {q("last_seq")} = {q("last_seq")} + 2, {q("last_activity_at")} = %s::timestamptz,
                   {q("updated_at")} = %s::timestamptz, {q("context")} = %s::jsonb
             WHERE {q(conv.pk.column)} = %s AND {q("status")} = %s
         RETURNING {q("last_seq")}),
        visitor AS (
            INSERT INTO {q(msg.db_table)} ({columns}, {seq}) SELECT {values}, adv.{q("last_seq")} - 1 FROM adv
         RETURNING {pk}, {seq}),
        reply AS (
            INSERT INTO {q(msg.db_table)} ({columns}, {seq}, {reply_to}) SELECT {values}, visitor.{seq} + 1, visitor.{pk} FROM visitor
         RETURNING {pk})
        SELECT visitor.{pk}, visitor.{seq}, reply.{pk} FROM visitor, reply"""
    return sql, fields


def bot_turn_append(*, conversation_id: Any, context: dict[str, Any], visitor: Message, reply: Message) -> bool:
    """PostgreSQL: store a bot turn (the visitor's message and the bot's reply to it) in ONE statement.

    One data-modifying ``WITH`` statement reserves both sequence numbers and writes the
    context only while the bot owns the conversation (``status = 'bot'``), then inserts
    both messages, the reply pointing at the visitor's: atomic on its own, so outside a
    transaction it needs no ``BEGIN``/``COMMIT`` round trips (the general path takes five
    statements). Fills in ``pk``/``seq``/``created_at`` of the unsaved ``visitor`` and
    ``reply`` and returns True; returns False, storing nothing, when the bot no longer owns
    the conversation (queued, with an agent, closed, gone): the caller takes the general
    path, which handles each of those. Raises ``IntegrityError`` for a repeated client id.
    Prepared once per pooled connection (``csbot.db.fetchone``).
    """
    if connection.vendor != "postgresql":
        raise RuntimeError("bot_turn_append is PostgreSQL only")
    sql, fields = _bot_turn_sql()
    now = timezone.now()
    visitor.created_at = reply.created_at = now
    conv = Conversation._meta
    params: list[Any] = [
        conv.get_field("last_activity_at").get_db_prep_save(now, connection),
        conv.get_field("updated_at").get_db_prep_save(now, connection),
        conv.get_field("context").get_db_prep_save(context, connection),
        conv.pk.get_db_prep_value(conversation_id, connection),
        ConversationStatus.BOT,
    ]
    for message in (visitor, reply):
        params += [f.get_db_prep_save(getattr(message, f.attname), connection) for f in fields]
    # In a caller's transaction the statement runs in a savepoint, so a repeated client id
    # leaves that transaction usable for reading the stored turn.
    with transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext():
        row = db.fetchone(sql, params)
    if row is None:
        return False
    visitor.pk, visitor.seq, reply.pk = row
    reply.seq, reply.reply_to_id = visitor.seq + 1, visitor.pk
    for message in (visitor, reply):
        message._state.adding, message._state.db = False, connection.alias
    return True


def seq_allocate(conversation: Conversation, count: int = 1) -> int:
    """Reserve ``count`` sequence numbers; returns the first. Must run inside ``atomic``.

    One locking UPDATE … RETURNING (see ``conversation_advance``); ``conversation.last_seq``
    is refreshed to the new value.
    """
    advance = conversation_advance(conversation.pk, count=count)
    conversation.last_seq = advance.last_seq
    return advance.first_seq


def message_append(
    *,
    conversation: Conversation,
    sender: str,
    text: str,
    kind: str = MessageKind.TEXT,
    broadcast: bool = True,
    **fields: Any,
) -> Message:
    """Store one message with the next sequence number; broadcast it after commit.

    ``fields`` are further ``Message`` columns (agent, reply_to, intent, payload...).
    Runs in its own transaction when the caller has none.
    """
    with transaction.atomic():
        seq = seq_allocate(conversation)
        message = Message.objects.create(conversation=conversation, seq=seq, sender=sender, kind=kind, text=text, **fields)
        if broadcast:
            broadcast_on_commit(conversation_group(conversation.pk), messages_event([message]))
    return message


def conversation_status_set(
    *,
    conversation: Conversation,
    status: str,
    position: int | None = None,
    agent_name: str | None = None,
    close_reason: str = "",
    **fields: Any,
) -> Conversation:
    """Move a conversation to ``status`` and broadcast a ``status`` event after commit.

    Closing stamps ``closed_at``/``close_reason``; ``fields`` are further columns to set
    (e.g. ``assigned_agent``). The caller holds the row lock when it matters.
    """
    update: dict[str, Any] = {"status": status, **fields}
    if status == ConversationStatus.CLOSED:
        update["closed_at"] = conversation.closed_at or timezone.now()
        update["close_reason"] = close_reason
    for name, value in update.items():
        setattr(conversation, name, value)
    conversation.save(update_fields=[*update.keys(), "updated_at"])
    broadcast_on_commit(conversation_group(conversation.pk), status_event(conversation, position=position, agent_name=agent_name))
    return conversation


def system_message_append(*, conversation: Conversation, text: str, **fields: Any) -> Message:
    """A notice from the system (转接中, 会话已结束...)."""
    return message_append(conversation=conversation, sender=Sender.SYSTEM, kind=MessageKind.EVENT, text=text, **fields)
