"""PostgreSQL's one-statement bot turn (``services.messages.bot_turn_append``), as the turn uses it."""
from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from conversations.enums import ConversationStatus, MessageKind, Sender
from conversations.models import Conversation, Message
from conversations.services import turn_handle
from conversations.services.messages import bot_turn_append
from conversations.services.turn import escalation_rules

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _pair(conversation, client_msg_id="c-1"):
    visitor = Message(conversation_id=conversation.pk, sender=Sender.VISITOR, text="我想退货", client_msg_id=client_msg_id, payload={"source": "api"})
    reply = Message(conversation_id=conversation.pk, sender=Sender.BOT, kind=MessageKind.ANSWER, text="七天无理由退货", confidence=0.9)
    return visitor, reply


def test_a_bot_turn_is_two_statements_outside_a_transaction(scripted_nlp, api_session, kb_entries):
    """The state read and one write: no BEGIN, no second INSERT, no COMMIT."""
    conversation, _ = api_session
    escalation_rules()  # cached per process for a few seconds: not a per-turn query
    with CaptureQueriesContext(connection) as queries:
        result = turn_handle(conversation=Conversation(pk=conversation.pk), text="我想退货怎么弄", client_msg_id="c-1", source="api")
    assert len(queries) == 2, [q["sql"][:60] for q in queries]
    visitor, reply = result.visitor_message, result.reply
    stored = list(Message.objects.filter(conversation=conversation).order_by("seq").values_list("pk", "seq", "sender", "reply_to_id", "client_msg_id"))
    assert stored == [(visitor.pk, 1, Sender.VISITOR, None, "c-1"), (reply.pk, 2, Sender.BOT, visitor.pk, None)]
    assert reply.matched_entry_id == kb_entries["T-RET-1"].pk == Message.objects.get(pk=reply.pk).matched_entry_id
    conversation.refresh_from_db()
    assert (conversation.last_seq, result.conversation.last_seq) == (2, 2)
    assert conversation.context["turns"][-1]["action"] == "answer"


def test_nothing_is_stored_once_the_bot_no_longer_owns_the_conversation(api_session):
    conversation, _ = api_session
    Conversation.objects.filter(pk=conversation.pk).update(status=ConversationStatus.QUEUED)
    visitor, reply = _pair(conversation)
    assert bot_turn_append(conversation_id=conversation.pk, context={"turns": []}, visitor=visitor, reply=reply) is False
    assert not Message.objects.filter(conversation=conversation).exists()
    conversation.refresh_from_db()
    assert conversation.last_seq == 0 and conversation.context == {}


def test_a_repeated_client_id_fails_whole_and_leaves_the_callers_transaction_usable(api_session):
    conversation, _ = api_session
    assert bot_turn_append(conversation_id=conversation.pk, context={}, visitor=_pair(conversation)[0], reply=_pair(conversation)[1])
    with transaction.atomic():
        visitor, reply = _pair(conversation)
        with pytest.raises(IntegrityError):
            bot_turn_append(conversation_id=conversation.pk, context={"x": 1}, visitor=visitor, reply=reply)
        # the caller can still read what was stored (the turn does, to answer the retry)
        assert Message.objects.filter(conversation=conversation).count() == 2
    conversation.refresh_from_db()
    assert conversation.last_seq == 2 and conversation.context == {}
