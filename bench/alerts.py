"""How long one Alertmanager delivery of 500 alerts takes on a desk of 100,000 tickets.

Seeds N tickets on NOC (a tenth of them already opened by alerts) into a
throwaway PostgreSQL database named ``test_<name>_alerts`` (after the
configured database's name, so that two people's runs never meet), then posts one webhook
delivery of 500 new alerts to the intake view, the same delivery again (500
repeats: what a retry or Alertmanager's repeat_interval costs), and the 500
resolutions. Prints the wall time and SQL query count of each. Target: the
new delivery under 2 s.

    .venv/bin/python bench/alerts.py                     # PostgreSQL on 127.0.0.1 as postgres
    DATABASE_URL=postgres://… .venv/bin/python bench/alerts.py --tickets 100000 --alerts 500

The database is created for the run and destroyed afterwards; the configured
database is never touched. bench/api.py calls ``main()`` for its closing figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
os.environ.setdefault("STATIC_MANIFEST", "false")
os.environ.setdefault("SWITCHBACK_CELERY_DIR", tempfile.mkdtemp(prefix="switchback-bench-celery-"))
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from boards.models import Ticket  # noqa: E402
from boards.seed import seed_structure  # noqa: E402
from helpdesk.celery import app  # noqa: E402
from intake import views  # noqa: E402
from intake.models import Alert, AlertSource  # noqa: E402
from routing.services import open_ticket, open_tickets  # noqa: E402

TOKEN = "bench-token-0123456789-abcdefghijklmnopqrstuvwxyz"
TEMPLATE = 5000  # tickets built in Python; the rest are copied inside the database


def seed(noc, source: AlertSource, total: int, now) -> None:
    """``total`` open NOC tickets, the first tenth linked to alerts of ``source``."""
    column = noc.entry_column()
    built = min(total, TEMPLATE)
    Ticket.objects.bulk_create(
        [
            Ticket(
                title=f"Bench ticket {n}",
                board=noc,
                column=column,
                source=Ticket.Source.MONITORING,
                created_at=now,
                entered_board_at=now,
                clock_started_at=now,
            )
            for n in range(built)
        ],
        batch_size=1000,
    )
    table = connection.ops.quote_name(Ticket._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in Ticket._meta.concrete_fields if not f.primary_key)
    missing = total - built
    with connection.cursor() as cursor:
        while missing > 0:
            copy = min(missing, Ticket.objects.count())
            cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table} LIMIT %s", [copy])
            missing -= copy
        linked = total // 10
        cursor.execute(
            f"INSERT INTO {Alert._meta.db_table} "
            "(source_id, fingerprint, current, ticket_id, kind, name, labels, status, fired_at, reopened, "
            "resolved_while_worked) "
            f"SELECT %s, 'seed' || id, true, id, 'alertmanager', 'Seeded', '{{}}'::jsonb, 'firing', %s, 0, false "
            f"FROM {table} ORDER BY id LIMIT %s",
            [source.pk, now, linked],
        )
        cursor.execute(f"ANALYZE {table}")
        cursor.execute(f"ANALYZE {Alert._meta.db_table}")


def delivery(count: int, status: str, starts_at: str, ends_at: str) -> bytes:
    alerts = [
        {
            "status": status,
            "labels": {"alertname": "BenchAlert", "instance": f"host-{n}", "severity": "warning", "client": "Bench"},
            "annotations": {"summary": f"Bench alert on host-{n}", "description": "A bench alert."},
            "startsAt": starts_at,
            "endsAt": ends_at,
            "generatorURL": "http://prometheus.example/graph",
            "fingerprint": f"bench{n:011x}",
        }
        for n in range(count)
    ]
    payload = {"version": "4", "groupKey": "bench", "status": status, "receiver": "switchback", "alerts": alerts}
    return json.dumps(payload).encode()


def post(source: AlertSource, body: bytes) -> tuple[float, int, dict]:
    request = RequestFactory().post(
        source.alertmanager_path(), body, content_type="application/json", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    connection.queries_log.clear()  # the log keeps 9,000 queries; a full one would undercount
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = views.alertmanager(request, key=source.key)
        wall = time.perf_counter() - started
    assert response.status_code == 200, response.content[:500]
    return wall, len(queries.captured_queries), json.loads(response.content)


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the bench and print it; returns the new delivery's figures (seconds, queries) for bench/api.py."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--alerts", type=int, default=500)
    args = parser.parse_args(argv)
    app.conf.update(broker_url="memory://localhost/", task_always_eager=False)
    if connection.vendor != "postgresql":
        print("bench/alerts.py skipped: it measures PostgreSQL; set DATABASE_URL=postgres://…")
        return {}

    settings_dict = connection.settings_dict
    test_settings = settings_dict.setdefault("TEST", {})
    old_name, old_test_name = settings_dict["NAME"], test_settings.get("NAME")
    test_settings["NAME"] = database = f"test_{old_name}_alerts"
    print(f"Creating the throwaway database {database} …", flush=True)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        boards, _ = seed_structure()
        source = AlertSource(name="Bench Prometheus", board=boards["noc"], still_firing_minutes=0)
        source.set_token(TOKEN)
        source.save()
        now = timezone.now()
        started = time.perf_counter()
        seed(boards["noc"], source, args.tickets, now)
        print(f"Seeded {Ticket.objects.count()} tickets in {time.perf_counter() - started:.1f} s", flush=True)

        starts = (now - timezone.timedelta(minutes=5)).isoformat()
        firing = delivery(args.alerts, "firing", starts, "0001-01-01T00:00:00Z")
        results = {}
        for label, body, expect in [
            ("new alerts", firing, "opened"),
            ("the same again", firing, "repeat"),
            ("resolutions", delivery(args.alerts, "resolved", starts, now.isoformat()), "resolved"),
        ]:
            wall, queries, answer = post(source, body)
            assert {a["result"] for a in answer["alerts"]} == {expect}, answer["alerts"][:3]
            results[label] = (wall, queries)
        print(f"{'delivery of ' + str(args.alerts):<28} {'time':>8} {'queries':>8}  (on {args.tickets} tickets)")
        for label, (wall, queries) in results.items():
            print(f"{label:<28} {wall * 1000:>6.0f}ms {queries:>8}")
        # The reference: the same number of tickets opened straight through the
        # one door, without intake (rolled back). Intake's own share is the rest.
        with transaction.atomic():
            column = boards["noc"].entry_column()
            connection.queries_log.clear()
            with CaptureQueriesContext(connection) as door_queries:
                started = time.perf_counter()
                for n in range(args.alerts):
                    open_ticket(Ticket(board=boards["noc"], column=column, title=f"Door {n}"), actor=None)
                door = time.perf_counter() - started
            transaction.set_rollback(True)
        print(f"{'(open_ticket alone, ' + str(args.alerts) + ')':<28} {door * 1000:>6.0f}ms {len(door_queries):>8}")
        # The same, set-based, as intake now opens a delivery's new alerts.
        with transaction.atomic():
            connection.queries_log.clear()
            with CaptureQueriesContext(connection) as batch_queries:
                started = time.perf_counter()
                open_tickets(
                    [Ticket(board=boards["noc"], column=column, title=f"Batch {n}") for n in range(args.alerts)],
                    actor=None,
                )
                batch = time.perf_counter() - started
            transaction.set_rollback(True)
        print(f"{'(open_tickets, ' + str(args.alerts) + ')':<28} {batch * 1000:>6.0f}ms {len(batch_queries):>8}")
        wall, queries = results["new alerts"]
        verdict = "under" if wall < 2 else "OVER"
        print(f"One delivery of {args.alerts} new alerts: {wall:.2f} s ({verdict} the 2 s target), {queries} queries.")
        return {"seconds": wall, "queries": queries}
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        if old_test_name is None:
            test_settings.pop("NAME", None)
        else:
            test_settings["NAME"] = old_test_name


if __name__ == "__main__":
    main()
