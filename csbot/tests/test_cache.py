"""csbot.cache.shared_cache: one cache backend per process, whatever context asks."""
from __future__ import annotations

import asyncio
import threading

from asgiref.sync import sync_to_async
from django.core.cache import caches

from csbot.cache import shared_cache


def test_every_context_and_thread_gets_the_same_backend():
    # given the backend the main thread sees
    main = shared_cache()
    seen: list[object] = []

    # when other threads and separate asyncio contexts (as ASGI consumers run) ask for it
    thread = threading.Thread(target=lambda: seen.append(shared_cache()))
    thread.start()
    thread.join()

    async def from_consumers() -> list[object]:
        return list(await asyncio.gather(*(sync_to_async(shared_cache, thread_sensitive=False)() for _ in range(3))))

    seen += asyncio.run(from_consumers())
    # then it is one object, while Django's own handler would give the thread another
    assert all(backend is main for backend in seen)
    other: list[object] = []
    thread = threading.Thread(target=lambda: other.append(caches["default"]))
    thread.start()
    thread.join()
    assert other[0] is not caches["default"]


def test_a_changed_caches_setting_builds_a_new_backend(settings):
    before = shared_cache()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "csbot-test-other"}}
    after = shared_cache()
    assert after is not before
    assert after is shared_cache()
