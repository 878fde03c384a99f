"""Celery tasks of the boards app."""

from __future__ import annotations

import logging

from celery import shared_task

log = logging.getLogger(__name__)

# Tickets per commit when the worker writes the demo history beside a running desk.
HISTORY_CHUNK = 25


@shared_task(name="boards.tasks.load_demo_history", ignore_result=True)
def load_demo_history(days: int) -> int:
    """Write the demo's older history, for `make run`'s first start.

    Writing a few thousand tickets through the move service takes minutes on
    a laptop; `make run` queues this instead of making people wait, and the
    Flow page fills in while they look around. It commits every
    HISTORY_CHUNK tickets, so the desk's own writes never wait long for
    SQLite, and writes nothing when the history is there already.
    """
    from .demo import load_demo

    def progress(done: int, total: int) -> None:
        log.info("demo history: %d of %d tickets written", done, total)

    result = load_demo(history_days=days, progress=progress, history_chunk=HISTORY_CHUNK)
    if result.history_problem:
        log.warning("demo history left out: %s", result.history_problem)
    return result.history_created
