"""Who works which board, as boards.permissions reads it: once per request, in one query."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from boards.permissions import can_work, worked_board_ids
from tests.factories import make_user


def _fresh(user):
    """The user as a request loads it: nothing read about them yet."""
    return get_user_model().objects.get(pk=user.pk)


def test_a_technicians_boards_and_whether_they_manage_are_one_query(desk, django_assert_num_queries):
    tess = make_user("tess2", tier=1, boards=[desk.triage, desk.noc])
    user = _fresh(tess)
    with django_assert_num_queries(1):
        assert worked_board_ids(user) == {desk.triage.pk, desk.noc.pk}
        assert can_work(user, desk.triage.pk) and not can_work(user, desk.support.pk)


def test_a_manager_works_every_board_and_a_user_with_no_profile_none(desk, manager, django_assert_num_queries):
    user = _fresh(manager)
    with django_assert_num_queries(1):
        assert worked_board_ids(user) is None
        assert can_work(user, desk.support.pk)
    nobody = _fresh(get_user_model().objects.create_user("nobody", password="x-long-password-1"))
    assert worked_board_ids(nobody) == frozenset()
    assert not can_work(nobody, desk.triage.pk)
