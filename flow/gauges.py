"""The gauges: figures about the flow of tickets over a period, from the Move log.

STUB: to be written. Contract: ``compute(query, now)`` returns what
``templates/flow/_gauges.html`` renders; ``csv_rows(name, query, now)`` returns
(header, rows) for one gauge's CSV or raises KeyError; ``headline(now)`` the
few figures the manager's home shows.
"""

from __future__ import annotations

from datetime import datetime

from .period import FlowQuery


def compute(query: FlowQuery, now: datetime):
    return None


def csv_rows(name: str, query: FlowQuery, now: datetime) -> tuple[list[str], list[list]]:
    raise KeyError(name)


def headline(now: datetime) -> dict:
    return {}
