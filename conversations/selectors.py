"""Reads of the conversations app: history, session lookup by token, site keys, templates."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from csbot import db
from csbot.errors import ApplicationError

from .dialog.smalltalk import DEFAULT_TEMPLATES
from .models import Conversation, Message, ReplyTemplate, SiteKey


def token_hash(token: str) -> str:
    """SHA-256 hex of a session token: what is stored and looked up, never the token itself."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _parse_session_id(session_id: uuid.UUID | str) -> uuid.UUID:
    try:
        return session_id if isinstance(session_id, uuid.UUID) else uuid.UUID(str(session_id))
    except (ValueError, AttributeError, TypeError):
        raise ApplicationError("session_not_found", _("会话不存在"), status=404) from None


def _token_check(conversation_pk: Any, stored_hash: str | None, token: str | None) -> None:
    """``session_not_found`` (404) when the row is missing, ``invalid_token`` (403) unless ``token`` is its token."""
    if conversation_pk is None:
        raise ApplicationError("session_not_found", _("会话不存在"), status=404)
    if not stored_hash or not hmac.compare_digest(stored_hash, token_hash(token or "")):
        raise ApplicationError("invalid_token", _("会话令牌无效"), status=403)


def conversation_for_token(*, session_id: uuid.UUID | str, token: str | None) -> Conversation:
    """The conversation ``session_id`` if ``token`` is its session token.

    Raises ``session_not_found`` (404) for a malformed or unknown id, ``token_required``
    (401) without a token and ``invalid_token`` (403) for any other session's token: one
    visitor can never read or write another's conversation.
    """
    pk = _parse_session_id(session_id)
    if not token:
        raise ApplicationError("token_required", _("缺少会话令牌（X-Session-Token）"), status=401)
    conversation = Conversation.objects.select_related("site_key").filter(pk=pk).first()
    _token_check(conversation and conversation.pk, conversation and conversation.token_hash, token)
    return conversation  # type: ignore[return-value]


def conversation_id_for_token(*, session_id: uuid.UUID | str, token: str | None) -> uuid.UUID:
    """``conversation_for_token`` for callers that need only the id (a chat turn): the same
    errors, one indexed read of one column and no model instance.

    The ORM spelling costs ~1.5 ms of Python per call to build a query the database answers
    in microseconds; a REST chat turn pays it on every message (bench/results/chat.md).
    """
    pk = _parse_session_id(session_id)
    if not token:
        raise ApplicationError("token_required", _("缺少会话令牌（X-Session-Token）"), status=401)
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {q('token_hash')} FROM {q(Conversation._meta.db_table)} WHERE {q(Conversation._meta.pk.column)} = %s",
            [Conversation._meta.pk.get_db_prep_value(pk, connection)],
        )
        row = cursor.fetchone()
    _token_check(pk if row else None, row[0] if row else None, token)
    return pk


def conversation_by_token(token: str | None) -> Conversation:
    """The conversation a session token belongs to (for calls that name only a message)."""
    if not token:
        raise ApplicationError("token_required", _("缺少会话令牌（X-Session-Token）"), status=401)
    conversation = Conversation.objects.filter(token_hash=token_hash(token)).first()
    if conversation is None:
        raise ApplicationError("invalid_token", _("会话令牌无效"), status=403)
    return conversation


def conversation_history(*, conversation: Conversation | uuid.UUID | str, since_seq: int = 0) -> QuerySet[Message]:
    """Messages a visitor may see, after ``since_seq``, in order, with their feedback loaded.

    Internal notes are never part of a visitor's history.
    """
    from .enums import MessageKind

    conversation_id = conversation.pk if isinstance(conversation, Conversation) else conversation
    return (
        Message.objects.filter(conversation_id=conversation_id, seq__gt=max(0, since_seq))
        .exclude(kind=MessageKind.NOTE)
        .select_related("feedback")
        .order_by("seq")
    )


def site_key_active(key: str | None) -> SiteKey:
    """The enabled site with this public key; ``site_not_found`` (404) otherwise."""
    site = SiteKey.objects.filter(key=key or "", is_active=True).first() if key else None
    if site is None:
        raise ApplicationError("site_not_found", _("站点密钥无效或已停用"), status=404)
    return site


_templates: dict[str, Any] = {"at": 0.0, "texts": None}
TEMPLATES_TTL = 5.0  # seconds a process keeps the templates before re-reading them


def reply_template_text(key: str) -> str:
    """The manager-edited text for a template key (the shipped default if the row is gone).

    All templates are read in one query and kept for ``TEMPLATES_TTL`` seconds per process,
    so a turn pays no query for them and an admin edit shows within seconds everywhere.
    """
    now = time.monotonic()
    texts = _templates["texts"]
    if texts is None or now - _templates["at"] > TEMPLATES_TTL:
        texts = dict(ReplyTemplate.objects.values_list("key", "text"))
        _templates.update(at=now, texts=texts)
    return texts.get(key) or DEFAULT_TEMPLATES.get(key, "")


def reply_templates_invalidate() -> None:
    """Forget this process's cached templates (the admin calls it after a save)."""
    _templates.update(at=0.0, texts=None)


def site_key_find(key: str) -> SiteKey | None:
    """The enabled site with this key, or None (pages that can do without one)."""
    return SiteKey.objects.filter(key=key, is_active=True).first()


