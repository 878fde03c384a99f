"""Trigram indexes behind the admin's ticket search (PostgreSQL only).

The admin searches with ``UPPER(column) LIKE UPPER('%word%')`` (Django's
``icontains``). A GIN index of ``pg_trgm`` trigrams on exactly that expression
answers it without reading the table: 100,000 tickets searched in a few
milliseconds instead of four sequential scans. SQLite has no such index and
needs none at its sizes, so this migration does nothing there.

``pg_trgm`` is a trusted extension (PostgreSQL 13+): the database's owner may
create it without being a superuser.
"""

from django.db import migrations

COLUMNS = ["title", "description", "requester_name", "requester_email"]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS ticket_{column}_trgm ON boards_ticket "
            f"USING gin ((UPPER({column}::text)) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS ticket_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [("boards", "0008_seed_text_follows_live_limits")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
