"""Daily aggregates: the beat task stores past days idempotently, backfills, and follows late changes."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from conversations.analytics import analytics_refresh, dashboard, dashboard_live, day_compute
from conversations.analytics.partials import DayPartial
from conversations.enums import Channel, ConversationStatus
from conversations.models import Conversation, DailyMetrics, Feedback
from conversations.tests.test_analytics import check_all_channels, scenario  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def stored_rows() -> list[tuple]:
    return list(DailyMetrics.objects.order_by("day", "channel").values_list("day", "channel", "conversations", "messages", "data"))


def test_the_beat_task_is_scheduled_and_idempotent(scenario):
    from conversations.tasks import analytics_refresh_task

    entry = settings.CELERY_BEAT_SCHEDULE["conversations-analytics-refresh"]
    assert entry["task"] == analytics_refresh_task.name == "conversations.analytics_refresh"
    assert "conversations-close-idle" in settings.CELERY_BEAT_SCHEDULE  # the existing jobs stay
    assert analytics_refresh_task.delay().get() == 2  # eager here: runs inline, stores two past days
    first = stored_rows()
    assert len(first) == 6  # two past days × three channels (zeros included)
    analytics_refresh_task.delay()  # everything looks "recently changed": recomputed, same rows
    day_compute(scenario.d1)  # and computing one day again changes nothing either
    assert stored_rows() == first
    assert DailyMetrics.objects.count() == 6
    check_all_channels(dashboard(scenario.d1, scenario.d3), scenario)


def test_missing_days_are_backfilled_and_missing_rows_are_computed_live(scenario):
    analytics_refresh()
    DailyMetrics.objects.filter(day=scenario.d1).delete()
    # the page never depends on the task: a missing day is computed from raw rows
    assert dashboard(scenario.d1, scenario.d3) == dashboard_live(scenario.d1, scenario.d3)
    assert dashboard(scenario.d1, scenario.d3).live_days == (scenario.d1, scenario.d3)
    assert scenario.d1 in analytics_refresh()
    assert DailyMetrics.objects.filter(day=scenario.d1).count() == 3
    assert dashboard(scenario.d1, scenario.d3).live_days == (scenario.d3,)


def settle() -> None:
    """Make the scenario look written long before the last run (its event times are days old
    already; only the ``updated_at`` stamps of this test's own writes are recent)."""
    long_ago = timezone.now() - timedelta(days=30)
    Conversation.objects.update(updated_at=long_ago)
    Feedback.objects.update(updated_at=long_ago)


def test_a_late_change_to_a_stored_day_is_picked_up_by_the_next_run(scenario):
    analytics_refresh()
    settle()
    assert analytics_refresh() == []  # nothing changed since the last run: nothing recomputed
    before = dashboard(scenario.d1, scenario.d2).kpis
    # c5 (started on day 1) is closed today by the idle job: its day-1 cohort changes
    c5 = scenario.convs["c5"]
    conv = Conversation.objects.get(pk=c5.pk)
    conv.status, conv.closed_at, conv.close_reason = ConversationStatus.CLOSED, timezone.now(), "idle"
    conv.save(update_fields=["status", "closed_at", "close_reason", "updated_at"])
    stale = dashboard(scenario.d1, scenario.d2)
    assert stale.kpis.closed == before.closed  # the stored row does not know yet
    assert analytics_refresh() == [scenario.d1]
    fresh = dashboard(scenario.d1, scenario.d2)
    assert fresh == dashboard_live(scenario.d1, scenario.d2)
    assert (fresh.kpis.closed, fresh.kpis.resolved) == (before.closed + 1, before.resolved + 1)  # its last rated answer was 👍

    settle()
    feedback = Feedback.objects.get(message__conversation=c5)  # then the visitor changes 👍 to 👎
    feedback.helpful = False
    feedback.save(update_fields=["helpful", "updated_at"])
    assert analytics_refresh() == [scenario.d1]
    after = dashboard(scenario.d1, scenario.d2)
    assert after == dashboard_live(scenario.d1, scenario.d2)
    assert (after.kpis.resolved, after.kpis.helpful_no) == (before.resolved, before.helpful_no + 1)


def test_an_escalation_accepted_late_marks_its_cohort_day(scenario):
    from handoff.models import Escalation

    analytics_refresh()
    settle()
    c4 = scenario.convs["c4"]  # day 1
    later = timezone.now() + timedelta(seconds=5)
    Escalation.objects.create(conversation=c4, reason="other", status="ended", agent=scenario.a2, accepted_at=later, ended_at=later)
    assert analytics_refresh() == [scenario.d1]
    assert dashboard(scenario.d1, scenario.d3) == dashboard_live(scenario.d1, scenario.d3)


def test_recompute_days_forces_a_trailing_window(scenario):
    analytics_refresh(now=timezone.now() - timedelta(days=30))  # nothing existed before that moment
    assert DailyMetrics.objects.count() == 0
    analytics_refresh()
    settle()
    assert analytics_refresh() == []
    assert analytics_refresh(recompute_days=1) == [scenario.d2]
    assert analytics_refresh(recompute_days=5) == [scenario.d2, scenario.d1]  # never before the first conversation


def test_partials_survive_their_json_round_trip(scenario):
    from conversations.analytics.compute import partials_compute

    parts = partials_compute(scenario.d1, scenario.d3)
    assert parts, "the scenario has data"
    for part in parts.values():
        assert DayPartial.from_json(part.to_json(), conversations=part.conversations, messages=part.messages) == part.normalized()
    # the dashboard's fast merge straight from JSON equals merging the decoded partials
    fast, slow = DayPartial(), DayPartial()
    for part in parts.values():
        fast.add_json(part.to_json(), conversations=part.conversations, messages=part.messages)
        slow.add(part)
    assert fast.normalized() == slow.normalized() and fast.entries and fast.agents
    web_d1 = parts[(scenario.d1, Channel.WEB)]
    assert (web_d1.conversations, web_d1.messages, web_d1.closed, web_d1.resolved) == (4, 9, 3, 1)


def test_an_empty_database_computes_nothing():
    assert analytics_refresh() == []
    assert DailyMetrics.objects.count() == 0
    d = dashboard(timezone.localdate() - timedelta(days=6), timezone.localdate())
    assert d.kpis.conversations == 0 and d.kpis.resolution_rate is None and d.entries == () and len(d.days) == 7


def test_a_deleted_faq_entry_leaves_both_paths_alike(scenario):
    """Deleting an entry unlinks its messages (SET_NULL) without touching any timestamp; the
    stored rows still name it, and the dashboard leaves entries that no longer exist out."""
    analytics_refresh()
    shipping_id = scenario.entries["SHP"].pk
    assert shipping_id in [e.entry_id for e in dashboard(scenario.d1, scenario.d3).entries]
    scenario.entries["SHP"].delete()
    stored = dashboard(scenario.d1, scenario.d3)
    assert stored == dashboard_live(scenario.d1, scenario.d3)
    assert shipping_id not in [e.entry_id for e in stored.entries] and len(stored.entries) == 3
