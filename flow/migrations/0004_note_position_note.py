import django.db.models.deletion
from django.db import migrations, models


def forget_the_facts(apps, schema_editor):
    """NotePosition is recreated empty: start the facts over (the page reads the raw
    rows until the next build)."""
    for name in ("FactsState", "TicketFact", "BoardTime", "RoutingStep", "DailyCount"):
        apps.get_model("flow", name).objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("boards", "0008_seed_text_follows_live_limits"),
        ("flow", "0003_daily_counts"),
    ]

    operations = [
        migrations.RunPython(forget_the_facts, migrations.RunPython.noop),
        migrations.DeleteModel(name="NotePosition"),
        migrations.CreateModel(
            name="NotePosition",
            fields=[
                (
                    "note",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="boards.note",
                    ),
                ),
                ("created_at", models.DateTimeField()),
                ("board_id", models.IntegerField()),
                ("tier", models.PositiveSmallIntegerField()),
                (
                    "ticket",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="boards.ticket"
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["created_at"], name="flow_noteposition_time_idx")],
            },
        ),
    ]
