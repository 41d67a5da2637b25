"""The production compose file and .env.example agree with what the settings read.

No Docker engine runs on the CI machines, so these checks are what keeps the compose file honest.
"""
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_DIR = ROOT / "csbot" / "settings"
ENV_READ = re.compile(r"""env(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]+)["']""")


def settings_variables() -> set[str]:
    names: set[str] = set()
    for path in SETTINGS_DIR.glob("*.py"):
        names |= set(ENV_READ.findall(path.read_text(encoding="utf-8")))
    return names


def documented_variables() -> set[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_env_example_documents_every_variable_the_settings_read():
    read = settings_variables()
    assert {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "ELASTICSEARCH_URL", "DJANGO_SECRET_KEY"} <= read
    assert read - documented_variables() == set()


def test_compose_runs_every_production_role():
    services = compose()["services"]
    assert {"web", "ws", "worker", "beat", "nginx", "postgres", "redis", "elasticsearch"} <= set(services)
    assert services["web"]["command"][0] == "gunicorn" and "csbot.wsgi:application" in services["web"]["command"]
    assert services["ws"]["command"][0] == "daphne" and "csbot.asgi:application" in services["ws"]["command"]
    assert services["ws"]["deploy"]["replicas"] >= 2  # one daphne per core (its GIL)
    assert services["worker"]["command"][:3] == ["celery", "-A", "csbot"] and "worker" in services["worker"]["command"]
    assert "beat" in services["beat"]["command"]


def test_compose_app_environment_switches_on_every_integration():
    services = compose()["services"]
    known = settings_variables()
    for role in ("web", "ws", "worker", "beat", "migrate"):
        env = services[role]["environment"]
        assert env["DJANGO_DEBUG"] == "0"
        assert "DJANGO_SECRET_KEY" in env
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:6379")
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379")
        assert env["ELASTICSEARCH_URL"] == "http://elasticsearch:9200"
        assert set(env) - known == set(), "compose sets variables the settings never read"


def test_nginx_routes_websockets_to_daphne_and_the_rest_to_gunicorn():
    conf = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    assert re.search(r"upstream csbot_http \{ server web:8000; \}", conf)
    assert re.search(r"upstream csbot_ws \{ server ws:8001; \}", conf)
    ws_block = conf.split("location /ws/", 1)[1].split("}", 1)[0]
    assert "proxy_pass http://csbot_ws" in ws_block and "Upgrade" in ws_block
    assert "location /static/" in conf
    services = compose()["services"]
    assert "8001" in services["ws"]["command"] and "0.0.0.0:8000" in services["web"]["command"]
