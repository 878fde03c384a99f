"""The manager's Flow page: the map of boards and criteria, its lint, the gauges and what-if.

Everything here reads Criteria, Moves and Tickets and writes nothing. Every
technician may look (the map explains why their tickets move); what-if is a
manager's planning tool and answers 403 to anyone else.
"""

from __future__ import annotations

import csv

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from boards.models import Board, is_manager

from . import gauges, graph, lint, whatif
from .period import CUSTOM, RANGES, FlowQuery


def _query(request: HttpRequest):
    now = timezone.now()
    return FlowQuery.from_query(request.GET, now), now


def _filter_context() -> dict:
    return {
        "range_choices": [*((key, label) for key, (label, _) in RANGES.items()), (CUSTOM, "Custom dates")],
        "all_boards": list(Board.objects.all()),
    }


@require_GET
def flow_page(request: HttpRequest) -> HttpResponse:
    query, now = _query(request)
    # One read transaction for the whole page, tuned for reporting (see read_only_fast).
    with gauges.read_only_fast():
        context = {
            "query": query,
            "flow_map": graph.build(query, now),
            "findings": lint.check_map(),
            "gauges": gauges.compute(query, now),
            "can_what_if": is_manager(request.user),
            "show_stale": True,
            **_filter_context(),
        }
    return render(request, "flow/page.html", context)


@require_GET
def map_svg(request: HttpRequest) -> HttpResponse:
    """The map alone, as a standalone SVG file for a process document."""
    query, now = _query(request)
    with gauges.read_only_fast():
        svg = graph.render_svg(graph.build(query, now), standalone=True)
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="switchback-flow-{now:%Y-%m-%d}.svg"'
    return response


@require_GET
def arrow_tickets(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """The tickets one arrow of the map carried in the period (a partial for htmx, a page otherwise)."""
    query, _ = _query(request)
    arrow = graph.arrow_moves(kind, pk, query)
    if arrow is None:
        raise Http404("No such arrow on the map.")
    template = "flow/arrow.html#arrow-tickets" if request.htmx else "flow/arrow.html"
    return render(request, template, {"query": query, "arrow": arrow})


@require_GET
def gauge_csv(request: HttpRequest, name: str) -> HttpResponse:
    query, now = _query(request)
    try:
        header, rows = gauges.csv_rows(name, query, now)
    except KeyError:
        raise Http404("No such gauge.") from None
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="switchback-{name}-{now:%Y-%m-%d}.csv"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


@require_GET
def what_if(request: HttpRequest) -> HttpResponse:
    if not is_manager(request.user):
        raise PermissionDenied("What-if is for managers.")
    query, now = _query(request)
    context = whatif.page_context(request.GET, query, now)
    return render(request, "flow/whatif.html", {"query": query, **_filter_context(), **context})
