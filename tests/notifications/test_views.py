"""The bell and its list: counts, opening marks read, each person sees only their own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from notifications.models import Notification
from notifications.warnings import send_due_warnings
from routing import services
from tests.factories import make_user

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
MOMENT = NOW + timedelta(minutes=20)  # 10 minutes before a 30-minute limit


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(MOMENT, tick=False) as clock:
        yield clock


@pytest.fixture
def warned(desk, tier1, ticket_factory):
    """Two tickets near Tier 1's limit, unassigned on Triage: Tess is told about both."""
    limit = desk.criteria["Tier 1 time limit"]
    limit.warn_before_minutes = 10
    limit.save()
    tickets = [ticket_factory(column="New", now=NOW, title=title) for title in ("Printer on fire", "VPN <down>")]
    assert send_due_warnings(MOMENT) == 2
    return tickets


@pytest.fixture
def tess(tier1):
    client = Client()
    client.force_login(tier1)
    return client


def test_every_page_shows_the_bell_with_the_unread_count(tess, warned):
    page = tess.get(reverse("home")).content.decode()

    assert 'id="bell"' in page
    assert '<span id="bell-count" class="bell-count"' in page
    assert '2<span class="visually-hidden"> unread</span>' in page


def test_the_list_shows_the_warnings_escaped_newest_first(tess, warned):
    response = tess.get(reverse("notifications:list"), headers={"HX-Request": "true"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page  # the panel alone for the bell
    assert "VPN &lt;down&gt;" in page and "VPN <down>" not in page
    assert "Tier 1 time limit fires at" in page
    assert 'hx-trigger="load"' in page  # it marks itself read as it loads


def test_opening_the_list_marks_what_it_showed_as_read(tess, tier1, warned):
    panel = tess.get(reverse("notifications:list"), headers={"HX-Request": "true"}).content.decode()
    up_to = max(Notification.objects.filter(user=tier1).values_list("pk", flat=True))
    assert f'name="up_to" value="{up_to}"' in panel

    response = tess.post(reverse("notifications:read"), {"up_to": up_to}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert 'hx-swap-oob="true"' in response.content.decode()
    assert "none unread" in response.content.decode()
    assert not Notification.objects.filter(user=tier1).unread().exists()
    assert "bell-count none" in tess.get(reverse("home")).content.decode()


def test_a_warning_that_arrived_after_the_list_was_drawn_stays_unread(tess, tier1, warned, ticket_factory, frozen):
    up_to = max(Notification.objects.filter(user=tier1).values_list("pk", flat=True))
    later = ticket_factory(column="New", now=NOW + timedelta(minutes=1))
    frozen.shift(timedelta(minutes=1))
    assert send_due_warnings() == 1

    tess.post(reverse("notifications:read"), {"up_to": up_to})

    assert list(Notification.objects.filter(user=tier1).unread().values_list("warning__ticket", flat=True)) == [
        later.pk
    ]


def test_without_javascript_mark_all_read_redirects_back_to_the_list(tess, tier1, warned):
    up_to = max(Notification.objects.filter(user=tier1).values_list("pk", flat=True))

    response = tess.post(reverse("notifications:read"), {"up_to": up_to})

    assert response.status_code == 302 and response.url == reverse("notifications:list")
    page = tess.get(response.url).content.decode()
    assert "<h1>Notifications</h1>" in page and "Marked as read." in page


def test_a_bad_up_to_is_a_400_and_marks_nothing(tess, tier1, warned):
    for bad in ("all", "", "99999999999999999999999", "1e3"):
        assert tess.post(reverse("notifications:read"), {"up_to": bad}).status_code == 400, bad
    assert Notification.objects.filter(user=tier1).unread().count() == 2


def test_the_list_and_the_count_answer_only_get(tess, warned):
    assert tess.post(reverse("notifications:list")).status_code == 405
    assert tess.post(reverse("notifications:count")).status_code == 405
    assert tess.get(reverse("notifications:read")).status_code == 405


def test_mark_read_needs_the_csrf_token(tier1, warned):
    client = Client(enforce_csrf_checks=True)
    client.force_login(tier1)
    up_to = max(Notification.objects.filter(user=tier1).values_list("pk", flat=True))

    assert client.post(reverse("notifications:read"), {"up_to": up_to}).status_code == 403
    one = Notification.objects.filter(user=tier1).first()
    assert client.post(reverse("notifications:read_one", args=[one.pk])).status_code == 403
    assert Notification.objects.filter(user=tier1).unread().count() == 2


def test_a_technician_sees_and_marks_only_their_own(desk, warned, tier1, tier2):
    """Sam works Support and NOC: none of Triage's warnings are his, nor are they in his list or count."""
    sam = Client()
    sam.force_login(tier2)
    tess_first = Notification.objects.filter(user=tier1).first()

    assert "Printer on fire" not in sam.get(reverse("notifications:list")).content.decode()
    assert "bell-count none" in sam.get(reverse("notifications:count")).content.decode()
    assert sam.post(reverse("notifications:read_one", args=[tess_first.pk])).status_code == 404
    sam.post(reverse("notifications:read"), {"up_to": tess_first.pk + 100})

    assert Notification.objects.filter(user=tier1).unread().count() == 2


def test_mark_one_read(tess, tier1, warned):
    one = Notification.objects.filter(user=tier1).first()

    response = tess.post(reverse("notifications:read_one", args=[one.pk]))

    assert response.status_code == 302
    one.refresh_from_db()
    assert one.read_at == MOMENT
    assert Notification.objects.filter(user=tier1).unread().count() == 1


def test_a_moved_ticket_says_its_warning_no_longer_applies(tess, tier1, desk, warned):
    services.move_ticket(warned[0], actor=tier1, expected_version=None, criterion=desk.criteria["Needs onsite visit"])

    page = tess.get(reverse("notifications:list")).content.decode()

    assert "No longer applies: the ticket moved to Support." in page
    # Tess no longer works the ticket's board: its title stays, the link goes.
    assert f'href="/tickets/{warned[0].pk}/"' not in page
    assert f'href="{warned[1].get_absolute_url()}"' in page


def test_the_list_costs_the_same_queries_for_two_or_twenty(
    tess, tier1, desk, ticket_factory, warned, django_assert_max_num_queries, frozen
):
    with django_assert_max_num_queries(12) as few:
        tess.get(reverse("notifications:list"), headers={"HX-Request": "true"})
    for _ in range(10):
        ticket_factory(column="New", now=NOW, assignee=tier1)
    send_due_warnings()
    with django_assert_max_num_queries(len(few.captured_queries)):
        tess.get(reverse("notifications:list"), headers={"HX-Request": "true"})


def test_others_cannot_be_told_apart_from_missing(tess):
    assert tess.post(reverse("notifications:read_one", args=[999999])).status_code == 404


def test_an_assignees_warning_goes_to_them_alone(desk, tier1, ticket_factory):
    otto = make_user("otto", tier=1, boards=[desk.triage])
    limit = desk.criteria["Tier 1 time limit"]
    limit.warn_before_minutes = 10
    limit.save()
    ticket_factory(column="New", now=NOW, assignee=otto)
    send_due_warnings()

    assert list(Notification.objects.values_list("user__username", flat=True)) == ["otto"]
