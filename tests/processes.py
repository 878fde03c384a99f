"""Child processes of the integration tests (a Celery worker, beat, Alertmanager, a step held then
killed): wait for them, stop them."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

PROJECT = Path(__file__).resolve().parent.parent

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


@contextmanager
def held_then_killed(script: str, *args: str, env: dict[str, str]) -> Iterator[list[str]]:
    """Run ``script`` (``python -c``) until it prints a line ``HOLDING …``; yield that line's other words; SIGKILL it.

    The script holds itself midway through a step (an open transaction, a
    message imported but not flagged) so the test can look at the world from
    outside, then dies as a crashed process does: no cleanup, no commit.
    """
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            line = pool.submit(process.stdout.readline).result(timeout=60)
        assert line.startswith("HOLDING"), process.stderr.read() if process.poll() is not None else line
        yield line.split()[1:]
    finally:
        process.kill()
        process.wait(timeout=30)
