"""READS: the visitor questions the bot did not answer well, grouped for managers.

An *occurrence* is one visitor message whose bot reply (``Message.reply_to``) shows the KB
failed the visitor, for one or more of these reasons (``UnansweredReason``):

- ``fallback``: the reply is the fallback (kind ``fallback``: nothing scored above the
  suggest threshold);
- ``suggest_miss``: the reply offered suggestions ("您是不是想问…", kind ``suggest``) and the
  visitor did not take one. Precisely: the visitor's *next* message in the same conversation
  is neither the text of one of the offered questions (the widget sends a clicked suggestion
  as that question's text) nor answered by the bot with one of the offered entries — or
  there is no next visitor message at all (the visitor gave up, or asked for a person
  through the button, which sends no question text);
- ``unhelpful``: the visitor rated the bot reply 👎 (``conversations.Feedback.helpful`` is
  False), whatever its kind.

The window is the bot reply's time (default: the last 30 days). An occurrence is hidden when
a manager decided on its question (``UnansweredDecision`` with the same ``question_key``) at or
after the time it was asked, so a handled or ignored question comes back only with new
occurrences. The newest ``MAX_OCCURRENCES`` occurrences of the window are considered (the page
is a work list, not a report; the dashboard counts everything).
"""
from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timedelta
from typing import Any

from django.core import signing
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from conversations.enums import MessageKind, Sender
from conversations.models import Message
from knowledge.enums import UnansweredReason
from knowledge.models import Category, Entry, SimilarQuestion, UnansweredDecision

from .grouping import MAX_TEXTS, group_texts

DEFAULT_DAYS = 30
MAX_OCCURRENCES = 5000
MAX_REFERENCE_TEXTS = 3000  # KB texts that inform the grouping's IDF
EXAMPLES_PER_GROUP = 5
MAX_TOKEN_IDS = 300
_TOKEN_SALT = "knowledge.curation.group"
_KEY_DROP = set(" \t\r\n.,;:!?\"'()[]<>~-·、")


def question_key(text: str) -> str:
    """The identity of a question for decisions: normalised (``nlp.text``) without punctuation.

    So 可以用數字人民幣付款嗎？ and 可以用数字人民币付款吗 are one question.
    """
    from nlp.text import normalize_text

    return "".join(c for c in normalize_text(text) if c not in _KEY_DROP)[:255]


@dataclass(frozen=True)
class Occurrence:
    """One visitor question the bot did not answer well, with the bot reply that shows it."""

    message_id: int  # the visitor message
    conversation_id: uuid.UUID
    seq: int
    text: str
    key: str
    asked_at: datetime
    intent: str
    reply_id: int
    reply_kind: str
    top_entry_id: int | None  # the reply's matched entry, else its best candidate
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class QuestionCount:
    text: str
    key: str
    count: int
    message_id: int  # the newest occurrence of this text


@dataclass
class UnansweredGroup:
    """Similar questions: ``questions[0]`` is the representative (the most asked)."""

    questions: list[QuestionCount]
    occurrences: list[Occurrence]
    similarity: list[float] = field(default_factory=list)

    @property
    def representative(self) -> str:
        return self.questions[0].text

    @property
    def count(self) -> int:
        return len(self.occurrences)

    @property
    def conversation_count(self) -> int:
        return len({o.conversation_id for o in self.occurrences})

    @cached_property
    def reasons(self) -> list[tuple[str, str, int]]:
        """``(reason, label, count)`` for each reason present, in the enum's order."""
        counts = Counter(r for o in self.occurrences for r in o.reasons)
        return [(value, str(label), counts[value]) for value, label in UnansweredReason.choices if counts[value]]

    @cached_property
    def examples(self) -> list[Occurrence]:
        """The newest occurrences, one per conversation."""
        seen: set[uuid.UUID] = set()
        out: list[Occurrence] = []
        for occurrence in sorted(self.occurrences, key=lambda o: o.asked_at, reverse=True):
            if occurrence.conversation_id not in seen:
                seen.add(occurrence.conversation_id)
                out.append(occurrence)
            if len(out) == EXAMPLES_PER_GROUP:
                break
        return out

    @property
    def last_asked_at(self) -> datetime:
        return max(o.asked_at for o in self.occurrences)

    @cached_property
    def token(self) -> str:
        """A signed list of one visitor message id per distinct question (representative first):
        what the actions and the FAQ prefill receive, short enough for a URL."""
        return group_token([q.message_id for q in self.questions])


def group_token(message_ids: list[int]) -> str:
    return signing.dumps([int(i) for i in message_ids[:MAX_TOKEN_IDS]], salt=_TOKEN_SALT, compress=True)


def group_token_ids(token: str) -> list[int]:
    """The message ids of a group token; raises ``signing.BadSignature`` for a forged or broken one."""
    ids = signing.loads(token, salt=_TOKEN_SALT)
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
        raise signing.BadSignature("not a list of ids")
    return ids


