"""Small pieces of SQL the Flow page's raw queries share, spelt for PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from django.db import connection
from django.utils import timezone

from routing.models import Move


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _epoch(expr: str) -> str:
    """Seconds since 1970 of a datetime column, in this engine's SQL."""
    if _postgres():
        return f"date_part('epoch', {expr})"  # double precision (EXTRACT gives numeric: slower to sum)
    return f"((julianday({expr}) - 2440587.5) * 86400.0)"


def _duration_seconds(expr: str) -> str:
    """Seconds of a DurationField column (an interval on PostgreSQL, microseconds on SQLite)."""
    if _postgres():
        return f"date_part('epoch', {expr})"
    return f"({expr} / 1000000.0)"


def _param(value: datetime):
    """A datetime as a raw-SQL parameter (SQLite stores naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _fetch(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _routing_sql(alias: str) -> str:
    a = alias
    return (
        f"({a}.from_board_id < {a}.to_board_id OR {a}.from_board_id > {a}.to_board_id "
        f"OR {a}.from_tier < {a}.to_tier OR {a}.from_tier > {a}.to_tier)"
    )


def _board_change_sql(alias: str) -> str:
    return f"({alias}.from_board_id < {alias}.to_board_id OR {alias}.from_board_id > {alias}.to_board_id)"


def _moves_of(outer: str, alias: str, columns: str, condition: str) -> str:
    """A FROM-clause piece joining each row of ``outer`` (which has a ``ticket_id``) to that ticket's moves.

    On PostgreSQL a LATERAL subquery, kept from being flattened by OFFSET 0, so
    that each ticket's moves are read through its index (the partial indexes'
    ``ticket_id`` key) instead of a hash join over the whole log: the planner
    cannot estimate how few rows the partial condition keeps (a comparison
    between two columns) and would otherwise scan the lot. SQLite nests loops anyway.
    """
    m = _table(Move)
    if _postgres():
        return (
            f"CROSS JOIN LATERAL (SELECT {columns} FROM {m} {alias} "
            f"WHERE {alias}.ticket_id = {outer}.ticket_id AND {condition} OFFSET 0) {alias}"
        )
    return f"JOIN {m} {alias} ON {alias}.ticket_id = {outer}.ticket_id AND {condition}"


# What each per-ticket read takes from a move: only columns the index it uses holds (index-only scans).
BOARD_MOVE_COLUMNS = "b.ticket_id, b.from_board_id, b.to_board_id, b.direction, b.criterion_id, b.created_at"
PATH_COLUMNS = (
    "p.ticket_id, p.from_board_id, p.to_board_id, p.from_tier, p.to_tier, p.direction, p.criterion_id, p.created_at"
)
TIMELINE_COLUMNS = "m.ticket_id, m.from_board_id, m.to_board_id, m.from_column_id, m.to_column_id, m.created_at"


def _datetime_converter() -> Callable:
    """Raw SQL gives SQLite datetimes as text; make them aware datetimes like the ORM would."""
    if _postgres():
        return lambda value: value
    from django.utils.dateparse import parse_datetime

    def convert(value):
        if value is None:
            return value
        parsed = value if isinstance(value, datetime) else parse_datetime(value)
        return parsed.replace(tzinfo=UTC) if timezone.is_naive(parsed) else parsed

    return convert
