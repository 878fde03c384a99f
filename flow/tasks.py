"""Celery tasks: keep the Flow page's precomputed facts up to date."""

from __future__ import annotations

import logging

from celery import shared_task

from . import facts

log = logging.getLogger(__name__)


@shared_task(name="flow.tasks.build_facts")
def build_facts() -> int:
    """Beat runs this every minute: bring flow.facts up to date with the Move log.

    Returns the number of tickets whose facts were rebuilt (-1: not now, another
    build or a writer was still running; the next run catches up). The page is
    exact either way; a lagging build only makes it slower.
    """
    built = facts.build()
    if built is None:
        return -1
    if built.tickets:
        log.info("flow facts: %d ticket(s), %d note(s) in %.1f s", built.tickets, built.notes, built.seconds)
    return built.tickets
