"""Child processes of the integration tests (a Celery worker, beat, Alertmanager): wait for them, stop them."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], what: str, logs: Iterable[Path] = (), timeout: float = 60) -> T:
    """Ask ``condition`` until it answers something true, and return that; fail after ``timeout`` seconds.

    Another process's work can only be polled for. The failure names what did
    not happen and shows the end of each log, which is where the reason is.
    """
    give_up = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > give_up:
            tails = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs)
            raise AssertionError(f"{what} did not happen within {timeout} s.\n{tails}")
        time.sleep(0.1)


def stop(*processes: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM to each, as a supervisor stops them, and wait; SIGKILL any still running after ``timeout`` seconds.

    All are signalled first, so they shut down side by side (beat and a worker
    each take a moment).
    """
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
