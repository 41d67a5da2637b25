"""The one chat turn (``services.turn.turn_handle``) with a scripted analysis/FAQ matcher."""
from __future__ import annotations

import pytest

from conversations import realtime
from conversations.enums import ConversationStatus, MessageKind, Sender
from conversations.models import Message, ReplyTemplate
from conversations.services import conversation_close, turn_handle
from csbot.errors import ApplicationError
from handoff.models import Escalation

pytestmark = pytest.mark.django_db


def turn(conversation, text, **kwargs):
    return turn_handle(conversation=conversation, text=text, source="api", **kwargs)


def test_answer_turn_stores_the_visitor_message_and_the_decided_reply(scripted_nlp, api_session, kb_entries):
    conversation, _ = api_session
    # When the visitor asks something the KB answers
    result = turn(conversation, "我想退货怎么弄", client_msg_id="c-1")
    # Then both messages are stored in order, the reply records why
    visitor, reply = result.visitor_message, result.reply
    assert (visitor.seq, visitor.sender, visitor.client_msg_id, visitor.intent) == (1, Sender.VISITOR, "c-1", "returns")
    assert (reply.seq, reply.sender, reply.kind, reply.reply_to_id) == (2, Sender.BOT, MessageKind.ANSWER, visitor.pk)
    assert reply.text == kb_entries["T-RET-1"].answer
    assert reply.matched_entry_id == kb_entries["T-RET-1"].pk
    assert (reply.intent, reply.confidence) == ("returns", pytest.approx(0.91))
    assert [c["external_id"] for c in reply.candidates] == ["T-RET-1", "T-REF-2"]
    assert reply.latency_ms is not None and reply.latency_ms >= 0
    conversation.refresh_from_db()
    assert conversation.last_seq == 2 and conversation.last_activity_at is not None
    assert conversation.context["turns"][-1] == {"text": "我想退货怎么弄", "intent": "returns", "action": "answer", "entry_id": kb_entries["T-RET-1"].pk}
    assert result.duplicate is False and result.intent == "returns"


def test_a_repeated_client_msg_id_returns_the_stored_result_and_stores_nothing(scripted_nlp, api_session):
    conversation, _ = api_session
    first = turn(conversation, "我想退货", client_msg_id="same-id")
    again = turn(conversation, "我想退货", client_msg_id="same-id")
    assert again.duplicate is True
    assert (again.visitor_message.pk, again.reply.pk) == (first.visitor_message.pk, first.reply.pk)
    assert Message.objects.filter(conversation=conversation).count() == 2
    assert scripted_nlp.calls == ["我想退货"]  # the retry never reaches the models


def test_messages_without_client_id_are_never_deduplicated(scripted_nlp, api_session):
    conversation, _ = api_session
    turn(conversation, "你好")
    turn(conversation, "你好")
    assert Message.objects.filter(conversation=conversation).count() == 4


def test_suggestions_offer_three_questions_and_clicking_one_answers_it(scripted_nlp, api_session, kb_entries):
    conversation, _ = api_session
    # Given the suggest band
    result = turn(conversation, "退款的事")
    assert result.reply.kind == MessageKind.SUGGEST
    assert result.reply.text == "您是不是想问："
    suggestions = result.reply.payload["suggestions"]
    assert [s["question"] for s in suggestions] == ["退款多久到账？", "退款会退到哪里？", "怎么申请退货？"]
    # When the visitor clicks the second suggestion
    clicked = turn(conversation, "（任意文字）", entry_id=suggestions[1]["entry_id"])
    # Then that entry answers, and the visitor's message is the question they clicked
    assert clicked.reply.kind == MessageKind.ANSWER
    assert clicked.reply.matched_entry_id == kb_entries["T-REF-2"].pk
    assert clicked.reply.text == kb_entries["T-REF-2"].answer
    assert clicked.visitor_message.text == "退款会退到哪里？"
    assert clicked.reply.payload["why"] == "selected"
    assert scripted_nlp.calls == ["退款的事"]


def test_a_click_on_an_entry_that_is_no_longer_answerable_is_analysed_as_text(scripted_nlp, api_session):
    conversation, _ = api_session
    result = turn(conversation, "怎么退货", entry_id=999999)
    assert result.reply.kind == MessageKind.ANSWER and scripted_nlp.calls == ["怎么退货"]


def test_small_talk_comes_from_the_template_managers_edit(scripted_nlp, api_session):
    conversation, _ = api_session
    ReplyTemplate.objects.filter(key="greeting").update(text="您好呀，这里是小云！")
    result = turn(conversation, "你好")
    assert (result.reply.kind, result.reply.text, result.reply.intent) == (MessageKind.SMALLTALK, "您好呀，这里是小云！", "greeting")


