"""Accept, reply, note, transfer, return to bot, close, CSAT, left messages — and who may do them."""
from __future__ import annotations

import pytest

from conversations.enums import ConversationStatus, MessageKind, Sender
from conversations.models import Message
from conversations.selectors import conversation_history
from csbot.errors import ApplicationError
from handoff.enums import EscalationReason, EscalationStatus, Presence
from handoff.models import Escalation, LeftMessage
from handoff.selectors import agent_chats, conversation_for_staff, queue_items
from handoff.services.agent_chat import (
    agent_message_send,
    agent_note_add,
    agent_read_mark,
    escalation_accept,
    escalation_close,
    escalation_return_to_bot,
    escalation_transfer,
)
from handoff.services.visitor import csat_submit, left_message_create

pytestmark = pytest.mark.django_db


def _code(excinfo) -> str:
    return excinfo.value.code


@pytest.fixture
def served(make_agent, make_waiting):
    """An agent serving one chat."""
    agent = make_agent("alice")
    escalation = make_waiting()
    escalation_accept(user=agent, conversation_id=escalation.conversation_id)
    escalation.refresh_from_db()
    return agent, escalation


def test_accept_puts_the_agent_in_charge_and_tells_the_visitor(served):
    agent, escalation = served
    conversation = escalation.conversation
    conversation.refresh_from_db()
    assert escalation.status == EscalationStatus.ACTIVE and escalation.accepted_at and escalation.assigned_at
    assert conversation.status == ConversationStatus.WITH_AGENT and conversation.assigned_agent == agent
    joined = conversation_history(conversation=conversation).last()
    assert joined.sender == Sender.SYSTEM and "Alice" in joined.text


def test_accept_twice_is_harmless_but_another_agent_cannot_take_it(served, make_agent):
    agent, escalation = served
    assert escalation_accept(user=agent, conversation_id=escalation.conversation_id).pk == escalation.pk
    with pytest.raises(ApplicationError) as excinfo:
        escalation_accept(user=make_agent("bob"), conversation_id=escalation.conversation_id)
    # bob cannot even see alice's chat
    assert _code(excinfo) == "conversation_not_found"


def test_accept_refuses_an_agent_at_capacity(make_agent, make_waiting):
    agent = make_agent(capacity=1, presence=Presence.OFFLINE)
    first, second = make_waiting(), make_waiting()
    escalation_accept(user=agent, conversation_id=first.conversation_id)
    with pytest.raises(ApplicationError) as excinfo:
        escalation_accept(user=agent, conversation_id=second.conversation_id)
    assert _code(excinfo) == "over_capacity"
    assert Escalation.objects.get(pk=second.pk).status == EscalationStatus.QUEUED


def test_reply_reaches_the_visitor_once_per_client_id(served):
    agent, escalation = served
    first = agent_message_send(user=agent, conversation_id=escalation.conversation_id, text=" 您好 ", client_msg_id="c1")
    again = agent_message_send(user=agent, conversation_id=escalation.conversation_id, text="您好", client_msg_id="c1")
    assert first.pk == again.pk and first.text == "您好" and first.sender == Sender.AGENT
    assert first.payload["agent_name"] == "Alice"
    assert conversation_history(conversation=escalation.conversation).filter(sender=Sender.AGENT).count() == 1


@pytest.mark.parametrize(("text", "code"), [("", "empty_message"), ("   ", "empty_message"), ("长" * 2001, "message_too_long"), (None, "empty_message")])
def test_bad_reply_text_is_refused(served, text, code):
    agent, escalation = served
    with pytest.raises(ApplicationError) as excinfo:
        agent_message_send(user=agent, conversation_id=escalation.conversation_id, text=text)
    assert _code(excinfo) == code


def test_agent_cannot_write_or_read_another_agents_chat(served, make_agent):
    _alice, escalation = served
    bob = make_agent("bob")
    for call in (
        lambda: agent_message_send(user=bob, conversation_id=escalation.conversation_id, text="hi"),
        lambda: agent_note_add(user=bob, conversation_id=escalation.conversation_id, text="hi"),
        lambda: escalation_close(user=bob, conversation_id=escalation.conversation_id),
        lambda: escalation_transfer(user=bob, conversation_id=escalation.conversation_id, to_user_id=bob.pk),
        lambda: escalation_return_to_bot(user=bob, conversation_id=escalation.conversation_id),
        lambda: conversation_for_staff(user=bob, conversation_id=escalation.conversation_id),
    ):
        with pytest.raises(ApplicationError) as excinfo:
            call()
        assert _code(excinfo) == "conversation_not_found"
    assert agent_chats(user=bob) == []


def test_manager_watches_any_chat_but_only_the_owner_replies(served, make_agent):
    _alice, escalation = served
    boss = make_agent("boss", manager=True)
    assert conversation_for_staff(user=boss, conversation_id=escalation.conversation_id) == escalation.conversation
    assert [c.conversation_id for c in agent_chats(user=boss, everyone=True)] == [escalation.conversation_id]
    with pytest.raises(ApplicationError) as excinfo:
        agent_message_send(user=boss, conversation_id=escalation.conversation_id, text="hi")
    assert _code(excinfo) == "not_your_chat"


def test_note_is_stored_but_never_in_the_visitors_history(served):
    agent, escalation = served
    note = agent_note_add(user=agent, conversation_id=escalation.conversation_id, text="老客户，优先处理")
    assert note.kind == MessageKind.NOTE
    assert not conversation_history(conversation=escalation.conversation).filter(pk=note.pk).exists()


