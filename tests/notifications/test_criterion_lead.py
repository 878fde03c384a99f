"""A time criterion's warning lead: minutes before, or a share of the limit, checked in the form and the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from helpdesk.celery import app
from routing.models import Criterion


@pytest.fixture
def limit(desk):
    return desk.criteria["Tier 1 time limit"]  # 30 active minutes


@pytest.mark.parametrize(
    ("before", "percent", "lead"),
    [(10, None, timedelta(minutes=10)), (None, 80, timedelta(minutes=6)), (None, None, None)],
)
def test_the_lead_is_minutes_before_or_the_rest_of_the_limits_share(limit, before, percent, lead):
    limit.warn_before_minutes, limit.warn_at_percent = before, percent
    limit.full_clean()
    assert limit.warning_lead == lead


@pytest.mark.parametrize(
    ("before", "percent", "field", "message"),
    [
        (10, 80, "warn_at_percent", "Warn either some minutes before the deadline or at a share of the limit."),
        (30, None, "warn_before_minutes", "fewer than the time limit's"),
        (0, None, "warn_before_minutes", "at least 1"),
        (None, 100, "warn_at_percent", "a percentage from 1 to 99"),
    ],
)
def test_a_lead_that_makes_no_sense_is_refused_with_what_to_do(limit, before, percent, field, message):
    limit.warn_before_minutes, limit.warn_at_percent = before, percent
    with pytest.raises(ValidationError) as refused:
        limit.full_clean()
    assert message in " ".join(refused.value.message_dict[field])


def test_only_a_time_criterion_warns(desk):
    onsite = desk.criteria["Needs onsite visit"]
    onsite.warn_before_minutes = 5
    with pytest.raises(ValidationError) as refused:
        onsite.full_clean()
    assert refused.value.message_dict["warn_before_minutes"] == ["Only a time criterion warns before it fires."]


@pytest.mark.parametrize(
    "fields",
    [
        {"warn_before_minutes": 10, "warn_at_percent": 80},
        {"warn_before_minutes": 45},
        {"warn_at_percent": 0},
    ],
)
def test_the_database_holds_the_same_rules(limit, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        Criterion.objects.filter(pk=limit.pk).update(**fields)


def test_beat_runs_the_warning_sweep_on_the_sweeps_tick():
    entry = settings.CELERY_BEAT_SCHEDULE["send-due-warnings"]
    app.loader.import_default_modules()  # what a worker does at start: autodiscover every app's tasks
    assert entry["task"] in app.tasks
    assert entry["schedule"] == float(settings.SWEEP_INTERVAL_SECONDS)
    assert entry["options"]["expires"] < entry["schedule"]
