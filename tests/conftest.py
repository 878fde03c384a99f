"""Shared fixtures: a seeded desk, people of each tier, a ticket factory.

Tests that need a real PostgreSQL or Redis carry the ``postgres`` / ``redis``
markers and are skipped, with the reason, when DATABASE_URL / REDIS_URL do not
point at one. CI always sets both.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.servers.basehttp import ThreadedWSGIServer

from tests.factories import make_ticket, make_user

# The real worker and beat of the Celery integration tests (``start_celery``).
pytest_plugins = ["tests.celery_worker"]

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


class SettlingServer(ThreadedWSGIServer):
    """Django's threaded test server, which knows when its last connection closed; on SQLite, one request at a time.

    A browser keeps its connections open (keep-alive) and the board polls every
    few seconds, so a request thread can outlive the test that caused it; the
    ``_live_server_settles`` fixture waits for the last one (``wait_idle``)
    before the database is emptied. On in-memory SQLite every thread of the
    server shares the test thread's one connection, where two requests at once
    would interleave their transactions (one's COMMIT ending the other's), so
    there the application is called under a lock.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._serving = 0
        self._idle = threading.Condition()
        self._one_at_a_time = threading.Lock()

    def set_app(self, application) -> None:
        if not self.connections_override:
            super().set_app(application)
            return

        def one_at_a_time(environ, start_response):
            with self._one_at_a_time:
                return application(environ, start_response)

        super().set_app(one_at_a_time)

    def process_request(self, request, client_address) -> None:
        with self._idle:
            self._serving += 1
        try:
            super().process_request(request, client_address)  # hands the connection to a new thread
        except BaseException:
            self._done()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)  # until the client closes the connection
        finally:
            self._done()

    def _done(self) -> None:
        with self._idle:
            self._serving -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> int:
        """Wait until no connection is open; returns how many still are when ``timeout`` seconds ran out."""
        with self._idle:
            self._idle.wait_for(lambda: self._serving == 0, timeout)
            return self._serving


@pytest.fixture(scope="session")
def live_server(request, django_db_setup) -> Iterator:
    """pytest-django's live server, started once the test database exists, on a ``SettlingServer``.

    pytest-django's own fixture starts the server before the database when the
    session's first live-server test names it (session fixtures are set up
    before function ones): it then finds no in-memory SQLite database to share,
    and each request thread opens a connection of its own to the shared-cache
    test database, where one thread's write locks the table under another's
    read ("database table is locked", which SQLite's busy timeout never retries).
    """
    from pytest_django.live_server_helper import LiveServer

    address = request.config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    server = LiveServer(address, start=False)
    server.thread.server_class = SettlingServer
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _live_server_settles(request) -> Iterator[None]:
    """After a live-server test, wait for the server's last connection to close before the database is emptied.

    Set up after pytest-django's ``transactional_db`` (its autouse helper comes
    first) and before the test's own fixtures, so it is torn down after them
    (the browser's pages, Alertmanager) and before the flush. Without it a poll
    still being answered reads a database being emptied, and on SQLite the
    thread ends in an unhandled exception once the server stopped sharing the
    connection.
    """
    if "live_server" not in request.fixturenames:
        yield
        return
    server = request.getfixturevalue("live_server")
    yield
    still_open = server.thread.httpd.wait_idle(timeout=10)
    assert not still_open, f"the live server still serves {still_open} connection(s) 10 s after the test"


@pytest.fixture
def real_celery():
    """Marker fixture: this test sends tasks to a real broker and worker."""
    return os.environ.get("REDIS_URL", "")


@pytest.fixture
def broker_down(real_celery):
    """Point Celery at a port where no broker listens, for this test only."""
    from helpdesk.celery import app

    def reset_pools():
        # The app caches its connection and producer pools; drop them so the
        # next send connects to whatever broker_url says now.
        app._pool = None
        app.amqp._producer_pool = None

    saved = app.conf.broker_url, app.conf.broker_connection_timeout
    app.conf.broker_url, app.conf.broker_connection_timeout = "redis://127.0.0.1:9/0", 1
    reset_pools()
    yield
    app.conf.broker_url, app.conf.broker_connection_timeout = saved
    reset_pools()


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
