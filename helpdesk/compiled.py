"""A hot ``values()`` queryset, compiled to SQL once per shape and run again with new values.

Django builds and compiles a queryset afresh on every evaluation. For most
pages that is noise; for the board's "what changed since" read, which every
move and every poll runs, building and compiling a query of six joins and
three subqueries cost more than PostgreSQL took to answer it (bench/load.py:
about 2 ms of a move's 17).

``CompiledValues(build)`` keeps the one definition, the queryset
``build(key, **values)`` returns, and compiles it once per *shape* (the
caller's ``key``, plus the length of any list value): ``build`` is called with
sentinel values, each param of
the compiled SQL that is a sentinel is remembered as "the value named so",
and later calls put the real values in those places. A value that does not
reach the params (Django writes some inline, like a slice's LIMIT) is refused
when the shape is compiled, so a wrong template cannot run.

PostgreSQL only: there, psycopg takes Python ints and datetimes as they are,
so a sentinel and the value it stands for are passed the same way. Elsewhere
(SQLite turns datetimes into strings first) ``rows`` simply evaluates the
queryset. ``tests/boards/test_compiled.py`` checks that both ways give the
same rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet

# Values no caller passes: negative primary keys and moments in 1901, each distinct.
_SENTINEL_INT = -7_000_000_000
_SENTINEL_TIME = datetime(1901, 1, 1, tzinfo=UTC)


class _Template:
    def __init__(self, compiler, sql: str, places: list[tuple[str, int | None] | None], constants: list) -> None:
        self.compiler, self.sql, self.places, self.constants = compiler, sql, places, constants
        query = compiler.query
        self.names = [*query.extra_select, *query.values_select, *query.annotation_select]

    def params(self, values: dict[str, Any]) -> list:
        out = []
        for place, constant in zip(self.places, self.constants, strict=True):
            if place is None:
                out.append(constant)
            else:
                name, index = place
                out.append(values[name] if index is None else values[name][index])
        return out


class CompiledValues:
    """``build(key, **values)`` → a ``values()`` queryset; ``rows(key, **values)`` → its rows as dicts.

    ``key`` is everything besides ``values`` that changes the SQL (which
    filters, which annotations), hashable; ``values`` are ints, aware
    datetimes or lists of ints, and nothing else varies between two calls
    with the same key.
    """

    def __init__(self, build: Callable[..., QuerySet]) -> None:
        # Shapes are few (a board's flags), so templates are kept for the process's life.
        self.build = build
        self._templates: dict[tuple, _Template] = {}
        self._lock = threading.Lock()

    def rows(self, key: Hashable, /, **values: Any) -> list[dict]:
        using = DEFAULT_DB_ALIAS
        connection = connections[using]
        if connection.vendor != "postgresql":
            return list(self.build(key, **values))
        shape = (using, key, tuple((name, len(v)) for name, v in sorted(values.items()) if isinstance(v, list)))
        template = self._templates.get(shape)
        if template is None:
            template = self._compile(using, key, values)
            with self._lock:
                self._templates[shape] = template
        with connection.cursor() as cursor:
            cursor.execute(template.sql, template.params(values))
            fetched = cursor.fetchall()
        names = template.names
        return [dict(zip(names, row, strict=True)) for row in template.compiler.results_iter(results=[fetched])]

    def _compile(self, using: str, key: Hashable, values: dict[str, Any]) -> _Template:
        sentinels: dict[str, Any] = {}
        where: dict[Any, tuple[str, int | None]] = {}
        count = 0

        def sentinel(name: str, index: int | None, value: Any) -> Any:
            nonlocal count
            count += 1
            if isinstance(value, bool) or not isinstance(value, int | datetime):
                raise TypeError(f"{name}: CompiledValues takes ints, datetimes or lists of ints, not {value!r}")
            made = _SENTINEL_INT - count if isinstance(value, int) else _SENTINEL_TIME + timedelta(microseconds=count)
            where[made] = (name, index)
            return made

        for name, value in values.items():
            if isinstance(value, list):
                sentinels[name] = [sentinel(name, i, item) for i, item in enumerate(value)]
            else:
                sentinels[name] = sentinel(name, None, value)
        queryset = self.build(key, **sentinels)
        compiler = queryset.query.get_compiler(using)
        sql, params = compiler.as_sql()
        places = [where.get(p) if isinstance(p, int | datetime) and not isinstance(p, bool) else None for p in params]
        missing = set(where.values()) - set(filter(None, places))
        if missing:
            raise ValueError(f"Values that do not reach the SQL's params: {sorted(map(str, missing))}")
        constants = [None if place is not None else param for place, param in zip(places, params, strict=True)]
        return _Template(compiler, sql, places, constants)
