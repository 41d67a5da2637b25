"""Routing rules: capacity, skills, least-loaded, oldest first, timeout re-route, nobody online, out of hours."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from handoff.enums import Availability, EscalationStatus, Presence
from handoff.models import BusinessHours, Escalation
from handoff.selectors import escalation_policy, handoff_availability, queue_positions
from handoff.services.presence import presence_set
from handoff.services.routing import assignments_expire, queue_dispatch, queue_tick

pytestmark = pytest.mark.django_db


def _status(escalation: Escalation) -> tuple[str, int | None]:
    escalation.refresh_from_db()
    return escalation.status, escalation.agent_id


def test_new_escalation_goes_to_the_least_loaded_online_agent(make_agent, make_waiting):
    # given two online agents, one already busy
    busy, free = make_agent("busy"), make_agent("free")
    first = make_waiting(minutes_ago=3)
    first.status, first.agent = EscalationStatus.ACTIVE, busy
    first.save()
    waiting = make_waiting()
    # when the queue is dispatched
    assigned = queue_dispatch()
    # then the free agent gets the new chat
    assert assigned == [waiting.pk]
    assert _status(waiting) == (EscalationStatus.ASSIGNED, free.pk)


def test_agents_at_capacity_get_nothing_and_the_chat_waits(make_agent, make_waiting):
    agent = make_agent(capacity=1)
    first, second = make_waiting(minutes_ago=2), make_waiting(minutes_ago=1)
    queue_dispatch()
    assert _status(first) == (EscalationStatus.ASSIGNED, agent.pk)
    assert _status(second) == (EscalationStatus.QUEUED, None)
    assert queue_positions() == {second.conversation_id: 0}


def test_oldest_waiting_chat_is_served_first(make_agent, make_waiting):
    # given three waiting chats created out of order and one free slot
    newer = make_waiting(minutes_ago=1)
    oldest = make_waiting(minutes_ago=10)
    middle = make_waiting(minutes_ago=5)
    agent = make_agent(capacity=1)
    # when dispatched
    queue_dispatch()
    # then the oldest is assigned and the others keep their order
    assert _status(oldest) == (EscalationStatus.ASSIGNED, agent.pk)
    assert queue_positions() == {middle.conversation_id: 0, newer.conversation_id: 1}


def test_skilled_agent_is_preferred_even_when_busier(make_agent, make_waiting, category):
    skilled = make_agent("skilled", skills=[category], capacity=5)
    make_agent("generalist", capacity=5)
    busy = make_waiting(minutes_ago=5)
    busy.status, busy.agent = EscalationStatus.ACTIVE, skilled
    busy.save()
    waiting = make_waiting(category=category)
    queue_dispatch()
    assert _status(waiting) == (EscalationStatus.ASSIGNED, skilled.pk)


def test_chat_waits_for_the_skilled_agent_when_they_are_full(make_agent, make_waiting, category):
    skilled = make_agent("skilled", skills=[category], capacity=1)
    make_agent("generalist")
    busy = make_waiting(minutes_ago=5)
    busy.status, busy.agent = EscalationStatus.ACTIVE, skilled
    busy.save()
    waiting = make_waiting(category=category)
    queue_dispatch()
    assert _status(waiting) == (EscalationStatus.QUEUED, None)


def test_any_agent_takes_a_category_nobody_online_knows(make_agent, make_waiting, category, other_category):
    make_agent("offline-expert", skills=[category], presence=Presence.OFFLINE)
    invoice = make_agent("invoice", skills=[other_category])
    waiting = make_waiting(category=category)
    queue_dispatch()
    assert _status(waiting) == (EscalationStatus.ASSIGNED, invoice.pk)


def test_away_and_offline_agents_get_nothing(make_agent, make_waiting):
    make_agent(presence=Presence.AWAY)
    make_agent(presence=Presence.OFFLINE)
    waiting = make_waiting()
    assert queue_dispatch() == []
    assert _status(waiting) == (EscalationStatus.QUEUED, None)


def test_ties_go_round_robin(make_agent, make_waiting):
    a, b = make_agent("a", capacity=5), make_agent("b", capacity=5)
    one, two = make_waiting(minutes_ago=2), make_waiting(minutes_ago=1)
    queue_dispatch()
    assert {_status(one)[1], _status(two)[1]} == {a.pk, b.pk}


def test_unaccepted_assignment_times_out_and_goes_to_another_agent(make_agent, make_waiting):
    # given a chat assigned to the first agent 61 s ago (timeout 60 s) and a second agent online
    first = make_agent("first", capacity=5)
    waiting = make_waiting(minutes_ago=2)
    queue_dispatch()
    assert _status(waiting) == (EscalationStatus.ASSIGNED, first.pk)
    second = make_agent("second", capacity=5)
    later = timezone.now() + timedelta(seconds=escalation_policy().assignment_timeout_seconds + 1)
    # when the periodic tick runs
    released = assignments_expire(now=later)
    # then it is re-routed to the other agent and the first is remembered as skipped
    assert released == [waiting.pk]
    assert _status(waiting) == (EscalationStatus.ASSIGNED, second.pk)
    assert list(waiting.skipped_agents.values_list("pk", flat=True)) == [first.pk]


def test_assignment_inside_the_timeout_is_kept(make_agent, make_waiting):
    agent = make_agent()
    waiting = make_waiting()
    queue_dispatch()
    queue_tick(now=timezone.now() + timedelta(seconds=30))
    assert _status(waiting) == (EscalationStatus.ASSIGNED, agent.pk)


def test_timed_out_chat_returns_to_the_only_agent_when_nobody_else_is_there(make_agent, make_waiting):
    agent = make_agent()
    waiting = make_waiting()
    queue_dispatch()
    assignments_expire(now=timezone.now() + timedelta(minutes=5))
    assert _status(waiting) == (EscalationStatus.ASSIGNED, agent.pk)


def test_going_online_pulls_waiting_chats_and_going_away_hands_back_unaccepted_ones(make_agent, make_waiting):
    agent = make_agent(presence=Presence.OFFLINE)
    waiting = make_waiting()
    presence_set(user=agent, presence=Presence.ONLINE)
    assert _status(waiting) == (EscalationStatus.ASSIGNED, agent.pk)
    presence_set(user=agent, presence=Presence.AWAY)
    assert _status(waiting) == (EscalationStatus.QUEUED, None)


def test_nobody_online_means_no_agents(make_agent):
    make_agent(presence=Presence.AWAY)
    assert handoff_availability() == Availability.NO_AGENTS
    make_agent(presence=Presence.ONLINE)
    assert handoff_availability() == Availability.OPEN


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 11, 23, 10, 0), Availability.OPEN),  # Monday 10:00
        (datetime(2026, 11, 23, 8, 59), Availability.OUT_OF_HOURS),
        (datetime(2026, 11, 23, 18, 0), Availability.OUT_OF_HOURS),  # closing time is exclusive
        (datetime(2026, 11, 22, 10, 0), Availability.OUT_OF_HOURS),  # Sunday: no window
    ],
)
def test_business_hours_decide_availability(make_agent, local, expected):
    make_agent()
    policy = escalation_policy()
    policy.use_business_hours = True
    policy.save()
    BusinessHours.objects.create(weekday=0, opens_at=time(9), closes_at=time(18))
    now = local.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    assert handoff_availability(now) == expected


def test_business_hours_are_ignored_when_switched_off(make_agent):
    make_agent()
    BusinessHours.objects.create(weekday=0, opens_at=time(9), closes_at=time(18))
    assert handoff_availability(datetime(2026, 11, 22, 3, 0, tzinfo=ZoneInfo("Asia/Shanghai"))) == Availability.OPEN


def test_silent_waiting_visitor_is_dropped_from_the_queue(make_agent, make_waiting):
    from conversations.enums import ConversationStatus
    from conversations.models import Conversation

    stale, fresh = make_waiting(minutes_ago=40), make_waiting(minutes_ago=40)
    Conversation.objects.filter(pk=stale.conversation_id).update(last_activity_at=timezone.now() - timedelta(minutes=31))
    Conversation.objects.filter(pk=fresh.conversation_id).update(last_activity_at=timezone.now() - timedelta(minutes=5))
    queue_tick()
    assert _status(stale) == (EscalationStatus.ABANDONED, None) and stale.ended_at
    assert Conversation.objects.get(pk=stale.conversation_id).status == ConversationStatus.CLOSED
    assert _status(fresh) == (EscalationStatus.QUEUED, None)
    assert queue_positions() == {fresh.conversation_id: 0}


def test_queue_position_broadcast_uses_the_managers_sentence(make_waiting, django_capture_on_commit_callbacks):
    from unittest import mock

    from handoff.services.routing import queue_positions_broadcast

    first, second = make_waiting(minutes_ago=2), make_waiting(minutes_ago=1)
    with mock.patch("conversations.realtime.group_send") as send, django_capture_on_commit_callbacks(execute=True):
        queue_positions_broadcast()
    events = {group: event for (group, event), _kw in send.call_args_list}
    from conversations.realtime import conversation_group

    assert events[conversation_group(first.conversation_id)]["position"] == 1
    assert events[conversation_group(second.conversation_id)]["notice"] == "正在为您转接人工客服，您前面还有 1 位"


def test_visitors_behind_move_up_when_someone_leaves_the_queue(make_waiting, django_capture_on_commit_callbacks):
    from unittest import mock

    from conversations.realtime import conversation_group
    from handoff.services.routing import escalations_end_for_conversation

    first, second = make_waiting(minutes_ago=2), make_waiting(minutes_ago=1)
    with mock.patch("conversations.realtime.group_send") as send, django_capture_on_commit_callbacks(execute=True):
        escalations_end_for_conversation(first.conversation_id)
    events = {group: event for (group, event), _kw in send.call_args_list}
    assert events[conversation_group(second.conversation_id)]["position"] == 1
    assert _status(first)[0] == EscalationStatus.ABANDONED


@pytest.mark.parametrize("agents", ["nobody online", "everyone full"])
def test_dispatch_cost_does_not_grow_with_the_queue(make_agent, make_waiting, agents, django_assert_max_num_queries):
    """Every new escalation dispatches the queue: with nobody free that must not read the queue."""
    # given a long queue and no free agent
    if agents == "everyone full":
        agent = make_agent(capacity=1)
        busy = make_waiting(minutes_ago=30)
        busy.status, busy.agent = EscalationStatus.ACTIVE, agent
        busy.save()
    else:
        make_agent(presence=Presence.OFFLINE)
    for minutes in range(40, 0, -1):
        make_waiting(minutes_ago=minutes)
    # when the queue is dispatched, then it costs a single query and assigns nothing
    with django_assert_max_num_queries(1):
        assert queue_dispatch() == []


def _dispatch_queries(make_waiting, queue_length: int) -> tuple[int, list[Escalation]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    waiting = [make_waiting(minutes_ago=minutes) for minutes in range(queue_length, 0, -1)]
    with CaptureQueriesContext(connection) as queries:
        assert queue_dispatch() == [waiting[0].pk]
    return len(queries), waiting


def test_dispatch_stops_once_the_last_free_slot_is_taken(make_agent, make_waiting):
    # given one free slot, a short queue and (after it is served) a long one
    make_agent(capacity=1)
    short, _ = _dispatch_queries(make_waiting, 2)
    Escalation.objects.update(status=EscalationStatus.ENDED)
    # when dispatched: the oldest is assigned, and the rest of the long queue is not walked
    long, waiting = _dispatch_queries(make_waiting, 30)
    assert long == short
    assert _status(waiting[0])[0] == EscalationStatus.ASSIGNED
    assert _status(waiting[1]) == (EscalationStatus.QUEUED, None)
