"""A customer-visible note is mailed to its ticket's requester.

Connected to ``post_save`` of ``boards.Note``, so every way a technician adds
a note (the drawer, the REST API, admin) mails it without the boards app
knowing about mail. The outbox row is written in the note's own transaction;
the task that sends it runs after the commit.
"""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from boards.models import Note


@receiver(post_save, sender=Note, dispatch_uid="requesters.mail_customer_note")
def mail_customer_note(sender, instance: Note, created: bool, raw: bool = False, **kwargs) -> None:
    if raw or not created or instance.internal:
        return
    from .services import queue_note_mail

    queue_note_mail(instance)
