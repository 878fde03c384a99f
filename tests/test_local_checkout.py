"""The checkout `make run` sets up: its manage.py commands work without exporting anything.

`make run` migrates with DEBUG=true on the embedded SQLite under var/. The
README then tells a newcomer to run `python manage.py sweep --dry-run`,
`createsuperuser` or `shell` in the same checkout, with nothing set.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTROLLED = ("DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "SWITCHBACK_CELERY_DIR")


def _manage(var_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    environ.update({"SWITCHBACK_VAR_DIR": str(var_dir), **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120
    )


def test_manage_commands_work_without_settings_after_make_run(tmp_path):
    # What `make run` does first.
    first = _manage(tmp_path, "migrate", "--noinput", DEBUG="true")
    assert first.returncode == 0, first.stderr
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0, "the key is readable by others"

    # What the README says to run next, in a new shell with nothing exported.
    sweep = _manage(tmp_path, "sweep", "--dry-run")
    assert sweep.returncode == 0, sweep.stderr
    shell = _manage(tmp_path, "shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)")
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.strip().splitlines()[-1] == key, "every command signs with the same key"


def test_a_site_with_its_own_database_still_needs_a_secret_key(tmp_path):
    (tmp_path / "secret_key").write_text("left-over-from-a-laptop")
    result = _manage(tmp_path, "check", DATABASE_URL=f"sqlite:///{tmp_path / 'site.sqlite3'}")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr, result.stderr


def test_favicon_is_served_to_anyone(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert b"".join(response.streaming_content if response.streaming else [response.content])[:4] == b"\0\0\1\0"
