"""Who wrote a requester's note: their name and address on the mark, so the timelines can name them.

Notes written before this carry it only in their first line ("Pat <pat@x> wrote
by email:"); the backfill reads it from there. A line that does not parse
leaves the fields empty (the timeline then says "the requester").
"""

from email.utils import parseaddr

from django.db import migrations, models

SUFFIXES = (" wrote by email:", " wrote on the status page:")


def who_wrote(body: str) -> tuple[str, str]:
    first = body.split("\n\n", 1)[0]
    for suffix in SUFFIXES:
        if first.endswith(suffix):
            name, address = parseaddr(first.removesuffix(suffix))
            if "@" in address:
                return " ".join(name.split())[:200], address.lower()[:254]
    return "", ""


def backfill(apps, schema_editor):
    RequesterNote = apps.get_model("requesters", "RequesterNote")
    marks = list(RequesterNote.objects.select_related("note"))
    for mark in marks:
        mark.name, mark.email = who_wrote(mark.note.body)
    RequesterNote.objects.bulk_update(marks, ["name", "email"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("requesters", "0003_form_limit_per_network_address")]

    operations = [
        migrations.AddField(
            model_name="requesternote",
            name="email",
            field=models.EmailField(
                blank=True, help_text="The address they wrote from, in lower case.", max_length=254
            ),
        ),
        migrations.AddField(
            model_name="requesternote",
            name="name",
            field=models.CharField(blank=True, help_text="The name they gave, if any.", max_length=200),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
