"""The Celery app, configured from Django settings (``CELERY_*``)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

# DjangoTask gives every task delay_on_commit(): side effects leave only after
# the transaction that caused them has committed.
app = Celery("helpdesk", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="helpdesk.heartbeat")
def heartbeat(token: str = "") -> str:
    """A harmless task: proves a worker in another process is listening."""
    return f"pong {token}".strip()
