"""Dashboard metrics against hand-counted numbers of scripted conversations.

Ten conversations over three local days (the day before yesterday, yesterday, today) cover
every metric: bot-resolved chats (with and without 👍), an unhelpful last answer, handoffs
for four reasons (one missed, one transferred between agents, one returned to the bot and
escalated again), known queue waits and first responses, internal notes and system notices
that must not count, CSAT ratings, FAQ answers followed by a handoff, three channels, and
a chat that runs past local midnight. Every expected number below is counted by hand from
the script in ``scenario``; the comments next to each say which conversations make it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model

from conversations.analytics import dashboard, dashboard_live
from conversations.analytics.metrics import median, p90
from conversations.analytics.periods import local_today
from conversations.enums import Channel, ConversationStatus, MessageKind, Sender
from conversations.models import Conversation, Feedback, Message, Visitor
from handoff.enums import EscalationReason, EscalationStatus
from handoff.models import AgentProfile, Escalation

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")


def local(day: date, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm, ss), tzinfo=TZ)


class Script:
    """Writes rows exactly as the services leave them, with timestamps the test chooses."""

    def __init__(self) -> None:
        self.seq: dict[object, int] = {}

    def conversation(self, at: datetime, channel: str = Channel.WEB) -> Conversation:
        conv = Conversation.objects.create(visitor=Visitor.objects.create(), channel=channel)
        Conversation.objects.filter(pk=conv.pk).update(created_at=at)
        self.seq[conv.pk] = 0
        return conv

    def say(
        self,
        conv: Conversation,
        at: datetime,
        sender: str = Sender.VISITOR,
        kind: str = MessageKind.TEXT,
        *,
        intent: str = "",
        entry=None,  # noqa: ANN001
        agent=None,  # noqa: ANN001
        helpful: bool | None = None,
    ) -> Message:
        self.seq[conv.pk] += 1
        message = Message.objects.create(
            conversation=conv, seq=self.seq[conv.pk], sender=sender, kind=kind, text=f"{sender} {self.seq[conv.pk]}", intent=intent, matched_entry=entry, agent=agent
        )
        Message.objects.filter(pk=message.pk).update(created_at=at)
        if helpful is not None:
            Feedback.objects.create(message=message, helpful=helpful)
        return message

    def bot(self, conv: Conversation, at: datetime, kind: str = MessageKind.ANSWER, **kw) -> Message:  # noqa: ANN003
        return self.say(conv, at, Sender.BOT, kind, **kw)

    def agent(self, conv: Conversation, at: datetime, user, kind: str = MessageKind.TEXT) -> Message:  # noqa: ANN001
        return self.say(conv, at, Sender.AGENT, kind, agent=user)

    def system(self, conv: Conversation, at: datetime) -> Message:
        return self.say(conv, at, Sender.SYSTEM, MessageKind.EVENT)

    def escalate(self, conv: Conversation, requested: datetime, reason: str, *, accepted: datetime | None = None, agent=None, ended: datetime | None = None, status: str = EscalationStatus.ENDED) -> Escalation:  # noqa: ANN001
        escalation = Escalation.objects.create(conversation=conv, reason=reason, status=status, agent=agent)
        Escalation.objects.filter(pk=escalation.pk).update(requested_at=requested, accepted_at=accepted, ended_at=ended, assigned_at=accepted)
        return escalation

    def close(self, conv: Conversation, at: datetime, csat: int | None = None) -> None:
        Conversation.objects.filter(pk=conv.pk).update(status=ConversationStatus.CLOSED, closed_at=at, close_reason="agent", csat_rating=csat)

    def set_status(self, conv: Conversation, status: str) -> None:
        Conversation.objects.filter(pk=conv.pk).update(status=status)


@dataclass
class Scenario:
    d1: date
    d2: date
    d3: date  # today
    entries: dict
    a1: object
    a2: object
    convs: dict[str, Conversation]


@pytest.fixture
def scenario(kb_entries) -> Scenario:
    d3 = local_today()
    d1, d2 = d3 - timedelta(days=2), d3 - timedelta(days=1)
    ret, ref1, ref2, shp = (kb_entries[k] for k in ("T-RET-1", "T-REF-1", "T-REF-2", "T-SHP-1"))
    users = get_user_model().objects
    a1 = users.create_user("wang", password="x", is_staff=True)
    AgentProfile.objects.create(user=a1, display_name="小王")
    a2 = users.create_user("li", password="x", is_staff=True, first_name="李")
    s = Script()
    c: dict[str, Conversation] = {}

    # ---- day 1
    c["c1"] = x = s.conversation(local(d1, 10, 0))  # web: answered with 👍, closed → resolved
    s.say(x, local(d1, 10, 0, 5)), s.bot(x, local(d1, 10, 0, 6), intent="returns", entry=ret, helpful=True)
    s.close(x, local(d1, 10, 30))

    c["c2"] = x = s.conversation(local(d1, 11, 0))  # web: last rated answer 👎 → closed, not resolved
    s.say(x, local(d1, 11, 0, 5)), s.bot(x, local(d1, 11, 0, 6), intent="refund", entry=ref1, helpful=False)
    s.say(x, local(d1, 11, 1)), s.bot(x, local(d1, 11, 1, 1), MessageKind.FALLBACK)
    s.close(x, local(d1, 11, 30))

    c["c3"] = x = s.conversation(local(d1, 12, 0), Channel.API)  # api: REF1 answer → 人工; wait 30 s, first reply 12 s, CSAT 5
    s.say(x, local(d1, 12, 0, 10)), s.bot(x, local(d1, 12, 0, 11), intent="refund", entry=ref1)
    s.say(x, local(d1, 12, 1, 0))
    s.escalate(x, local(d1, 12, 1, 0), EscalationReason.HUMAN_REQUEST, accepted=local(d1, 12, 1, 30), agent=a1, ended=local(d1, 12, 5))
    s.system(x, local(d1, 12, 1, 30))
    s.agent(x, local(d1, 12, 1, 35), a1, MessageKind.NOTE)  # internal note: neither a message nor a first response
    s.agent(x, local(d1, 12, 1, 42), a1)
    s.say(x, local(d1, 12, 2)), s.agent(x, local(d1, 12, 2, 30), a1)
    s.close(x, local(d1, 12, 5), csat=5)

    c["c4"] = x = s.conversation(local(d1, 14, 0))  # web: complaint, nobody online (missed), closed
    s.say(x, local(d1, 14, 0, 1))
    s.escalate(x, local(d1, 14, 0, 2), EscalationReason.COMPLAINT, ended=local(d1, 14, 0, 2), status=EscalationStatus.MISSED)
    s.system(x, local(d1, 14, 0, 3))
    s.close(x, local(d1, 14, 10))

    c["c5"] = x = s.conversation(local(d1, 23, 50))  # web: runs past midnight, still open
    s.say(x, local(d1, 23, 50, 10)), s.bot(x, local(d1, 23, 50, 11), MessageKind.SMALLTALK, intent="greeting", helpful=True)
    s.say(x, local(d2, 0, 5)), s.bot(x, local(d2, 0, 5, 1), MessageKind.FALLBACK)  # messages of day 2 (16:05 UTC of day 1)

    # ---- day 2
    c["c6"] = x = s.conversation(local(d2, 8, 59), Channel.WEBHOOK)  # webhook: SHP answer → angry; a2 silent 90 s wait, transfer to a1 (20 s, replies in 30 s); CSAT 2
    s.say(x, local(d2, 8, 59, 10)), s.bot(x, local(d2, 8, 59, 30), intent="shipping", entry=shp)
    s.say(x, local(d2, 8, 59, 50))
    s.escalate(x, local(d2, 9, 0), EscalationReason.NEGATIVE_SENTIMENT, accepted=local(d2, 9, 1, 30), agent=a2, ended=local(d2, 9, 3))
    s.system(x, local(d2, 9, 1, 30)), s.system(x, local(d2, 9, 3))
    s.escalate(x, local(d2, 9, 3), EscalationReason.TRANSFER, accepted=local(d2, 9, 3, 20), agent=a1, ended=local(d2, 9, 10))
    s.system(x, local(d2, 9, 3, 20))
    s.agent(x, local(d2, 9, 3, 50), a1), s.say(x, local(d2, 9, 4))
    s.close(x, local(d2, 9, 10), csat=2)

    c["c7"] = x = s.conversation(local(d2, 10, 0))  # web: answered, never rated, closed → resolved
    s.say(x, local(d2, 10, 0, 1)), s.bot(x, local(d2, 10, 0, 2), intent="returns", entry=ret)
    s.close(x, local(d2, 10, 20))

    c["c8"] = x = s.conversation(local(d2, 15, 0))  # web: 人工 (45 s, 5 s) → back to bot → RET 👍 → keyword (15 s, 8 s); CSAT 4
    s.say(x, local(d2, 15, 0, 5)), s.bot(x, local(d2, 15, 0, 6), MessageKind.FALLBACK)
    s.escalate(x, local(d2, 15, 0, 10), EscalationReason.HUMAN_REQUEST, accepted=local(d2, 15, 0, 55), agent=a1, ended=local(d2, 15, 2))
    s.system(x, local(d2, 15, 0, 55)), s.agent(x, local(d2, 15, 1), a1), s.system(x, local(d2, 15, 2))
    s.say(x, local(d2, 15, 3)), s.bot(x, local(d2, 15, 3, 1), intent="returns", entry=ret, helpful=True)
    s.say(x, local(d2, 15, 4))
    s.escalate(x, local(d2, 15, 4), EscalationReason.KEYWORD, accepted=local(d2, 15, 4, 15), agent=a1, ended=local(d2, 15, 6))
    s.agent(x, local(d2, 15, 4, 23), a1)
    s.close(x, local(d2, 15, 6), csat=4)

    # ---- day 3 (today: always computed live)
    c["c9"] = x = s.conversation(local(d3, 0, 20), Channel.API)  # api: REF2 👍, closed → resolved
    s.say(x, local(d3, 0, 20, 1)), s.bot(x, local(d3, 0, 20, 2), intent="refund", entry=ref2, helpful=True)
    s.close(x, local(d3, 0, 25))

    c["c10"] = x = s.conversation(local(d3, 0, 30))  # web: REF2 👎, REF1 👎 → unhelpful handoff, still queued
    s.say(x, local(d3, 0, 30, 1)), s.bot(x, local(d3, 0, 30, 2), intent="refund", entry=ref2, helpful=False)
    s.say(x, local(d3, 0, 31)), s.bot(x, local(d3, 0, 31, 1), intent="refund", entry=ref1, helpful=False)
    s.say(x, local(d3, 0, 32))
    s.escalate(x, local(d3, 0, 32), EscalationReason.UNHELPFUL, status=EscalationStatus.QUEUED)
    s.set_status(x, ConversationStatus.QUEUED)
    return Scenario(d1, d2, d3, {"RET": ret, "REF1": ref1, "REF2": ref2, "SHP": shp}, a1, a2, c)


def check_all_channels(d, sc: Scenario) -> None:  # noqa: ANN001
    """The hand-counted numbers of the whole scenario, every channel."""
    k = d.kpis
    assert k.conversations == 10
    # day 1: c1 2 + c2 4 + c3 6 (note and notice excluded) + c4 1 + c5 2 = 15; day 2: c5 2 + c6 5 + c7 2 + c8 7 = 16; day 3: c9 2 + c10 5 = 7
    assert k.messages == 38
    assert (k.closed, k.resolved, k.resolution_rate) == (8, 3, 3 / 8)  # closed: all but c5, c10; resolved: c1, c7, c9
    assert (k.escalated, k.handoff_rate) == (5, 0.5)  # c3, c4, c6, c8, c10
    assert [(r.reason, r.conversations, r.rate) for r in d.reasons] == [
        ("human_request", 2, 0.2), ("complaint", 1, 0.1), ("negative_sentiment", 1, 0.1), ("unhelpful", 1, 0.1),
    ]  # fmt: skip
    # waits 30 (c3), 90 + 20 (c6), 45 + 15 (c8) → sorted 15 20 30 45 90
    assert (k.accepted, k.queue_wait_median, k.queue_wait_p90) == (5, 30.0, 90.0)
    # first responses 12 (c3), — (a2 silent) + 30 (c6), 5 + 8 (c8) → 5 8 12 30
    assert (k.first_response_count, k.first_response_median) == (4, 10.0)
    assert (k.csat_count, k.csat_average) == (3, 11 / 3)
    assert k.csat_distribution == ((1, 0), (2, 1), (3, 0), (4, 1), (5, 1))
    # 👍 c1, c5, c8, c9; 👎 c2, c10 ×2
    assert (k.helpful_yes, k.helpful_no, k.helpful_rate) == (4, 3, 4 / 7)
    assert [(i.intent, i.count, i.share) for i in d.intents] == [("refund", 5, 0.5), ("returns", 3, 0.3), ("greeting", 1, 0.1), ("shipping", 1, 0.1)]
    e = sc.entries
    assert [(r.entry_id, r.hits, r.helpful_yes, r.helpful_no, r.helpful_rate, r.handoffs) for r in d.entries] == [
        (e["REF1"].pk, 3, 0, 2, 0.0, 2),  # c2 👎, c3 → 人工, c10 👎 → unhelpful handoff
        (e["RET"].pk, 3, 2, 0, 1.0, 1),  # c1 👍, c7, c8 👍 → keyword handoff
        (e["REF2"].pk, 2, 1, 1, 0.5, 0),  # c9 👍, c10 👎 (REF1 came after it)
        (e["SHP"].pk, 1, 0, 0, None, 1),  # c6 → negative sentiment (the transfer does not count)
    ]
    assert d.entries[0].question == e["REF1"].question
    assert [(a.agent_id, a.name, a.accepted, a.first_response_median, a.csat_average, a.csat_count) for a in d.agents] == [
        (sc.a1.pk, "小王", 4, 10.0, 11 / 3, 3),  # c3, c6 (transfer), c8 ×2; CSAT 5, 2, 4
        (sc.a2.pk, "李", 1, None, None, 0),
    ]
    days = {p.day: p for p in d.days}
    assert [days[sc.d1].conversations, days[sc.d2].conversations, days[sc.d3].conversations] == [{"web": 4, "api": 1}, {"web": 2, "webhook": 1}, {"web": 1, "api": 1}]
    assert [days[sc.d1].messages, days[sc.d2].messages, days[sc.d3].messages] == [{"web": 9, "api": 6}, {"web": 11, "webhook": 5}, {"web": 5, "api": 2}]
    assert [days[sc.d1].resolution_rate, days[sc.d2].resolution_rate, days[sc.d3].resolution_rate] == [1 / 4, 1 / 3, 1.0]
    assert [days[sc.d1].handoff_rate, days[sc.d2].handoff_rate, days[sc.d3].handoff_rate] == [2 / 5, 2 / 3, 1 / 2]


def check_web_only(d) -> None:  # noqa: ANN001
    k = d.kpis
    assert (k.conversations, k.messages) == (7, 25)  # c1 c2 c4 c5 c7 c8 c10
    assert (k.closed, k.resolved, k.escalated) == (5, 2, 3)
    assert (k.queue_wait_median, k.queue_wait_p90, k.first_response_median) == (30.0, 45.0, 6.5)  # c8: waits 45 15, replies 5 8
    assert (k.csat_count, k.csat_average) == (1, 4.0)
    assert [(r.reason, r.conversations) for r in d.reasons] == [("complaint", 1), ("human_request", 1), ("unhelpful", 1)]


def test_every_metric_from_raw_rows_matches_the_hand_count(scenario):
    d = dashboard_live(scenario.d1, scenario.d3)
    check_all_channels(d, scenario)
    assert d.channels == (("web", "网页组件"), ("api", "REST 接口"), ("webhook", "Webhook 渠道"))


def test_the_channel_filter_counts_only_that_channel(scenario):
    check_web_only(dashboard_live(scenario.d1, scenario.d3, Channel.WEB))
    api = dashboard_live(scenario.d1, scenario.d3, Channel.API).kpis
    assert (api.conversations, api.messages, api.resolved, api.csat_average) == (2, 8, 1, 5.0)  # c3, c9


def test_days_are_local_days_not_utc_days(scenario):
    """c5's second exchange at 00:05 Shanghai time is 16:05 UTC of the day before: it counts on day 2."""
    only_day2 = dashboard_live(scenario.d2, scenario.d2)
    assert only_day2.kpis.messages == 16 and only_day2.kpis.conversations == 3