def default_window() -> tuple[datetime, datetime]:
    now = timezone.now()
    return now - timedelta(days=DEFAULT_DAYS), now


def _suggestions(payload: Any) -> list[dict[str, Any]]:
    items = (payload or {}).get("suggestions") if isinstance(payload, dict) else None
    return [s for s in items or [] if isinstance(s, dict)]


def unanswered_occurrences(*, since: datetime, until: datetime, limit: int = MAX_OCCURRENCES) -> list[Occurrence]:
    """Occurrences whose bot reply was sent in ``[since, until)``, newest first, undecided only."""
    next_visitor = Message.objects.filter(conversation_id=OuterRef("conversation_id"), sender=Sender.VISITOR, seq__gt=OuterRef("seq")).order_by("seq")
    rows = list(
        Message.objects.filter(sender=Sender.BOT, reply_to__isnull=False, created_at__gte=since, created_at__lt=until)
        .filter(Q(kind__in=[MessageKind.FALLBACK, MessageKind.SUGGEST]) | Q(feedback__helpful=False))
        .annotate(
            next_id=Subquery(next_visitor.values("id")[:1]),
            next_text=Subquery(next_visitor.values("text")[:1]),
        )
        .order_by("-created_at", "-id")
        .values(
            "id", "kind", "conversation_id", "payload", "candidates", "matched_entry_id", "feedback__helpful",
            "reply_to_id", "reply_to__text", "reply_to__seq", "reply_to__created_at", "reply_to__intent",
            "next_id", "next_text",
        )[:limit]
    )
    # Which next visitor messages were answered with an entry (to recognise a taken suggestion).
    next_ids = [r["next_id"] for r in rows if r["kind"] == MessageKind.SUGGEST and r["next_id"]]
    answered_with: dict[int, int] = {}
    if next_ids:
        for reply_to_id, entry_id in Message.objects.filter(reply_to_id__in=next_ids, sender=Sender.BOT, matched_entry_id__isnull=False).values_list(
            "reply_to_id", "matched_entry_id"
        ):
            answered_with.setdefault(reply_to_id, entry_id)

    by_message: dict[int, dict[str, Any]] = {}
    for row in rows:
        reasons: list[str] = []
        if row["kind"] == MessageKind.FALLBACK:
            reasons.append(UnansweredReason.FALLBACK)
        elif row["kind"] == MessageKind.SUGGEST:
            offered = _suggestions(row["payload"])
            offered_texts = {s.get("question") for s in offered}
            offered_ids = {s.get("entry_id") for s in offered}
            taken = row["next_id"] is not None and (
                row["next_text"] in offered_texts or answered_with.get(row["next_id"]) in offered_ids
            )
            if not taken:
                reasons.append(UnansweredReason.SUGGEST_MISS)
        if row["feedback__helpful"] is False:
            reasons.append(UnansweredReason.UNHELPFUL)
        if not reasons:
            continue
        key = question_key(row["reply_to__text"])
        if not key:
            continue  # only punctuation or emoji: nothing a FAQ could answer
        seen = by_message.get(row["reply_to_id"])
        if seen is not None:
            seen["reasons"].extend(r for r in reasons if r not in seen["reasons"])
            continue
        top = row["matched_entry_id"]
        if top is None and row["candidates"]:
            top = (row["candidates"][0] or {}).get("entry_id")
        by_message[row["reply_to_id"]] = {
            "message_id": row["reply_to_id"],
            "conversation_id": row["conversation_id"],
            "seq": row["reply_to__seq"],
            "text": row["reply_to__text"],
            "key": key,
            "asked_at": row["reply_to__created_at"],
            "intent": row["reply_to__intent"] or "",
            "reply_id": row["id"],
            "reply_kind": row["kind"],
            "top_entry_id": top if isinstance(top, int) else None,
            "reasons": reasons,
        }
    decided = dict(
        UnansweredDecision.objects.filter(key__in={o["key"] for o in by_message.values()}).values_list("key", "decided_at")
    )
    return [
        Occurrence(**{**o, "reasons": tuple(o["reasons"])})
        for o in by_message.values()
        if o["key"] not in decided or o["asked_at"] > decided[o["key"]]
    ]


def reference_texts(limit: int = MAX_REFERENCE_TEXTS) -> list[str]:
    """The KB's questions and similar questions (the grouping's IDF reference), capped."""
    questions = list(Entry.objects.order_by("id").values_list("question", flat=True)[:limit])
    similar = list(SimilarQuestion.objects.order_by("id").values_list("text", flat=True)[: max(0, limit - len(questions))])
    return questions + similar


