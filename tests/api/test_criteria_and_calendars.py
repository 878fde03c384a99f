"""The API tells a client each criterion's limit per priority and each board's working hours."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from calendars.models import Holiday
from calendars.seed import seed_calendars
from routing.models import Criterion
from tests.factories import make_noc_p1_p2_limit

SATURDAY = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)  # Europe/London is on GMT in early March
TUESDAY = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def test_criteria_give_the_limit_for_each_priority(desk, tier1, tess_api):
    Criterion.objects.filter(name="Tier 1 time limit").update(p1_limit_minutes=10)
    make_noc_p1_p2_limit(desk)

    criteria = {c["name"]: c for c in tess_api.get(reverse("api:criteria")).json()}

    tier1_limit = criteria["Tier 1 time limit"]
    assert tier1_limit["time_limit_minutes"] == 30
    assert [tier1_limit[f"p{p}_limit_minutes"] for p in range(1, 5)] == [10, None, None, None]
    assert tier1_limit["limits"] == {"p1": 10, "p2": 30, "p3": 30, "p4": 30}
    assert tier1_limit["limit_text"] == "30 min; P1 10 min"
    noc = criteria["NOC P1 and P2"]
    assert noc["time_limit_minutes"] is None
    assert noc["limits"] == {"p1": 10, "p2": 20, "p3": None, "p4": None}
    assert noc["limit_text"] == "P1 10 min, P2 20 min only"
    onsite = criteria["Needs onsite visit"]
    assert onsite["limits"] == {"p1": None, "p2": None, "p3": None, "p4": None} and onsite["limit_text"] == ""


def test_boards_carry_their_working_hours_and_whether_clocks_run(desk, tier1, tess_api, time_machine):
    calendars = seed_calendars({"triage": desk.triage, "noc": desk.noc})
    Holiday.objects.create(calendar=calendars["triage"], date=datetime(2026, 12, 24).date(), name="Christmas Eve")
    time_machine.move_to(SATURDAY, tick=False)

    boards = {b["slug"]: b for b in tess_api.get(reverse("api:boards")).json()}

    triage = boards["triage"]["calendar"]
    assert triage["time_zone"] == "Europe/London" and triage["always_open"] is False
    assert triage["hours"] == [{"weekday": day, "start": "08:00", "end": "18:00"} for day in range(5)]
    assert (triage["country"], triage["region"]) == ("GB", "ENG")
    assert triage["added_holidays"] == [{"date": "2026-12-24", "name": "Christmas Eve"}]
    assert triage["description"].startswith("Mon–Fri 08:00–18:00 Europe/London")
    # A Saturday: Triage's clocks stand still until Monday 08:00.
    assert triage["working_now"] is False
    assert triage["resumes_at"] == "2026-03-09T08:00:00Z"
    noc = boards["noc"]["calendar"]
    assert noc["always_open"] is True and noc["hours"] == [] and noc["working_now"] is True
    assert noc["resumes_at"] is None
    assert boards["support"]["calendar"] is None  # no calendar: every minute counts


def test_clocks_run_on_a_weekday_morning(desk, tier1, tess_api, time_machine):
    seed_calendars({"triage": desk.triage})
    time_machine.move_to(TUESDAY, tick=False)

    boards = {b["slug"]: b for b in tess_api.get(reverse("api:boards")).json()}

    assert boards["triage"]["calendar"]["working_now"] is True
    assert boards["triage"]["calendar"]["resumes_at"] is None


def test_calendars_cost_the_same_queries_for_one_board_or_all(desk, tier1, tess_api):
    seed_calendars({"triage": desk.triage})
    tess_api.get(reverse("api:boards"))  # the token's first use is recorded once
    with CaptureQueriesContext(connection) as one:
        assert tess_api.get(reverse("api:boards")).status_code == 200
    seed_calendars({"noc": desk.noc, "support": desk.support})
    with CaptureQueriesContext(connection) as three:
        assert tess_api.get(reverse("api:boards")).status_code == 200

    assert len(three) == len(one)


def test_the_docs_and_the_schema_describe_limits_and_calendars(client, tier1, tess_api):
    client.force_login(tier1)
    page = client.get(reverse("api:docs")).text
    assert 'id="time-limits"' in page
    for field in ("<code>limits</code>", "<code>limit_text</code>", "<code>p1_limit_minutes</code>"):
        assert field in page
    assert "<code>calendar</code>" in page

    schema = tess_api.get(reverse("api:schema"), {"format": "json"}).json()
    components = schema["components"]["schemas"]
    assert set(components["PriorityLimits"]["properties"]) == {"p1", "p2", "p3", "p4"}
    assert {"time_zone", "hours", "working_now", "resumes_at"} <= set(components["Calendar"]["properties"])
    assert "calendar" in components["Board"]["properties"]
