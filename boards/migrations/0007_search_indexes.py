"""Full-text search indexes for the top bar's search (boards/search.py), PostgreSQL only.

Expression indexes: the search's WHERE clauses repeat these expressions
exactly (boards.search.TICKET_VECTOR and NOTE_VECTOR), which is how
PostgreSQL knows to use them. SQLite searches with LIKE and needs none.
"""

from django.db import migrations

TICKET_VECTOR = (
    "to_tsvector('simple'::regconfig, coalesce(title, '') || ' ' || coalesce(requester_name, '')"
    " || ' ' || coalesce(requester_email, ''))"
)
NOTE_VECTOR = "to_tsvector('simple'::regconfig, body)"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS ticket_search_idx ON boards_ticket USING gin ({TICKET_VECTOR})")
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS note_search_idx ON boards_note USING gin ({NOTE_VECTOR})")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS ticket_search_idx")
    schema_editor.execute("DROP INDEX IF EXISTS note_search_idx")


class Migration(migrations.Migration):
    dependencies = [("boards", "0006_watch_and_resolution_note")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