def unanswered_groups(*, since: datetime | None = None, until: datetime | None = None) -> list[UnansweredGroup]:
    """The undecided occurrences of the window, grouped by similar question, biggest group first."""
    if since is None or until is None:
        default_since, default_until = default_window()
        since, until = since or default_since, until or default_until
    occurrences = unanswered_occurrences(since=since, until=until)
    by_key: dict[str, list[Occurrence]] = {}
    for occurrence in occurrences:  # newest first, so [0] is each text's newest occurrence
        by_key.setdefault(occurrence.key, []).append(occurrence)
    keys = sorted(by_key, key=lambda k: -len(by_key[k]))[:MAX_TEXTS]
    texts = [by_key[k][0].text for k in keys]
    groups = []
    for text_group in group_texts(texts, [len(by_key[k]) for k in keys], reference=reference_texts()):
        questions = [QuestionCount(texts[i], keys[i], len(by_key[keys[i]]), by_key[keys[i]][0].message_id) for i in text_group.members]
        groups.append(
            UnansweredGroup(
                questions=questions,
                occurrences=[o for i in text_group.members for o in by_key[keys[i]]],
                similarity=list(text_group.similarity),
            )
        )
    return groups


# --- prefill of the Entry add form ---------------------------------------------------------


@dataclass(frozen=True)
class EntryPrefill:
    """Initial values of a new FAQ entry (the manager completes and saves the form)."""

    question: str
    similar_questions: tuple[str, ...] = ()
    answer: str = ""
    category_id: int | None = None
    decides: tuple[str, ...] = ()  # the questions saving the entry marks handled (``FAQ_CREATED``)

    def initial(self) -> dict[str, Any]:
        data: dict[str, Any] = {"question": self.question[:200], "external_id": external_id_suggest()}
        if self.answer:
            data["answer"] = self.answer
        if self.category_id:
            data["category"] = self.category_id
        return data


def external_id_suggest() -> str:
    """A free ``FAQ-YYYYMMDD-N`` id for a new entry (the manager may change it)."""
    prefix = f"FAQ-{timezone.localdate():%Y%m%d}-"
    n = Entry.objects.filter(external_id__startswith=prefix).count() + 1
    while Entry.objects.filter(external_id=f"{prefix}{n}").exists():
        n += 1
    return f"{prefix}{n}"


def _category_guess(message_ids: list[int]) -> int | None:
    """The category most of these questions point to: their intents that are category slugs
    (intent names = category slugs), else the category of their replies' best candidates."""
    rows = list(Message.objects.filter(pk__in=message_ids).values_list("intent", flat=True))
    slugs = Counter(i for i in rows if i)
    if slugs:
        by_slug = dict(Category.objects.filter(slug__in=list(slugs)).values_list("slug", "pk"))
        ranked = [(count, slug) for slug, count in slugs.items() if slug in by_slug]
        if ranked:
            return by_slug[max(ranked)[1]]
    tops: list[int] = []
    for matched, candidates in Message.objects.filter(reply_to_id__in=message_ids, sender=Sender.BOT).values_list("matched_entry_id", "candidates"):
        top = matched or ((candidates or [{}])[0] or {}).get("entry_id")
        if isinstance(top, int):
            tops.append(top)
    weights = Counter(tops)  # how often each entry was the best candidate
    by_entry = dict(Entry.objects.filter(pk__in=list(weights)).values_list("pk", "category_id"))
    categories: Counter[int] = Counter()
    for entry_id, count in weights.items():
        if by_entry.get(entry_id):
            categories[by_entry[entry_id]] += count
    return categories.most_common(1)[0][0] if categories else None


def faq_prefill_from_group(message_ids: list[int]) -> EntryPrefill | None:
    """Prefill from a group token's visitor messages: the first is the representative, the
    other distinct questions become similar questions. ``None`` if none of them exists any more."""
    texts = dict(Message.objects.filter(pk__in=message_ids, sender=Sender.VISITOR).values_list("pk", "text"))
    ordered = [texts[i] for i in message_ids if i in texts]
    if not ordered:
        return None
    distinct: dict[str, str] = {}
    for text in ordered:
        distinct.setdefault(question_key(text), text.strip())
    values = list(distinct.values())
    question = values[0][:200]
    similar = tuple(t for t in values[1:] if len(t) <= 200 and t != question)
    return EntryPrefill(question=question, similar_questions=similar, category_id=_category_guess(list(texts)), decides=tuple(values))


def faq_prefill_from_agent_message(message_id: int) -> EntryPrefill | None:
    """Prefill from an agent's reply: the question is the visitor message the agent answered
    (the last visitor message before it in the conversation), the answer is the agent's text."""
    agent_message = Message.objects.filter(pk=message_id, sender=Sender.AGENT).exclude(kind=MessageKind.NOTE).first()
    if agent_message is None:
        return None
    question = (
        Message.objects.filter(conversation_id=agent_message.conversation_id, sender=Sender.VISITOR, seq__lt=agent_message.seq)
        .order_by("-seq")
        .values_list("text", flat=True)
        .first()
    )
    if not question:
        return None
    return EntryPrefill(question=question.strip()[:200], answer=agent_message.text.strip())
