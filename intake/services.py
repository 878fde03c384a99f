"""What an alert does to the desk: open a ticket, note a repeat, resolve, reopen.

Every ticket is opened through ``routing.services`` (a delivery's new alerts
all at once with ``open_tickets``) and resolved or reopened through
``move_ticket``; notes go through ``boards.services.add_note``.

A delivery is **one transaction**: every alert in it is applied, or (on any
error) none is, and the sender retries the whole delivery. Because every step
below is idempotent, a retry of a delivery that was already applied changes
nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from boards.models import Client, Column, Note, Ticket
from boards.services import add_note
from routing.services import MoveBatch, move_locked, move_ticket, open_ticket, open_tickets, touch_boards

from .models import Alert, AlertSource
from .payloads import Incoming

log = logging.getLogger(__name__)

FIRING, RESOLVED = Alert.Status.FIRING, Alert.Status.RESOLVED


@dataclass
class Outcome:
    """What one alert did: ``opened``, ``repeat``, ``noted``, ``reopened``, ``resolved``, ``held`` or ``ignored``."""

    fingerprint: str
    result: str
    ticket: int | None = None
    reason: str = ""

    def as_json(self) -> dict:
        data = {"fingerprint": self.fingerprint, "result": self.result, "ticket": self.ticket}
        if self.reason:
            data["reason"] = self.reason
        return data


class _Delivery:
    """The alerts of one delivery, applied under the source's row lock."""

    def __init__(self, source: AlertSource, now: datetime) -> None:
        self.source = source
        self.now = now
        self.clients: dict[str, Client] = {}
        self.links: dict[str, Alert] = {}
        # New alerts whose tickets ``_open`` has decided but not yet written,
        # by fingerprint: the alert, the answer it was given, its ticket and row.
        self.pending: dict[str, tuple[Incoming, Outcome, Ticket, Alert]] = {}
        # Resolutions decided but not yet written: their alert rows, the
        # tickets' moves to done, the boards whose cards change.
        self.resolving: dict[str, Alert] = {}
        self.moves = MoveBatch()
        self.touched: set[int] = set()
        # The tickets this delivery resolves, locked together, and those a person wrote a note on.
        self.locked: dict[int, Ticket] = {}
        self.noted: set[int] = set()
        self._entry: Column | None = None
        self._done: dict[int, Column | None] = {}

    def load(self, fingerprints: list[str]) -> None:
        """The current alert rows of these fingerprints, locked, in one query."""
        rows = (
            Alert.objects.current()
            .filter(source=self.source, fingerprint__in=set(fingerprints))
            .select_for_update(of=("self",))
            .select_related("ticket")
        )
        self.links = {row.fingerprint: row for row in rows}

    def lock_for_resolution(self, alerts: list[Incoming]) -> None:
        """Lock the tickets this delivery's resolutions speak of, in one query (pk order), and read who noted them."""
        ids = [
            self.links[alert.fingerprint].ticket_id
            for alert in alerts
            if alert.action == RESOLVED and alert.fingerprint in self.links
        ]
        if not ids:
            return
        tickets = Ticket.objects.select_for_update(of=("self",)).select_related("board", "column").order_by("pk")
        self.locked = {ticket.pk: ticket for ticket in tickets.filter(pk__in=ids)}
        noted = Note.objects.filter(ticket_id__in=ids, author__isnull=False).values_list("ticket_id", flat=True)
        self.noted = set(noted)

    def apply(self, alert: Incoming) -> Outcome:
        if alert.fingerprint in self.pending or alert.fingerprint in self.resolving:
            self.flush()  # this alert speaks of a ticket whose change is not written yet
        try:
            return self._apply(alert)
        except IntegrityError:
            return self._adopt(alert)

    def _adopt(self, alert: Incoming) -> Outcome:
        """Handle a new alert whose current row another delivery inserted after we looked, as the repeat it now is.

        The one-current-row constraint refused our row, and the savepoint
        around it undid our ticket; read theirs and apply the alert to it.
        """
        log.info("alert %s of %s arrived twice at once; handled as a repeat", alert.fingerprint, self.source)
        found = (
            Alert.objects.current()
            .filter(source=self.source, fingerprint=alert.fingerprint)
            .select_for_update(of=("self",))
            .select_related("ticket")
            .first()
        )
        if found is None:
            raise IntegrityError(f"alert {alert.fingerprint} of {self.source} was refused, yet has no current row")
        self.links[alert.fingerprint] = found
        return self._apply(alert)

    def _apply(self, alert: Incoming) -> Outcome:
        link = self.links.get(alert.fingerprint)
        if alert.action == FIRING:
            return self._open(alert) if link is None else self._fire_again(link, alert)
        if link is None:
            return Outcome(alert.fingerprint, "ignored", reason="no ticket for this alert")
        if alert.action == "acknowledge":
            return self._acknowledge(link, alert)
        return self._resolve(link, alert)

    # --- firing ------------------------------------------------------------------

    def _entry_column(self) -> Column | None:
        if self._entry is None:
            self._entry = self.source.column or self.source.board.entry_column()
        return self._entry

    def _client_name(self, alert: Incoming) -> str:
        return alert.labels.get(self.source.client_label, "").strip()[:120] if self.source.client_label else ""

    def load_clients(self, alerts: list[Incoming]) -> None:
        """The clients these alerts name, read in one query (a new name is created by ``_client``)."""
        names = {self._client_name(alert) for alert in alerts} - {""} - self.clients.keys()
        if names:
            self.clients.update((client.name, client) for client in Client.objects.filter(name__in=names))

    def _client(self, alert: Incoming) -> Client | None:
        name = self._client_name(alert)
        if not name:
            return None
        if name not in self.clients:
            self.clients[name] = Client.objects.get_or_create(name=name)[0]
        return self.clients[name]

    def _new_ticket(self, alert: Incoming) -> Ticket:
        return Ticket(
            board=self.source.board,
            column=self._entry_column(),
            title=ticket_title(alert),
            description=ticket_description(alert, self.source),
            priority=self.source.priority_for(alert.severity),
            client=self._client(alert),
            source=Ticket.Source.MONITORING,
        )

    def _new_link(self, alert: Incoming, ticket: Ticket) -> Alert:
        return Alert(
            source=self.source,
            fingerprint=alert.fingerprint,
            ticket=ticket,
            kind=alert.kind,
            name=(alert.labels.get("alertname") or alert.summary)[:200],
            labels=alert.labels,
            starts_at=alert.starts_at,
            fired_at=self.now,
        )

    def _open(self, alert: Incoming) -> Outcome:
        """Open a ticket for a new alert: decided now, written by ``flush`` with the delivery's other new ones."""
        ticket = self._new_ticket(alert)
        outcome = Outcome(alert.fingerprint, "opened")
        self.pending[alert.fingerprint] = (alert, outcome, ticket, self._new_link(alert, ticket))
        return outcome

    def flush(self) -> None:
        """Write what the delivery decided so far: its new tickets, then its resolutions."""
        self._flush_opened()
        self._flush_resolved()

    def _flush_resolved(self) -> None:
        """The resolutions' moves to done in one batch, their alert rows in one UPDATE, one bump of the boards."""
        if self.resolving:
            self.moves.write()
            Alert.objects.bulk_update(
                list(self.resolving.values()), ["status", "resolved_at", "ends_at", "resolved_while_worked"]
            )
        touch_boards(self.touched)
        self.resolving, self.moves, self.touched = {}, MoveBatch(), set()

    def _flush_opened(self) -> None:
        """Write the pending new alerts' tickets and rows set-based: ``open_tickets`` and one INSERT of the rows.

        Should a row slip in from elsewhere (the one-current-row constraint
        refuses ours), the savepoint undoes every ticket written here, and the
        pending alerts are opened one at a time, each handling that case as a
        repeat; their answers are corrected in place.
        """
        if not self.pending:
            return
        pending, self.pending = list(self.pending.values()), {}
        try:
            with transaction.atomic():
                open_tickets([ticket for _, _, ticket, _ in pending], actor=None, now=self.now)
                Alert.objects.bulk_create([link for _, _, _, link in pending])
        except IntegrityError:
            log.info("a new alert of %s arrived twice at once; opening this delivery's one by one", self.source)
            for alert, outcome, _, _ in pending:
                try:
                    answer = self._open_now(alert)
                except IntegrityError:
                    answer = self._adopt(alert)
                outcome.result, outcome.ticket, outcome.reason = answer.result, answer.ticket, answer.reason
            return
        for alert, outcome, ticket, link in pending:
            outcome.ticket = ticket.pk
            self.links[alert.fingerprint] = link

    def _open_now(self, alert: Incoming) -> Outcome:
        ticket = self._new_ticket(alert)
        # A savepoint: should the insert of the alert row fail (the same new
        # alert arriving at this moment in another delivery), the ticket goes too.
        with transaction.atomic():
            open_ticket(ticket, actor=None, now=self.now)
            link = self._new_link(alert, ticket)
            link.save()
        self.links[alert.fingerprint] = link
        return Outcome(alert.fingerprint, "opened", ticket.pk)

    def _fire_again(self, link: Alert, alert: Incoming) -> Outcome:
        source, now = self.source, self.now
        if link.status == FIRING:
            # A repeat (Alertmanager's repeat_interval, or a retried delivery).
            every = timedelta(minutes=source.still_firing_minutes)
            if source.still_firing_minutes and now - (link.noted_at or link.fired_at) >= every:
                add_note(link.ticket, author=None, body=f"Still firing in {source.name}.", now=now)
                link.noted_at = now
                link.save(update_fields=["noted_at"])
                return Outcome(alert.fingerprint, "noted", link.ticket_id)
            return Outcome(alert.fingerprint, "repeat", link.ticket_id)
        if alert.starts_at and link.ends_at and alert.starts_at < link.ends_at:
            # A late retry of a delivery from before the resolution.
            return Outcome(alert.fingerprint, "ignored", link.ticket_id, "older than the resolution")
        ticket = link.ticket
        ticket.refresh_from_db()
        if ticket.is_open:
            # Resolved at the source but kept open (it was being worked): it is simply firing again.
            body = f"Firing again in {source.name}."
            result = "firing"
        elif now - link.resolved_at <= timedelta(minutes=source.flap_window_minutes):
            entry = ticket.board.entry_column()
            minutes = int((now - link.resolved_at).total_seconds() // 60)
            move_ticket(
                ticket.pk,
                actor=None,
                expected_version=None,
                to_column=entry,
                note=f"The alert fired again {minutes} min after resolving (flapping): reopened.",
                now=now,
            )
            link.reopened += 1
            body = f"Firing again in {source.name}, {minutes} min after it resolved: reopened."
            result = "reopened"
        else:
            # Past the flapping window: a new incident, a new ticket.
            link.current = False
            link.save(update_fields=["current"])
            del self.links[alert.fingerprint]
            return self._open(alert)
        add_note(ticket, author=None, body=body, now=now)
        was_held = link.resolved_while_worked
        link.status, link.fired_at, link.noted_at = FIRING, now, None
        link.starts_at, link.ends_at, link.resolved_at = alert.starts_at or link.starts_at, None, None
        link.resolved_while_worked = False
        link.acknowledged_at = None
        link.save()
        if was_held:
            touch_boards([ticket.board_id])  # the card drops its "resolved at source" marker
        return Outcome(alert.fingerprint, result, ticket.pk)

    # --- acknowledge and resolve ----------------------------------------------------

    def _acknowledge(self, link: Alert, alert: Incoming) -> Outcome:
        if link.status != FIRING or link.acknowledged_at is not None:
            return Outcome(alert.fingerprint, "repeat", link.ticket_id)
        add_note(link.ticket, author=None, body=f"Acknowledged in {self.source.name}.", now=self.now)
        link.acknowledged_at = self.now
        link.save(update_fields=["acknowledged_at"])
        return Outcome(alert.fingerprint, "noted", link.ticket_id)

    def _done_column(self, ticket: Ticket) -> Column | None:
        if ticket.board_id not in self._done:
            self._done[ticket.board_id] = ticket.board.first_column(Column.Category.DONE)
        return self._done[ticket.board_id]

    def _resolve(self, link: Alert, alert: Incoming) -> Outcome:
        now = self.now
        if link.status == RESOLVED:
            return Outcome(alert.fingerprint, "repeat", link.ticket_id)
        if alert.starts_at and link.starts_at and alert.starts_at < link.starts_at:
            return Outcome(alert.fingerprint, "ignored", link.ticket_id, "resolves an earlier firing")
        # Locked (by lock_for_resolution, with the delivery's other resolutions,
        # or here), so a technician picking the ticket up right now is seen, or waits.
        # Taken once: a later alert of this fingerprint comes after a flush and reads the row afresh.
        ticket = self.locked.pop(link.ticket_id, None)
        if ticket is None:
            ticket = (
                Ticket.objects.select_for_update(of=("self",)).select_related("board", "column").get(pk=link.ticket_id)
            )
            worked = was_worked(ticket)
        else:
            worked = was_worked(ticket, noted=ticket.pk in self.noted)
        link.status, link.resolved_at, link.ends_at = RESOLVED, now, alert.ends_at or now
        ended = f" (ended {alert.ends_at:%Y-%m-%d %H:%M} UTC)" if alert.ends_at else ""
        add_note(ticket, author=None, body=f"Resolved in {self.source.name}{ended}.", now=now)
        result = "resolved"
        if not ticket.is_open:
            result = "noted"
        elif worked or self._done_column(ticket) is None:
            link.resolved_while_worked = True
            self.touched.add(ticket.board_id)
            result = "held"
        else:
            # Through the door with the delivery's other resolutions (flush).
            move_locked(
                ticket,
                to_column=self._done_column(ticket),
                actor=None,
                note="The alert resolved before anyone worked the ticket.",
                now=now,
                batch=self.moves,
            )
        self.resolving[alert.fingerprint] = link
        return Outcome(alert.fingerprint, result, ticket.pk)


def was_worked(ticket: Ticket, *, noted: bool | None = None) -> bool:
    """Somebody has the ticket: assigned, a note by a person, or out of its board's `new` columns.

    ``noted``: whether a person wrote a note on it, when the caller read that
    for many tickets at once; otherwise it is read here.
    """
    if ticket.assignee_id is not None or ticket.column.category != Column.Category.NEW:
        return True
    if noted is None:
        noted = Note.objects.filter(ticket=ticket, author__isnull=False).exists()
    return noted


def ticket_title(alert: Incoming) -> str:
    if alert.summary.strip():
        return alert.summary.strip()[:200]
    name = alert.labels.get("alertname", "Alert")
    rest = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()) if k != "alertname")
    return (f"{name}: {rest}" if rest else name)[:200]


