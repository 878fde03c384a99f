"""Settings come from the environment and fail at start, naming the variable, when a value is bad."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SETUP = "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'helpdesk.settings'; django.setup()"
# Variables the cases below set; anything else is inherited (e.g. the test's SWITCHBACK_CELERY_DIR).
CONTROLLED = ("DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE")


def _start(tmp_path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    environ.update({"SECRET_KEY": "settings-test-key", "SWITCHBACK_VAR_DIR": str(tmp_path)})
    environ.update(env)
    environ = {k: v for k, v in environ.items() if v is not None}
    return subprocess.run(
        [sys.executable, "-c", SETUP], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )


def test_defaults_start(tmp_path):
    result = _start(tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("mysql//nope", "is not a database URL Switchback understands"),
        ("mysql://user@db.example/helpdesk", "is not a database URL Switchback understands"),
        ("postgres://127.0.0.1:5432/", "names no database"),
        ("postgres://127.0.0.1:notaport/helpdesk", "could not be parsed"),
    ],
)
def test_malformed_database_url_is_refused(tmp_path, value, says):
    result = _start(tmp_path, DATABASE_URL=value)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DATABASE_URL" in result.stderr and says in result.stderr, result.stderr


def test_a_postgres_url_is_accepted(tmp_path):
    result = _start(tmp_path, DATABASE_URL="postgres://user:pw@db.example:5432/helpdesk")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("value", ["maybe", "2", "yes please"])
def test_bad_debug_value_is_refused(tmp_path, value):
    result = _start(tmp_path, DEBUG=value)
    assert result.returncode != 0
    assert "DEBUG" in result.stderr and "is not a boolean" in result.stderr, result.stderr


def test_missing_secret_key_is_refused_with_debug_off(tmp_path):
    result = _start(tmp_path, SECRET_KEY=None, DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr, result.stderr


def test_missing_secret_key_is_fine_for_local_debugging(tmp_path):
    result = _start(tmp_path, SECRET_KEY=None, DEBUG="true")
    assert result.returncode == 0, result.stderr


def test_bad_redis_url_is_refused(tmp_path):
    result = _start(tmp_path, REDIS_URL="http://127.0.0.1:6379/0")
    assert result.returncode != 0
    assert "REDIS_URL" in result.stderr, result.stderr


def test_bad_whole_number_is_refused(tmp_path):
    result = _start(tmp_path, BOARD_POLL_INTERVAL_MS="soon")
    assert result.returncode != 0
    assert "BOARD_POLL_INTERVAL_MS" in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("url", "kept"),
    [("postgres://user:pw@db.example:5432/helpdesk", "60 True"), ("sqlite:///desk.sqlite3", "0 False")],
)
def test_postgresql_connections_are_kept_and_checked_before_reuse(tmp_path, url, kept):
    """A web worker reuses its connection for a minute; after a database restart the check reconnects, not a 500."""
    show = (
        "from django.db import connection as c; s = c.settings_dict; print(s['CONN_MAX_AGE'], s['CONN_HEALTH_CHECKS'])"
    )
    environ = {k: v for k, v in os.environ.items() if k not in (*CONTROLLED, "DATABASE_CONN_MAX_AGE")}
    environ.update({"SECRET_KEY": "settings-test-key", "SWITCHBACK_VAR_DIR": str(tmp_path), "DATABASE_URL": url})
    result = subprocess.run(
        [sys.executable, "-c", f"{SETUP}; {show}"], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split() == kept.split(), result.stderr