def test_fallback_offers_a_human_and_the_third_in_a_row_escalates(scripted_nlp, api_session):
    conversation, _ = api_session
    first = turn(conversation, "嗯嗯嗯")
    second = turn(conversation, "啊这")
    assert first.reply.kind == second.reply.kind == MessageKind.FALLBACK
    assert first.reply.payload["actions"] == [{"type": "handoff", "label": "转人工"}]
    assert first.reply.text == ReplyTemplate.objects.get(key="fallback").text
    third = turn(conversation, "听不懂")
    assert third.conversation.status == ConversationStatus.QUEUED
    assert Escalation.objects.get(conversation=conversation).reason == "repeated_fallback"


def test_out_of_scope_uses_its_own_template(scripted_nlp, api_session):
    conversation, _ = api_session
    result = turn(conversation, "明天天气怎么样")
    assert (result.reply.kind, result.reply.intent) == (MessageKind.FALLBACK, "out_of_scope")
    assert result.reply.text == ReplyTemplate.objects.get(key="out_of_scope").text


@pytest.mark.parametrize(("text", "reason"), [("我要转人工", "human_request"), ("我要投诉你们", "complaint"), ("气死我了，怎么还没到", "negative_sentiment")])
def test_escalating_messages_queue_the_conversation_with_a_notice(scripted_nlp, api_session, text, reason):
    conversation, _ = api_session
    result = turn(conversation, text, client_msg_id="esc-1")
    escalation = Escalation.objects.get(conversation=conversation)
    assert (escalation.reason, escalation.status) == (reason, "queued")
    assert result.conversation.status == ConversationStatus.QUEUED
    # The reply is the system notice, linked to the visitor's message, so a retry finds it
    assert (result.reply.sender, result.reply.kind, result.reply.reply_to_id) == (Sender.SYSTEM, MessageKind.EVENT, result.visitor_message.pk)
    assert result.reply.text == ReplyTemplate.objects.get(key="handoff_queued").text
    assert turn(conversation, text, client_msg_id="esc-1").reply.pk == result.reply.pk


def test_the_handoff_button_escalates_without_analysis(scripted_nlp, api_session):
    conversation, _ = api_session
    result = turn(conversation, "转人工", handoff=True)
    assert result.conversation.status == ConversationStatus.QUEUED
    assert Escalation.objects.get(conversation=conversation).reason == "human_request"
    assert scripted_nlp.calls == []


def test_the_bot_stays_quiet_while_a_person_owns_the_conversation(scripted_nlp, api_session):
    conversation, _ = api_session
    turn(conversation, "转人工", handoff=True)
    before = Message.objects.filter(conversation=conversation).count()
    result = turn(conversation, "你好，我的电话是 13812345678")
    assert result.reply is None
    assert Message.objects.filter(conversation=conversation).count() == before + 1
    assert result.visitor_message.text == "你好，我的电话是 138****5678"  # masked without the models
    assert scripted_nlp.calls == []


def test_personal_data_is_masked_before_it_is_stored(scripted_nlp, api_session, settings):
    conversation, _ = api_session
    stored = turn(conversation, "我想退货，电话 13812345678").visitor_message
    assert stored.text == "我想退货，电话 138****5678"
    assert "13812345678" not in str(stored.payload)
    settings.CSBOT_MASK_PII = False
    assert turn(conversation, "我想退货，电话 13812345678").visitor_message.text == "我想退货，电话 13812345678"


def test_a_closed_conversation_refuses_new_messages(scripted_nlp, api_session):
    conversation, _ = api_session
    conversation_close(conversation=conversation)
    with pytest.raises(ApplicationError) as error:
        turn(conversation, "你好")
    assert (error.value.code, error.value.status) == ("session_closed", 409)


@pytest.mark.parametrize(("text", "code"), [("", "empty_message"), ("   \n\t ", "empty_message"), (None, "empty_message"), ("长" * 1001, "message_too_long"), (42, "invalid")])
def test_bad_text_is_refused_and_nothing_is_stored(scripted_nlp, api_session, text, code):
    conversation, _ = api_session
    with pytest.raises(ApplicationError) as error:
        turn(conversation, text)
    assert error.value.code == code
    assert not Message.objects.filter(conversation=conversation).exists()


def test_control_characters_are_dropped_and_the_limit_is_a_setting(scripted_nlp, api_session, settings):
    conversation, _ = api_session
    assert turn(conversation, "你好\x00\x07").visitor_message.text == "你好"
    settings.CSBOT_MESSAGE_MAX_CHARS = 3
    with pytest.raises(ApplicationError, match="3"):
        turn(conversation, "你好你好")


def test_a_client_msg_id_must_be_a_short_string(scripted_nlp, api_session):
    conversation, _ = api_session
    for bad in ("x" * 65, 12, "a\nb"):
        with pytest.raises(ApplicationError) as error:
            turn(conversation, "你好", client_msg_id=bad)
        assert error.value.code == "invalid_client_msg_id"


def test_messages_are_rate_limited_per_session(scripted_nlp, api_session, settings, clear_cache):
    conversation, _ = api_session
    settings.CSBOT_RATE_LIMIT_MESSAGES = "2/60"
    turn(conversation, "你好", client_msg_id="a")
    turn(conversation, "谢谢", client_msg_id="b")
    with pytest.raises(ApplicationError) as error:
        turn(conversation, "再见", client_msg_id="c")
    assert (error.value.code, error.value.status) == ("rate_limited", 429)
    assert 1 <= error.value.extra["retry_after"] <= 60
    # A retry of an already stored message is not a new message: never limited
    assert turn(conversation, "你好", client_msg_id="a").duplicate is True


