"""Test settings: only faster, never different behaviour (integrations still follow the env)."""
import os

os.environ.setdefault("DJANGO_DEBUG", "1")

from .base import *  # noqa: E402,F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Browser tests serve from a second thread/process: SQLite needs a file, not :memory:.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # One file per test run (pid), so concurrent runs on one machine never share it; a forked
    # live server inherits the same settings and so the same name.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
# Tests load models when they need them; no start-up warm-up.
CSBOT_WARM_UP = False
# Tests run periodic jobs themselves (csbot/tests/test_embedded_beat.py starts one on purpose).
CSBOT_EMBEDDED_BEAT = False
