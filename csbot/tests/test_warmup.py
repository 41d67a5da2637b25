"""Server start-up warm-up (csbot/warmup.py)."""
from __future__ import annotations

import gc

import pytest

from csbot import warmup


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test process keeps collecting everything, as before


def test_warm_up_moves_what_it_loaded_out_of_the_collectors_reach(settings, monkeypatch, unfrozen):
    """After the models load, a full collection must not walk them again (each one held the
    GIL ~80 ms in a warmed server process)."""
    settings.CSBOT_WARM_UP = True
    loaded = []
    monkeypatch.setattr("conversations.services.understanding.warm_up", lambda: loaded.append([object() for _ in range(1000)]) or 0.1)
    warmup.warm_up_if_enabled()
    assert gc.get_freeze_count() > 1000
    assert not any(gc.is_tracked(o) and o in gc.get_objects(generation=2) for o in loaded[0][:3])


def test_no_warm_up_freezes_nothing(settings, unfrozen):
    settings.CSBOT_WARM_UP = False
    warmup.warm_up_if_enabled()
    assert gc.get_freeze_count() == 0


def test_a_failed_warm_up_is_logged_and_freezes_nothing(settings, monkeypatch, caplog, unfrozen):
    settings.CSBOT_WARM_UP = True

    def broken() -> float:
        raise RuntimeError("no model")

    monkeypatch.setattr("conversations.services.understanding.warm_up", broken)
    warmup.warm_up_if_enabled()
    assert "csbot warm-up failed" in caplog.text and gc.get_freeze_count() == 0