def test_the_message_limit_is_a_sliding_window_over_stored_messages(scripted_nlp, api_session, settings):
    from datetime import timedelta

    from django.utils import timezone

    from conversations.models import Message

    conversation, _ = api_session
    settings.CSBOT_RATE_LIMIT_MESSAGES = "2/60"
    turn(conversation, "你好", client_msg_id="a")
    turn(conversation, "谢谢", client_msg_id="b")
    # Given the first message was sent 50 s ago: the window frees up 10 s from now
    now = timezone.now()
    Message.objects.filter(conversation=conversation, client_msg_id="a").update(created_at=now - timedelta(seconds=50))
    with pytest.raises(ApplicationError) as error:
        turn(conversation, "再见", client_msg_id="c")
    assert error.value.code == "rate_limited" and 9 <= error.value.extra["retry_after"] <= 11
    # Refused messages are not stored, so they do not extend the wait
    assert not Message.objects.filter(conversation=conversation, client_msg_id="c").exists()
    # When the oldest leaves the window, the visitor may write again (no cache involved)
    Message.objects.filter(conversation=conversation, client_msg_id="a").update(created_at=now - timedelta(seconds=61))
    assert turn(conversation, "再见", client_msg_id="c").reply is not None


def test_context_keeps_the_last_six_turns(scripted_nlp, api_session):
    conversation, _ = api_session
    for i in range(8):
        turn(conversation, f"你好 {i}")
    conversation.refresh_from_db()
    assert [t["text"] for t in conversation.context["turns"]] == [f"你好 {i}" for i in range(2, 8)]
    assert conversation.context["fallback_streak"] == 0


def test_both_messages_are_broadcast_once_and_only_after_commit(scripted_nlp, api_session, monkeypatch, django_capture_on_commit_callbacks):
    conversation, _ = api_session
    sent = []
    monkeypatch.setattr(realtime, "group_send", lambda group, event: sent.append((group, event)))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = turn(conversation, "我想退货")
    assert sent == []  # nothing is shown before the transaction commits
    for callback in callbacks:
        callback()
    assert len(sent) == 1
    group, event = sent[0]
    assert group == realtime.conversation_group(conversation.pk)
    assert event["type"] == "chat.messages"
    assert [m["seq"] for m in event["messages"]] == [1, 2]
    assert event["messages"][1]["id"] == result.reply.pk
    assert "<strong>我的订单 → 申请售后</strong>" in event["messages"][1]["html"]  # Markdown rendered safely
    assert event["messages"][0]["html"] is None  # the visitor's text is never HTML


def test_two_not_helpful_ratings_in_a_row_hand_the_next_turn_to_a_person(scripted_nlp, api_session):
    from conversations.services import feedback_submit

    conversation, _ = api_session
    first = turn(conversation, "我想退货").reply
    second = turn(conversation, "退货要运费吗").reply
    feedback_submit(conversation=conversation, message_id=first.pk, helpful=False)
    third = turn(conversation, "退货地址").reply  # the latest answer was not rated: no streak
    assert third.kind == MessageKind.ANSWER
    feedback_submit(conversation=conversation, message_id=second.pk, helpful=False)
    feedback_submit(conversation=conversation, message_id=third.pk, helpful=False)
    result = turn(conversation, "我想退货")
    assert result.conversation.status == ConversationStatus.QUEUED
    assert Escalation.objects.get(conversation=conversation).reason == "unhelpful"


def test_escalation_keywords_managers_configure_are_honoured(scripted_nlp, api_session):
    from handoff.models import EscalationPolicy

    conversation, _ = api_session
    EscalationPolicy.objects.update_or_create(pk=EscalationPolicy.SINGLETON_PK, defaults={"keywords": "找经理"})
    result = turn(conversation, "我想退货，找经理来")
    assert Escalation.objects.get(conversation=conversation).reason == "keyword"
    assert result.conversation.status == ConversationStatus.QUEUED


def test_when_a_person_takes_over_while_the_models_think_the_bot_stays_quiet(scripted_nlp, api_session, monkeypatch):
    from conversations.services import understanding
    from handoff.services import escalation_create

    conversation, _ = api_session
    real_analyze = understanding.text_analyze

    def analyze_while_an_agent_takes_over(text, *, now):
        escalation_create(conversation=conversation, reason="other")  # seq 1: the notice
        return real_analyze(text, now=now)

    monkeypatch.setattr(understanding, "text_analyze", analyze_while_an_agent_takes_over)
    result = turn(conversation, "我想退货")
    assert result.reply is None
    assert result.visitor_message.seq == 2
    conversation.refresh_from_db()
    assert conversation.last_seq == 2  # no sequence number was lost
    assert list(Message.objects.filter(conversation=conversation).values_list("seq", flat=True)) == [1, 2]
