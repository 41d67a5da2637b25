"""The embedded mode's in-process beat: due jobs run, failures are contained, the ASGI app starts it."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from celery.schedules import schedule
from django.utils import timezone

from conversations.enums import CloseReason, ConversationStatus
from conversations.models import Conversation
from conversations.services import session_start
from csbot import embedded_beat
from csbot.embedded_beat import Job, jobs_from_settings, jobs_run_due


def _job(name: str, task: str, seconds: float, *, ran_ago: float) -> Job:
    every = schedule(timedelta(seconds=seconds))
    return Job(name, task, every, last_run_at=every.now() - timedelta(seconds=ran_ago))


def test_the_schedule_is_celery_beats_own(settings):
    # given the project's beat schedule, then the embedded beat runs exactly its entries
    assert {job.task for job in jobs_from_settings()} == {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    # and it is on exactly when there is no broker (eager Celery) unless the env says otherwise
    from csbot.settings import celery as celery_settings

    assert celery_settings.CSBOT_EMBEDDED_BEAT == celery_settings.CELERY_TASK_ALWAYS_EAGER


def test_only_due_jobs_run_and_a_failing_job_does_not_stop_the_others():
    calls: list[str] = []

    class Task:
        def __init__(self, name: str, fail: bool = False) -> None:
            self.name, self.fail = name, fail

        def __call__(self, *args, **kwargs):
            calls.append(self.name)
            if self.fail:
                raise RuntimeError("boom")

    tasks = {"t.fail": Task("t.fail", fail=True), "t.due": Task("t.due"), "t.later": Task("t.later")}
    jobs = [_job("fail", "t.fail", 10, ran_ago=11), _job("due", "t.due", 10, ran_ago=11), _job("later", "t.later", 10, ran_ago=2)]
    # when the schedule is looked at
    wait = jobs_run_due(jobs, tasks=tasks)
    # then the two due jobs ran (the failure was logged, not raised), the other did not
    assert calls == ["t.fail", "t.due"]
    # and the next look comes when "later" is due (in about 8 s), capped at MAX_SLEEP
    assert 0.1 <= wait <= embedded_beat.MAX_SLEEP
    # a second look right away runs nothing
    calls.clear()
    jobs_run_due(jobs, tasks=tasks)
    assert calls == []


@pytest.mark.django_db(transaction=True)
def test_the_beat_thread_closes_idle_conversations(monkeypatch):
    # given an idle bot conversation and the embedded beat running close_idle every 0.1 s
    conversation = session_start().conversation
    Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=timezone.now() - timedelta(minutes=31))
    monkeypatch.setattr(embedded_beat, "_started", None)
    stop = threading.Event()
    thread = embedded_beat.embedded_beat_start(jobs=[_job("close", "conversations.close_idle", 0.1, ran_ago=1)], stop=stop)
    try:
        # when a moment passes, then it is closed as idle, by the thread alone
        deadline = time.monotonic() + 10
        while Conversation.objects.get(pk=conversation.pk).status != ConversationStatus.CLOSED and time.monotonic() < deadline:
            time.sleep(0.05)
        closed = Conversation.objects.get(pk=conversation.pk)
        assert (closed.status, closed.close_reason) == (ConversationStatus.CLOSED, CloseReason.IDLE)
        # and a second start in the same process is refused (one schedule per process)
        assert embedded_beat.embedded_beat_start(jobs=[], stop=stop) is None
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
