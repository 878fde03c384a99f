"""Races on a real PostgreSQL: the same step run by two (or more) threads at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.db import connections

T = TypeVar("T")


def at_once(*calls: Callable[[], T], timeout: float = 120) -> list[T]:
    """Run each call in a thread of its own, all released together, and return their results in order.

    Each thread has its own database connection, so the row locks are
    PostgreSQL's, not a simulation; it closes it when done (the test database
    could not be emptied or dropped otherwise). An exception in a call is
    raised here, in the test.
    """
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        try:
            start.wait(timeout=10)
            return call()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=timeout) for future in futures]