def ticket_description(alert: Incoming, source: AlertSource) -> str:
    parts = []
    if alert.description.strip():
        parts.append(alert.description.strip())
    if alert.labels:
        parts.append("Labels:\n" + "\n".join(f"  {k}={v}" for k, v in sorted(alert.labels.items())))
    if alert.link:
        parts.append(f"Source: {alert.link}")
    parts.append(f"Opened by the alert source “{source.name}”.")
    return "\n\n".join(parts)


def receive(source: AlertSource, alerts: list[Incoming], *, now: datetime | None = None) -> list[Outcome]:
    """Apply one delivery's alerts, all in one transaction.

    1. Lock the source's row: deliveries of one source are applied one at a
       time, so two of them never wait on each other's rows (no deadlock) and
       the second sees the first's tickets.
    2. Read and lock the current alert rows of the delivery's fingerprints in
       one query.
    3. Lock the tickets the delivery's resolutions speak of, in one query.
    4. Apply each alert in order. A new alert's ticket, and a resolution's
       move to done, is decided at its turn and written with the others of
       its kind (``flush``: 500 alerts are a few statements each kind, not
       eleven per ticket), or sooner when a later alert of the same
       fingerprint needs it. Should the same new alert still slip in from
       elsewhere, the database's one-current-row constraint refuses the
       second row and that alert is handled as a repeat.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = AlertSource.objects.select_for_update(of=("self",)).select_related("board", "column").get(pk=source.pk)
        delivery = _Delivery(locked, now)
        delivery.load([a.fingerprint for a in alerts])
        delivery.lock_for_resolution(alerts)
        delivery.load_clients([a for a in alerts if a.action == FIRING])
        outcomes = [delivery.apply(alert) for alert in alerts]
        delivery.flush()
        return outcomes
