"""The beat task only calls the service; one eager run goes end to end."""
from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.utils import timezone

from handoff.enums import EscalationStatus
from handoff.models import Escalation
from handoff.tasks import queue_tick_task


def test_task_calls_the_service():
    with mock.patch("handoff.tasks.queue_tick") as service:
        queue_tick_task.run()
    service.assert_called_once_with()


def test_beat_runs_the_tick_every_few_seconds():
    entry = settings.CELERY_BEAT_SCHEDULE["handoff-queue-tick"]
    assert entry["task"] == queue_tick_task.name and entry["schedule"] <= 30


@pytest.mark.django_db
def test_eager_run_reroutes_an_expired_assignment(make_agent, make_waiting):
    first = make_agent("first")
    waiting = make_waiting()
    Escalation.objects.filter(pk=waiting.pk).update(status=EscalationStatus.ASSIGNED, agent=first, assigned_at=timezone.now() - timedelta(minutes=5))
    second = make_agent("second")
    queue_tick_task.apply()
    waiting.refresh_from_db()
    assert (waiting.status, waiting.agent_id) == (EscalationStatus.ASSIGNED, second.pk)
