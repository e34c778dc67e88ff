"""Settings for Get It Done, read from the environment in this one place.

Every variable has a default that runs on a bare machine (SQLite and a filesystem broker under
``var/``); production and CI set ``DATABASE_URL``, ``CELERY_BROKER_URL`` and ``CACHE_URL``.
"""

import os
import ssl
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# Where the embedded defaults keep their state (SQLite file, broker folders, dev JWT key,
# uploaded files). Tests point it elsewhere so they never touch a developer's demo data.
VAR_DIR = Path(env.str("GETITDONE_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)
# Metrics (getitdone/metrics.py): every process of the host writes its samples here, and a scrape
# adds them up. Set before prometheus_client is first imported; empty it when the host's
# processes start (`make run` does).
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(VAR_DIR / "metrics"))
Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

# --- Core -------------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
# The fallback key is for a bare dev machine only; production sets SECRET_KEY.
# With DEBUG off the fallback is refused at start (getitdone.checks).
DEV_SECRET_KEY = "dev-insecure-getitdone-secret-key-change-me-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver", "[::1]"])
PORT = env.int("PORT", default=8000)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "oauth2_provider",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "getitdone",
    "fulfillment",
    "webhooks",
    "orders",
    "commands",
]

MIDDLEWARE = [
    "getitdone.tracing.TracingMiddleware",
    "getitdone.api.middleware.ApiHeadersMiddleware",
    "getitdone.metrics.AccessMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "getitdone.api.middleware.ApiEnvelopeMiddleware",
    "getitdone.api.middleware.MaintenanceModeMiddleware",
    "getitdone.api.middleware.BodySizeLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# --- Transport security (all checked by `manage.py check --deploy`) ----------------------------
# Behind a TLS-terminating proxy, name the header it sets: e.g. HTTP_X_FORWARDED_PROTO=https.
_proxy_header = env.str("SECURE_PROXY_SSL_HEADER", default="")
SECURE_PROXY_SSL_HEADER = tuple(_proxy_header.split("=", 1)) if "=" in _proxy_header else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]  # probes and scrapers speak plain HTTP
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

ROOT_URLCONF = "getitdone.urls"
WSGI_APPLICATION = "getitdone.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Data stores ------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default has web, worker threads and beat writing one file: wait for the lock
    # instead of failing, and take it at BEGIN so a reader never has to upgrade mid-transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 30, "transaction_mode": "IMMEDIATE"})
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://getitdone")}
if CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache":
    # Redis down is not the API down: cache calls give up within a quarter second (unless
    # CACHE_URL sets its own timeouts), logged, and the callers go on without: a wake-up is sent
    # as if its coalescing flag were unset, the maintenance state is read from the database. The
    # rate limit and failure counters, which use the client directly, let requests through.
    _options = CACHES["default"].setdefault("OPTIONS", {})
    _options.setdefault("SOCKET_CONNECT_TIMEOUT", 0.25)
    _options.setdefault("SOCKET_TIMEOUT", 0.25)
    DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

# --- Celery (settings namespace CELERY_) ------------------------------------------------------
# No broker configured: kombu's filesystem transport under var/, so `make run` needs no Redis.
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        "control_folder": str(BROKER_DIR / "control"),  # fanout/pidbox; kombu's default is ./control
    }
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT = "getitdone.broker:Transport"  # a worker outlives a Redis outage
    if CELERY_BROKER_URL.startswith("rediss://"):
        # Naming the transport hides the scheme kombu takes TLS from: asked for here, with the
        # server's certificate verified (kombu's own default for rediss:// verifies nothing).
        CELERY_BROKER_USE_SSL = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
