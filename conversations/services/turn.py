"""One chat turn, the same for every channel (widget socket, REST, webhooks).

``turn_handle`` runs DESIGN.md "One chat turn": validate → (idempotency: a repeated client
message id returns the stored result) → if a person owns the conversation, store the
message for the agents and stay quiet → analyse → match the FAQ → ``dialog.policy.decide``
→ store the visitor message and the bot's reply in one transaction under the
conversation's row lock → broadcast after commit.

Analysis runs before the transaction so no lock is held while the models think; the
visitor message is still stored before the reply (lower sequence number) and both commit
together, so a crash never leaves a visitor message whose retry would be refused.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from csbot.errors import ApplicationError
from handoff.rules import EscalationRules

from ..dialog.context import MAX_SUGGESTIONS, Action, AnalysisLike, Decision, FaqMatchLike, TurnContext
from ..dialog.policy import decide
from ..enums import Channel, ConversationStatus, MessageKind, Sender, TemplateKey
from ..models import Conversation, Message
from ..realtime import agent_group, broadcast_on_commit, conversation_group, messages_event
from ..selectors import TurnState, reply_template_text, turn_state
from . import understanding
from .messages import Advance, bot_turn_append, conversation_advance
from .ratelimit import Rate, rate_limited_error


# How many recent turns a conversation keeps in ``Conversation.context["turns"]``.
CONTEXT_TURNS = 6
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_KIND_FOR_ACTION = {
    Action.ANSWER: MessageKind.ANSWER,
    Action.SUGGEST: MessageKind.SUGGEST,
    Action.SMALLTALK: MessageKind.SMALLTALK,
    Action.FALLBACK: MessageKind.FALLBACK,
}
HANDOFF_ACTION = {"type": "handoff", "label": "转人工"}


@dataclass(frozen=True)
class TurnResult:
    """What a turn stored. ``reply`` is None when a person owns the conversation."""

    conversation: Conversation
    visitor_message: Message
    reply: Message | None
    messages: tuple[Message, ...]  # every message of this turn, in sequence order
    duplicate: bool = False  # a repeated client message id: nothing new was stored

    @property
    def intent(self) -> str:
        return (self.reply.intent if self.reply else "") or self.visitor_message.intent

    @property
    def confidence(self) -> float | None:
        return self.reply.confidence if self.reply and self.reply.confidence is not None else self.visitor_message.confidence


def message_text_clean(text: Any) -> str:
    """The visitor's text, trimmed and without control characters.

    Raises ``empty_message`` or ``message_too_long`` (400; limit ``CSBOT_MESSAGE_MAX_CHARS``).
    """
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise ApplicationError("invalid", _("消息内容必须是文本"))
    cleaned = _CONTROL_CHARS.sub("", text).strip()
    if not cleaned:
        raise ApplicationError("empty_message", _("消息不能为空"))
    limit = int(getattr(settings, "CSBOT_MESSAGE_MAX_CHARS", 1000))
    if len(cleaned) > limit:
        raise ApplicationError("message_too_long", _("消息太长了，最多 %(limit)d 个字") % {"limit": limit}, extra={"max_chars": limit})
    return cleaned


def client_msg_id_clean(client_msg_id: Any) -> str | None:
    """A client's idempotency key: up to 64 printable characters, or None."""
    if client_msg_id is None or client_msg_id == "":
        return None
    if not isinstance(client_msg_id, str) or len(client_msg_id) > 64 or not client_msg_id.isprintable() or not client_msg_id.strip():
        raise ApplicationError("invalid_client_msg_id", _("client_msg_id 须为不超过 64 个字符的字符串"))
    return client_msg_id.strip()


def _stored_turn(conversation: Conversation, client_msg_id: str) -> TurnResult | None:
    visitor = (
        Message.objects.filter(conversation_id=conversation.pk, client_msg_id=client_msg_id, sender=Sender.VISITOR)
        .select_related("feedback")
        .first()
    )
    if visitor is None:
        return None
    replies = tuple(visitor.replies.select_related("feedback").order_by("seq"))
    conversation.refresh_from_db(fields=["status", "last_seq"])
    return TurnResult(conversation=conversation, visitor_message=visitor, reply=replies[0] if replies else None, messages=(visitor, *replies), duplicate=True)


_rules_cache: tuple[float, EscalationRules] | None = None
RULES_TTL = 5.0  # seconds a process keeps the escalation rules before re-reading them


def escalation_rules() -> EscalationRules:
    """When to hand over, as managers configured it (``handoff``'s EscalationPolicy row).

    Cached for ``RULES_TTL`` seconds per process: an admin edit applies within seconds, and
    a chat turn does not pay a query for a row that almost never changes.
    """
    global _rules_cache
    now = time.monotonic()
    if _rules_cache is None or now - _rules_cache[0] > RULES_TTL:
        from handoff.selectors import escalation_rules as handoff_escalation_rules

        _rules_cache = (now, handoff_escalation_rules())
    return _rules_cache[1]


def escalation_rules_invalidate() -> None:
    """Forget this process's cached rules (tests; an admin save in the same process)."""
    global _rules_cache
    _rules_cache = None


