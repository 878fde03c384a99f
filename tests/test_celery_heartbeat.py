"""A task sent from this process is run by a Celery worker in another process.

Runs on whichever broker the settings chose: Redis when REDIS_URL is set (CI),
else the embedded file-system broker in the run's SWITCHBACK_CELERY_DIR
(tests/environment.py) — so the suite proves both, one per configuration.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from helpdesk.celery import app, heartbeat

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def worker(tmp_path):
    """A real `celery worker` in a child process with this test's environment."""
    log = tmp_path / "worker.log"
    env = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "false"}
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "helpdesk",
                "worker",
                "--pool=solo",
                "--loglevel=info",
                f"--hostname=heartbeat-{uuid.uuid4().hex[:8]}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    yield process, log
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def test_a_worker_in_another_process_answers_the_heartbeat(real_celery, worker):
    process, log = worker
    assert not app.conf.task_always_eager
    token = uuid.uuid4().hex
    result = heartbeat.delay(token)
    try:
        # disable_sync_subtasks=False: an earlier test in this process may have
        # run an in-process worker, which marks the process as "inside a task".
        answer = result.get(timeout=60, disable_sync_subtasks=False)
    except Exception:
        pytest.fail(f"no answer from the worker on {settings.CELERY_BROKER_URL}:\n{log.read_text()[-3000:]}")
    assert answer == f"pong {token}"
    assert process.poll() is None, "the worker died"
    # The worker logs the success just after storing the result.
    deadline = time.monotonic() + 10
    while f"helpdesk.heartbeat[{result.id}] succeeded" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.1)


def test_the_broker_is_the_one_the_environment_chose():
    if os.environ.get("REDIS_URL"):
        assert settings.CELERY_BROKER_URL.startswith("redis://")
    else:
        assert settings.CELERY_BROKER_URL == "filesystem://"
        assert Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]).is_relative_to(
            Path(os.environ["SWITCHBACK_CELERY_DIR"])
        )