def conversation_queue_position(conversation: Conversation) -> int | None:
    """Where a queued conversation stands in the human queue (1 = next), else None."""
    from handoff.models import Escalation
    from handoff.services import escalation_queue_position

    from .enums import ConversationStatus

    if conversation.status != ConversationStatus.QUEUED:
        return None
    escalation = Escalation.objects.filter(conversation=conversation, status="queued").order_by("-requested_at").first()
    return escalation_queue_position(escalation) if escalation else None


@dataclass(frozen=True)
class TurnState:
    """What a chat turn reads before thinking (``turn_state``)."""

    status: str
    context: dict[str, Any]
    duplicate: bool  # this client message id is stored already
    unhelpful_streak: int
    # With ``nth_latest``: when the visitor's n-th latest stored message was sent (None: fewer).
    nth_latest_visitor_at: datetime | None = None


def turn_state(conversation_id: uuid.UUID | str, client_msg_id: str | None = None, *, nth_latest: int | None = None) -> TurnState:
    """Status, memory, idempotency, the visitor's "not helpful" streak and (with
    ``nth_latest``) the time of the visitor's n-th latest message, in ONE query.

    The last is the per-conversation rate limit ("n per window" is exceeded when the n-th
    latest message is inside the window): read backwards along the (conversation, seq) index,
    at most a few dozen rows, where counting by time would range over every conversation's
    recent messages in the ``created_at`` index.

    The streak counts the bot's latest answers rated "not helpful" in a row: it starts after
    the latest answer not rated so (unrated, helpful, rating only) and after the latest
    system notice (an escalation or a return to the bot starts afresh).

    Hand-written SQL because this runs on every message and the ORM spelling (three
    correlated subqueries) costs more Python time to build than the database takes to run.
    Portable between PostgreSQL and SQLite; prepared on PostgreSQL (``csbot.db.fetchone``).
    Raises ``Conversation.DoesNotExist``.
    """
    from .enums import Sender
    from .models.message import RATEABLE_KINDS

    sql = _turn_state_sql(connection.vendor, bool(client_msg_id), bool(nth_latest))
    params: list[Any] = [client_msg_id] if client_msg_id else []
    if nth_latest:
        params += [Sender.VISITOR, int(nth_latest) - 1]
    params += [Sender.BOT, *RATEABLE_KINDS, Sender.BOT, *RATEABLE_KINDS, Sender.SYSTEM]
    params.append(Conversation._meta.pk.get_db_prep_value(_parse_session_id(conversation_id), connection))
    row = db.fetchone(sql, params)
    if row is None:
        raise Conversation.DoesNotExist(f"conversation {conversation_id} does not exist")
    status, context, duplicate_found, nth_at, streak = row
    if isinstance(context, (str, bytes)):
        context = json.loads(context)
    if isinstance(nth_at, str):  # SQLite returns the stored UTC time, as text or naive
        nth_at = parse_datetime(nth_at)
    if nth_at is not None and nth_at.tzinfo is None:
        nth_at = nth_at.replace(tzinfo=dt_timezone.utc)
    return TurnState(
        status=status, context=context or {}, duplicate=bool(duplicate_found), unhelpful_streak=int(streak or 0), nth_latest_visitor_at=nth_at
    )


@lru_cache(maxsize=8)
def _turn_state_sql(vendor: str, with_duplicate: bool, with_nth: bool) -> str:
    """``turn_state``'s SQL text, built once per shape (it runs on every message)."""
    from .models import Feedback
    from .models.message import RATEABLE_KINDS

    q = connection.ops.quote_name
    conv, msg, fb = q(Conversation._meta.db_table), q(Message._meta.db_table), q(Feedback._meta.db_table)
    kinds = ", ".join(["%s"] * len(RATEABLE_KINDS))
    duplicate = f"EXISTS (SELECT 1 FROM {msg} d WHERE d.conversation_id = c.id AND d.client_msg_id = %s)" if with_duplicate else "FALSE"
    nth = (
        f"(SELECT r.created_at FROM {msg} r WHERE r.conversation_id = c.id AND r.sender = %s ORDER BY r.seq DESC LIMIT 1 OFFSET %s)"
        if with_nth
        else "NULL"
    )
    return f"""
        SELECT c.status, c.context, {duplicate}, {nth},
          (SELECT COUNT(*) FROM {msg} m JOIN {fb} f ON f.message_id = m.id
            WHERE m.conversation_id = c.id AND m.sender = %s AND m.kind IN ({kinds}) AND f.helpful = FALSE
              AND m.seq > COALESCE((
                SELECT MAX(m2.seq) FROM {msg} m2 LEFT JOIN {fb} f2 ON f2.message_id = m2.id
                 WHERE m2.conversation_id = c.id
                   AND ((m2.sender = %s AND m2.kind IN ({kinds}) AND (f2.helpful IS NULL OR f2.helpful = TRUE)) OR m2.sender = %s)
              ), 0))
        FROM {conv} c WHERE c.id = %s"""


def unhelpful_streak(conversation_id: uuid.UUID | str) -> int:
    """How many of the bot's latest answers in a row were rated "not helpful" (see ``turn_state``)."""
    return turn_state(conversation_id).unhelpful_streak
