"""Shuangjian settings: one module, read from the environment.

With nothing set, the embedded default runs: SQLite, an in-memory channel layer, eager Celery, local files.
With DATABASE_URL set: that database (PostgreSQL in production). With REDIS_URL set: Redis as Celery broker,
Channels layer and cache.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

_DEV_SECRET = "dev-only-insecure-key-do-not-use-in-production-5f1c9a7e"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",  # runserver serves HTTP and websockets through ASGI
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_celery_beat",
    "csp",
    "ninja",  # its templates and static files: the API docs are served locally, no CDN
    "core",
    "accounts",
    "institutions",
    "supervision",
    "afterschool",
    "mobile_api",
    "portal",
    "console",
    "inspector_app",  # the phone apps: inspectors' offline app, teachers' roll call (/app/)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.csp.ScopedCSPMiddleware",  # outside the API guard, which may replace an error answer
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.ApiRequestGuardMiddleware",
    "core.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "accounts.middleware.CachedAuthenticationMiddleware",  # the session's user from accounts.authcache when kept
    "core.i18n.LanguageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",  # request.htmx: a partial update from the vendored htmx
    "django.contrib.messages.middleware.MessageMiddleware",
    "core.usercache.UserCacheMiddleware",  # a person's kept home counts are forgotten after any write of theirs
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "portal.context_processors.frame",  # the menu and the unread count of templates/base.html
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {
                # Writers queue instead of failing with "database is locked"; WAL lets readers go on meanwhile.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery broker -------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
REDIS_CONNECT_TIMEOUT = float(env_str("REDIS_CONNECT_TIMEOUT", "1"))
REDIS_SOCKET_TIMEOUT = float(env_str("REDIS_SOCKET_TIMEOUT", "2"))
if REDIS_URL:
    # Short timeouts: an unreachable Redis must turn into a quick error, which sign-in and token checks survive
    # (accounts/authcache.py, accounts/throttle.py) and filing fails over (outbox, inbox), not a request hanging on TCP.
    CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": REDIS_CONNECT_TIMEOUT, "socket_timeout": REDIS_SOCKET_TIMEOUT},
        }
    }
    # Web sessions read from Redis (written through to the database, which stays the truth): a signed-in page saves
    # its session query. Only with a cache every process shares, so a sign-out is seen by all of them.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        # channels-redis waits up to 5 s in BZPOPMIN for a socket's next message; redis-py 6+ gives
                        # each connection a 5 s socket timeout by default, so an idle websocket's read timed out and
                        # its consumer died (daphne: close 1011 every 5-6 s, pushes in the gap lost; channels_redis
                        # #422). Reads wait well past the blocking receive; a dead server is still noticed by the
                        # connect timeout, TCP keepalive and a PING before using a connection idle this long.
                        "socket_timeout": env_int("CHANNELS_SOCKET_TIMEOUT", 30),
                        "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
                        "socket_keepalive": True,
                        "health_check_interval": 15,
                    }
                ],
                "prefix": env_str("CHANNELS_PREFIX", "asgi"),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# No broker means eager: tasks run in the caller's process and their errors propagate.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not bool(REDIS_URL or env_str("CELERY_BROKER_URL")))
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "shuangjian")
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# With acks_late, Redis hands an unacknowledged message to another worker after this long. Kept at an hour: it
# must exceed the longest task and every countdown/ETA (retries back off up to 600 s), or running and waiting tasks
# are delivered twice. A job whose worker died is not left to it: its heartbeat goes stale and the job sweep below
# takes it over within JOB_STALE_SECONDS plus a minute.
# A send is tried once, with a short connect timeout; one the broker refuses goes to the outbox (core.dispatch).
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_CONNECT_TIMEOUT
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
    "max_retries": 0,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 0}
# Beat copies these into django-celery-beat's tables at start; the bureau can then change times in the admin.
CELERY_BEAT_SCHEDULE = {
    # Task sends kept while the broker was down, sent once it is back (also at every worker start).
    "outbox-resend": {
        "task": "core.outbox_resend",
        "schedule": timedelta(minutes=1),
    },
    "purge-expired-credentials": {
        "task": "accounts.purge_expired_credentials",
        "schedule": timedelta(hours=24),
    },
    "licence-watch": {
        "task": "institutions.licence_watch",
        "schedule": crontab(hour=1, minute=5),  # Asia/Shanghai
    },
    "recompute-risk-grades": {
        "task": "institutions.recompute_all_risk",
        "schedule": crontab(hour=2, minute=30),
    },
    # Complaint deadlines: 80 % warnings, escalation when overdue, unrated answers closed after 7 days.
    "complaint-sweep": {
        "task": "supervision.complaint_sweep",
        "schedule": crontab(minute="*/30"),
    },
    # After-school choice windows: allocated (seeded lottery, recorded) within 5 minutes of closing.
    "afterschool-allocate-due-windows": {
        "task": "afterschool.allocate_due_windows",
        "schedule": crontab(minute="*/5"),
    },
    "afterschool-admission-daily": {
        "task": "afterschool.admission_daily",
        "schedule": timedelta(hours=24),
    },
    # Rectification orders (R-INSP-2): warned before the deadline, escalated when overdue; finished plans published.
    "inspection-daily": {
        "task": "supervision.inspection_daily",
        "schedule": crontab(hour=7, minute=10),
    },
    # Jobs (core.jobs) whose worker died: taken over (sent again) or, after JOB_MAX_ATTEMPTS, failed with a reason.
    "job-sweep": {
        "task": "core.job_sweep",
        "schedule": timedelta(minutes=1),
    },
    # 12345 outbox events whose delivery was lost (a dropped message, a killed worker) are sent again.
    "hotline-outbox-sweep": {
        "task": "supervision.hotline_outbox_sweep",
        "schedule": timedelta(minutes=5),
    },
}
# 12345 outbox: attempts per event before it is shown to the bureau as failed (backoff 30 s, 60 s, … up to 10 min).
HOTLINE_MAX_ATTEMPTS = env_int("HOTLINE_MAX_ATTEMPTS", 6)
# A running job's owner writes a heartbeat this often (0: off, as in the embedded default where jobs run eagerly in
# the request); a job not heard of for JOB_STALE_SECONDS is taken over, at most JOB_MAX_ATTEMPTS runs in all; a
# pending job whose message never came is sent again after JOB_REQUEUE_SECONDS.
JOB_HEARTBEAT_SECONDS = env_int("JOB_HEARTBEAT_SECONDS", 5 if CELERY_BROKER_URL != "memory://" else 0)
JOB_STALE_SECONDS = env_int("JOB_STALE_SECONDS", 60)
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 3)
JOB_REQUEUE_SECONDS = env_int("JOB_REQUEUE_SECONDS", 15 * 60)

# --- Auth ---------------------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.PhoneOrUsernameBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

# API tokens (mobile_api): short-lived access, long-lived refresh, both stored hashed.
ACCESS_TOKEN_TTL = timedelta(minutes=env_int("ACCESS_TOKEN_TTL_MINUTES", 15))
REFRESH_TOKEN_TTL = timedelta(days=env_int("REFRESH_TOKEN_TTL_DAYS", 30))
# Token → user lookups cached this long, only with Redis (a cache every process shares): see accounts/authcache.py.
AUTH_CACHE_SECONDS = env_int("AUTH_CACHE_SECONDS", 120 if REDIS_URL else 0)
AUTH_LOCAL_SECONDS = env_int("AUTH_LOCAL_SECONDS", 30 if REDIS_URL else 0)
# Failed logins: per account and per address, in a sliding window kept in the cache.
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)
LOGIN_FAILURES_PER_ACCOUNT = env_int("LOGIN_FAILURES_PER_ACCOUNT", 5)
LOGIN_FAILURES_PER_ADDRESS = env_int("LOGIN_FAILURES_PER_ADDRESS", 30)

# SMS: pluggable like Django's mail backends.
SMS_BACKEND = env_str("SMS_BACKEND", "accounts.sms.ConsoleSmsBackend")
SMS_CODE_TTL = timedelta(minutes=5)
SMS_CODES_PER_PHONE_PER_HOUR = 5
SMS_CODES_PER_PHONE_PER_DAY = env_int("SMS_CODES_PER_PHONE_PER_DAY", 10)
# Per client address (see USE_X_REAL_IP): generous, as a school's parents' meeting may share one network.
SMS_CODES_PER_ADDRESS_PER_HOUR = env_int("SMS_CODES_PER_ADDRESS_PER_HOUR", 20)
SMS_CODES_PER_ADDRESS_PER_DAY = env_int("SMS_CODES_PER_ADDRESS_PER_DAY", 60)
SMS_CODE_MAX_ATTEMPTS = 5

# --- Requests -----------------------------------------------------------------------------------------------------
# Bodies above these sizes answer 413 before anything is read.
API_MAX_JSON_BYTES = env_int("API_MAX_JSON_BYTES", 1 * 1024 * 1024)
API_MAX_UPLOAD_BYTES = env_int("API_MAX_UPLOAD_BYTES", 100 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_JSON_BYTES
API_PAGE_SIZE_MAX = 100

# --- I18n ---------------------------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
# One language at a time (DESIGN.md): Chinese msgids in the code, English in locale/en/LC_MESSAGES/django.po.
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "sj_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
USE_TZ = True

# --- Files --------------------------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "/media/"  # never served directly: uploads go through permission-checked views
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "core.staticstorage.ManifestStaticStorage"  # whitenoise's, each address worked out once
        )
    },
}
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", DEBUG)
# Image uploads (core.uploads): more pixels than this is refused, from the image's header, before anything is decoded.
# 25 MP: a phone's photo is 12 MP (4032×3024) by default, the 48/50 MP sensors bin to 12 MP, and some phones save
# 16-24 MP; the kept copy is 2560 px on its long side anyway. Full-resolution 48+ MP modes and scans-as-PNG beyond
# that cost seconds of CPU to decode (a 105 KB PNG of 36 MP took 4.6 s) and say nothing more as evidence.
UPLOAD_MAX_IMAGE_PIXELS = env_int("UPLOAD_MAX_IMAGE_PIXELS", 25_000_000)

# --- Security (production: DEBUG off) ---------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # probes come over plain HTTP from the host
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# Content-Security-Policy (django-csp, core.csp) on every response: nothing from another origin, no inline script,
# style or event handler (pages load their CSS and JS from static files), no framing. connect-src 'self' covers the
# websocket on the same host (ws:/wss: match 'self' under CSP Level 3).
# A person's home counts and unread count are kept this many seconds (core.usercache); forgotten at once when they
# write anything or are notified. 0: always counted afresh.
USER_CACHE_SECONDS = env_int("USER_CACHE_SECONDS", 15)

# Map tiles for the inspector app and the registry map (Leaflet), e.g. "https://tiles.example.cn/{z}/{x}/{y}.png".
# Empty by default: maps then draw their points on a blank background and nothing is loaded from another origin.
# When set, its origin is added to img-src below.
MAP_TILE_URL = env_str("MAP_TILE_URL", "")
MAP_TILE_ATTRIBUTION = env_str("MAP_TILE_ATTRIBUTION", "")


def _origin(url: str) -> list[str]:
    from urllib.parse import urlsplit

    parts = urlsplit(url.replace("{s}", "a"))
    return [f"{parts.scheme}://{parts.netloc}".replace("://a.", "://*.")] if parts.scheme and parts.netloc else []


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:", *_origin(MAP_TILE_URL)],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}
# Swagger UI writes inline styles as it renders: allowed on the docs page only.
CSP_RELAXED_PATHS = {"/api/v1/docs": {"style-src": ["'self'", "'unsafe-inline'"]}}

# Keys the hashes of ID numbers (core.pii). Must never change once data exists: set it in production.
PII_HASH_KEY = env_str("PII_HASH_KEY", "")

# Behind nginx, which sets X-Real-IP to the client's address (README: production).
USE_X_REAL_IP = env_bool("USE_X_REAL_IP", False)

# Bulk import of the registry (institutions.imports): files above the sync limit run as a job.
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 20000)
IMPORT_SYNC_MAX_ROWS = env_int("IMPORT_SYNC_MAX_ROWS", 200)
IMPORT_PROGRESS_EVERY = env_int("IMPORT_PROGRESS_EVERY", 200)

# Public answers of the registry (a scan's page, the anonymous whitelist) kept this long in each process, and scans
# written in batches this often (institutions/public_cache.py); 0 turns each off. On in production (with Redis).
PUBLIC_CACHE_SECONDS = env_int("PUBLIC_CACHE_SECONDS", 10 if REDIS_URL else 0)
SCAN_FLUSH_SECONDS = env_int("SCAN_FLUSH_SECONDS", 5 if REDIS_URL else 0)
# Handlers' complaint lists kept per process this long, and never after a change (supervision/complaints/cache.py).
COMPLAINT_LIST_CACHE_SECONDS = env_int("COMPLAINT_LIST_CACHE_SECONDS", 10 if REDIS_URL else 0)
# The console's registry list (its rendered rows) kept this long, and never after a change of the registry or of
# complaints (console/registry.py).
REGISTRY_LIST_CACHE_SECONDS = env_int("REGISTRY_LIST_CACHE_SECONDS", 10 if REDIS_URL else 0)

# Public address printed in poster QR codes (https://… in production).
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
# A CJK font for posters; empty means the usual system paths, then fontconfig.
POSTER_FONT_PATH = env_str("POSTER_FONT_PATH", "") or None

# Only for bench/: a bare Django JSON view that every benchmark is compared with.
BENCH_ENDPOINTS = env_bool("BENCH_ENDPOINTS", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "daphne": {"level": "WARNING"},
    },
}
