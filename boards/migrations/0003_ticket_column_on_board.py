"""A ticket's column always belongs to its board — enforced by the database.

PostgreSQL: a composite foreign key (column_id, board_id) → boards_column(id,
board_id), served by the column_id_board_unique constraint. SQLite cannot add
a constraint to an existing table, so triggers refuse the same writes there.
"""

from django.db import migrations

PG_FORWARD = """
ALTER TABLE boards_ticket
  ADD CONSTRAINT ticket_column_on_board
  FOREIGN KEY (column_id, board_id) REFERENCES boards_column (id, board_id)
  DEFERRABLE INITIALLY DEFERRED;
"""
PG_BACKWARD = "ALTER TABLE boards_ticket DROP CONSTRAINT ticket_column_on_board;"

SQLITE_FORWARD = [
    """
    CREATE TRIGGER ticket_column_on_board_insert BEFORE INSERT ON boards_ticket
    WHEN (SELECT board_id FROM boards_column WHERE id = NEW.column_id) IS NOT NEW.board_id
    BEGIN SELECT RAISE(ABORT, 'ticket_column_on_board: the column is not on the ticket''s board'); END;
    """,
    """
    CREATE TRIGGER ticket_column_on_board_update BEFORE UPDATE OF board_id, column_id ON boards_ticket
    WHEN (SELECT board_id FROM boards_column WHERE id = NEW.column_id) IS NOT NEW.board_id
    BEGIN SELECT RAISE(ABORT, 'ticket_column_on_board: the column is not on the ticket''s board'); END;
    """,
]
SQLITE_BACKWARD = [
    "DROP TRIGGER ticket_column_on_board_insert;",
    "DROP TRIGGER ticket_column_on_board_update;",
]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = [PG_FORWARD] if vendor == "postgresql" else SQLITE_FORWARD if vendor == "sqlite" else []
    for sql in statements:
        schema_editor.execute(sql)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = [PG_BACKWARD] if vendor == "postgresql" else SQLITE_BACKWARD if vendor == "sqlite" else []
    for sql in statements:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("boards", "0002_initial")]

    operations = [migrations.RunPython(forward, backward)]
