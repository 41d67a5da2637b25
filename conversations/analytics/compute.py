"""Raw rows → ``DayPartial`` per (local day, channel): the one place metrics are defined.

Both the live dashboard (today, and any day not aggregated yet) and the daily aggregation
task call ``partials_compute``; the task stores what it returns, the dashboard merges it
with stored days. A handful of flat queries per date range (conversations, message counts
per day, bot messages with their feedback, escalations, agent replies); the per-conversation
rules run in Python, where they can be read next to their definitions below.

Definitions (the cohort is the conversations that *started* on the day, local time):

- conversations: cohort size. messages: messages *sent* that day by a visitor, the bot or
  an agent (system notices and internal notes are not messages of the chat).
- bot resolution: a cohort conversation is *resolved by the bot* when it is closed, never
  had an escalation (of any reason or outcome, including "nobody was online"), and the last
  bot message the visitor rated 👍/👎 was not rated 👎 (no rated message also counts as not
  👎). Rate = resolved / closed cohort conversations (open ones are not decided yet).
- handoff: a cohort conversation with at least one escalation. Rate = escalated / cohort.
  By reason: each escalated conversation counts once, under the reason of its *first*
  escalation (why it left the bot; transfers between agents come later and never first).
- queue wait: ``accepted_at − requested_at`` of every accepted escalation of the cohort
  (transfers included: the visitor waits again), in whole seconds.
- agent first response: for every accepted escalation, the first visitor-visible message
  of *that* agent sent at or after ``accepted_at`` (and not after the escalation ended),
  minus ``accepted_at``, in whole seconds. Escalations never answered have no sample.
- CSAT: ``Conversation.csat_rating`` (1–5) of cohort conversations; per agent, a rating
  belongs to the agent of the conversation's last accepted escalation.
- helpful: 👍 / (👍 + 👎) over ``Feedback.helpful`` on the cohort's bot messages.
- intents: the ``intent`` of the cohort's bot replies (one per bot turn), non-empty only.
- FAQ entries: a *hit* is a bot message of kind ``answer`` with a matched entry; its 👍/👎
  count towards the entry; a handoff *follows* an entry when the last bot message before
  an escalation request (transfers excluded) was that entry's answer.
- per agent: accepted escalations, their first-response samples, their chats' CSAT.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Min, QuerySet

from handoff.enums import EscalationReason
from handoff.models import Escalation

from ..enums import ConversationStatus, MessageKind, Sender
from ..models import Conversation, Message
from .partials import DayPartial
from .periods import days, local_day, range_bounds

# Senders whose messages are part of the chat (the "messages" metric).
CHAT_SENDERS = (Sender.VISITOR, Sender.BOT, Sender.AGENT)
_SECOND = timedelta(seconds=1)


def whole_seconds(delta: timedelta) -> int:
    """Truncate a non-negative duration to whole seconds (exact integer arithmetic)."""
    return max(0, delta // _SECOND)


@dataclass
class _Conv:
    day: date
    channel: str
    status: str
    csat: int | None
    bot: list[tuple[int, str, str, int | None, bool | None]] = field(default_factory=list)  # seq, kind, intent, entry, helpful
    bot_at: dict[int, datetime] = field(default_factory=dict)  # seq → time, only for conversations with a handoff
    escalations: list[tuple[datetime, int, str, datetime | None, datetime | None, int | None]] = field(default_factory=list)  # requested, pk, reason, accepted, ended, agent
    agent_replies: dict[int, list[datetime]] = field(default_factory=lambda: defaultdict(list))


def partials_compute(start: date, end: date, *, channel: str | None = None) -> dict[tuple[date, str], DayPartial]:
    """Partials for every (local day, channel) from ``start`` to ``end`` inclusive that has data.

    Days or channels without any conversation or message are absent from the result.
    """
    lo, hi = range_bounds(start, end)
    result: dict[tuple[date, str], DayPartial] = defaultdict(DayPartial)

    # The channel filter is applied in Python, not SQL: with it, planners (SQLite's without
    # ANALYZE statistics, notably) pick the low-selectivity channel index over the date range.
    cohort_filter: dict[str, Any] = {"conversation__created_at__gte": lo, "conversation__created_at__lt": hi}  # escalations (a small table)
    conversations = Conversation.objects.filter(created_at__gte=lo, created_at__lt=hi)
    messages = Message.objects.filter(created_at__gte=lo, created_at__lt=hi, sender__in=CHAT_SENDERS).exclude(kind=MessageKind.NOTE)

    convs: dict[Any, _Conv] = {
        pk: _Conv(day=local_day(created), channel=ch, status=status, csat=csat)
        for pk, ch, status, csat, created in conversations.order_by().values_list("pk", "channel", "status", "csat_rating", "created_at")
        if not channel or ch == channel
    }

    _messages_count(messages, result, channel)

    # Messages of the cohort are read by conversation id, in chunks: joined on the conversation's
    # date instead, PostgreSQL prefers a sequential scan of the whole message table (it grows
    # with history; ids hit the (conversation, seq) index), and chunks stay under SQLite's
    # parameter limit. Bot messages come without their times: parsing ~5 timestamps per
    # conversation is the costliest part of a live day, and only handed-off chats need them.
    ids = list(convs)
    for chunk in _chunks(ids):
        bot_rows = (
            Message.objects.filter(conversation_id__in=chunk, sender=Sender.BOT)
            .order_by()
            .values_list("conversation_id", "seq", "kind", "intent", "matched_entry_id", "feedback__helpful")
        )
        for conv_id, seq, kind, intent, entry_id, helpful in bot_rows:
            convs[conv_id].bot.append((seq, kind, intent, entry_id, helpful))
        replies = Message.objects.filter(conversation_id__in=chunk, sender=Sender.AGENT).exclude(kind=MessageKind.NOTE)
        for conv_id, agent_id, at in replies.order_by().values_list("conversation_id", "agent_id", "created_at"):
            if agent_id is not None:
                convs[conv_id].agent_replies[agent_id].append(at)

    escalation_rows = (
        Escalation.objects.filter(**cohort_filter).order_by().values_list("conversation_id", "requested_at", "pk", "reason", "accepted_at", "ended_at", "agent_id")
    )
    handed_off: set[Any] = set()
    for conv_id, requested, pk, reason, accepted, ended, agent_id in escalation_rows:
        conv = convs.get(conv_id)
        if conv is not None:
            conv.escalations.append((requested, pk, reason, accepted, ended, agent_id))
            if reason != EscalationReason.TRANSFER:
                handed_off.add(conv_id)
    for chunk in _chunks(sorted(handed_off, key=str)):
        bot_times = Message.objects.filter(conversation_id__in=chunk, sender=Sender.BOT).order_by().values_list("conversation_id", "seq", "created_at")
        for conv_id, seq, at in bot_times:
            convs[conv_id].bot_at[seq] = at

    for conv in convs.values():
        _conversation_add(result[(conv.day, conv.channel)], conv)
    return dict(result)


def _chunks(items: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for offset in range(0, len(items), size):
        yield items[offset : offset + size]


def _messages_count(messages: QuerySet[Message], result: dict[tuple[date, str], DayPartial], channel: str | None) -> None:
    """Messages per (local day, channel): one indexed COUNT per day that has messages.

    Not ``GROUP BY TruncDate(created_at, tz)``: SQLite evaluates that time-zone conversion in
    Python for every row (~0.3 s for one busy day). The first and last message times bound
    the loop, so empty stretches of a range cost nothing.
    """
    span = messages.aggregate(first=Min("created_at"), last=Max("created_at"))
    if span["first"] is None:
        return
    for day in days(local_day(span["first"]), local_day(span["last"])):
        lo, hi = range_bounds(day, day)
        rows = messages.filter(created_at__gte=lo, created_at__lt=hi).order_by().values_list("conversation__channel").annotate(n=Count("id"))
        for ch, n in rows:
            if not channel or ch == channel:
                result[(day, ch)].messages += n


def _conversation_add(part: DayPartial, conv: _Conv) -> None:
    """Apply the definitions in the module docstring to one cohort conversation."""
    part.conversations += 1
    conv.bot.sort()
    conv.escalations.sort(key=lambda e: (e[0], e[1]))

    for _seq, kind, intent, entry_id, helpful in conv.bot:
        if intent:
            part.intents[intent] += 1
        if helpful is True:
            part.helpful_yes += 1
        elif helpful is False:
            part.helpful_no += 1
        if kind == MessageKind.ANSWER and entry_id is not None:
            stats = part.entry(entry_id)
            stats.hits += 1
            stats.helpful_yes += helpful is True
            stats.helpful_no += helpful is False

    if conv.status == ConversationStatus.CLOSED:
        part.closed += 1
        rated = [helpful for _s, _k, _i, _e, helpful in conv.bot if helpful is not None]
        if not conv.escalations and (not rated or rated[-1] is not False):
            part.resolved += 1

    if conv.escalations:
        part.escalated += 1
        part.reasons[conv.escalations[0][2]] += 1

    last_accepted: tuple[datetime, int] | None = None
    for requested, _pk, reason, accepted, ended, agent_id in conv.escalations:
        if reason != EscalationReason.TRANSFER:
            before = [b for b in conv.bot if conv.bot_at[b[0]] < requested]
            if before and before[-1][1] == MessageKind.ANSWER and before[-1][3] is not None:
                part.entry(before[-1][3]).handoffs += 1
        if accepted is None or agent_id is None:
            continue
        part.queue_wait[whole_seconds(accepted - requested)] += 1
        agent = part.agent(agent_id)
        agent.accepted += 1
        if last_accepted is None or accepted >= last_accepted[0]:
            last_accepted = (accepted, agent_id)
        replies = [at for at in conv.agent_replies.get(agent_id, ()) if at >= accepted and (ended is None or at <= ended)]
        if replies:
            seconds = whole_seconds(min(replies) - accepted)
            part.first_response[seconds] += 1
            agent.first_response[seconds] += 1

    if conv.csat is not None:
        part.csat[conv.csat] += 1
        if last_accepted is not None:
            part.agent(last_accepted[1]).csat[conv.csat] += 1
