"""WRITES of the curation loop: decide on unanswered questions, add them to an entry.

Entry changes go through ``knowledge.services.entry_upsert`` (revision with the user and
source ``curation``, index sync after commit, cache refresh); decisions are
``UnansweredDecision`` rows keyed by ``question_key`` (one per question, the newest wins).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations.enums import Sender
from conversations.models import Message
from csbot.errors import ApplicationError
from knowledge.enums import CurationAction
from knowledge.models import Entry, UnansweredDecision
from knowledge.services import EntryData, entry_snapshot, entry_upsert

from .unanswered import question_key

SOURCE = "curation"


def _user(user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return user if user is not None and user.is_authenticated else None


def visitor_texts(message_ids: Iterable[int]) -> list[str]:
    """The distinct texts of these visitor messages, in the given order."""
    ids = [int(i) for i in message_ids]
    texts = dict(Message.objects.filter(pk__in=ids, sender=Sender.VISITOR).values_list("pk", "text"))
    distinct: dict[str, str] = {}
    for i in ids:
        if i in texts and question_key(texts[i]):
            distinct.setdefault(question_key(texts[i]), texts[i].strip())
    return list(distinct.values())


@transaction.atomic
def unanswered_decide(
    *, texts: Iterable[str], action: str, user: AbstractBaseUser | None = None, entry: Entry | None = None
) -> int:
    """Record ``action`` for each question in ``texts`` (now); returns how many questions.

    Their occurrences asked until now leave the unanswered list; later ones show again.
    """
    if action not in CurationAction.values:
        raise ValueError(f"unknown curation action {action!r}")
    now = timezone.now()
    n = 0
    for text in texts:
        key = question_key(text)
        if not key:
            continue
        UnansweredDecision.objects.update_or_create(
            key=key,
            defaults={"text": text.strip()[:255], "action": action, "entry": entry, "decided_by": _user(user), "decided_at": now},
        )
        n += 1
    return n


@transaction.atomic
def entry_similar_questions_add(*, entry: Entry, texts: Iterable[str], user: AbstractBaseUser | None = None) -> list[str]:
    """Add ``texts`` as similar questions of ``entry``; returns the ones actually added.

    Texts equal to the entry's question or one of its similar questions (after normalisation)
    are skipped, as are texts longer than a similar question may be (200). The entry gets one
    revision (source ``curation``) and is re-indexed after commit. Raises ``ApplicationError``
    (``nothing_to_add``) when no text is left.
    """
    entry = Entry.objects.select_for_update().get(pk=entry.pk)
    snapshot = entry_snapshot(entry)
    known = {question_key(t) for t in [snapshot["question"], *snapshot["similar_questions"]]}
    added: list[str] = []
    for text in texts:
        text = text.strip()
        key = question_key(text)
        if not key or key in known or len(text) > 200:
            continue
        known.add(key)
        added.append(text)
    if not added:
        raise ApplicationError("nothing_to_add", _("这些问题已经是该条目的问法了（或过长），没有可添加的内容"))
    data = EntryData.from_snapshot(snapshot)
    data = replace(data, similar_questions=(*data.similar_questions, *added))
    entry_upsert(data, user=_user(user), source=SOURCE)
    return added


@transaction.atomic
def unanswered_add_to_entry(*, entry: Entry, texts: list[str], user: AbstractBaseUser | None = None) -> list[str]:
    """Add the group's questions to ``entry`` and mark them handled (``SIMILAR_ADDED``).

    Every question of the group is decided, including those the entry already had."""
    added = entry_similar_questions_add(entry=entry, texts=texts, user=user)
    unanswered_decide(texts=texts, action=CurationAction.SIMILAR_ADDED, user=user, entry=entry)
    return added


def unanswered_ignore(*, texts: list[str], user: AbstractBaseUser | None = None) -> int:
    """Hide the group's questions until they are asked again."""
    return unanswered_decide(texts=texts, action=CurationAction.IGNORED, user=user)


def unanswered_faq_created(*, texts: list[str], entry: Entry, user: AbstractBaseUser | None = None) -> int:
    """Called after the prefilled Entry add form was saved: the group's questions are handled."""
    return unanswered_decide(texts=texts, action=CurationAction.FAQ_CREATED, user=user, entry=entry)
