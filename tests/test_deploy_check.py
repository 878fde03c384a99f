"""`manage.py check --deploy` is clean under the production environment the README documents,
and the HTTPS settings it sets do what they say."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
# Everything that could leak in from the test run's own environment.
SCRUBBED = ("DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "ALLOWED_HOSTS")
# Set by the browser tests (pytest-playwright) for the live server; never in production.
SCRUBBED += ("DJANGO_ALLOW_ASYNC_UNSAFE",)


def readme_production_env() -> dict[str, str]:
    """The variables in the README's "# production environment" block, with a real secret key."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n# production environment\n(.*?)```", text, re.S)
    assert block, "README.md lost its production environment block"
    env = dict(line.split("=", 1) for line in block.group(1).splitlines() if line and not line.startswith("#"))
    assert env["SECRET_KEY"].startswith("<"), "the README must not carry a real key"
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    return env


def _manage(tmp_path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in SCRUBBED and not k.startswith("SECURE_")}
    environ.update(env, SWITCHBACK_VAR_DIR=str(tmp_path))
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120
    )


def test_deploy_check_is_clean_with_the_readmes_production_settings(tmp_path):
    result = _manage(tmp_path, readme_production_env(), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_the_readme_documents_every_variable_of_its_production_block():
    table = (ROOT / "README.md").read_text().split("## Running in production", 1)[1]
    for name in readme_production_env():
        assert f"`{name}`" in table, name


@pytest.mark.parametrize("missing", ["SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT", "SECURE_COOKIES"])
def test_without_one_of_them_the_deploy_check_warns(tmp_path, missing):
    env = readme_production_env()
    del env[missing]
    result = _manage(tmp_path, env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "security.W" in result.stdout + result.stderr


def test_proxy_header_must_be_a_header_name(tmp_path):
    env = {**readme_production_env(), "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto: https"}
    result = _manage(tmp_path, env, "check")
    assert result.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER" in result.stderr and "is not a header name" in result.stderr


def test_behind_the_proxy_https_is_required_and_hsts_sent(settings, db):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client = Client()  # a new client builds its middleware from these settings

    plain = client.get(reverse("login"))
    assert plain.status_code == 301 and plain["Location"] == "https://testserver/login/"
    secure = client.get(reverse("login"), headers={"X-Forwarded-Proto": "https"})
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
