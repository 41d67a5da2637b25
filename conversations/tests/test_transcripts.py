"""Transcript browsing in admin: filters, message search, the transcript page, CSV exports."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conversations.enums import Channel, ConversationStatus, MessageKind, Sender
from conversations.models import Conversation, Feedback
from conversations.services import message_append, session_start
from handoff.models import AgentProfile, Escalation

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:conversations_conversation_changelist"


@pytest.fixture
def chats(kb_entries, agent_user):
    """Three conversations: a refund chat answered by the bot and rated; an escalated one an
    agent closed with ★2; an API one about shipping that fell back."""
    AgentProfile.objects.create(user=agent_user, display_name="小云")
    refund = session_start(channel=Channel.WEB).conversation
    v = message_append(conversation=refund, sender=Sender.VISITOR, text="退款多久能到账")
    bot = message_append(
        conversation=refund, sender=Sender.BOT, kind=MessageKind.ANSWER, text="1–3 个工作日", reply_to=v,
        intent="refund", confidence=0.87, matched_entry=kb_entries["T-REF-1"],
    )
    Feedback.objects.create(message=bot, helpful=False, comment="太慢了")

    escalated = session_start(channel=Channel.WEB).conversation
    v = message_append(conversation=escalated, sender=Sender.VISITOR, text="我要投诉，快递把东西摔坏了")
    message_append(conversation=escalated, sender=Sender.AGENT, agent=agent_user, text="非常抱歉，我们马上为您补发。", payload={"agent_name": "小云"})
    escalation = Escalation.objects.create(conversation=escalated, reason="complaint", status="ended", agent=agent_user)
    Escalation.objects.filter(pk=escalation.pk).update(ended_at=escalation.requested_at)
    Conversation.objects.filter(pk=escalated.pk).update(status=ConversationStatus.CLOSED, closed_at=timezone.now(), csat_rating=2, close_reason="agent")

    api = session_start(channel=Channel.API).conversation
    v = message_append(conversation=api, sender=Sender.VISITOR, text="快递到哪了")
    message_append(conversation=api, sender=Sender.BOT, kind=MessageKind.FALLBACK, text="抱歉没听懂", reply_to=v, intent="shipping", confidence=0.3)
    message_append(conversation=api, sender=Sender.VISITOR, text="快递快递快递")
    Conversation.objects.filter(pk=api.pk).update(created_at=timezone.now() - timedelta(days=3))
    return {"refund": refund, "escalated": escalated, "api": api}


def _ids(client, **params) -> set:
    response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200, response
    assert "?e=1" not in response.get("Location", "")
    return {c.pk for c in response.context["cl"].result_list}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"refund", "escalated", "api"}),
        ({"status__exact": "closed"}, {"escalated"}),
        ({"channel__exact": "api"}, {"api"}),
        ({"csat_rating__exact": "2"}, {"escalated"}),
        ({"escalated": "yes"}, {"escalated"}),
        ({"escalated": "no"}, {"refund", "api"}),
        ({"intent": "refund"}, {"refund"}),
        ({"intent": "shipping"}, {"api"}),
    ],
)
def test_changelist_filters(manager_client, chats, params, expected):
    assert _ids(manager_client, **params) == {chats[name].pk for name in expected}


def test_agent_filter_finds_the_chats_an_agent_served(manager_client, chats, agent_user):
    assert _ids(manager_client, agent=str(agent_user.pk)) == {chats["escalated"].pk}
    page = manager_client.get(reverse(CHANGELIST)).content.decode()
    assert "小云" in page  # offered as a choice


def test_date_filter(manager_client, chats):
    # what the filter's "今天" link sends
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    ids = _ids(manager_client, **{"created_at__gte": str(today), "created_at__lt": str(today + timedelta(days=1))})
    assert ids == {chats["refund"].pk, chats["escalated"].pk}


def test_search_finds_text_in_messages_once_per_conversation(manager_client, chats):
    response = manager_client.get(reverse(CHANGELIST), {"q": "快递"})
    results = list(response.context["cl"].result_list)
    # "快递" is in one message of the escalated chat and two of the API chat: each listed once
    assert sorted(str(c.pk) for c in results) == sorted([str(chats["escalated"].pk), str(chats["api"].pk)])
    assert response.context["cl"].result_count == 2
    # every word must occur; search combines with the filters
    assert _ids(manager_client, q="快递 摔坏") == {chats["escalated"].pk}
    assert _ids(manager_client, q="快递", channel__exact="api") == {chats["api"].pk}
    assert _ids(manager_client, q=str(chats["refund"].pk)[:8]) == {chats["refund"].pk}


def test_transcript_page_shows_bubbles_with_bot_details_and_feedback(manager_client, chats, kb_entries):
    response = manager_client.get(reverse("admin:conversations_conversation_transcript", args=[chats["refund"].pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="tx-msg tx-visitor" id="m1"' in page and 'class="tx-msg tx-bot" id="m2"' in page
    assert "退款多久能到账" in page and "refund" in page and "0.87" in page
    assert reverse("admin:knowledge_entry_change", args=[kb_entries["T-REF-1"].pk]) in page
    assert "👎" in page and "太慢了" in page


def test_transcript_marks_agents_and_escalations(manager_client, chats):
    page = manager_client.get(reverse("admin:conversations_conversation_transcript", args=[chats["escalated"].pk])).content.decode()
    assert 'class="tx-msg tx-agent"' in page and "（小云）" in page and "投诉" in page
    assert "tx-promote" in page  # managers may promote the agent's reply


def test_change_view_embeds_the_transcript(manager_client, chats):
    page = manager_client.get(reverse("admin:conversations_conversation_change", args=[chats["refund"].pk])).content.decode()
    assert 'id="transcript"' in page and reverse("admin:conversations_conversation_transcript", args=[chats["refund"].pk]) in page


def _csv(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_export_of_the_filtered_conversations(manager_client, chats):
    response = manager_client.get(reverse("admin:conversations_conversation_export"), {"channel__exact": "web"})
    rows = _csv(response)
    assert rows[0][:5] == ["会话 ID", "开始时间", "最近活动", "渠道", "状态"]
    by_id = {r[0]: r for r in rows[1:]}
    assert set(by_id) == {str(chats["refund"].pk), str(chats["escalated"].pk)}
    escalated = dict(zip(rows[0], by_id[str(chats["escalated"].pk)]))
    assert (escalated["渠道"], escalated["状态"], escalated["是否转人工"], escalated["满意度"], escalated["接待坐席"]) == ("网页组件", "已结束", "是", "2", "")
    assert dict(zip(rows[0], by_id[str(chats["refund"].pk)]))["是否转人工"] == "否"


def test_export_of_the_messages_of_the_filtered_conversations(manager_client, chats, kb_entries):
    rows = _csv(manager_client.get(reverse("admin:conversations_conversation_export_messages"), {"q": "退款"}))
    header, body = rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]
    assert header[:7] == ["会话 ID", "序号", "时间", "发送方", "类型", "坐席", "内容"]
    assert [(r["序号"], r["发送方"], r["内容"]) for r in body] == [("1", "访客", "退款多久能到账"), ("2", "机器人", "1–3 个工作日")]
    assert (body[1]["意图"], body[1]["置信度"], body[1]["命中条目"], body[1]["有帮助"], body[1]["评价"]) == ("refund", "0.87", "T-REF-1", "否", "太慢了")


def test_export_actions_on_selected_conversations(manager_client, chats, agent_user):
    url = reverse(CHANGELIST)
    response = manager_client.post(url, {"action": "export_messages_csv", "_selected_action": [str(chats["escalated"].pk)]})
    rows = _csv(response)
    assert [r[6] for r in rows[1:]] == ["我要投诉，快递把东西摔坏了", "非常抱歉，我们马上为您补发。"]
    assert rows[2][5] == agent_user.get_username()
    response = manager_client.post(url, {"action": "export_conversations_csv", "_selected_action": [str(chats["api"].pk)]})
    assert [r[0] for r in _csv(response)[1:]] == [str(chats["api"].pk)]


def test_agents_can_read_transcripts_but_not_promote(client, agent_user, chats):
    client.force_login(agent_user)
    response = client.get(reverse("admin:conversations_conversation_transcript", args=[chats["escalated"].pk]))
    assert response.status_code == 200 and "tx-promote" not in response.content.decode()