def _reply_text(decision: Decision) -> str:
    if decision.action == Action.ANSWER and decision.entry is not None:
        return decision.entry.answer
    return reply_template_text(decision.template or TemplateKey.FALLBACK)


def _confidence(value: float | None) -> float | None:
    return None if value is None else min(1.0, max(0.0, float(value)))


def _reply_fields(decision: Decision, faq: FaqMatchLike | None, latency_ms: int) -> dict[str, Any]:
    payload: dict[str, Any] = {"why": decision.why}
    if decision.suggestions:
        payload["suggestions"] = [{"entry_id": c.entry_id, "question": c.question} for c in decision.suggestions]
    if decision.offer_human:
        payload["actions"] = [HANDOFF_ACTION]
    candidates = [
        {"entry_id": c.entry_id, "external_id": c.external_id, "question": c.question, "probability": round(float(c.probability), 4), "score": round(float(c.score), 4)}
        for c in (faq.candidates if faq is not None else ())
    ]
    return {
        "kind": _KIND_FOR_ACTION[decision.action],
        "text": _reply_text(decision),
        "intent": decision.intent[:64],
        "confidence": _confidence(decision.confidence),
        "matched_entry_id": decision.entry.entry_id if decision.entry is not None else None,
        "candidates": candidates,
        "payload": payload,
        "latency_ms": latency_ms,
    }


def _context_after(context: dict[str, Any], *, text: str, intent: str, decision: Decision | None) -> dict[str, Any]:
    """The conversation's rolling memory: the last turns and the fallback streak."""
    turns = list(context.get("turns", []))[-(CONTEXT_TURNS - 1) :]
    turns.append(
        {
            "text": text[:200],
            "intent": intent,
            "action": decision.action.value if decision else "agent",
            "entry_id": decision.entry.entry_id if decision and decision.entry else None,
        }
    )
    streak = int(context.get("fallback_streak", 0)) + 1 if decision and decision.action == Action.FALLBACK else 0
    return {**context, "turns": turns, "fallback_streak": streak}


def _persist(
    *,
    conversation: Conversation,
    context: dict[str, Any],
    visitor_text: str,
    client_msg_id: str | None,
    source: str,
    analysis: AnalysisLike | None,
    faq: FaqMatchLike | None,
    decision: Decision | None,
    latency_ms: int,
) -> TurnResult:
    """Store the turn: one locking UPDATE (sequence numbers, context), the inserts, one commit.

    A bot reply on PostgreSQL takes one statement instead (``bot_turn_append``) while the bot
    still owns the conversation; anything else (escalation, a person took over, closed,
    SQLite) takes the general path below.
    """
    intent = ((analysis.intent or "") if analysis else "")[:64]
    payload: dict[str, Any] = {"source": source}
    if analysis is not None:
        payload["analysis"] = understanding.analysis_summary(analysis)
    visitor_fields: dict[str, Any] = {
        "conversation_id": conversation.pk,
        "sender": Sender.VISITOR,
        "kind": MessageKind.TEXT,
        "text": visitor_text,
        "client_msg_id": client_msg_id,
        "intent": intent,
        "confidence": _confidence(analysis.confidence) if analysis else None,
        "payload": payload,
    }
    context_after = _context_after(context, text=visitor_text, intent=intent, decision=decision)
    if decision is not None and decision.action != Action.ESCALATE and connection.vendor == "postgresql":
        visitor, reply = Message(**visitor_fields), Message(conversation_id=conversation.pk, sender=Sender.BOT, **_reply_fields(decision, faq, latency_ms))
        if bot_turn_append(conversation_id=conversation.pk, context=context_after, visitor=visitor, reply=reply):
            broadcast_on_commit(conversation_group(conversation.pk), messages_event([visitor, reply]))
            conversation.status, conversation.last_seq = ConversationStatus.BOT, reply.seq
            return TurnResult(conversation=conversation, visitor_message=visitor, reply=reply, messages=(visitor, reply))
    with transaction.atomic():
        count = 1 if decision is None or decision.action == Action.ESCALATE else 2
        advance = conversation_advance(conversation.pk, count=count, context=context_after)
        if advance.status == ConversationStatus.CLOSED:
            raise ApplicationError("session_closed", _("会话已结束，请开始新的会话"), status=409)
        if advance.status in (ConversationStatus.QUEUED, ConversationStatus.WITH_AGENT) and decision is not None:
            # A person took the conversation while the models thought: the bot stays quiet.
            decision = None
            advance = conversation_advance(conversation.pk, count=1 - count, context=_context_after(context, text=visitor_text, intent=intent, decision=None))
            advance = Advance(advance.last_seq, advance.last_seq, advance.status, advance.assigned_agent_id)
        visitor = Message.objects.create(seq=advance.first_seq, **visitor_fields)
        messages: list[Message] = [visitor]
        reply: Message | None = None
        if decision is not None and decision.action != Action.ESCALATE:
            reply = Message.objects.create(
                conversation_id=conversation.pk, seq=advance.first_seq + 1, sender=Sender.BOT, reply_to=visitor, **_reply_fields(decision, faq, latency_ms)
            )
            messages.append(reply)
        broadcast_on_commit(conversation_group(conversation.pk), messages_event(messages))
        if decision is None and advance.assigned_agent_id:
            broadcast_on_commit(agent_group(advance.assigned_agent_id), messages_event(messages))
        conversation.status, conversation.last_seq = advance.status, advance.last_seq
        if decision is not None and decision.action == Action.ESCALATE:
            from handoff.services import escalation_create

            # The skill routing prefers: the category of the best-matching FAQ entry, if any.
            category_slug = (faq.best.category_slug or "") if faq is not None and faq.best is not None else ""
            escalation_create(
                conversation=conversation,
                reason=decision.escalation_reason or "other",
                detail=visitor.text[:300],
                trigger_message=visitor,
                category_slug=category_slug,
            )
            conversation.refresh_from_db(fields=["status", "last_seq"])
            reply = Message.objects.filter(conversation_id=conversation.pk, reply_to=visitor).order_by("seq").first()
            messages.extend(m for m in [reply] if m is not None)
    return TurnResult(conversation=conversation, visitor_message=visitor, reply=reply, messages=tuple(messages))


