"""Settings switch integrations on by environment variable alone."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "db": settings.DATABASES["default"]["ENGINE"],
    "db_name": settings.DATABASES["default"]["NAME"],
    "db_pool": settings.DATABASES["default"].get("OPTIONS", {}).get("pool"),
    "db_max_age": settings.DATABASES["default"].get("CONN_MAX_AGE"),
    "db_binding": [settings.DATABASES["default"].get("OPTIONS", {}).get(k) for k in ("server_side_binding", "prepare_threshold")],
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "layer_hosts": settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("hosts"),
    "cache": settings.CACHES["default"]["BACKEND"],
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "broker": settings.CELERY_BROKER_URL,
    "search": settings.CSBOT_SEARCH_BACKEND,
    "lang": settings.LANGUAGE_CODE,
    "tz": settings.TIME_ZONE,
    "languages": [code for code, _ in settings.LANGUAGES],
}))
"""

SWITCHES = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "ELASTICSEARCH_URL", "CSBOT_SEARCH_BACKEND", "CSBOT_CHANNEL_LAYER")


def load_settings(tmp_path: Path, **env: str) -> dict:
    """Import the real settings in a fresh interpreter with exactly the given switches."""
    clean = {k: v for k, v in os.environ.items() if k not in SWITCHES and not k.startswith("DJANGO_")}
    clean.update({"DJANGO_SETTINGS_MODULE": "csbot.settings.base", "CSBOT_VAR_DIR": str(tmp_path)}, **env)
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_embedded_defaults_need_no_services(tmp_path):
    conf = load_settings(tmp_path, DJANGO_DEBUG="1")
    assert conf["db"] == "django.db.backends.sqlite3"
    assert conf["db_name"] == str(tmp_path / "csbot.sqlite3")
    assert conf["layer"] == "channels.layers.InMemoryChannelLayer"
    assert conf["cache"].endswith("LocMemCache")
    assert conf["eager"] is True
    assert conf["search"] == "local"
    assert conf["lang"] == "zh-hans" and conf["tz"] == "Asia/Shanghai" and "en" in conf["languages"]


def test_service_urls_switch_on_production_integrations(tmp_path):
    conf = load_settings(
        tmp_path,
        DJANGO_DEBUG="1",
        DATABASE_URL="postgres://u:p@db.example:5432/csbot",
        REDIS_URL="redis://cache.example:6379/0",
        CELERY_BROKER_URL="redis://cache.example:6379/1",
        ELASTICSEARCH_URL="http://es.example:9200",
    )
    assert conf["db"] == "django.db.backends.postgresql"
    assert conf["db_name"] == "csbot"
    # Redis Pub/Sub with a resync after reconnects (csbot.layers): the cheaper broadcast.
    assert conf["layer"] == "csbot.layers.ResyncPubSubChannelLayer"
    # An explicit pool size: the redis-py default of 100 breaks under fan-out load.
    assert conf["layer_hosts"][0]["max_connections"] >= 100
    assert conf["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert conf["eager"] is False and conf["broker"] == "redis://cache.example:6379/1"
    assert conf["search"] == "elasticsearch"
    # PostgreSQL through psycopg's pool: ASGI threads share connections instead of piling up.
    assert conf["db_pool"]["max_size"] == 8 and conf["db_max_age"] == 0


def test_the_list_based_channel_layer_can_be_chosen_and_a_typo_is_refused(tmp_path):
    conf = load_settings(tmp_path, DJANGO_DEBUG="1", REDIS_URL="redis://cache.example:6379/0", CSBOT_CHANNEL_LAYER="lists")
    assert conf["layer"] == "channels_redis.core.RedisChannelLayer"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CSBOT_"))}
    env.update(DJANGO_SETTINGS_MODULE="csbot.settings.base", DJANGO_DEBUG="1", CSBOT_VAR_DIR=str(tmp_path), CSBOT_CHANNEL_LAYER="pubsbu")
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "CSBOT_CHANNEL_LAYER must be 'pubsub' or 'lists'" in out.stderr


def test_database_pool_size_is_configurable_and_can_be_turned_off(tmp_path):
    url = "postgres://u:p@db.example:5432/csbot"
    assert load_settings(tmp_path, DJANGO_DEBUG="1", DATABASE_URL=url, DJANGO_DB_POOL_SIZE="3")["db_pool"]["max_size"] == 3
    conf = load_settings(tmp_path, DJANGO_DEBUG="1", DATABASE_URL=url, DJANGO_DB_POOL_SIZE="0", DJANGO_CONN_MAX_AGE="30")
    assert conf["db_pool"] is None and conf["db_max_age"] == 30


def test_secret_key_is_required_when_debug_is_off(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(DJANGO_SETTINGS_MODULE="csbot.settings.base", CSBOT_VAR_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in out.stderr


def test_production_settings_load_with_a_secret(tmp_path):
    conf = load_settings(tmp_path, DJANGO_SECRET_KEY="x" * 50, DJANGO_ALLOWED_HOSTS="cs.example.com")
    assert conf["db"] == "django.db.backends.sqlite3"


@pytest.mark.postgres
@pytest.mark.django_db
def test_tests_run_on_postgresql_when_database_url_is_set():
    assert connection.vendor == "postgresql"
    assert connection.settings_dict["ENGINE"] == "django.db.backends.postgresql"


@pytest.mark.redis
def test_channel_layer_and_cache_use_redis_when_redis_url_is_set():
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer
    from django.core.cache import cache

    layer = get_channel_layer()
    assert type(layer).__name__ == "ResyncPubSubChannelLayer"
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")

    async def roundtrip():
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "probe", "n": 1})
        return await layer.receive(channel)

    assert async_to_sync(roundtrip)()["n"] == 1
    cache.set("csbot-test-key", "v", 5)
    assert cache.get("csbot-test-key") == "v"


def test_a_forked_celery_worker_drops_the_parents_database_pools():
    """Pooled sockets inherited through fork must never be reused by the child process."""
    from django.db.backends.postgresql.base import DatabaseWrapper

    from csbot.celery import forget_inherited_database_pools

    real = dict(DatabaseWrapper._connection_pools)  # this test process's own pools (CI: PostgreSQL)
    DatabaseWrapper._connection_pools["inherited"] = object()  # what fork leaves behind
    try:
        forget_inherited_database_pools()
        assert DatabaseWrapper._connection_pools == {}
    finally:
        DatabaseWrapper._connection_pools.clear()
        DatabaseWrapper._connection_pools.update(real)


def test_postgresql_prepares_repeated_statements_unless_a_pooler_forbids_it(tmp_path):
    url = "postgres://u:p@db.example:5432/csbot"
    assert load_settings(tmp_path, DJANGO_DEBUG="1", DATABASE_URL=url)["db_binding"] == [True, 5]
    assert load_settings(tmp_path, DJANGO_DEBUG="1", DATABASE_URL=url, CSBOT_DB_PREPARE="0")["db_binding"] == [None, None]
    assert load_settings(tmp_path, DJANGO_DEBUG="1")["db_binding"] == [None, None]  # SQLite
