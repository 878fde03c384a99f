"""The map: boards as nodes, criteria as arrows, with the period's traffic on them.

STUB: being written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .period import FlowQuery


@dataclass
class FlowMap:
    svg: str = ""


def build(query: FlowQuery, now: datetime) -> FlowMap:
    return FlowMap()


def render_svg(flow_map: FlowMap, *, standalone: bool = False) -> str:
    return flow_map.svg


def arrow_moves(kind: str, pk: int, query: FlowQuery):
    return None
