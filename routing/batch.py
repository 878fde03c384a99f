"""Set-based writes for the one door: many rows changed by one statement.

``routing.services`` decides *what* a move does to a ticket (destination,
clocks, deadline, version) on model instances, the same way for one ticket or
for a batch. This module only sends a batch of those instances to the database
at once: ``update_rows`` is one UPDATE for the batch, where saving each ticket
would be one statement (and about 2 ms of Django's per-save work) per ticket.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, models


def update_rows(objs: Sequence[models.Model], fields: Sequence[str], *, using: str = "default") -> int:
    """Write ``fields`` of each of ``objs`` (one model, saved rows) with one UPDATE; return the rows written.

    Each value is prepared by its own field (``get_db_prep_save``), so the row
    holds what ``obj.save(update_fields=fields)`` would have written; ``pre_save``
    (``auto_now``) is the caller's business, as with ``QuerySet.update``.

    On PostgreSQL the values travel as one array per column,
    ``UPDATE … FROM unnest(%s::bigint[], …)``: a dozen parameters however
    large the batch, where a VALUES list would be thousands for the driver to
    splice into the statement. Elsewhere (SQLite 3.33 and later has UPDATE …
    FROM) it is ``WITH v AS (VALUES …) UPDATE … FROM v``, in as many
    statements as the database's cap on parameters requires.
    """
    if not objs:
        return 0
    connection = connections[using]
    meta = objs[0]._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    names = [quote(f"v{i}") for i in range(len(columns))]
    pairs = zip(columns[1:], names[1:], strict=True)
    assignments = ", ".join(f"{quote(field.column)} = v.{name}" for field, name in pairs)
    where = f"WHERE {table}.{quote(meta.pk.column)} = v.{names[0]}"

    def prep(obj: models.Model, field: models.Field):
        return field.get_db_prep_save(getattr(obj, field.attname), connection=connection)

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join(f"%s::{field.cast_db_type(connection)}[]" for field in columns)
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v ({', '.join(names)}) {where}",
                [[prep(obj, field) for obj in objs] for field in columns],
            )
            return cursor.rowcount
        row = "(" + ", ".join("%s" for _ in columns) + ")"
        per_statement = max(connection.ops.bulk_batch_size(columns, objs), 1)
        written = 0
        for start in range(0, len(objs), per_statement):
            chunk = objs[start : start + per_statement]
            cursor.execute(
                f"WITH v ({', '.join(names)}) AS (VALUES {', '.join([row] * len(chunk))}) "
                f"UPDATE {table} SET {assignments} FROM v {where}",
                [prep(obj, field) for obj in chunk for field in columns],
            )
            written += _rows_changed(cursor)
        return written


def _rows_changed(cursor) -> int:
    # Python's sqlite3 reports rowcount -1 for an UPDATE that starts with WITH;
    # SQLite's own changes() counts the rows the last statement wrote.
    if cursor.rowcount >= 0:
        return cursor.rowcount
    cursor.execute("SELECT changes()")
    return cursor.fetchone()[0]
