"""Shared fixtures: a seeded desk, people of each tier, a ticket factory.

Tests that need a real PostgreSQL or Redis carry the ``postgres`` / ``redis``
markers and are skipped, with the reason, when DATABASE_URL / REDIS_URL do not
point at one. CI always sets both.
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from tests.factories import make_ticket, make_user

USING_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
USING_REDIS = bool(settings.REDIS_URL)
# CI sets this: a missing server is then a failure, never a skip.
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "").lower() in ("1", "true", "yes")


def pytest_configure(config):
    if REQUIRE_SERVICES and not (USING_POSTGRES and USING_REDIS):
        raise pytest.UsageError("REQUIRE_SERVICES is set but DATABASE_URL/REDIS_URL are not PostgreSQL/Redis.")
    # PBKDF2 costs ~0.3 s per account and the tests make many; what is hashed
    # how is Django's business, not ours.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://… (CI does)")
    skip_redis = pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://… (CI does)")
    for item in items:
        if "postgres" in item.keywords and not USING_POSTGRES:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not USING_REDIS:
            item.add_marker(skip_redis)


@pytest.fixture(autouse=True)
def _celery_eager(request):
    """Run tasks in-process unless a test drives a real worker (``real_celery``).

    Also restores Celery's process-wide "inside a task" flag: an eager task
    sets it while it runs, and two threads running eager tasks at once (the
    concurrency tests) can leave it set, after which ``result.get()`` in a
    later test refuses to wait for a real worker.
    """
    from celery import _state

    from helpdesk.celery import app

    eager = "real_celery" not in request.fixturenames
    previous = app.conf.task_always_eager
    join_will_block = _state.task_join_will_block()
    app.conf.task_always_eager = eager
    yield
    app.conf.task_always_eager = previous
    _state._set_task_join_will_block(join_will_block)


@pytest.fixture
def real_celery():
    """Marker fixture: this test sends tasks to a real broker and worker."""
    return os.environ.get("REDIS_URL", "")


@pytest.fixture
def desk(db):
    """The seed's three boards with their columns, skills and criteria."""
    from boards.seed import seed_structure

    boards, criteria = seed_structure()
    return type("Desk", (), {"boards": boards, "criteria": criteria, **boards})


@pytest.fixture
def tier1(desk):
    return make_user("tess", tier=1, boards=[desk.boards["triage"]], first_name="Tess", last_name="Tier-One")


@pytest.fixture
def tier2(desk):
    return make_user(
        "sam", tier=2, boards=[desk.boards["support"], desk.boards["noc"]], first_name="Sam", last_name="Support"
    )


@pytest.fixture
def manager(desk):
    return make_user("morgan", manager=True, first_name="Morgan", last_name="Manager")


@pytest.fixture
def ticket_factory(desk):
    def factory(**kwargs):
        kwargs.setdefault("board", desk.boards["triage"])
        return make_ticket(**kwargs)

    return factory