def test_unread_counts_visitor_messages_after_the_last_read(served):
    agent, escalation = served
    conversation = escalation.conversation
    from conversations.services.messages import message_append

    message_append(conversation=conversation, sender=Sender.VISITOR, text="在吗")
    last = message_append(conversation=conversation, sender=Sender.VISITOR, text="我的退款呢")
    assert agent_chats(user=agent)[0].unread == 2
    agent_read_mark(user=agent, conversation_id=conversation.pk, seq=last.seq)
    assert agent_chats(user=agent)[0].unread == 0


def test_transfer_hands_the_chat_to_the_target_who_must_accept(served, make_agent):
    alice, escalation = served
    bob = make_agent("bob")
    result = escalation_transfer(user=alice, conversation_id=escalation.conversation_id, to_user_id=bob.pk, note="发票问题")
    assert result.ended.status == EscalationStatus.ENDED and result.ended.ended_at
    assert (result.new.status, result.new.agent_id, result.new.reason) == (EscalationStatus.ASSIGNED, bob.pk, EscalationReason.TRANSFER)
    assert "发票问题" in result.new.detail
    escalation_accept(user=bob, conversation_id=escalation.conversation_id)
    escalation.conversation.refresh_from_db()
    assert escalation.conversation.assigned_agent == bob


@pytest.mark.parametrize("target", ["self", "offline", "missing"])
def test_transfer_to_an_impossible_target_changes_nothing(served, make_agent, target):
    alice, escalation = served
    to = {"self": alice.pk, "offline": make_agent(presence=Presence.OFFLINE).pk, "missing": 99999}[target]
    with pytest.raises(ApplicationError) as excinfo:
        escalation_transfer(user=alice, conversation_id=escalation.conversation_id, to_user_id=to)
    assert _code(excinfo) == "invalid_target"
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.ACTIVE


def test_transfer_to_the_queue_routes_to_someone_else(served, make_agent):
    alice, escalation = served
    bob = make_agent("bob")
    result = escalation_transfer(user=alice, conversation_id=escalation.conversation_id)
    result.new.refresh_from_db()
    assert (result.new.status, result.new.agent_id) == (EscalationStatus.ASSIGNED, bob.pk)


def test_return_to_bot_ends_the_handoff(served):
    agent, escalation = served
    escalation_return_to_bot(user=agent, conversation_id=escalation.conversation_id)
    escalation.refresh_from_db()
    escalation.conversation.refresh_from_db()
    assert escalation.status == EscalationStatus.ENDED and escalation.ended_at
    assert escalation.conversation.status == ConversationStatus.BOT and escalation.conversation.assigned_agent is None


def test_close_asks_for_csat_and_the_visitor_rates_once(served):
    agent, escalation = served
    conversation = escalation.conversation
    with pytest.raises(ApplicationError) as excinfo:
        csat_submit(conversation=conversation, rating=5)
    assert _code(excinfo) == "csat_not_available"
    escalation_close(user=agent, conversation_id=conversation.pk)
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.CLOSED and conversation.close_reason == "agent"
    prompt = Message.objects.filter(conversation=conversation).last()
    assert prompt.payload["actions"][0]["type"] == "csat"
    for bad in (0, 6, "5", True, None):
        with pytest.raises(ApplicationError) as excinfo:
            csat_submit(conversation=conversation, rating=bad)
        assert _code(excinfo) == "invalid_rating"
    csat_submit(conversation=conversation, rating=4, comment="挺好")
    conversation.refresh_from_db()
    assert (conversation.csat_rating, conversation.csat_comment) == (4, "挺好")
    with pytest.raises(ApplicationError) as excinfo:
        csat_submit(conversation=conversation, rating=1)
    assert _code(excinfo) == "csat_already_submitted"


def test_queue_shows_agents_waiting_chats_and_their_own_assignments_only(make_agent, make_waiting):
    alice, bob = make_agent("alice", capacity=1), make_agent("bob", capacity=1)
    first, second, third = make_waiting(minutes_ago=3), make_waiting(minutes_ago=2), make_waiting(minutes_ago=1)
    from handoff.services.routing import queue_dispatch

    queue_dispatch()  # first → one agent, second → the other, third waits
    mine = {item.conversation_id for item in queue_items(user=alice)}
    owner_of_first = Escalation.objects.get(pk=first.pk).agent_id
    own = first if owner_of_first == alice.pk else second
    assert mine == {own.conversation_id, third.conversation_id}
    boss = make_agent("boss", manager=True, presence=Presence.OFFLINE)
    assert {item.conversation_id for item in queue_items(user=boss)} == {first.conversation_id, second.conversation_id, third.conversation_id}
    assert next(i for i in queue_items(user=boss) if i.conversation_id == first.conversation_id).wait_seconds >= 179


def test_left_message_needs_contact_and_text(make_waiting):
    conversation = make_waiting().conversation
    for kwargs, code in (({"contact": "", "text": "x"}, "contact_required"), ({"contact": "13800000000", "text": " "}, "empty_message")):
        with pytest.raises(ApplicationError) as excinfo:
            left_message_create(conversation=conversation, **kwargs)
        assert _code(excinfo) == code
    left = left_message_create(conversation=conversation, contact=" 13800000000 ", text="请回电", name="王先生")
    assert LeftMessage.objects.get(pk=left.pk).contact == "13800000000"


def test_non_staff_users_are_refused(make_waiting, django_user_model):
    visitor_like = django_user_model.objects.create_user("nobody", password="x")
    escalation = make_waiting()
    with pytest.raises(ApplicationError) as excinfo:
        escalation_accept(user=visitor_like, conversation_id=escalation.conversation_id)
    assert _code(excinfo) == "not_an_agent"