# Wake-ups (getitdone/wakeups.py): a request waits this long at most for the broker, and after a
# failure its process sends none for WAKEUP_BACKOFF seconds (beat's sweeps wake the workers).
WAKEUP_TIMEOUT = env.float("WAKEUP_TIMEOUT", default=0.1)
WAKEUP_BACKOFF = env.float("WAKEUP_BACKOFF", default=5.0)
CELERY_TASK_ROUTES = {
    "webhooks.*": {"queue": "webhooks"},
    "commands.*": {"queue": "commands"},
}
CELERY_BEAT_SCHEDULE = {
    "sweep-deliveries": {"task": "webhooks.sweep_deliveries", "schedule": env.float("WEBHOOKS_SWEEP_INTERVAL", 2.0)},
    "prune-events": {"task": "webhooks.prune_events", "schedule": 3600.0},
    "sweep-commands": {"task": "commands.sweep", "schedule": env.float("COMMANDS_SWEEP_INTERVAL", 2.0)},
    "prune-idempotency-keys": {"task": "commands.prune_idempotency_keys", "schedule": 3600.0},
    "apply-step-timeouts": {"task": "orders.apply_step_timeouts", "schedule": 60.0},
    "clear-expired-tokens": {"task": "fulfillment.clear_expired_tokens", "schedule": 3600.0},
}
CELERY_TIMEZONE = "UTC"

# --- Auth: staff in admin, integrators through OAuth2 ------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "fulfillment.hashers.ClientSecretHasher",
]

ACCESS_TOKEN_LIFETIME = env.int("ACCESS_TOKEN_LIFETIME", default=3600)
JWT_ISSUER = env.str("JWT_ISSUER", default="urn:getitdone")
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="urn:getitdone:api")
# PEM text of the RSA key that signs access tokens; unset, one is generated once into var/.
JWT_PRIVATE_KEY = env.str("JWT_PRIVATE_KEY", default="", multiline=True)
JWT_PRIVATE_KEY_FILE = VAR_DIR / "jwt_private_key.pem"

# Fernet keys for the webhook signing secrets stored encrypted (getitdone/crypto.py): the first
# encrypts, all decrypt, so a rotation prepends a key. Unset, one is generated once into var/
# (refused with DEBUG off: getitdone.checks).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
FIELD_ENCRYPTION_KEYS_GIVEN = bool(FIELD_ENCRYPTION_KEYS)
if not FIELD_ENCRYPTION_KEYS:
    from cryptography.fernet import Fernet

    from getitdone.devfiles import generated_once

    FIELD_ENCRYPTION_KEYS = [generated_once(VAR_DIR / "field_encryption_key", Fernet.generate_key).decode().strip()]

# DOT's models are swappable; migrations that point at them need the setting named.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
RFC9700_GATES = (
    "IMPLICIT_GRANT", "PASSWORD_GRANT", "PKCE_METHOD", "ACCESS_TOKEN_TRANSPORT", "AUTHZ_RESPONSE_ISS", "TOKEN_STORAGE",
    "REFRESH_TOKEN", "REDIRECT_URI_SCHEME", "REDIRECT_URI_MATCHING", "PKCE_REQUIRED",
)  # fmt: skip
OAUTH2_PROVIDER = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": ACCESS_TOKEN_LIFETIME,
    "ACCESS_TOKEN_GENERATOR": "fulfillment.oauth.jwt_access_token_generator",
    "CLIENT_ID_GENERATOR_CLASS": "fulfillment.oauth.NumericClientIdGenerator",
    "OAUTH2_BACKEND_CLASS": "fulfillment.oauth.TokenRequestBackend",
    "OAUTH2_VALIDATOR_CLASS": "fulfillment.oauth.IntegratorOAuth2Validator",
    "SCOPES_BACKEND_CLASS": "fulfillment.oauth.IntegratorScopes",
    "SCOPES": {"read": "Read your own data", "write": "Create and change your own data"},
    "DEFAULT_SCOPES": ["read", "write"],
    "CLIENT_SECRET_HASHER": "pbkdf2_sha256_client_secret",
    # RFC 9700: tokens only from the Authorization header, stored as their SHA-256 alone.
    **{f"COMPLIANT_BCP_RFC9700_{gate}": True for gate in RFC9700_GATES},
    # Only the client credentials grant is used: no refresh tokens, no redirects. Set as RFC 9700
    # wants all the same, so the deploy check stays clean.
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}