def _rate_limit_check(state: TurnState, rate: Rate) -> None:
    """Raise ``rate_limited`` when the conversation stored ``rate.limit`` visitor messages in
    the last ``rate.seconds``: a sliding window over what was stored, read by ``turn_state``
    (no cache round trip per turn, exact across processes). Refused messages are not stored,
    so they never extend the wait; retry once the n-th latest message leaves the window."""
    nth = state.nth_latest_visitor_at
    if nth is None:
        return
    wait = (nth - timezone.now()).total_seconds() + rate.seconds
    if wait > 0:
        raise rate_limited_error(_("消息发送太频繁，请稍后再试"), retry_after=wait)


def turn_handle(
    *,
    conversation: Conversation,
    text: Any,
    client_msg_id: Any = None,
    source: str = Channel.WEB,
    entry_id: int | None = None,
    handoff: bool = False,
) -> TurnResult:
    """Handle one visitor message end to end; every channel calls this and only this.

    ``entry_id`` answers a clicked suggestion directly; ``handoff`` is the widget's "转人工"
    button. Only ``conversation.pk`` is read (the turn's first query loads the state it needs)
    and ``status``/``last_seq`` are set from what was stored, so a caller that holds just the
    id passes ``Conversation(pk=id)``. Side effects: stores the visitor message and the reply (or an escalation),
    updates ``Conversation.context``, broadcasts both after commit. Raises ``empty_message``,
    ``message_too_long``, ``invalid_client_msg_id`` (400), ``session_closed`` (409) or
    ``rate_limited`` (429).
    """
    started = time.perf_counter()
    text = message_text_clean(text)
    client_msg_id = client_msg_id_clean(client_msg_id)
    rate = Rate.parse(getattr(settings, "CSBOT_RATE_LIMIT_MESSAGES", "30/60"))
    state = turn_state(conversation.pk, client_msg_id, nth_latest=rate.limit)
    if state.duplicate:
        stored = _stored_turn(conversation, client_msg_id)  # type: ignore[arg-type]
        if stored is not None:
            return stored
    if state.status == ConversationStatus.CLOSED:
        raise ApplicationError("session_closed", _("会话已结束，请开始新的会话"), status=409)
    _rate_limit_check(state, rate)

    analysis: AnalysisLike | None = None
    faq: FaqMatchLike | None = None
    decision: Decision | None = None
    if state.status in (ConversationStatus.QUEUED, ConversationStatus.WITH_AGENT):
        visitor_text = understanding.store_text(text)
    else:
        selected = understanding.entry_selected(int(entry_id)) if entry_id else None
        if selected is not None:
            visitor_text = selected.question  # what the visitor clicked, never free text
        elif handoff:
            visitor_text = understanding.store_text(text)
        else:
            analysis = understanding.text_analyze(text, now=timezone.now())
            visitor_text = analysis.masked if getattr(settings, "CSBOT_MASK_PII", True) else text  # type: ignore[attr-defined]
            faq = understanding.faq_match(analysis, limit=MAX_SUGGESTIONS)
        rules = escalation_rules()
        decision = decide(
            TurnContext(
                analysis=analysis,
                faq=faq,
                text=text,
                selected=selected,
                handoff_requested=bool(handoff),
                fallback_streak=int(state.context.get("fallback_streak", 0)),
                unhelpful_streak=state.unhelpful_streak,
                rules=rules,
            )
        )
    latency_ms = int((time.perf_counter() - started) * 1000)
    try:
        return _persist(
            conversation=conversation,
            context=state.context,
            visitor_text=visitor_text,
            client_msg_id=client_msg_id,
            source=source,
            analysis=analysis,
            faq=faq,
            decision=decision,
            latency_ms=latency_ms,
        )
    except IntegrityError:
        # The same client id was stored by a concurrent request: answer with that one.
        stored = _stored_turn(conversation, client_msg_id) if client_msg_id else None
        if stored is None:
            raise
        return stored
