"""Switchback settings.

Everything comes from the environment through the small typed helpers below,
which fail at start with a message naming the variable when a value is bad.
With nothing set, the project runs on the embedded defaults: SQLite and a
file-system Celery broker under ``var/``, so a fresh laptop needs no servers.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SWITCHBACK_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use true or false.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_database(name: str, default: str) -> dict:
    raw = os.environ.get(name) or default
    scheme = urlparse(raw).scheme
    if scheme not in ("sqlite", "postgres", "postgresql", "pgsql"):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a database URL Switchback understands; "
            "use postgres://user:password@host:5432/name or sqlite:///path/to/db.sqlite3."
        )
    try:
        # PostgreSQL: each web worker keeps its connection for a minute rather than
        # opening one per request (a new backend costs milliseconds and its cold
        # catalog caches more); 0 closes it after every request, as SQLite does.
        # A kept connection is checked before a request reuses it (health
        # checks), so a PostgreSQL restart costs a reconnect, never a 500.
        max_age = env_int("DATABASE_CONN_MAX_AGE", 0 if scheme == "sqlite" else 60)
        config = dj_database_url.parse(raw, conn_max_age=max_age, conn_health_checks=max_age > 0)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} could not be parsed: {exc}") from None
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name}={raw!r} names no database.")
    if scheme != "sqlite" and env_bool("DATABASE_PREPARED_STATEMENTS", True):
        # PostgreSQL plans a statement each time it is sent, and the board's
        # reads join half a dozen tables: planning was half its work per move.
        # With the parameters bound on the server, psycopg prepares a statement
        # its connection has sent a few times and PostgreSQL keeps the plan.
        # Off (false) behind a pooler in transaction mode (PgBouncer < 1.21),
        # which cannot keep a connection's prepared statements.
        config.setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 5})
    return config


def env_redis(name: str) -> str:
    raw = os.environ.get(name, "")
    if raw and urlparse(raw).scheme not in ("redis", "rediss"):
        raise ImproperlyConfigured(f"{name}={raw!r} is not a redis:// URL.")
    return raw


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
# The checkout `make run` set up (embedded SQLite, no DATABASE_URL) keeps a
# generated key in var/secret_key: written on the first DEBUG start, read by
# every later `manage.py` command, so the README's commands work there without
# exporting anything. A site with DATABASE_URL always sets SECRET_KEY itself.
LOCAL_SECRET_KEY_FILE = VAR_DIR / "secret_key"
if not SECRET_KEY and not env_str("DATABASE_URL"):
    if DEBUG and not LOCAL_SECRET_KEY_FILE.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        try:
            with os.fdopen(os.open(LOCAL_SECRET_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
                f.write(secrets.token_urlsafe(50))
        except FileExistsError:  # web, worker and beat starting at once
            pass
    if LOCAL_SECRET_KEY_FILE.is_file():
        SECRET_KEY = LOCAL_SECRET_KEY_FILE.read_text().strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "axes",
    "csp",
    "rest_framework",
    "drf_spectacular",
    # The project package is an app for its admin (lockouts) and its templates.
    "helpdesk",
    "boards",
    "routing",
    "flow",
    "api",
    "intake",
    "requesters",
    "calendars",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # PostgreSQL briefly down: a short 503 page, wherever the error surfaces.
    "helpdesk.middleware.DatabaseUnavailableMiddleware",
    # A NUL byte is never meaningful here and PostgreSQL can't store one: 400 at the door.
    "helpdesk.middleware.RejectNulBytesMiddleware",
    # A move and the cards drawn after it read the active criteria once between them.
    "helpdesk.middleware.CriteriaReadOnceMiddleware",
    # A 500-card board is ~800 KiB of HTML and the live poll resends the
    # columns on every change; gzipped it is a twentieth of that. Django's
    # GZipMiddleware pads its output against BREACH (since 4.2).
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "helpdesk.middleware.PrivatePagesMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "helpdesk.wsgi.application"

DATABASES = {
    "default": env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'switchback.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: wait for a writer instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # The Flow page's covering indexes (INCLUDE) are a PostgreSQL speed-up;
    # SQLite builds them without the extra columns, which is all a laptop needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # Refuses a locked-out user or address before the password is even checked.
    "helpdesk.throttle.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

CSRF_FAILURE_VIEW = "helpdesk.errors.csrf_failure"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Files served at the site root by WhiteNoise, before login: /favicon.ico, which
# browsers ask for on every page that names no icon (admin, the API docs).
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Switchback <switchback@localhost>")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)

# --- Requesters (requesters/): mail in and out, the request form, status pages -----
# Links in mail (the status page) are absolute: the address people reach the desk at.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")
if urlparse(SITE_URL).scheme not in ("http", "https") or not urlparse(SITE_URL).netloc:
    raise ImproperlyConfigured(f"SITE_URL={SITE_URL!r} is not an http(s):// address.")
# Attachments larger than this (each) are not kept; the ticket says so.
REQUESTER_ATTACHMENT_MAX_BYTES = env_int("REQUESTER_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
# Messages one sender may turn into tickets or replies per hour, per mailbox; more are held.
REQUESTER_SENDER_LIMIT_PER_HOUR = env_int("REQUESTER_SENDER_LIMIT_PER_HOUR", 20)

# --- Celery -----------------------------------------------------------------
# Redis when REDIS_URL is set; otherwise kombu's file-system transport, which
# works across separate processes on one machine with no server to install.
REDIS_URL = env_redis("REDIS_URL")
CELERY_DIR = Path(os.environ.get("SWITCHBACK_CELERY_DIR", VAR_DIR / "celery"))
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
else:
    for sub in ("queue", "processed", "results", "control"):
        (CELERY_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_DIR / "queue"),
        "data_folder_out": str(CELERY_DIR / "queue"),
        "processed_folder": str(CELERY_DIR / "processed"),
        "control_folder": str(CELERY_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.5,
    }
    CELERY_RESULT_BACKEND = f"file://{CELERY_DIR / 'results'}"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_IGNORE_RESULT = False
CELERY_RESULT_EXPIRES = 3600
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# A static schedule. The sweep ticks every 5 seconds so that a deadline
# becomes a move within seconds (routing.tasks.sweep_due_tickets says why a
# fast tick with a one-query probe). Each tick expires before the next one is
# due, so a beat that was down (or runs twice) never piles up a backlog of sweeps.
SWEEP_INTERVAL_SECONDS = env_int("SWEEP_INTERVAL_SECONDS", 5)
CELERY_BEAT_SCHEDULE = {
    "sweep-due-tickets": {
        "task": "routing.tasks.sweep_due_tickets",
        "schedule": float(SWEEP_INTERVAL_SECONDS),
        "options": {"expires": max(SWEEP_INTERVAL_SECONDS - 1, 1)},
    },
    # Warns the assignee (or the board) before a deadline, on the same fast tick (notifications.tasks).
    "send-due-warnings": {
        "task": "notifications.tasks.send_due_warnings",
        "schedule": float(SWEEP_INTERVAL_SECONDS),
        "options": {"expires": max(SWEEP_INTERVAL_SECONDS - 1, 1)},
    },
    # Inactivity criteria (routing.tasks.sweep_inactive_tickets): limits in working hours need no faster tick.
    "sweep-inactive-tickets": {
        "task": "routing.tasks.sweep_inactive_tickets",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Reads each active mailbox (none configured: one query) and sends the outbox.
    "poll-mailboxes": {
        "task": "requesters.tasks.poll_mailboxes",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Brings the Flow page's precomputed facts up to date with the Move log (flow.facts).
    "build-flow-facts": {
        "task": "flow.tasks.build_facts",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
}

# The clock's own queue. The deadline and warning ticks (and the inactivity
# sweep) go to "deadlines", which a worker of its own consumes (Procfile,
# README), so a deadline never waits behind mail, the demo's history or a
# Flow facts build on the general queue ("celery"): a tick that waits there
# longer than its 4 s expiry is dropped, and a deadline would go late by as
# long as the other work takes.
DEADLINES_QUEUE = "deadlines"
CELERY_TASK_ROUTES = {
    "routing.tasks.sweep_due_tickets": {"queue": DEADLINES_QUEUE},
    "routing.tasks.sweep_inactive_tickets": {"queue": DEADLINES_QUEUE},
    "notifications.tasks.send_due_warnings": {"queue": DEADLINES_QUEUE},
}

# Bounce guard (routing.services): a ticket whose board changes BOUNCE_MOVES times within
# BOUNCE_WINDOW_HOURS, or goes A → B → A within BOUNCE_RETURN_HOURS, is flagged (0 turns a rule off);
# with BOUNCE_HOLDS_AUTOMATIC (off unless set), the scheduler's criteria leave it alone until a person moves it.
BOUNCE_MOVES = env_int("BOUNCE_MOVES", 3)
BOUNCE_WINDOW_HOURS = env_int("BOUNCE_WINDOW_HOURS", 24)
BOUNCE_RETURN_HOURS = env_int("BOUNCE_RETURN_HOURS", 2)
BOUNCE_HOLDS_AUTOMATIC = env_bool("BOUNCE_HOLDS_AUTOMATIC", False)

# How often an open board asks "has anything changed?" (milliseconds).
BOARD_POLL_INTERVAL_MS = env_int("BOARD_POLL_INTERVAL_MS", 3000)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # django-axes says INFO on every login; its warnings (failures, lockouts) are what matter.
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}

# --- Login throttling (django-axes) ----------------------------------------------
# Failed logins are counted per username and, with a higher limit, per client
# address (an office behind one NAT address shares it); either limit locks
# logins out for LOGIN_LOCKOUT_MINUTES after the last failure. Managers see and
# clear lockouts in admin. See helpdesk/throttle.py.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 30)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15)
# How many reverse proxies append to X-Forwarded-For in front of gunicorn: the
# client address is read that many entries from the right (0: REMOTE_ADDR).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_HANDLER = "helpdesk.throttle.LoginThrottleHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
# Tries during a lockout do not push it further out, so the time the lockout
# page names stays true.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "helpdesk.throttle.lockout_response"
AXES_CLIENT_IP_CALLABLE = "helpdesk.throttle.client_ip"
AXES_USERNAME_CALLABLE = "helpdesk.throttle.username_of"
AXES_VERBOSE = False
# Only the lockouts in admin (helpdesk/admin.py); the access logs stay in the database.
AXES_ENABLE_ADMIN = False

# --- HTTPS and security headers -----------------------------------------------------
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Behind a TLS-terminating proxy: the header it sets to "https" (e.g.
# X-Forwarded-Proto). Only set this when the proxy always sets or strips it.
_proxy_ssl_header = env_str("SECURE_PROXY_SSL_HEADER").strip()
if _proxy_ssl_header:
    if not _proxy_ssl_header.replace("-", "").isalnum():
        raise ImproperlyConfigured(f"SECURE_PROXY_SSL_HEADER={_proxy_ssl_header!r} is not a header name.")
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content Security Policy (django-csp). Everything comes from this site: htmx
# from django-htmx's static files, our app.js and the flow pages' scripts, and
# no inline script anywhere (htmx is told not to eval, see base.html).
# style-src-attr 'unsafe-inline' is deliberate: board colours are set as a CSS
# custom property in style="--board: …" attributes (home, board and done
# pages), filtered through the safe_colour tag. An inline style *attribute*
# cannot run script; <style> elements and stylesheets from elsewhere stay
# blocked. img-src allows data: for the empty favicon.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- The REST API (api/) --------------------------------------------------------
# Tokens first: an anonymous call is then answered 401 with a Bearer challenge.
# The session keeps working for the browser's own calls, CSRF-checked. JSON in
# and out only: DRF's browsable API draws pages with inline script, which the
# policy above forbids. Every error is an RFC 9457 problem (api/problems.py).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.auth.TokenScope"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "api.problems.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Switchback API",
    "DESCRIPTION": "Boards, tickets, moves and notes, under the same permissions as the browser.",
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_PERMISSIONS": ["api.auth.TokenScope"],
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}
