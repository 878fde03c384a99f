"""A waiting column may wait on the requester: their reply brings its tickets back to work.

On SQLite, adding a NOT NULL column remakes boards_column (copy, drop,
rename), and the rename fails while boards_ticket's triggers from 0003 name
the table; they are dropped for the remake and created again after.
"""

from importlib import import_module

from django.db import migrations, models

column_on_board = import_module("boards.migrations.0003_ticket_column_on_board")


def _sqlite(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for sql in statements:
                schema_editor.execute(sql)

    return run


def mark_customer_waits(apps, schema_editor):
    """Existing desks: the seed's "Waiting on customer" columns wait on the requester."""
    Column = apps.get_model("boards", "Column")
    Column.objects.filter(category="waiting", name__iexact="Waiting on customer").update(resumes_on_reply=True)


class Migration(migrations.Migration):
    dependencies = [
        ("boards", "0011_card_indexes"),
    ]

    operations = [
        migrations.RunPython(
            _sqlite(column_on_board.SQLITE_BACKWARD), _sqlite(column_on_board.SQLITE_FORWARD), elidable=False
        ),
        migrations.AddField(
            model_name="column",
            name="resumes_on_reply",
            field=models.BooleanField(
                default=False,
                help_text="For a waiting column that waits on the requester (“Waiting on customer”, not “Waiting on vendor”): their reply moves the ticket to the board's first active column.",
                verbose_name="back to work on the requester's reply",
            ),
        ),
        migrations.RunPython(
            _sqlite(column_on_board.SQLITE_FORWARD), _sqlite(column_on_board.SQLITE_BACKWARD), elidable=False
        ),
        migrations.RunPython(mark_customer_waits, migrations.RunPython.noop),
    ]
