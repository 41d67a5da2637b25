"""The curation loop: unanswered questions (collected, grouped, acted on) and promoting an
agent's reply to an FAQ."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conversations.enums import MessageKind, Sender
from conversations.models import Feedback, Message
from conversations.services import message_append, session_start
from knowledge.curation.grouping import group_texts
from knowledge.curation.unanswered import group_token, question_key, unanswered_groups, unanswered_occurrences
from knowledge.enums import CurationAction, EntryStatus, UnansweredReason
from knowledge.models import Entry, Revision, UnansweredDecision
from knowledge.services.demo import demo_kb_rows

pytestmark = pytest.mark.django_db

PAYMENT = ["可以用数字人民币付款吗", "你们支持数字人民币吗", "数字人民币能用吗", "能不能用数字人民币支付？"]
OTHERS = ["能寄到南极吗", "发票抬头写错了怎么改", "有没有优惠券", "我要投诉快递员"]


def _reference() -> list[str]:
    return [t for row in demo_kb_rows() for t in [row["question"], *row.get("similar_questions", [])]]


# --- grouping -----------------------------------------------------------------------------


def test_paraphrases_group_together_and_unrelated_questions_do_not():
    texts = PAYMENT + OTHERS
    groups = group_texts(texts, [3, 1, 1, 1, 1, 1, 1, 1], reference=_reference())
    as_texts = [{texts[i] for i in g.members} for g in groups]
    assert set(PAYMENT) in as_texts
    for other in OTHERS:
        assert {other} in as_texts
    # the most asked text leads its group and the biggest group comes first
    assert texts[groups[0].members[0]] == "可以用数字人民币付款吗"


def test_grouping_normalises_traditional_and_full_width_text():
    groups = group_texts(["可以用數字人民幣付款嗎？", "可以用数字人民币付款吗", "能寄到南极吗"], reference=_reference())
    assert sorted(len(g.members) for g in groups) == [1, 2]
    assert question_key("可以用數字人民幣付款嗎？") == question_key("可以用数字人民币付款吗")


# --- collecting occurrences -----------------------------------------------------------------


def _turn(conversation, text: str, *, kind: str, suggestions=(), entry=None, candidates=(), intent: str = ""):
    visitor = message_append(conversation=conversation, sender=Sender.VISITOR, text=text, intent=intent)
    payload = {"suggestions": [{"entry_id": e.pk, "question": e.question} for e in suggestions]} if suggestions else {}
    bot = message_append(
        conversation=conversation,
        sender=Sender.BOT,
        kind=kind,
        text="答案" if kind == MessageKind.ANSWER else "抱歉，我没有理解",
        reply_to=visitor,
        matched_entry=entry,
        payload=payload,
        intent=intent,
        candidates=[{"entry_id": c.pk, "external_id": c.external_id, "question": c.question, "probability": 0.1, "score": 1.0} for c in candidates],
    )
    return visitor, bot


def _chat():
    return session_start().conversation


def test_fallbacks_suggest_misses_and_unhelpful_answers_are_collected(small_kb):
    # given: a fallback
    c1 = _chat()
    fallback, _ = _turn(c1, "可以用数字人民币付款吗", kind=MessageKind.FALLBACK)
    # a suggestion the visitor ignored (asked something else next)
    c2 = _chat()
    refund1, refund2 = small_kb["REFUND-1"], small_kb["REFUND-2"]
    missed, _ = _turn(c2, "退款的事", kind=MessageKind.SUGGEST, suggestions=[refund1, refund2])
    _turn(c2, "算了", kind=MessageKind.FALLBACK)
    # a suggestion the visitor took (the widget sends the clicked question's text)
    c3 = _chat()
    taken, _ = _turn(c3, "退款问题", kind=MessageKind.SUGGEST, suggestions=[refund1, refund2])
    _turn(c3, refund2.question, kind=MessageKind.ANSWER, entry=refund2)
    # a suggestion with no later visitor message at all
    c4 = _chat()
    gave_up, _ = _turn(c4, "退款怎么弄", kind=MessageKind.SUGGEST, suggestions=[refund1])
    # an answer rated unhelpful, and one rated helpful
    c5 = _chat()
    unhelpful, bad = _turn(c5, "发票怎么开", kind=MessageKind.ANSWER, entry=small_kb["INV-1"])
    Feedback.objects.create(message=bad, helpful=False)
    fine, good = _turn(c5, "忘记密码怎么办", kind=MessageKind.ANSWER, entry=small_kb["ACC-1"])
    Feedback.objects.create(message=good, helpful=True)
    # when
    now = timezone.now()
    found = {o.message_id: o for o in unanswered_occurrences(since=now - timedelta(days=1), until=now + timedelta(minutes=1))}
    # then
    assert found[fallback.pk].reasons == (UnansweredReason.FALLBACK,)
    assert found[missed.pk].reasons == (UnansweredReason.SUGGEST_MISS,)
    assert found[gave_up.pk].reasons == (UnansweredReason.SUGGEST_MISS,)
    assert found[unhelpful.pk].reasons == (UnansweredReason.UNHELPFUL,)
    assert taken.pk not in found and fine.pk not in found
    # "算了" was itself a fallback: collected too
    assert {o.text for o in found.values()} == {"可以用数字人民币付款吗", "退款的事", "算了", "退款怎么弄", "发票怎么开"}


def test_only_the_date_range_counts(small_kb):
    c = _chat()
    old, bot = _turn(c, "可以用数字人民币付款吗", kind=MessageKind.FALLBACK)
    Message.objects.filter(pk=bot.pk).update(created_at=timezone.now() - timedelta(days=40))
    assert unanswered_groups() == []  # default window: the last 30 days
    groups = unanswered_groups(since=timezone.now() - timedelta(days=60), until=timezone.now())
    assert [g.representative for g in groups] == ["可以用数字人民币付款吗"]


# --- the page and its actions -------------------------------------------------------------


@pytest.fixture
def payment_questions(small_kb):
    """Five visitors asked about 数字人民币 in four ways (fallbacks), one asked about 南极."""
    ids = []
    for text in [PAYMENT[0], PAYMENT[0], *PAYMENT[1:]]:
        visitor, _ = _turn(_chat(), text, kind=MessageKind.FALLBACK, intent="payment")
        ids.append(visitor.pk)
    _turn(_chat(), "能寄到南极吗", kind=MessageKind.FALLBACK, candidates=[small_kb["SHIP-1"]])
    return ids


def _page(client) -> str:
    response = client.get(reverse("admin:knowledge_unansweredquestion_changelist"))
    assert response.status_code == 200
    return response.content.decode()


def _group(representative: str):
    return next(g for g in unanswered_groups() if g.representative == representative)


def test_the_page_lists_groups_with_counts_and_example_conversations(manager_client, payment_questions):
    page = _page(manager_client)
    groups = unanswered_groups()
    assert [(g.representative, g.count) for g in groups] == [("可以用数字人民币付款吗", 5), ("能寄到南极吗", 1)]
    assert {q.text for q in groups[0].questions} == set(PAYMENT)
    assert 'class="uq-representative">可以用数字人民币付款吗<' in page
    example = groups[0].examples[0]
    assert reverse("admin:conversations_conversation_transcript", args=[example.conversation_id]) + f"#m{example.seq}" in page
    assert "新建 FAQ" in page and "加入已有条目" in page and "忽略" in page


def test_agents_may_not_curate(client, agent_user, payment_questions):
    client.force_login(agent_user)
    assert client.get(reverse("admin:knowledge_unansweredquestion_changelist")).status_code == 403


def test_create_faq_opens_a_prefilled_add_form_and_saving_it_handles_the_group(manager_client, payment_questions, small_kb):
    group = _group("可以用数字人民币付款吗")
    url = reverse("admin:knowledge_entry_add") + "?curation=" + group.token
    # when opening the add form from the group
    response = manager_client.get(url)
    # then question, similar questions and the guessed category are filled in
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.initial["question"] == "可以用数字人民币付款吗"
    assert form.initial.get("category") is None  # "payment" is no category of the small KB, no candidates
    inline = next(f for f in response.context["inline_admin_formsets"] if f.formset.prefix == "similar_questions")
    prefilled = [f.initial.get("text") for f in inline.formset.forms if f.initial.get("text")]
    assert set(prefilled) == set(PAYMENT[1:])
    # when the manager adds the answer, publishes and saves
    data = {
        "external_id": form.initial["external_id"], "category": small_kb["REFUND-1"].category_id, "question": "可以用数字人民币付款吗",
        "answer": "支持，结算时选择数字人民币。", "keywords": "", "status": EntryStatus.PUBLISHED, "valid_until_0": "", "valid_until_1": "",
        "similar_questions-TOTAL_FORMS": "3", "similar_questions-INITIAL_FORMS": "0", "similar_questions-MIN_NUM_FORMS": "0", "similar_questions-MAX_NUM_FORMS": "1000",
        "revisions-TOTAL_FORMS": "0", "revisions-INITIAL_FORMS": "0", "revisions-MIN_NUM_FORMS": "0", "revisions-MAX_NUM_FORMS": "0",
    }
    for i, text in enumerate(prefilled):
        data[f"similar_questions-{i}-text"] = text
    response = manager_client.post(url, data)
    # then the entry exists with the similar questions, and the group left the list
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert response["Location"] == reverse("admin:knowledge_unansweredquestion_changelist")
    entry = Entry.objects.get(external_id=form.initial["external_id"])
    assert set(entry.similar_questions.values_list("text", flat=True)) == set(PAYMENT[1:])
    assert Revision.objects.filter(entry=entry, user__username="mgr").exists()
    assert [g.representative for g in unanswered_groups()] == ["能寄到南极吗"]
    decisions = UnansweredDecision.objects.filter(entry=entry)
    assert decisions.count() == 4 and {d.action for d in decisions} == {CurationAction.FAQ_CREATED}
    assert 'class="uq-representative">可以用数字人民币付款吗<' not in _page(manager_client)


def test_the_category_is_guessed_from_the_intents_or_the_best_candidates(manager_client, payment_questions, small_kb):
    group = _group("能寄到南极吗")  # its best candidate was SHIP-1 (物流配送)
    response = manager_client.get(reverse("admin:knowledge_entry_add") + "?curation=" + group.token)
    assert response.context["adminform"].form.initial["category"] == small_kb["SHIP-1"].category_id


def test_add_to_existing_entry_records_a_revision_and_handles_the_group(manager_client, payment_questions, small_kb):
    group = _group("可以用数字人民币付款吗")
    entry = small_kb["REFUND-2"]
    url = reverse("admin:knowledge_unanswered_add_to_entry")
    page = manager_client.get(url, {"token": group.token})
    assert page.status_code == 200 and "你们支持数字人民币吗" in page.content.decode()
    response = manager_client.post(url, {"token": group.token, "entry": entry.pk, "texts": PAYMENT[:2]})
    assert response.status_code == 302
    texts = list(entry.similar_questions.values_list("text", flat=True))
    assert texts[-2:] == PAYMENT[:2]
    revision = Revision.objects.filter(entry=entry).latest("id")
    assert revision.source == "curation" and revision.user.username == "mgr"
    assert "+similar_questions[]: 可以用数字人民币付款吗" in revision.diff
    # the checked questions are handled; the unchecked ones of the group stay
    remaining = {q.text for g in unanswered_groups() for q in g.questions}
    assert remaining == {"数字人民币能用吗", "能不能用数字人民币支付？", "能寄到南极吗"}


def test_adding_only_known_questions_is_a_form_error(manager_client, small_kb):
    visitor, _ = _turn(_chat(), "退款多久到账？", kind=MessageKind.FALLBACK)
    token = group_token([visitor.pk])
    response = manager_client.post(reverse("admin:knowledge_unanswered_add_to_entry"), {"token": token, "entry": small_kb["REFUND-1"].pk, "texts": ["退款多久到账？"]})
    assert response.status_code == 200 and "没有可添加的内容" in response.content.decode()
    assert not UnansweredDecision.objects.exists()


def test_ignore_hides_the_group_until_it_is_asked_again(manager_client, payment_questions):
    group = _group("可以用数字人民币付款吗")
    response = manager_client.post(reverse("admin:knowledge_unanswered_ignore"), {"token": group.token})
    assert response.status_code == 302
    assert [g.representative for g in unanswered_groups()] == ["能寄到南极吗"]
    assert set(UnansweredDecision.objects.values_list("action", flat=True)) == {CurationAction.IGNORED}
    # a new occurrence brings the question back, counted once (the ignored ones stay hidden)
    _turn(_chat(), "你们支持数字人民币吗", kind=MessageKind.FALLBACK)
    again = _group("你们支持数字人民币吗")
    assert again.count == 1


def test_a_forged_group_token_is_refused(manager_client, payment_questions):
    response = manager_client.post(reverse("admin:knowledge_unanswered_ignore"), {"token": "forged"})
    assert response.status_code == 403
    assert not UnansweredDecision.objects.exists()


# --- promoting an agent's reply ------------------------------------------------------------


def test_an_agent_reply_prefills_a_new_faq(manager_client, agent_user, small_kb):
    conversation = _chat()
    message_append(conversation=conversation, sender=Sender.VISITOR, text="你好")
    message_append(conversation=conversation, sender=Sender.VISITOR, text="你们的门店几点关门？")
    reply = message_append(conversation=conversation, sender=Sender.AGENT, agent=agent_user, text="门店每天 10:00–22:00 营业。", payload={"agent_name": "小云"})
    # the transcript offers the button next to the agent's message
    transcript = manager_client.get(reverse("admin:conversations_conversation_transcript", args=[conversation.pk])).content.decode()
    promote = reverse("admin:knowledge_entry_add") + f"?from_message={reply.pk}"
    assert promote in transcript
    # and the add form is prefilled with the visitor's question and the agent's answer
    response = manager_client.get(promote)
    initial = response.context["adminform"].form.initial
    assert (initial["question"], initial["answer"]) == ("你们的门店几点关门？", "门店每天 10:00–22:00 营业。")


def test_agents_see_no_promote_button(client, agent_user):
    conversation = _chat()
    message_append(conversation=conversation, sender=Sender.VISITOR, text="门店几点关门？")
    message_append(conversation=conversation, sender=Sender.AGENT, agent=agent_user, text="22 点。")
    client.force_login(agent_user)
    page = client.get(reverse("admin:conversations_conversation_transcript", args=[conversation.pk])).content.decode()
    assert "22 点。" in page and "from_message=" not in page


def test_a_visitor_message_cannot_be_promoted(manager_client):
    conversation = _chat()
    visitor = message_append(conversation=conversation, sender=Sender.VISITOR, text="门店几点关门？")
    response = manager_client.get(reverse("admin:knowledge_entry_add") + f"?from_message={visitor.pk}")
    assert response.status_code == 200 and not response.context["adminform"].form.initial.get("question")


def test_deleting_a_decision_brings_its_question_back(manager_client, payment_questions):
    group = _group("能寄到南极吗")
    manager_client.post(reverse("admin:knowledge_unanswered_ignore"), {"token": group.token})
    decision = UnansweredDecision.objects.get()
    assert manager_client.get(reverse("admin:knowledge_unanswereddecision_changelist")).status_code == 200
    response = manager_client.post(reverse("admin:knowledge_unanswereddecision_delete", args=[decision.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert "能寄到南极吗" in [g.representative for g in unanswered_groups()]
