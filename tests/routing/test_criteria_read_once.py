"""A request reads the active criteria once: a move and the cards drawn in its answer share one read."""

from __future__ import annotations

from routing.models import Criterion
from routing.services import active_criteria, active_time_criteria, criteria_read_once


def test_within_a_request_the_criteria_are_read_once(desk, django_assert_num_queries):
    with criteria_read_once(), django_assert_num_queries(1):
        everything = active_criteria()
        timed = active_time_criteria()
        assert active_criteria() is everything
    assert {c.pk for c in timed} == {c.pk for c in everything if c.trigger == Criterion.Trigger.TIME}
    assert [(c.position, c.pk) for c in everything] == sorted((c.position, c.pk) for c in everything)


def test_outside_a_request_every_ask_reads_afresh(desk, django_assert_num_queries):
    """The scheduler and the workers have no request: a criterion switched off is seen at the next ask."""
    with django_assert_num_queries(2):
        active_criteria()
        active_criteria()


def test_a_criterion_saved_or_deleted_in_the_request_is_seen_at_the_next_ask(desk):
    with criteria_read_once():
        first = active_criteria()
        switched = first[0]
        switched.active = False
        switched.save()
        assert switched.pk not in {c.pk for c in active_criteria()}
        gone = active_criteria()[0]
        gone.delete()
        assert gone.pk not in {c.pk for c in active_criteria()}
