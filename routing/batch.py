"""Set-based writes for the one door: many rows changed by one statement.

``routing.services`` decides *what* a move does to a ticket (destination,
clocks, deadline, version) on model instances, the same way for one ticket or
for a batch. This module only sends a batch of those instances to the database
at once: ``update_rows`` is one ``UPDATE … FROM (VALUES …)``, where saving each
ticket would be one statement (and about 2 ms of Django's per-save work) per
ticket.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, models


def update_rows(objs: Sequence[models.Model], fields: Sequence[str], *, using: str = "default") -> int:
    """Write ``fields`` of each of ``objs`` (one model, saved rows) with one UPDATE; return the rows written.

    Each value is prepared by its own field (``get_db_prep_save``), so the row
    holds what ``obj.save(update_fields=fields)`` would have written; ``pre_save``
    (``auto_now``) is the caller's business, as with ``QuerySet.update``.
    PostgreSQL gets a cast on every value, since a VALUES list has no column
    types of its own (a NULL would otherwise be text). SQLite (3.33 and later
    has UPDATE … FROM) caps the parameters of a statement, so a large batch
    there takes a few statements.
    """
    if not objs:
        return 0
    connection = connections[using]
    meta = objs[0]._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    names = [quote(f"v{i}") for i in range(len(columns))]
    if connection.vendor == "postgresql":
        row = "(" + ", ".join(f"%s::{field.cast_db_type(connection)}" for field in columns) + ")"
    else:
        row = "(" + ", ".join("%s" for _ in columns) + ")"
    pairs = zip(columns[1:], names[1:], strict=True)
    assignments = ", ".join(f"{quote(field.column)} = v.{name}" for field, name in pairs)
    per_statement = max(connection.ops.bulk_batch_size(columns, objs), 1)
    written = 0
    with connection.cursor() as cursor:
        for start in range(0, len(objs), per_statement):
            chunk = objs[start : start + per_statement]
            params = [
                field.get_db_prep_save(getattr(obj, field.attname), connection=connection)
                for obj in chunk
                for field in columns
            ]
            cursor.execute(
                f"WITH v ({', '.join(names)}) AS (VALUES {', '.join([row] * len(chunk))}) "
                f"UPDATE {table} SET {assignments} FROM v WHERE {table}.{quote(meta.pk.column)} = v.{names[0]}",
                params,
            )
            written += cursor.rowcount
    return written
