"""The acknowledgement and note templates as rows, so a manager finds them in admin to edit."""

from django.db import migrations

TEMPLATES = {
    "ack": (
        "[{{ ticket.number }}] {{ ticket.title }}",
        "Hello {{ requester_name|default:'there' }},\n\n"
        "We have your request and opened ticket {{ ticket.number }}: {{ ticket.title }}.\n"
        "Reply to this email to add to it.\n\n"
        "Follow it, reply or mark it solved here:\n{{ status_url }}\n\n"
        "— The service desk",
    ),
    "note": (
        "Re: [{{ ticket.number }}] {{ ticket.title }}",
        "{{ note.body }}\n\n"
        "— {{ author }}, the service desk\n\n"
        "Reply to this email to answer, or see the whole ticket here:\n{{ status_url }}",
    ),
}


def add_templates(apps, schema_editor):
    MailTemplate = apps.get_model("requesters", "MailTemplate")
    for kind, (subject, body) in TEMPLATES.items():
        MailTemplate.objects.get_or_create(kind=kind, defaults={"subject": subject, "body": body})


class Migration(migrations.Migration):
    dependencies = [("requesters", "0001_mail_forms_status")]

    operations = [migrations.RunPython(add_templates, migrations.RunPython.noop)]