# The demo integrator that `seed_demo` creates and `make run` prints.
DEMO_CLIENT_ID = env.str("DEMO_CLIENT_ID", default="1")
# Published in the README: with DEBUG off, seed_demo refuses it unless DEMO_CLIENT_SECRET is set,
# and a demo integrator that still has it stops the start (getitdone.checks).
DEMO_DEFAULT_CLIENT_SECRET = "demo-secret-change-me"
DEMO_CLIENT_SECRET = env.str("DEMO_CLIENT_SECRET", default=DEMO_DEFAULT_CLIENT_SECRET)
DEMO_CLIENT_SECRET_GIVEN = "DEMO_CLIENT_SECRET" in env

# --- API --------------------------------------------------------------------------------------
API_VERSION = "1"
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="600/min")
# Unauthenticated /api/ requests per address and minute; failed token requests and admin logins
# per client id or username and per address, in windows of FAILED_ATTEMPTS_WINDOW seconds (over
# the limit, even the right secret waits for the window to end). getitdone/attempts.py.
API_ANONYMOUS_RATE_LIMIT = env.int("API_ANONYMOUS_RATE_LIMIT", default=120)
TOKEN_FAILURES_PER_CLIENT = env.int("TOKEN_FAILURES_PER_CLIENT", default=10)
TOKEN_FAILURES_PER_ADDRESS = env.int("TOKEN_FAILURES_PER_ADDRESS", default=50)
LOGIN_FAILURES_PER_USER = env.int("LOGIN_FAILURES_PER_USER", default=5)
LOGIN_FAILURES_PER_ADDRESS = env.int("LOGIN_FAILURES_PER_ADDRESS", default=20)
FAILED_ATTEMPTS_WINDOW = env.int("FAILED_ATTEMPTS_WINDOW", default=300)
# Proxies in front of the web processes that append to X-Forwarded-For (unset: none, and the
# header is not trusted for limits).
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
API_MAX_JSON_BODY = env.int("API_MAX_JSON_BODY", default=1024 * 1024)
MAINTENANCE_MODE = env.bool("MAINTENANCE_MODE", default=False)
MAINTENANCE_RETRY_AFTER = env.int("MAINTENANCE_RETRY_AFTER", default=300)
FILES_MAX_UPLOAD_SIZE = env.int("FILES_MAX_UPLOAD_SIZE", default=10 * 1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["getitdone.api.authentication.IntegratorTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [
        "getitdone.api.permissions.IsActiveIntegrator",
        "oauth2_provider.contrib.rest_framework.TokenHasReadWriteScope",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["getitdone.api.throttling.IntegratorRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["getitdone.api.renderers.EnvelopeJSONRenderer"],
    # JSON only (API.md §1); the file upload view declares multipart itself.
    "DEFAULT_PARSER_CLASSES": ["getitdone.api.parsers.LimitedJSONParser"],
    "EXCEPTION_HANDLER": "getitdone.api.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "NUM_PROXIES": NUM_PROXIES,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Get It Done API",
    "DESCRIPTION": (
        "Order fulfillment for delivery partners and store systems. Every path under /api/ "
        "is also served under /api/v1/."
    ),
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/",
    "PREPROCESSING_HOOKS": ["getitdone.api.schema.drop_versioned_aliases"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "getitdone.api.schema.envelope_responses",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    # Row ids in paths (getitdone.api.converters): integers, as clients should type them.
    "PATH_CONVERTER_OVERRIDES": {"pk": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}},
    "ENUM_NAME_OVERRIDES": {
        "StepCategoryEnum": "fulfillment.models.StepCategory",
        "EventTypeEnum": "webhooks.catalogue.EVENT_TYPES",
    },
}

# --- Events and webhooks ----------------------------------------------------------------------
EVENTS_RETENTION_DAYS = env.int("EVENTS_RETENTION_DAYS", default=30)
DEFAULT_WORKFLOW_CODE = env.str("DEFAULT_WORKFLOW_CODE", default="delivery")
# Seconds to wait after each failed attempt; one attempt more than entries (API.md §7).
WEBHOOKS_RETRY_SCHEDULE = [
    float(s)
    for s in env.list("WEBHOOKS_RETRY_SCHEDULE", default=["5", "300", "1800", "7200", "18000", "36000", "36000"])
]
WEBHOOKS_MAX_RETRY_AFTER = env.int("WEBHOOKS_MAX_RETRY_AFTER", default=24 * 3600)
WEBHOOKS_DISABLE_AFTER_DAYS = env.int("WEBHOOKS_DISABLE_AFTER_DAYS", default=5)
WEBHOOKS_OLD_SECRET_TTL = env.int("WEBHOOKS_OLD_SECRET_TTL", default=24 * 3600)
# A worker's hold on a delivery while it sends; must exceed one POST (10 s in all).
WEBHOOKS_LEASE_SECONDS = env.int("WEBHOOKS_LEASE_SECONDS", default=60)
# The batch a drain claims and sends concurrently, and how many sends one receiver URL may have in
# flight across all workers, so a slow one never holds every drain.
WEBHOOKS_BATCH_SIZE = env.int("WEBHOOKS_BATCH_SIZE", default=32)
WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT = env.int("WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT", default=64)
# One POST in all (the connect itself gets at most 3 s).
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=10.0)
WEBHOOKS_WAKE_COALESCE_SECONDS = env.int("WEBHOOKS_WAKE_COALESCE_SECONDS", default=2)
WEBHOOKS_ALLOW_PRIVATE_URLS = env.bool("WEBHOOKS_ALLOW_PRIVATE_URLS", default=DEBUG)

# --- Commands ---------------------------------------------------------------------------------
COMMANDS_LEASE_SECONDS = env.int("COMMANDS_LEASE_SECONDS", default=60)
# Attempts before a command fails `too_many_attempts`: the database refused it for a passing
# reason (a deadlock …) or its worker died that many times.
COMMANDS_MAX_ATTEMPTS = env.int("COMMANDS_MAX_ATTEMPTS", default=5)
COMMANDS_REQUEUE_AFTER = env.int("COMMANDS_REQUEUE_AFTER", default=10)
COMMANDS_BATCH_LIMIT = 100
# Same-issue commands one runner takes in a row, and how many it leases at a time.
COMMANDS_CHAIN_LIMIT = env.int("COMMANDS_CHAIN_LIMIT", default=50)
COMMANDS_CLAIM_BATCH = env.int("COMMANDS_CLAIM_BATCH", default=10)
COMMANDS_WAKE_COALESCE_SECONDS = env.int("COMMANDS_WAKE_COALESCE_SECONDS", default=5)
IDEMPOTENCY_KEY_TTL = env.int("IDEMPOTENCY_KEY_TTL", default=24 * 3600)
IDEMPOTENCY_IN_PROGRESS_TIMEOUT = 60

# --- i18n -------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
FORMAT_MODULE_PATH = ["getitdone.locale_formats"]  # times with seconds and zone, in every language
USE_TZ = True

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns about a missing root before collectstatic
# gunicorn serves admin and Swagger UI assets itself (no CDN, no separate web server needed).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"
# Base of absolute links in event payloads (e.g. a file's download_url); API responses use the
# request's own host.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="")

# --- Metrics --------------------------------------------------------------------------------
# GET /metrics: open when empty (a private network), else `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# --- Logging (API.md §10) ----------------------------------------------------------------------
# One JSON object per line (`ts`, `level`, `logger`, `message`, and `request_id`, `event_id`,
# `delivery_id`, `command_id` where they apply) unless DEBUG is on: then readable lines. Web and
# workers alike (getitdone/celery.py hands Celery's logging set-up to this).
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "getitdone.logs.RequestIdLogFilter"}},
    "formatters": {
        "text": {"()": "getitdone.logs.TextFormatter"},
        "json": {"()": "getitdone.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.server": {"level": "WARNING"},
        # One line per request is getitdone.access's; Django's own is kept for 5xx (its trace).
        "django.request": {"level": "ERROR"},
        # A line per task received and finished, and per beat tick: the work logs what it did.
        "celery.app.trace": {"level": "WARNING"},
        "celery.worker.strategy": {"level": "WARNING"},
        "celery.beat": {"level": "WARNING"},
    },
}
if CELERY_BROKER_URL.startswith("filesystem://"):  # its URL names no host, as it should not
    LOGGING["loggers"]["kombu.connection"] = {"level": "ERROR"}
