"""A believable demo desk: the seed's boards and criteria, a small MSP team,
its customers, and about forty tickets with histories.

Every ticket is opened through ``routing.services.open_ticket`` and every
change of board, column or tier goes through ``move_ticket`` / ``facts_changed``,
back-dated with ``now=`` so timelines read like a real week and some Triage
clocks are close to (or past) their 30 active minutes when the demo starts.

Idempotent: people and clients are found by name, tickets by title; running it
again creates nothing and changes nothing (passwords included).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from routing import services
from routing.models import Criterion

from .models import MANAGERS_GROUP, TECHNICIANS_GROUP, Board, Client, Column, Skill, Technician, Ticket
from .roles import assign_role
from .seed import seed_structure
from .services import add_note

DEMO_PASSWORD = "switchback"
DEMO_URL = "http://127.0.0.1:8000/"


def m(n: float) -> timedelta:
    return timedelta(minutes=n)


def h(n: float) -> timedelta:
    return timedelta(hours=n)


def d(n: float) -> timedelta:
    return timedelta(days=n)


@dataclass(frozen=True)
class Person:
    username: str
    first_name: str
    last_name: str
    role: str
    tier: int | None = None
    boards: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()


PEOPLE = [
    Person("manager", "Morgan", "Ellis", MANAGERS_GROUP),
    Person("tess", "Tess", "Alvarez", TECHNICIANS_GROUP, 1, ("triage",), ("Microsoft 365", "Printers")),
    Person("jordan", "Jordan", "Kim", TECHNICIANS_GROUP, 1, ("triage",), ("Microsoft 365",)),
    Person("sam", "Sam", "Okafor", TECHNICIANS_GROUP, 2, ("support", "noc"), ("Onsite", "Networking", "Backup")),
    Person(
        "priya",
        "Priya",
        "Natarajan",
        TECHNICIANS_GROUP,
        2,
        ("support", "noc"),
        ("Backup", "Microsoft 365", "Line of business apps"),
    ),
    Person("rex", "Rex", "Halvorsen", TECHNICIANS_GROUP, 3, ("support",), ("Firewall", "Networking", "Onsite")),
]

CLIENTS = [
    ("Harbor Dental Group", "it@harbordental.example", "+1 207 555 0142"),
    ("Cedar Ridge Accounting", "office@cedarridge.example", "+1 207 555 0178"),
    ("Northwind Logistics", "helpdesk@northwind.example", "+1 207 555 0110"),
    ("Bluebird Property Management", "admin@bluebirdpm.example", "+1 207 555 0193"),
    ("Alder & Finch Law", "ops@alderfinch.example", "+1 207 555 0127"),
    ("Summit Veterinary Clinic", "frontdesk@summitvet.example", "+1 207 555 0165"),
]


# A step in a ticket's life, at ``at`` after it was opened:
#   ("column", name, who)            move to a column on its current board
#   ("criterion", name, who, note)   move by a manual criterion
#   ("onsite", who)                  set needs_onsite; a condition criterion fires
#   ("skill", name, who)             require a skill; a condition criterion may fire
#   ("timeout",)                     the scheduler fires the time criterion at the deadline
#   ("resolve", who)                 move to the board's done column
#   ("note", who, body, minutes)     a note
Step = tuple


@dataclass
class Spec:
    title: str
    board: str
    client: str
    ago: timedelta
    requester: str
    description: str = ""
    priority: int = Ticket.Priority.P3
    source: str = Ticket.Source.PHONE
    tier: int = 1
    assignee: str | None = None
    opened_by: str | None = None
    steps: list[tuple[timedelta, Step]] = field(default_factory=list)


HD, CR, NW, BB, AF, SV = (name for name, _, _ in CLIENTS)
P1, P2, P3, P4 = Ticket.Priority.P1, Ticket.Priority.P2, Ticket.Priority.P3, Ticket.Priority.P4
S = Ticket.Source

TICKETS: list[Spec] = [
    # --- Triage: the front line, on the 30-minute clock ---------------------
    Spec(
        "Password reset for new receptionist",
        "triage",
        HD,
        m(12),
        "Dana Whitfield",
        "Started Monday, never received her first-login password.",
        opened_by="tess",
    ),
    Spec(
        "Outlook keeps asking for password",
        "triage",
        CR,
        m(24),
        "Glen Morrow",
        "Prompt comes back every few minutes since this morning; webmail works fine.",
        source=S.EMAIL,
        assignee="tess",
        steps=[(m(3), ("column", "In progress", "tess"))],
    ),
    Spec(
        "Printer on 2nd floor shows offline",
        "triage",
        BB,
        m(41),
        "Renee Castillo",
        "HP LaserJet by the leasing office. Everyone on 2 gets 'printer offline'.",
        priority=P2,
    ),
    Spec(
        "Can't open shared mailbox billing@",
        "triage",
        AF,
        h(2),
        "Marcus Bell",
        "Shared mailbox vanished from Outlook after the weekend.",
        source=S.EMAIL,
        assignee="tess",
        steps=[
            (m(5), ("column", "In progress", "tess")),
            (m(16), ("note", "tess", "Permissions look right. Asked Marcus to restart Outlook and confirm.", 10)),
            (m(18), ("column", "Waiting on customer", "tess")),
        ],
    ),
    Spec(
        "New hire laptop: set up email and Teams",
        "triage",
        NW,
        d(1),
        "Alicia Romero",
        "Laptop imaged by NOC; needs Outlook profile, Teams and the warehouse shared calendar.",
        source=S.PORTAL,
        assignee="jordan",
        steps=[
            (m(10), ("column", "In progress", "jordan")),
            (m(24), ("note", "jordan", "Outlook, Teams and calendar set up with the user on a call.", 15)),
            (m(25), ("resolve", "jordan")),
        ],
    ),
    Spec(
        "Lost the desktop icon for the practice management app",
        "triage",
        SV,
        h(3),
        "Hannah Yoder",
        '"I lost my icon" — the one for appointments.',
        priority=P4,
        assignee="jordan",
        steps=[(m(2), ("column", "In progress", "jordan")), (m(9), ("resolve", "jordan"))],
    ),
    Spec(
        "Teams calls drop after five minutes",
        "triage",
        CR,
        h(5),
        "Priscilla Nguyen",
        "Every external Teams call drops at about the five-minute mark. Internal calls are fine.",
        priority=P2,
        assignee="tess",
        steps=[
            (m(4), ("column", "In progress", "tess")),
            (m(20), ("note", "tess", "Reproduced from two PCs. Not the client: smells like SIP/UDP timeouts.", 15)),
            (m(22), ("criterion", "Beyond this tier", "tess", "Looks like the firewall drops UDP sessions.")),
            (h(1), ("column", "In progress", "sam")),
        ],
    ),
    Spec(
        "Scanner to email stopped working",
        "triage",
        HD,
        d(1) + h(2),
        "Tom Sheridan",
        "The front desk copier no longer sends scans to email.",
        assignee="tess",
        steps=[
            (m(5), ("column", "In progress", "tess")),
            (m(18), ("note", "tess", "SMTP settings fine remotely; the copier's network card is not responding.", 12)),
            (m(20), ("onsite", "tess")),
            (h(2), ("column", "Scheduled / Onsite", "sam")),
            (h(2) + m(1), ("note", "sam", "Booked for tomorrow 9:00 with the office manager.", 3)),
        ],
    ),
    Spec(
        "User can't log in — account keeps locking",
        "triage",
        NW,
        d(2),
        "Kevin Strand",
        "Account locks every morning. Reset twice this week already.",
        priority=P2,
        assignee="jordan",
        steps=[
            (m(3), ("column", "In progress", "jordan")),
            (m(15), ("criterion", "Beyond this tier", "jordan", "Locks again within minutes of a reset.")),
            (m(30), ("column", "In progress", "priya")),
            (
                m(40),
                (
                    "criterion",
                    "User error discovered",
                    "priya",
                    "Old password cached on his phone's mail app locks the account. Triage to walk him through it.",
                ),
            ),
            (m(55), ("column", "In progress", "jordan")),
            (m(65), ("note", "jordan", "Updated the password on his phone together. No lockouts since.", 10)),
            (m(66), ("resolve", "jordan")),
        ],
    ),
    Spec(
        "Excel crashes opening the month-end workbook",
        "triage",
        BB,
        d(2) + h(1),
        "Nadia Park",
        "Crashes on open; 80 MB workbook with external links.",
        source=S.EMAIL,
        steps=[
            (m(30), ("timeout",)),
            (h(2), ("column", "In progress", "priya")),
            (h(2) + m(25), ("note", "priya", "Repaired Office; still crashes. Asked for a copy of the file.", 25)),
            (h(2) + m(30), ("column", "Waiting on customer", "priya")),
        ],
    ),
    Spec(
        "VPN connects but the file share is unreachable",
        "triage",
        AF,
        h(6),
        "Olivia Grant",
        "Working from home: VPN says connected, S: drive times out.",
        priority=P2,
        assignee="tess",
        steps=[
            (m(3), ("column", "In progress", "tess")),
            (m(12), ("skill", "Firewall", "tess")),
            (h(1), ("column", "In progress", "sam")),
            (
                h(1) + m(30),
                ("criterion", "Beyond this tier (Support tier 2 → 3)", "sam", "Split-tunnel routes look wrong."),
            ),
            (h(2), ("column", "In progress", "rex")),
        ],
    ),
    Spec(
        "Forward departed employee's mailbox to manager",
        "triage",
        CR,
        m(50),
        "Glen Morrow",
        "Leah left Friday; forward her mail to Glen for 30 days.",
        source=S.PORTAL,
        priority=P4,
        assignee="jordan",
        steps=[
            (m(6), ("note", "jordan", "Need written approval from the partner before forwarding. Asked Glen.", 4)),
            (m(10), ("column", "Waiting on customer", "jordan")),
        ],
    ),
    Spec(
        "Monitor flickering at front desk",
        "triage",
        SV,
        m(35),
        "Hannah Yoder",
        "Flickers every few seconds; tried another cable.",
        assignee="jordan",
        steps=[(m(2), ("column", "In progress", "jordan"))],
    ),
    Spec(
        "Add user to Managers distribution list",
        "triage",
        NW,
        m(8),
        "Alicia Romero",
        "Please add Dwayne Fox to managers@.",
        source=S.PORTAL,
        priority=P4,
    ),
    Spec(
        "MFA prompt not arriving on new phone",
        "triage",
        HD,
        m(28),
        "Dr. Lena Ortiz",
        "Switched phones yesterday; Authenticator shows nothing.",
        priority=P2,
        assignee="tess",
        steps=[(m(1), ("column", "In progress", "tess"))],
    ),
    Spec(
        "Browser homepage hijacked, pop-ups everywhere",
        "triage",
        BB,
        d(1) + h(5),
        "Carl Jensen",
        "Chrome opens a search site and ads on every tab.",
        source=S.EMAIL,
        steps=[
            (m(30), ("timeout",)),
            (h(3), ("column", "In progress", "sam")),
            (h(3) + m(40), ("note", "sam", "Removed a rogue extension and adware; full scan clean.", 35)),
            (h(3) + m(41), ("resolve", "sam")),
        ],
    ),
    Spec(
        "Calendar invites show the wrong time zone",
        "triage",
        SV,
        h(3),
        "Dr. Ana Ruiz",
        "Invites from the lab show an hour off.",
        assignee="jordan",
        steps=[(m(5), ("column", "In progress", "jordan")), (m(20), ("resolve", "jordan"))],
    ),
    Spec(
        "Shared drive S: missing after reboot",
        "triage",
        CR,
        h(4),
        "Priscilla Nguyen",
        "",
        assignee="tess",
        steps=[
            (m(2), ("column", "In progress", "tess")),
            (m(11), ("note", "tess", "Drive mapping GPO hadn't applied; gpupdate and re-login fixed it.", 8)),
            (m(12), ("resolve", "tess")),
        ],
    ),
    Spec(
        "Desk phone forwards straight to voicemail",
        "triage",
        NW,
        m(16),
        "Dwayne Fox",
        "Ext. 214 never rings.",
        priority=P2,
    ),
    Spec(
        "OneDrive sync stuck on 'processing changes'",
        "triage",
        AF,
        d(1),
        "Marcus Bell",
        "",
        source=S.PORTAL,
        assignee="tess",
        steps=[
            (m(3), ("column", "In progress", "tess")),
            (m(14), ("note", "tess", "Reset the sync client; it is re-indexing 40k files. Will check back.", 10)),
            (m(15), ("column", "Waiting on customer", "tess")),
        ],
    ),
    # --- NOC: remote, automated, event-driven --------------------------------
    Spec(
        "Backup job failed: HDG-FS01 nightly",
        "noc",
        HD,
        h(3),
        "Datto alert",
        "Job 'FS01-Nightly' failed: VSS writer timed out.",
        source=S.MONITORING,
        priority=P2,
        assignee="priya",
        steps=[
            (m(20), ("column", "In progress", "priya")),
            (m(45), ("note", "priya", "VSS writer restarted; re-running the job manually.", 20)),
        ],
    ),
    Spec(
        "Disk space low (C: 92%) on CRA-SQL01",
        "noc",
        CR,
        m(45),
        "RMM alert",
        "C: at 92% and climbing ~1%/day.",
        source=S.MONITORING,
    ),
    Spec(
        "Offline: NW-WH-AP03 (warehouse access point)",
        "noc",
        NW,
        h(2),
        "RMM alert",
        "AP03 stopped answering pings at 06:12.",
        source=S.MONITORING,
        priority=P2,
        assignee="sam",
        steps=[
            (m(10), ("column", "In progress", "sam")),
            (m(35), ("note", "sam", "PoE port is up, AP not. Power-cycled remotely: no luck. Needs hands on it.", 20)),
            (m(40), ("onsite", "sam")),
            (m(50), ("column", "Scheduled / Onsite", "sam")),
        ],
    ),
    Spec(
        "Windows updates pending reboot on 14 workstations",
        "noc",
        BB,
        d(1),
        "RMM alert",
        "",
        source=S.MONITORING,
        priority=P4,
        assignee="priya",
        steps=[(h(1), ("column", "In progress", "priya")), (h(4), ("resolve", "priya"))],
    ),
    Spec(
        "SSL certificate expires in 7 days: portal.alderfinch.example",
        "noc",
        AF,
        h(20),
        "Certificate monitor",
        "",
        source=S.MONITORING,
        assignee="sam",
        steps=[
            (m(30), ("column", "In progress", "sam")),
            (m(45), ("note", "sam", "Renewal ordered; waiting for the CA's domain validation email.", 15)),
            (m(46), ("column", "Waiting on vendor", "sam")),
        ],
    ),
    Spec(
        "High CPU on SV-HV02 (Hyper-V host)",
        "noc",
        SV,
        m(15),
        "RMM alert",
        "CPU above 95% for 10 minutes.",
        source=S.MONITORING,
        priority=P2,
    ),
    Spec(
        "Antivirus definitions out of date on 3 endpoints",
        "noc",
        CR,
        h(5),
        "RMM alert",
        "",
        source=S.MONITORING,
        priority=P4,
        assignee="priya",
        steps=[(m(30), ("column", "In progress", "priya")), (h(1), ("resolve", "priya"))],
    ),
    Spec(
        "UPS on battery at Northwind warehouse",
        "noc",
        NW,
        m(25),
        "UPS alert",
        "UPS-WH1 on battery, 38 minutes runtime left.",
        source=S.MONITORING,
        priority=P1,
        assignee="sam",
        steps=[
            (m(2), ("column", "In progress", "sam")),
            (m(6), ("note", "sam", "Utility outage in the area per the power company. Told the site manager.", 5)),
        ],
    ),
    Spec(
        "Repeated failed logins for j.cole@cedarridge",
        "noc",
        CR,
        h(7),
        "Identity alert",
        "40 failed sign-ins in 10 minutes from the office IP.",
        source=S.MONITORING,
        priority=P2,
        steps=[
            (m(10), ("column", "In progress", "priya")),
            (
                m(20),
                (
                    "criterion",
                    "User-facing follow-up",
                    "priya",
                    "Not an attack: an old laptop retrying a stale password. Needs a word with Jess.",
                ),
            ),
            (m(24), ("column", "In progress", "tess")),
            (m(33), ("resolve", "tess")),
        ],
    ),
    Spec(
        "Patch rollout: Harbor Dental workstations",
        "noc",
        HD,
        d(2),
        "Patch policy",
        "Monthly patch window for 22 workstations.",
        source=S.MONITORING,
        priority=P4,
        assignee="priya",
        steps=[(h(2), ("column", "In progress", "priya"))],
    ),
    # --- Support: depth, onsite, projects --------------------------------------
    Spec(
        "Onsite: replace failing switch in server closet",
        "support",
        NW,
        d(1),
        "Alicia Romero",
        "Core switch logging port errors; replacement on site.",
        tier=2,
        assignee="sam",
        opened_by="sam",
        steps=[(h(1), ("column", "Scheduled / Onsite", "sam"))],
    ),
    Spec(
        "Project: migrate file server to SharePoint",
        "support",
        CR,
        d(4),
        "Priscilla Nguyen",
        "Phase 1: permissions map and pilot with the audit team.",
        source=S.EMAIL,
        tier=3,
        assignee="rex",
        opened_by="rex",
        steps=[
            (h(3), ("column", "In progress", "rex")),
            (d(1), ("note", "rex", "Permissions mapped; 3 folders need owner decisions.", 180)),
            (d(3), ("note", "rex", "Pilot library live for the audit team.", 120)),
        ],
    ),
    Spec(
        "New office build-out: cabling and Wi-Fi survey",
        "support",
        AF,
        d(3),
        "Marcus Bell",
        "Suite 400 opens next month: 18 drops, 3 APs, printer.",
        source=S.EMAIL,
        tier=2,
        assignee="sam",
        opened_by="sam",
        steps=[(h(5), ("column", "Scheduled / Onsite", "sam"))],
    ),
    Spec(
        "Practice management update fails on two stations",
        "support",
        HD,
        d(1),
        "Tom Sheridan",
        "Vendor update 24.2 rolls back on Op 3 and Op 5.",
        priority=P2,
        tier=2,
        assignee="priya",
        opened_by="priya",
        steps=[(m(30), ("column", "In progress", "priya"))],
    ),
    Spec(
        "Install new firewall at Summit Vet",
        "support",
        SV,
        d(2),
        "Dr. Ana Ruiz",
        "Replace the end-of-life firewall; keep the site-to-site VPN to the lab.",
        source=S.EMAIL,
        tier=2,
        assignee="sam",
        opened_by="sam",
        steps=[
            (h(1), ("column", "Scheduled / Onsite", "sam")),
            (d(1), ("column", "In progress", "sam")),
            (
                d(1) + h(3),
                (
                    "criterion",
                    "Onsite complete",
                    "sam",
                    "Firewall racked, cabled and passing traffic. NOC to finish the VPN and add monitoring.",
                ),
            ),
            (d(1) + h(4), ("column", "In progress", "priya")),
        ],
    ),
    Spec(
        "Quote and deploy six replacement laptops",
        "support",
        BB,
        d(5),
        "Carl Jensen",
        "",
        source=S.EMAIL,
        priority=P4,
        tier=2,
        assignee="priya",
        opened_by="priya",
        steps=[
            (h(4), ("column", "In progress", "priya")),
            (h(6), ("note", "priya", "Quote sent for 6 × ThinkPad T14. Waiting for approval.", 30)),
            (h(6) + m(1), ("column", "Waiting on customer", "priya")),
        ],
    ),
    Spec(
        "Email migration for the acquired practice",
        "support",
        SV,
        d(6),
        "Dr. Ana Ruiz",
        "Move 9 mailboxes from the old host into the clinic's tenant.",
        source=S.EMAIL,
        tier=3,
        assignee="rex",
        opened_by="rex",
        steps=[(d(1), ("column", "In progress", "rex"))],
    ),
    Spec(
        "Second-floor printer fleet replacement",
        "support",
        BB,
        d(2),
        "Renee Castillo",
        "Replace 4 printers with 2 MFPs.",
        source=S.PORTAL,
        priority=P4,
        tier=2,
        opened_by="sam",
    ),
    Spec(
        "Conference room display doesn't detect laptops",
        "support",
        NW,
        h(4),
        "Dwayne Fox",
        "HDMI and USB-C both: 'no signal'.",
        tier=2,
        assignee="sam",
        opened_by="sam",
        steps=[(m(40), ("column", "In progress", "sam"))],
    ),
    Spec(
        "Quarterly network review",
        "support",
        CR,
        d(7),
        "Priscilla Nguyen",
        "Q3 review: firewall rules, Wi-Fi, backup restore test.",
        source=S.EMAIL,
        priority=P4,
        tier=3,
        assignee="rex",
        opened_by="rex",
        steps=[
            (d(1), ("column", "In progress", "rex")),
            (d(2), ("note", "rex", "Review delivered; restore test passed in 14 minutes.", 240)),
            (d(2) + m(1), ("resolve", "rex")),
        ],
    ),
]


@dataclass
class Login:
    username: str
    password: str
    role: str
    created: bool


@dataclass
class Result:
    logins: list[Login]
    tickets_created: int
    tickets_skipped: int
    boards: int = 0
    tickets: int = 0


def _people(boards, skills) -> tuple[dict[str, User], list[Login]]:
    users, logins = {}, []
    for person in PEOPLE:
        user, created = User.objects.get_or_create(
            username=person.username,
            defaults={
                "first_name": person.first_name,
                "last_name": person.last_name,
                "email": f"{person.username}@switchback.example",
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            assign_role(user, person.role)
            if person.tier is not None:
                technician = Technician.objects.create(user=user, tier=person.tier)
                technician.boards.set([boards[slug] for slug in person.boards])
                technician.skills.set([skills[name] for name in person.skills])
        if person.role == MANAGERS_GROUP:
            role = "Manager (staff; also /admin/)"
        else:
            where = " + ".join(boards[slug].name for slug in person.boards)
            role = f"Technician, tier {person.tier} · {where}"
        users[person.username] = user
        logins.append(Login(person.username, DEMO_PASSWORD, role, created))
    return users, logins


def _open(spec: Spec, boards, clients, users, skills, now: datetime) -> None:
    """Open one ticket and play its steps through the routing services."""
    opened_at = now - spec.ago
    board = boards[spec.board]
    ticket = Ticket(
        title=spec.title,
        description=spec.description,
        requester_name=spec.requester,
        requester_email="" if spec.source == Ticket.Source.MONITORING else _email(spec.requester, spec.client),
        client=clients[spec.client],
        priority=spec.priority,
        source=spec.source,
        board=board,
        tier=spec.tier,
        assignee=users.get(spec.assignee) if spec.assignee else None,
    )
    # Monitoring alerts arrive by themselves (no actor); the front line logs
    # calls and emails as they come in.
    opened_by = spec.opened_by or (spec.assignee or "tess" if spec.board == "triage" else None)
    services.open_ticket(ticket, actor=users[opened_by] if opened_by else None, now=opened_at, notify=False)

    last = opened_at
    for offset, step in spec.steps:
        at = opened_at + offset
        if not last <= at <= now:
            raise ValueError(f"Demo ticket {spec.title!r}: steps must run in order and not in the future.")
        last = at
        _play(ticket.pk, step, users, skills, at)


def _play(ticket_id: int, step: Step, users, skills, at: datetime) -> None:
    kind, *args = step
    ticket = Ticket.objects.select_related("board", "column").get(pk=ticket_id)
    if kind == "column":
        name, who = args
        services.move_ticket(
            ticket,
            actor=users[who],
            expected_version=None,
            to_column=ticket.board.columns.get(name=name),
            now=at,
            notify=False,
        )
        if ticket.assignee_id is None:
            Ticket.objects.filter(pk=ticket_id).update(assignee=users[who])
    elif kind == "criterion":
        name, who, note = args
        criterion = Criterion.objects.get(name=name)
        services.move_ticket(
            ticket, actor=users[who], expected_version=None, criterion=criterion, note=note, now=at, notify=False
        )
    elif kind == "timeout":
        # What the sweep records when the deadline passes, at that moment.
        criterion = ticket.deadline_criterion
        services.move_ticket(
            ticket,
            actor=None,
            expected_version=None,
            criterion=criterion,
            note=f"Time limit of {criterion.time_limit_minutes} active minutes reached.",
            now=ticket.deadline_at,
            notify=False,
        )
    elif kind == "onsite":
        (who,) = args
        Ticket.objects.filter(pk=ticket_id).update(needs_onsite=True)
        services.facts_changed(ticket, actor=users[who], now=at, notify=False)
    elif kind == "skill":
        name, who = args
        ticket.required_skills.add(skills[name])
        services.facts_changed(ticket, actor=users[who], now=at, notify=False)
    elif kind == "resolve":
        (who,) = args
        services.move_ticket(
            ticket,
            actor=users[who],
            expected_version=None,
            to_column=ticket.board.first_column(Column.Category.DONE),
            now=at,
            notify=False,
        )
    elif kind == "note":
        who, body, minutes_worked = args
        add_note(ticket, author=users[who], body=body, minutes_worked=minutes_worked, now=at)
    else:
        raise ValueError(f"Unknown demo step {kind!r}")


def _email(name: str, client: str) -> str:
    domain = {n: e.split("@")[1] for n, e, _ in CLIENTS}[client]
    local = ".".join(part for part in name.lower().replace("dr. ", "").split() if part.isalpha())
    return f"{local}@{domain}"


def load_demo(now: datetime | None = None, *, dry_run: bool = False) -> Result:
    """Create whatever part of the demo desk is missing; return the logins.

    With ``dry_run``, everything is made and then rolled back, so the result
    says what a real run would create.
    """
    now = now or timezone.now()
    # Back-dated history is replayed with notify=False: nobody is emailed about
    # last week's moves, and loading needs no broker.
    with transaction.atomic() if dry_run else contextlib.nullcontext():
        result = _load(now)
        result.boards = Board.objects.count()
        result.tickets = Ticket.objects.count()
        if dry_run:
            transaction.set_rollback(True)
    return result


def _load(now: datetime) -> Result:
    boards, _criteria = seed_structure()
    skills = {s.name: s for s in Skill.objects.all()}
    with transaction.atomic():
        users, logins = _people(boards, skills)
        clients = {
            name: Client.objects.get_or_create(name=name, defaults={"contact_email": email, "phone": phone})[0]
            for name, email, phone in CLIENTS
        }
    existing = set(Ticket.objects.filter(title__in=[s.title for s in TICKETS]).values_list("title", flat=True))
    created = 0
    for spec in TICKETS:
        if spec.title in existing:
            continue
        # One transaction per ticket: an interrupted load leaves whole tickets.
        with transaction.atomic():
            _open(spec, boards, clients, users, skills, now)
        created += 1
    return Result(logins=logins, tickets_created=created, tickets_skipped=len(TICKETS) - created)
