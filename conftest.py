"""Root pytest configuration: per-app fixture modules and service markers.

Tests marked ``postgres``/``redis``/``elasticsearch`` run when the matching URL is set and
are skipped otherwise. When ``CSBOT_REQUIRE_SERVICES`` is set (``.ci/run`` sets it), a
missing ``DATABASE_URL``/``REDIS_URL`` fails those tests instead of skipping them, so CI can
never pass by skipping the production path; an unreachable service fails them anyway.
"""
import os

import pytest

pytest_plugins = ["csbot.tests.fixtures"]

_SERVICE_ENV = {"postgres": "DATABASE_URL", "redis": "REDIS_URL", "elasticsearch": "ELASTICSEARCH_URL"}
_REQUIRED_IN_CI = {"postgres", "redis"}


def pytest_runtest_setup(item):
    require = bool(os.environ.get("CSBOT_REQUIRE_SERVICES"))
    for marker, variable in _SERVICE_ENV.items():
        if item.get_closest_marker(marker) is None or os.environ.get(variable):
            continue
        if require and marker in _REQUIRED_IN_CI:
            pytest.fail(f"{variable} is not set but CSBOT_REQUIRE_SERVICES demands the {marker} tests run")
        pytest.skip(f"needs {variable}")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test databases, with every connection to them closed before they are
    dropped: one left open makes ``DROP DATABASE`` fail ("being accessed by other users")."""
    yield
    with django_db_blocker.unblock():
        from csbot.testing import connections_close_for_fork, end_test_database_sessions

        connections_close_for_fork()
        end_test_database_sessions()


@pytest.fixture(autouse=True)
def fresh_channel_layers():
    """Each test gets its own channel layer: a layer keeps asyncio locks and Redis connections
    bound to the event loop of the test that used it, and each async test runs its own loop
    (a receive lock left held by a cancelled consumer otherwise breaks every later socket test)."""
    yield
    from channels.layers import channel_layers

    channel_layers.backends.clear()
