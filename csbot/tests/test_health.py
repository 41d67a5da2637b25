"""/healthz and /readyz."""
import pytest
from django.test import override_settings

from csbot import health


@pytest.mark.django_db
def test_healthz_answers_without_touching_dependencies(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_every_component_ok(client):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert set(body["components"]) == {"database", "cache", "channel_layer", "search", "broker"}
    assert all(c["status"] == "ok" for c in body["components"].values())


class BrokenCache:
    def set(self, *args, **kwargs):
        raise ConnectionError("cache server unreachable")


@pytest.mark.django_db
def test_readyz_is_503_when_the_cache_is_down(client, monkeypatch):
    monkeypatch.setattr(health, "cache", BrokenCache())
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["components"]["cache"]["status"] == "down"
    assert "unreachable" in body["components"]["cache"]["detail"]
    assert body["components"]["database"]["status"] == "ok"


@pytest.mark.django_db
def test_readyz_is_503_when_the_broker_is_unreachable(client):
    # Port 1 on loopback refuses connections at once: a dead broker.
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL="redis://127.0.0.1:1/0"):
        from csbot.celery import app

        previous = app.conf.broker_url
        app.conf.broker_url = "redis://127.0.0.1:1/0"
        try:
            response = client.get("/readyz")
        finally:
            app.conf.broker_url = previous
    body = response.json()
    assert response.status_code == 503
    assert body["components"]["broker"]["status"] == "down"


@pytest.mark.django_db
def test_readyz_is_503_when_the_search_backend_fails(client, monkeypatch):
    from knowledge import search

    class DeadBackend:
        name = "broken"

        def health(self):
            raise TimeoutError("search timed out")

    monkeypatch.setattr(search, "get_backend", lambda: DeadBackend())
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["components"]["search"] == {"status": "down", "backend": "broken", "detail": "TimeoutError: search timed out"}


@pytest.mark.django_db
def test_metrics_exposes_shared_counters_and_database_gauges(client):
    from csbot.metrics import counter_inc, counter_value
    from knowledge.models import Entry

    Entry.objects.create(external_id="M1", question="怎么退款", answer="在订单页申请", status="published")
    before = counter_value("csbot_search_fallback_total", backend="elasticsearch")
    counter_inc("csbot_search_fallback_total", backend="elasticsearch")
    counter_inc("csbot_search_fallback_total", backend="elasticsearch")
    assert counter_value("csbot_search_fallback_total", backend="elasticsearch") == before + 2

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert f'csbot_search_fallback_total{{backend="elasticsearch"}} {float(before + 2)}' in text
    assert 'csbot_kb_entries{status="published"} 1.0' in text


def test_undeclared_counters_are_a_programming_error():
    from csbot.metrics import counter_inc

    with pytest.raises(KeyError):
        counter_inc("csbot_typo_total")
