"""The seed's words that named a time limit, and the onsite criteria's landing column.

The Triage purpose and the Tier 1 time limit's description said "30 active
minutes" in prose, which went stale when a manager changed the limit; the
pages now show the live limit beside the text. Only text still exactly as
seeded is rewritten: a manager's own words are left alone. The two "Needs
onsite visit" criteria land in Support's "Scheduled / Onsite" column (where
they have no landing column yet).
"""

from django.db import migrations

OLD_PURPOSE = (
    "Front-line, rapid, user-facing work: first response, password resets, quick fixes. "
    "A Tier 1 technician has 30 active minutes before a ticket escalates."
)
NEW_PURPOSE = "Front-line, rapid, user-facing work: first response, password resets, quick fixes."
OLD_DESCRIPTION = (
    "A Tier 1 technician has 30 active minutes on a Triage ticket. Time waiting on the customer does not count."
)
NEW_DESCRIPTION = (
    "Triage's Tier 1 work has a limit of active minutes before it goes to Support. "
    "Time waiting on the customer does not count."
)
ONSITE = ("Needs onsite visit", "Needs onsite visit (from NOC)")


def forwards(apps, schema_editor):
    Board = apps.get_model("boards", "Board")
    Column = apps.get_model("boards", "Column")
    Criterion = apps.get_model("routing", "Criterion")
    Board.objects.filter(purpose=OLD_PURPOSE).update(purpose=NEW_PURPOSE)
    Criterion.objects.filter(description=OLD_DESCRIPTION).update(description=NEW_DESCRIPTION)
    for criterion in Criterion.objects.filter(name__in=ONSITE, to_column__isnull=True, to_board__isnull=False):
        column = Column.objects.filter(board_id=criterion.to_board_id, name="Scheduled / Onsite").first()
        if column is not None:
            criterion.to_column = column
            criterion.save(update_fields=["to_column"])


class Migration(migrations.Migration):
    dependencies = [
        ("boards", "0007_search_indexes"),
        ("routing", "0004_flow_opening_index"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
