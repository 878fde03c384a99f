"""What-if: replay the period's recorded history under a changed time criterion.

STUB: to be written. Contract: ``page_context(data, query, now)`` parses the
what-if form from ``data`` and returns the context ``templates/flow/whatif.html``
renders (the form, and the result when the form is valid). Writes nothing.
"""

from __future__ import annotations

from datetime import datetime

from django.http import QueryDict

from .period import FlowQuery


def page_context(data: QueryDict, query: FlowQuery, now: datetime) -> dict:
    return {}
