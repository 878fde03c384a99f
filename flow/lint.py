"""Is the map sound? Checks over the live boards, columns, criteria and technicians.

STUB: to be written. Contract: ``check_map()`` returns a list of Finding, the
most serious first; the Flow page lists them and admin shows them on save.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    rule: str  # a stable id, e.g. "dead-end"
    severity: str  # "problem" or "warning"
    title: str  # one line, plain words
    explanation: str  # why it matters, in the framework's terms
    fix_url: str = ""  # where to fix it (usually an admin change page)
    fix_label: str = ""


def check_map() -> list[Finding]:
    return []