def test_stored_aggregates_give_exactly_the_raw_numbers(scenario):
    from conversations.analytics import analytics_refresh
    from conversations.models import DailyMetrics

    computed = analytics_refresh()
    assert computed == [scenario.d2, scenario.d1]  # newest first; today is never stored
    assert set(DailyMetrics.objects.values_list("day", flat=True)) == {scenario.d1, scenario.d2}
    for channel in (None, Channel.WEB, Channel.API, Channel.WEBHOOK):
        for start, end in ((scenario.d1, scenario.d3), (scenario.d1, scenario.d1), (scenario.d2, scenario.d3), (scenario.d3, scenario.d3)):
            stored = dashboard(start, end, channel)
            assert stored == dashboard_live(start, end, channel), (channel, start, end)
    full = dashboard(scenario.d1, scenario.d3)
    assert full.live_days == (scenario.d3,)
    check_all_channels(full, scenario)
    check_web_only(dashboard(scenario.d1, scenario.d3, Channel.WEB))


def test_statistics_definitions():
    from collections import Counter

    assert median(Counter()) is None and p90(Counter()) is None
    assert median(Counter({7: 1})) == 7.0 and p90(Counter({7: 1})) == 7.0
    assert median(Counter({1: 1, 2: 1, 10: 1})) == 2.0
    assert median(Counter({1: 1, 2: 1, 3: 1, 10: 1})) == 2.5
    samples = Counter({s: 1 for s in range(1, 11)})  # 1..10: p90 = 9th value
    assert p90(samples) == 9.0
    samples[100] = 1  # 11 samples: rank ceil(9.9) = 10
    assert p90(samples) == 10.0
    assert p90(Counter({5: 19, 60: 1})) == 5.0 and p90(Counter({5: 17, 60: 3})) == 60.0


def test_display_formats():
    from conversations.analytics.present import duration, number, pct

    assert [pct(None), pct(0.0), pct(3 / 8), pct(1.0)] == ["—", "0.0%", "37.5%", "100.0%"]
    assert [duration(None), duration(0.0), duration(10.5), duration(90.0), duration(3725.0)] == ["—", "0 秒", "10.5 秒", "1 分 30 秒", "1 小时 2 分"]
    assert [number(None), number(11 / 3)] == ["—", "3.67"]
