"""A believable demo desk: the seed's boards and criteria, a small MSP team,
its customers, about forty tickets of this week, and ninety days of history.

Every ticket is opened through ``routing.services.open_ticket`` and every
change of board, column or tier goes through ``move_ticket`` / ``facts_changed``,
back-dated with ``now=`` so timelines read like a real week and some Triage
clocks are close to (or past) their 30 active minutes when the demo starts, as
are NOC's urgent alerts to theirs (P1 15, P2 30; P3 and P4 have no limit).

The history (``_History``) is a few thousand older tickets written from a
seeded ``random.Random``: weekday rhythm, NOC alerts at night, and the paths
the Flow page measures — resolved on the front line, escalated by the
scheduler at a time limit (Triage's Tier 1, NOC's P1/P2), escalated by hand
or by a condition, onsite work handed back to NOC, user errors sent back to
Triage after senior technicians logged time on them, bounces, and a few
tickets still open or gone stale. It is played through the same services as
the tickets of this week.

Idempotent: people and clients are found by name, tickets by title, and the
history is one transaction that is skipped when any of its titles exists;
running it again creates nothing and changes nothing (passwords included).
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from calendars.models import Calendar
from calendars.seed import seed_calendars
from calendars.working import add_working_time, load_calendar, working_time_between
from intake.demo import ensure_demo_source
from routing import services
from routing.models import Criterion, Direction

from .models import MANAGERS_GROUP, TECHNICIANS_GROUP, Board, Client, Column, Skill, Technician, Ticket
from .roles import assign_role
from .seed import seed_structure
from .services import add_note, update_ticket

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
#   ("assign", who)                  hand the ticket to someone (after an escalation)
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
    # None: the front line logged it (Triage) or it arrived by itself (other
    # boards); "" : it arrived by itself (email, portal, monitoring).
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
            (m(4), ("column", "In progress", "priya")),
            (m(22), ("note", "priya", "VSS writer restarted; re-running the job manually.", 18)),
            # The re-run outlasts NOC's P2 limit: the scheduler hands it to Support.
            (m(30), ("timeout",)),
            (m(45), ("column", "In progress", "priya")),
            (h(1) + m(20), ("note", "priya", "The re-run failed on the same writer; rebuilding it after hours.", 30)),
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
            (m(3), ("column", "In progress", "sam")),
            (m(18), ("note", "sam", "PoE port is up, AP not. Power-cycled remotely: no luck. Needs hands on it.", 14)),
            (m(20), ("onsite", "sam")),  # inside NOC's P2 limit
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
        priority=P2,  # nobody on it yet: due in a quarter of an hour
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
    # NOC's P1 limit is 15 active minutes: this one is about to go to Support as the demo opens.
    Spec(
        "UPS on battery at Northwind warehouse",
        "noc",
        NW,
        m(13),
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


# --- Ninety days of history -----------------------------------------------------
#
# Older tickets for the Flow page's map and gauges. Catalogues of plausible
# titles per kind of work, then ``_History`` draws tickets day by day and
# writes each one's path as the same Specs and steps as the tickets above.

DEFAULT_HISTORY_DAYS = 90
# Any fixed number: the same tickets for the same ``now`` and number of days.
HISTORY_SEED = 8
# No history ticket opens in the last two hours: those belong to this week's
# hand-written tickets, whose clocks the demo shows running.
HISTORY_QUIET = h(2)
TIER1_LIMIT = m(30)
# NOC's urgent alerts get an on-call answer at any hour: a limit in active
# minutes per priority, then Support takes over. P3 and P4 alerts have none.
NOC_TIME_LIMIT = "NOC P1/P2 time limit"
NOC_LIMITS = {Ticket.Priority.P1: 15, Ticket.Priority.P2: 30}
RETURN_TO_SENDER = "Return to sender"
UNTOUCHED = "Untouched for 3 working days"
TIME_LIMIT_NOTE = "Time limit of {} active minutes reached."  # the sweep's words

T1 = ("tess", "jordan")
T2 = ("sam", "priya")

REQUESTERS = {
    HD: ("Dana Whitfield", "Tom Sheridan", "Lena Brooks", "Maria Santos"),
    CR: ("Glen Morrow", "Priscilla Nguyen", "Owen Price", "Ruth Calder"),
    NW: ("Kevin Strand", "Alicia Romero", "Dwayne Fox", "Rita Gomez"),
    BB: ("Renee Castillo", "Nadia Park", "Carl Jensen", "Ivy Chen"),
    AF: ("Marcus Bell", "Olivia Grant", "Hugo Alder", "Sofia Finch"),
    SV: ("Hannah Yoder", "Ana Ruiz", "Ben Carter", "Tasha Mills"),
}
HOSTS = {HD: "HDG", CR: "CRA", NW: "NWL", BB: "BPM", AF: "AFL", SV: "SVC"}
SITES = {
    HD: ("the Main Street clinic", "the Westbrook clinic"),
    CR: ("the main office", "the tax-season annex"),
    NW: ("the warehouse", "the dispatch office"),
    BB: ("the leasing office", "the maintenance shop"),
    AF: ("the main office", "the records room"),
    SV: ("the clinic", "the boarding kennels"),
}

# (title, description); {first}, {host}, {site} and {n} are filled in.
QUICK = [
    ("Password reset for {first}", "Forgot the password after a week off; locked out of everything."),
    ("{first} can't sign in to Microsoft 365", "Says the password is wrong, but it worked yesterday."),
    ("Outlook won't open for {first}", "Stuck on 'Loading profile'."),
    ("Add {first} to the team calendar", "Needs edit rights on the shared calendar."),
    ("{first} lost the icon for the scheduling app", "The shortcut vanished from the desktop."),
    ("Sign-in codes not arriving on {first}'s new phone", "The authenticator still points at the old phone."),
    ("Can't print PDFs from the browser", "Printing from Edge gives a blank page."),
    ("Teams microphone not working for {first}", "Nobody can hear them in meetings."),
    ("Mapped drive missing on {first}'s PC", "The S: drive is gone after a restart."),
    ("OneDrive not syncing for {first}", "Red cross on the OneDrive icon since Monday."),
    ("Unlock {first}'s account", "Too many wrong passwords this morning."),
    ("Email signature for {first}'s new title", "Promoted last week; the signature still says the old one."),
    ("Browser opens a strange search page", "The home page changed by itself."),
    ("{first} needs the billing folder", "The manager approved it by email."),
]
SLOW = [
    ("Laptop very slow since the update", "Ten minutes to boot and apps freeze."),
    ("Reporting add-in missing in {first}'s Excel", "The add-in disappeared from the ribbon."),
    ("Calendar invites not showing for {first}", "Invites arrive by email but never reach the calendar."),
    ("Wi-Fi drops in the conference room at {site}", "Laptops lose Wi-Fi every few minutes in the big room."),
]
DEEP = [
    ("VPN won't connect from home for {first}", "Error 809 since the home router was replaced."),
    ("Mail to one client's domain bounces", "Every message to them comes back with a 550."),
    ("Scheduling app crashes on launch at {site}", "Crashes on three PCs since the vendor's update."),
    ("Share permissions broken after the reorg", "The whole department gets 'access denied'."),
    ("Teams calls drop for outside callers at {site}", "Calls with customers drop after a few minutes."),
    ("Everything on the S: drive is slow", "Opening any file on the share takes a minute."),
]
# (title, description, what the senior technician found)
USER_ERROR = [
    (
        "Files missing from the shared drive",
        "A whole folder of client files is gone.",
        "the folder had been dragged into a subfolder",
    ),
    (
        "No new email for {first}",
        "Nothing since yesterday afternoon.",
        "an inbox rule {first} made moved everything to an archive folder",
    ),
    (
        "Printer prints gibberish for {first}",
        "Pages of random characters.",
        "{first} was printing to the old printer's driver",
    ),
    (
        "{first}'s keyboard types the wrong characters",
        '@ and " are swapped.',
        "the keyboard layout had been switched to UK with Alt+Shift",
    ),
    (
        "{first}'s laptop won't charge",
        "Battery at 3% and not charging.",
        "the power strip under the desk was switched off",
    ),
    (
        "Second monitor blank at {first}'s desk",
        "'No signal' on the second screen.",
        "the monitor's input was set to HDMI instead of DisplayPort",
    ),
    ("Outlook says {first}'s mailbox is full", "Can't send mail.", "15 GB sat in Deleted Items"),
    (
        "Attachments open in the wrong app",
        "Every PDF opens in the photo viewer.",
        "the default app for PDFs had been changed",
    ),
    (
        "Practice app says the licence expired",
        "The app won't start for {first}.",
        "{first} was launching an old copy instead of the server shortcut",
    ),
]
ONSITE = [
    ("Docking station dead at {first}'s desk", "No screens and no network through the dock."),
    ("Network jack dead in the back office at {site}", "Nothing lights up on the wall port."),
    ("Desk phone has no dial tone", "The handset shows 'No service'."),
    ("Receipt printer at {site} jammed for good", "Feeds nothing; blinking orange."),
    ("New workstation to set up for {first}", "The hardware arrived; needs unboxing and connecting."),
    ("Meeting room screen at {site} shows no signal", "No signal on any input."),
    ("Card reader at reception stopped working", "Payments failing at the front desk."),
]
SKILLED = [
    ("Allow the new vendor's IP through the firewall", "The lab equipment vendor needs remote access."),
    ("Port forward for the camera system at {site}", "The security company asks for a port forward."),
    ("Site-to-site VPN to {site} is down", "The site can't reach the main office's server."),
    ("Block a phishing domain at the firewall", "Several users received the same phishing mail."),
]
ALERTS = [
    ("Backup job failed on {host}-FS01", "Nightly image backup ended with errors."),
    ("Disk space low on {host}-FS01 (92% used)", "Volume D: crossed the 90% threshold."),
    ("{host}-DC01 not responding to ping", "Host unreachable for 5 minutes."),
    ("High CPU on {host}-APP01 for 15 minutes", "CPU above 95% since the nightly job."),
    ("Windows updates failed on {n} workstations at {host}", "The cumulative update rolled back."),
    ("Antivirus definitions out of date on {host}-PC0{n}", "Definitions older than three days."),
    ("Certificate for the {host} portal expires in 14 days", "Renew before it lapses."),
    ("Nightly sync task failed on {host}-APP01", "Scheduled task ended with exit code 1."),
    ("Firewall CPU at 90% at {site}", "Sustained for ten minutes."),
]
ALERTS_ONSITE = [
    ("UPS on battery at {site}", "Mains power lost; 22 minutes of runtime left."),
    ("Switch port flapping at {site}", "Port 12 went up and down 40 times in an hour."),
    ("RAID degraded on {host}-FS01", "Disk 3 failed; no hot spare."),
    ("Access point offline at {site}", "AP-2 not seen by the controller for 30 minutes."),
    ("WAN link down at {site}", "Primary circuit down; running on the LTE backup."),
]
ALERTS_FOR_A_USER = [
    ("Mailbox almost full for {first}", "98% of quota; mail will bounce soon."),
    ("Repeated failed sign-ins for {first}", "40 failed sign-ins from two countries overnight."),
    ("{first}'s laptop missed backups for 7 days", "The backup agent hasn't checked in."),
    ("Disk health warning on {first}'s laptop", "SMART predicts a failure; needs a swap with the user."),
]
PROJECTS = [
    ("Onboard {n} new laptops", "Image, enrol and hand out."),
    ("Replace the aging NAS at {site}", "Out of warranty; the quote is approved."),
    ("Move the {site} file share to SharePoint", "Phase 1: finance and HR."),
    ("Network health check at {site}", "Firewall rules, Wi-Fi survey, restore test."),
    ("Upgrade firewall firmware at {site}", "Two major versions behind."),
    ("Plan the Windows 11 rollout", "Inventory, compatibility check, pilot group."),
    ("New printer for {site}", "A leased multifunction printer arrives on Tuesday."),
    ("Offboard {first}", "Last day on Friday: disable accounts, keep the mailbox 30 days."),
    ("Microsoft 365 licence true-up", "Annual count of seats against the invoice."),
]

NOTES = {
    "fixed": (
        "Fixed on a remote session; the user confirmed.",
        "Walked the user through it on the phone.",
        "Reset it and confirmed sign-in with the user.",
        "Sorted; the user tested while I watched.",
    ),
    "ask": ("Asked the user for a screenshot of the error.", "Asked the user to try again after a restart."),
    "tried": (
        "Tried the usual fixes; no luck yet.",
        "Rebuilt the profile; still failing.",
        "Reproduced it; needs more digging than the front line can give it.",
    ),
    "beyond": (
        "Reproduced on two machines; not a desktop problem.",
        "Looks like something on the server side.",
        "Past what I can check from here.",
    ),
    "investigate": (
        "Went through the logs with the user on a call.",
        "Remote session: collected the details and a trace.",
        "Checked the server side; narrowing it down.",
    ),
    "solved": (
        "Root cause found and fixed; the user confirmed.",
        "Changed the configuration and tested with the user.",
        "Vendor patch applied; working again.",
    ),
    "onsite": (
        "Onsite: replaced the unit and tested.",
        "Onsite: re-terminated the cable; link up at 1 Gbps.",
        "Onsite: swapped the hardware; everything back up.",
    ),
    "monitor": (
        "Monitored for a day; stable. Closing.",
        "Remote checks all green after the visit.",
        "Alerting tuned; nothing since the visit.",
    ),
    "noc": (
        "Cleared the alert; cause noted on the asset.",
        "Restarted the service; the alert cleared.",
        "Freed space by rotating old logs.",
        "Re-ran the job; it completed.",
    ),
    "confirm": ("Confirmed with the user; all good.", "Showed the user what happened; closing."),
    "project": (
        "Prepared the plan and sent it to the client.",
        "First batch done; next one after their sign-off.",
        "Worked through the checklist with the office manager.",
    ),
}


def _draw_count(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth): days vary the way real days do."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p < limit:
            return k
        k += 1


# Relative weights by hour of the day, local time.
HOURLY = {
    "triage": [0.05] * 7 + [0.5, 1.6, 2.2, 2.0, 1.8, 1.0, 1.6, 1.7, 1.5, 1.1, 0.5, 0.15] + [0.08] * 5,
    "noc": [0.8, 1.2, 1.8, 2.0, 1.6, 1.0, 0.9] + [1.2] * 11 + [0.9] * 6,
    "support": [0] * 8 + [1.0, 1.5, 1.5, 1.2, 0.6, 1.2, 1.3, 1.2, 1.0, 0.4] + [0] * 6,
}
# Tickets a day, weekday and weekend.
PER_DAY = {"triage": (24, 3), "noc": (9, 6), "support": (4, 0.3)}


@dataclass
class _Draft:
    """A history ticket being written: where its clock stands and its steps so far.

    ``active`` mirrors the service's clock on the board the ticket is on (time
    in its new and active columns on this visit, counted in that board's
    working hours by the same ``calendars.working`` the services use), so the
    draft knows when that board's time limit fires for the ticket and keeps
    every step there before it. ``limit`` is None where no time limit applies
    (Support; NOC's P3 and P4): there the clock needs no keeping.
    """

    opened_at: datetime
    t: datetime
    priority: int = Ticket.Priority.P3
    calendar: Calendar | None = None  # the board's, as it is when the history plays (None: wall time)
    limit: timedelta | None = None
    assignee: str | None = None
    owner: str | None = None  # the assignee from the start, if any
    active: timedelta = timedelta(0)
    steps: list[tuple[timedelta, Step]] = field(default_factory=list)

    @property
    def left(self) -> timedelta:
        """Active time left before the limit fires."""
        return self.limit - self.active

    def arrive(self, calendar: Calendar | None, limit: timedelta | None) -> None:
        """On a new board: a new clock, on its calendar and with its limit for this ticket."""
        self.calendar, self.limit, self.active = calendar, limit, timedelta(0)

    def on_clock(self, span: timedelta) -> None:
        """``span`` of wall time passes with the clock running: only its working part counts."""
        self.active += working_time_between(self.calendar, self.t, self.t + span)
        self.t += span

    def later(self, span: timedelta) -> None:
        self.t += span

    def add(self, *step) -> None:
        self.steps.append((self.t - self.opened_at, step))

    def take(self, column: str, who: str) -> None:
        """``who`` takes the ticket (if it is someone else's) and moves it to ``column``."""
        if self.assignee not in (None, who):
            self.add("assign", who)
        self.add("column", column, who)
        self.assignee = who

    def criterion(self, name: str, who: str, note: str) -> None:
        self.add("criterion", name, who, note)

    def time_limit(self) -> None:
        """Nobody finished in time: the scheduler escalates at the deadline (in working time)."""
        self.t = add_working_time(self.calendar, self.t, self.left)
        self.add("timeout")


class _History:
    """Writes ``days`` of plausible history before ``now`` as Specs.

    Deterministic: one seeded Random drawn in a fixed order, so the same
    ``now`` and ``days`` give the same tickets. Steps that would fall after
    ``now`` are left out: those tickets are simply still open.
    """

    def __init__(
        self, now: datetime, days: int, triage_hours: Calendar | None = None, noc_hours: Calendar | None = None
    ):
        self.now = now
        self.days = days
        self.rng = random.Random(HISTORY_SEED)
        # Triage (Tier 1) and NOC (its P1 and P2) have time limits, so their
        # clocks are drafted, on the calendars they will be played on. A
        # calendar never changes what is drawn, only when a limit falls: the
        # same titles (``within`` draws a share, not a number in a range).
        self.hours = {"triage": triage_hours, "noc": noc_hours}

    def specs(self) -> list[Spec]:
        rng = self.rng
        tz = timezone.get_current_timezone()
        first_day = timezone.localtime(self.now - d(self.days), tz).date()
        start, end = self.now - d(self.days), self.now - HISTORY_QUIET
        drafted = []
        for offset in range(self.days + 1):
            day = first_day + timedelta(days=offset)
            midnight = datetime.combine(day, time(0), tzinfo=tz)
            weekend = day.weekday() >= 5
            for board, write in (("noc", self._noc), ("triage", self._triage), ("support", self._support_work)):
                weekday_mean, weekend_mean = PER_DAY[board]
                for _ in range(_draw_count(rng, weekend_mean if weekend else weekday_mean)):
                    hour = rng.choices(range(24), weights=HOURLY[board])[0]
                    opened_at = midnight + timedelta(hours=hour, seconds=rng.randrange(3600))
                    spec = write(opened_at)  # drawn even when out of range: the draws stay in step
                    if start <= opened_at <= end:
                        drafted.append((opened_at, spec))
        drafted.sort(key=lambda pair: pair[0])
        return [spec for _, spec in drafted]

    # --- Helpers -------------------------------------------------------------

    def minutes(self, low: float, high: float) -> timedelta:
        return timedelta(seconds=self.rng.randint(int(low * 60), int(high * 60)))

    def staffed(self, t: datetime) -> datetime:
        """``t`` if someone is at their desk then (weekdays 8:00–18:00), else soon after 8:00 next working day."""
        local = timezone.localtime(t)
        if local.weekday() < 5 and 8 <= local.hour < 18:
            return t
        day = local.date()
        if (local.weekday() < 5 and local.hour >= 18) or local.weekday() >= 5:
            day += timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return datetime.combine(day, time(8), tzinfo=local.tzinfo) + self.minutes(0, 50)

    def later_staffed(self, draft: _Draft, low: timedelta, high: timedelta) -> None:
        seconds = self.rng.randint(int(low.total_seconds()), int(high.total_seconds()))
        draft.t = self.staffed(draft.t + timedelta(seconds=seconds))

    def note(self, draft: _Draft, who: str, kind: str, minutes: float | None = None, body: str = "") -> None:
        body = body or self.rng.choice(NOTES[kind])
        draft.add("note", who, body, max(1, round(minutes)) if minutes is not None else 0)

    def spec(self, draft: _Draft, board: str, template: tuple, **fields) -> Spec:
        rng = self.rng
        client = rng.choice(list(REQUESTERS))
        requester = rng.choice(REQUESTERS[client])
        words = {
            "first": requester.split()[0],
            "host": HOSTS[client],
            "site": rng.choice(SITES[client]),
            "n": rng.randint(2, 9),
        }
        kept = [(offset, step) for offset, step in draft.steps if draft.opened_at + offset <= self.now]
        return Spec(
            template[0].format(**words),
            board,
            client,
            self.now - draft.opened_at,
            requester,
            template[1].format(**words),
            steps=kept,
            **fields,
        )

    def priority(self, weights=(4, 18, 58, 20)) -> int:
        return self.rng.choices((P1, P2, P3, P4), weights=weights)[0]

    def draft(self, opened_at: datetime, board: str, priority: int) -> _Draft:
        draft = _Draft(opened_at, opened_at, priority)
        self.arrive(draft, board)
        return draft

    def arrive(self, draft: _Draft, board: str) -> None:
        """The ticket arrives on ``board``: a new clock, with the limit the seed's criteria give it there."""
        limit = {"triage": TIER1_LIMIT, "noc": m(NOC_LIMITS.get(draft.priority, 0)) or None}.get(board)
        draft.arrive(self.hours.get(board), limit)

    def within(self, draft: _Draft, low: float, high: float) -> timedelta:
        """A stretch of low–high minutes with the clock running that ends a minute or more before the limit.

        A share of the range is drawn, so the draws are the same whatever
        the calendar makes of the time left.
        """
        room = max(0.0, (draft.left - m(1)).total_seconds() / 60)
        low, high = min(low, room), min(high, room)
        return timedelta(seconds=round((low + (high - low) * self.rng.random()) * 60))

    # --- Triage: the front line ----------------------------------------------

    TRIAGE_PATHS = {
        "quick": 52,
        "breach": 12,
        "breach_user_error": 4,
        "hand": 9,
        "hand_user_error": 6,
        "onsite": 7,
        "skill": 3,
        "bounce": 3,
        "stale": 0.5,
    }

    def _triage(self, opened_at: datetime) -> Spec:
        rng = self.rng
        # The priority first: should the ticket reach NOC after an onsite visit, its limit there follows it.
        draft = self.draft(opened_at, "triage", self.priority())
        staffed = self.staffed(opened_at) == opened_at
        if staffed:
            path = rng.choices(list(self.TRIAGE_PATHS), weights=list(self.TRIAGE_PATHS.values()))[0]
            source = rng.choices((S.PHONE, S.EMAIL, S.PORTAL, S.WALK_IN), weights=(45, 35, 17, 3))[0]
        else:
            # Evening and weekend mail waits in New; the clock does not.
            path = rng.choices(("breach", "breach_user_error"), weights=(88, 12))[0]
            source = rng.choice((S.EMAIL, S.PORTAL))
        t1 = rng.choices(T1, weights=(55, 45))[0]
        template = {
            "quick": QUICK,
            "stale": QUICK,
            "breach": QUICK + SLOW,
            "hand": DEEP,
            "onsite": ONSITE,
            "skill": SKILLED,
        }.get(path, USER_ERROR)
        template = rng.choice(template)
        cause = template[2] if len(template) > 2 else ""
        worked = staffed and rng.random() < 0.7

        if path == "quick":
            self._quick_fix(draft, t1, source in (S.PHONE, S.WALK_IN))
        elif path == "stale":
            draft.on_clock(self.minutes(1, 10))
            draft.take("In progress", t1)
            draft.on_clock(self.minutes(2, 8))
            self.note(draft, t1, "ask", 5)
            draft.add("column", "Waiting on customer", t1)  # …and the user never wrote back
        elif path in ("breach", "breach_user_error"):
            if worked:
                draft.on_clock(self.minutes(1, 10))
                draft.take("In progress", t1)
                spent = self.minutes(5, 27 - draft.active.total_seconds() / 60)
                draft.on_clock(spent)
                self.note(draft, t1, "tried", spent.total_seconds() / 60)
            draft.time_limit()
            self._senior(draft, 2, "user_error" if path == "breach_user_error" else self._outcome(), cause)
        else:
            draft.on_clock(self.minutes(1, 8))
            draft.take("In progress", t1)
            spent = self.minutes(4, 16)
            draft.on_clock(spent)
            self.note(draft, t1, "tried", spent.total_seconds() / 60)
            draft.on_clock(self.minutes(0.2, 1))
            if path == "onsite":
                draft.add("onsite", t1)  # the Needs onsite visit condition moves it
                self._senior(draft, 2, "onsite", tech="sam")
            elif path == "skill":
                draft.add("skill", "Firewall", t1)  # nobody on Triage has it: a condition moves it
                self._senior(draft, 2, rng.choices(("tier3", "resolve"), weights=(70, 30))[0])
            else:
                draft.criterion("Beyond this tier", t1, rng.choice(NOTES["beyond"]))
                if path == "hand":
                    self._senior(draft, 2, self._outcome())
                elif path == "hand_user_error":
                    outcome = rng.choices(("user_error", "tier3_user_error"), weights=(80, 20))[0]
                    self._senior(draft, 2, outcome, cause)
                else:  # bounce: back to Triage as user error, then it turns out it was not
                    self._senior(draft, 2, "user_error", cause, back_again=True)
        return self.spec(
            draft,
            "triage",
            template,
            source=source,
            priority=draft.priority,
            assignee=draft.owner,
            opened_by=t1 if source in (S.PHONE, S.WALK_IN) else "",
        )

    def _outcome(self) -> str:
        return self.rng.choices(("resolve", "tier3", "stale"), weights=(75, 24, 0.6))[0]

    def _quick_fix(self, draft: _Draft, t1: str, on_the_phone: bool) -> None:
        if on_the_phone and self.rng.random() < 0.4:
            # Fixed during the call: logged and resolved without leaving New.
            draft.owner = draft.assignee = t1
            work = self.minutes(2, 20)
            draft.on_clock(work)
            self.note(draft, t1, "fixed", work.total_seconds() / 60)
            draft.add("resolve", t1)
            return
        draft.on_clock(self.minutes(1, 10))
        draft.take("In progress", t1)
        if self.rng.random() < 0.25:
            asked = self.minutes(2, 8)
            draft.on_clock(asked)
            self.note(draft, t1, "ask", asked.total_seconds() / 60)
            draft.add("column", "Waiting on customer", t1)  # the clock pauses
            self.later_staffed(draft, m(30), h(26))
            draft.add("column", "In progress", t1)
        left = 26 * 60 - int(draft.active.total_seconds())
        work = timedelta(seconds=self.rng.randint(120, max(180, left)))
        draft.on_clock(work)
        self.note(draft, t1, "fixed", work.total_seconds() / 60)
        draft.on_clock(timedelta(seconds=30))
        draft.add("resolve", t1)

    def _back_on_triage(self, draft: _Draft, then: str = "resolve") -> None:
        """The ticket came (back) to Triage at tier 1: someone there takes it."""
        self.arrive(draft, "triage")
        t1 = self.rng.choice(T1)
        draft.on_clock(self.minutes(2, 12))
        draft.take("In progress", t1)
        spent = self.minutes(3, 12)
        draft.on_clock(spent)
        if then == "resolve":
            self.note(draft, t1, "confirm", spent.total_seconds() / 60)
            draft.on_clock(timedelta(seconds=30))
            draft.add("resolve", t1)
        elif then == "again":
            self.note(draft, t1, "", spent.total_seconds() / 60, "Came back: still happening after the fix.")
            draft.criterion("Beyond this tier", t1, "Not user error after all; back to Support.")
            self._senior(draft, 2, self.rng.choice(("resolve", "onsite")), tech="sam")
        else:  # the user can't be reached before the limit
            self.note(draft, t1, "", spent.total_seconds() / 60, "Left a voicemail for the user.")
            draft.time_limit()
            self._senior(draft, 2, "resolve")

    # --- Support: depth ------------------------------------------------------

    def _senior(
        self, draft: _Draft, tier: int, outcome: str, cause: str = "", tech: str | None = None, back_again=False
    ) -> None:
        """The ticket arrived on Support at ``tier``: a senior technician works it to ``outcome``."""
        rng = self.rng
        self.arrive(draft, "support")
        tech = tech or ("rex" if tier == 3 else rng.choice(T2))
        self.later_staffed(draft, m(10), m(150))
        draft.take("In progress", tech)
        if rng.random() < 0.5:
            self.later_staffed(draft, m(20), h(3))
            self.note(draft, tech, "investigate", rng.randint(15, 60))
        if outcome in ("resolve", "tier3") and rng.random() < 0.25:
            draft.add("column", "Waiting on customer", tech)
            self.later_staffed(draft, h(2), h(72))
            draft.add("column", "In progress", tech)
        if outcome == "stale":
            return  # …and nobody has touched it since
        self.later_staffed(draft, m(20), h(4))
        if outcome == "resolve":
            self.note(draft, tech, "solved", rng.randint(20, 120))
            draft.later(timedelta(seconds=30))
            draft.add("resolve", tech)
        elif outcome in ("tier3", "tier3_user_error"):
            self.note(draft, tech, "investigate", rng.randint(20, 90))
            draft.later(timedelta(seconds=30))
            draft.criterion("Beyond this tier (Support tier 2 → 3)", tech, "Needs a senior engineer.")
            self._senior(draft, 3, "user_error" if outcome == "tier3_user_error" else "resolve", cause)
        elif outcome == "user_error":
            found = cause.format(first="the user")
            minutes = rng.randint(15, 120)
            self.note(draft, tech, "", minutes, f"Found it: {found}. Triage to confirm with the user.")
            draft.later(timedelta(seconds=30))
            draft.criterion("User error discovered", tech, f"User error: {found}.")
            self._back_on_triage(draft, "again" if back_again else "resolve")
        elif outcome == "onsite":
            draft.add("column", "Scheduled / Onsite", tech)
            self.later_staffed(draft, h(14), h(40))
            draft.add("column", "In progress", tech)
            visit = self.minutes(45, 180)
            draft.later(visit)
            self.note(draft, tech, "onsite", visit.total_seconds() / 60)
            draft.later(timedelta(seconds=30))
            draft.criterion("Onsite complete", tech, "Onsite part done; NOC to watch it remotely.")
            self._noc_after_visit(draft, back_again)

    def _support_work(self, opened_at: datetime) -> Spec:
        """Work opened on Support itself: projects, planned changes."""
        rng = self.rng
        draft = self.draft(opened_at, "support", self.priority((1, 12, 52, 35)))
        tier = 3 if rng.random() < 0.25 else 2
        tech = "rex" if tier == 3 else rng.choice(T2)
        draft.assignee = tech
        path = rng.choices(("project", "tier3", "onsite", "stale"), weights=(70, 13 if tier == 2 else 0, 12, 1.5))[0]
        self.later_staffed(draft, h(1), h(30))
        draft.add("column", "In progress", tech)
        for _ in range(rng.randint(1, 3)):
            self.later_staffed(draft, h(2), h(50))
            self.note(draft, tech, "project", rng.randint(30, 240))
        if path != "stale" and rng.random() < 0.3:
            draft.add("column", "Waiting on customer", tech)
            self.later_staffed(draft, d(1), d(6))
            draft.add("column", "In progress", tech)
        if path == "project":
            self.later_staffed(draft, h(1), h(30))
            self.note(draft, tech, "solved", rng.randint(30, 180))
            draft.later(timedelta(seconds=30))
            draft.add("resolve", tech)
        elif path == "tier3":
            self.later_staffed(draft, h(1), h(30))
            draft.criterion("Beyond this tier (Support tier 2 → 3)", tech, "Needs a senior engineer.")
            self._senior(draft, 3, "resolve")
        elif path == "onsite":
            draft.later(m(5))
            self._senior_visit(draft, tech)
        return self.spec(
            draft,
            "support",
            rng.choice(PROJECTS),
            source=rng.choice((S.EMAIL, S.PORTAL, S.PHONE)),
            priority=draft.priority,
            tier=tier,
            assignee=tech,
            opened_by=tech,
        )

    def _senior_visit(self, draft: _Draft, tech: str) -> None:
        draft.add("column", "Scheduled / Onsite", tech)
        self.later_staffed(draft, h(14), h(60))
        draft.add("column", "In progress", tech)
        visit = self.minutes(60, 240)
        draft.later(visit)
        self.note(draft, tech, "onsite", visit.total_seconds() / 60)
        draft.later(timedelta(seconds=30))
        draft.criterion("Onsite complete", tech, "Installed; NOC to monitor it.")
        self._noc_after_visit(draft)

    # --- NOC: remote, automated, at any hour ---------------------------------
    #
    # A P3 or P4 alert has no limit: it waits for office hours like any work.
    # A P1 or P2 one is on NOC's clock (NOC_LIMITS, around the clock): the
    # on-call technician takes it within minutes, and it is fixed, parked with
    # the vendor (the clock pauses) or handed on before the limit — or the
    # scheduler sends it to Support at the deadline.

    NOC_PATHS = {"fix": 72, "onsite": 10, "user": 12, "bounce": 4, "stale": 0.8}
    URGENT_NOC_PATHS = {"fix": 64, "breach": 14, "onsite": 10, "user": 6, "bounce": 4, "stale": 0.8}

    def _noc(self, opened_at: datetime) -> Spec:
        rng = self.rng
        draft = self.draft(opened_at, "noc", self.priority((6, 30, 54, 10)))
        urgent = draft.limit is not None
        paths = self.URGENT_NOC_PATHS if urgent else self.NOC_PATHS
        path = rng.choices(list(paths), weights=list(paths.values()))[0]
        tech = rng.choice(T2)
        template = rng.choice(
            {"fix": ALERTS, "stale": ALERTS, "breach": ALERTS, "user": ALERTS_FOR_A_USER}.get(path, ALERTS_ONSITE)
        )
        self._noc_pick_up(draft, tech)
        if path in ("fix", "stale"):
            if path == "stale" or rng.random() < 0.15:
                self._noc_work(draft, 5, 40, 2, 5)
                self.note(draft, tech, "", 10, "Case opened with the vendor.")
                draft.add("column", "Waiting on vendor", tech)  # the clock pauses
                if path == "stale":
                    return self._alert_spec(draft, template)
                self.later_staffed(draft, h(1) if urgent else h(4), h(12) if urgent else h(72))
                draft.add("column", "In progress", tech)
            work = self._noc_work(draft, 5, 60, 3, 25, staffed=False)
            self.note(draft, tech, "noc", work.total_seconds() / 60)
            self._noc_step(draft, timedelta(seconds=30))
            draft.add("resolve", tech)
        elif path == "breach":
            work = self.within(draft, 3, 12)
            draft.on_clock(work)
            self.note(draft, tech, "", work.total_seconds() / 60, "Remote checks and a restart did not clear it.")
            draft.time_limit()
            self._senior(draft, 2, self._outcome())
        elif path == "user":
            self._noc_work(draft, 5, 40, 2, 10)
            self.note(draft, tech, "", 10, "Needs a word with the user.")
            draft.criterion("User-facing follow-up", tech, "The user has to act on this; over to Triage.")
            self._back_on_triage(draft, rng.choices(("resolve", "breach"), weights=(80, 20))[0])
        else:
            self._noc_work(draft, 10, 60, 3, 12)
            self.note(draft, tech, "", 15, "Remote checks done; this needs hands on site.")
            draft.add("onsite", tech)  # the NOC's Needs onsite visit condition moves it
            self._senior(draft, 2, "onsite", tech="sam", back_again=path == "bounce")
        return self._alert_spec(draft, template)

    def _noc_pick_up(self, draft: _Draft, tech: str) -> None:
        """``tech`` takes the alert: the on-call technician within minutes if it has a limit, else in office hours."""
        if draft.limit is None:
            self.later_staffed(draft, m(2), m(90))
        else:
            draft.on_clock(self.within(draft, 1, 6))
        draft.take("In progress", tech)

    def _noc_work(
        self, draft: _Draft, low: float, high: float, urgent_low: float, urgent_high: float, *, staffed: bool = True
    ) -> timedelta:
        """Time on NOC: low–high minutes (ending in office hours if ``staffed``), or with a limit,
        urgent_low–urgent_high minutes on the clock, ending before the limit."""
        if draft.limit is None:
            span = self.minutes(low, high)
            draft.t = self.staffed(draft.t + span) if staffed else draft.t + span
            return span
        span = self.within(draft, urgent_low, urgent_high)
        draft.on_clock(span)
        return span

    def _noc_step(self, draft: _Draft, span: timedelta) -> None:
        """A moment's pause before the next step, on the clock where it counts."""
        if draft.limit is None:
            draft.later(span)
        else:
            draft.on_clock(span)

    def _noc_after_visit(self, draft: _Draft, again: bool = False) -> None:
        """Back on NOC after the onsite part: watch it remotely, then close (or it fails again).

        With a limit, the on-call technician checks it at once and closes it
        (or sends it back) before the limit; else it is watched for a while.
        """
        tech = self.rng.choice(T2)
        self.arrive(draft, "noc")
        urgent = draft.limit is not None
        if urgent:
            self._noc_pick_up(draft, tech)
        else:
            self.later_staffed(draft, m(10), h(4))
            draft.take("In progress", tech)
        if again:
            self._noc_work(draft, h(2).total_seconds() / 60, h(20).total_seconds() / 60, 2, 10)
            if urgent:
                self.note(draft, tech, "", 10, "Still dropping after the visit; needs another one.")
            else:
                self.note(draft, tech, "", 10, "Dropped again overnight; needs another visit.")
            draft.add("onsite", tech)  # still needs onsite: the NOC condition sends it back
            self._senior(draft, 2, "resolve", tech="sam")
            return
        work = self._noc_work(draft, 30, h(24).total_seconds() / 60, 3, 12)
        if urgent:
            self.note(draft, tech, "", work.total_seconds() / 60, "Remote checks all green after the visit.")
        else:
            self.note(draft, tech, "monitor", self.rng.randint(5, 30))
        self._noc_step(draft, timedelta(seconds=30))
        draft.add("resolve", tech)

    def _alert_spec(self, draft: _Draft, template: tuple) -> Spec:
        spec = self.spec(draft, "noc", template, source=S.MONITORING, priority=draft.priority, opened_by="")
        spec.requester = "Backup alert" if spec.title.startswith("Backup") else "RMM alert"
        return spec


# --- Playing the specs through the services --------------------------------------


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
    history_created: int = 0
    history_skipped: bool = False
    history_problem: str = ""


def _people(boards, skills) -> tuple[dict[str, User], list[Login]]:
    users, logins = {}, []
    # One hash for every demo account: they share a password printed on the
    # screen anyway, and each hash costs a third of a second or more.
    password = None
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
            password = password or make_password(DEMO_PASSWORD)
            user.password = password
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


class _Player:
    """Opens Specs and plays their steps through the routing and board services.

    Boards, columns, criteria, people and skills are looked up once and reused,
    and the ticket each service call returns is carried to the next step, so a
    step costs only what the service itself costs.
    """

    def __init__(self, boards: dict[str, Board], criteria: dict[str, Criterion], clients, users, skills):
        self.boards, self.criteria, self.clients, self.users, self.skills = boards, criteria, clients, users, skills
        self.criteria_by_pk = {c.pk: c for c in criteria.values()}
        by_pk = {board.pk: board for board in boards.values()}
        columns = sorted(Column.objects.filter(board__in=list(by_pk)), key=lambda c: (c.position, c.pk))
        self.columns, self.entry, self.done = {}, {}, {}
        for column in columns:
            column.board = by_pk[column.board_id]
            self.columns[column.board_id, column.name] = column
            if column.is_done:
                self.done.setdefault(column.board_id, column)
        for pk in by_pk:
            on_board = [c for c in columns if c.board_id == pk]
            new = [c for c in on_board if c.category == Column.Category.NEW]
            self.entry[pk] = (new or on_board)[0]

    def open(self, spec: Spec, now: datetime, *, history: bool = False) -> Ticket:
        """Open one ticket and play its steps.

        A ``history`` ticket is held to its plan: every step must come before
        the time limit fires, a planned timeout must fall on the deadline, and
        a time limit that passed after its last step is fired (the scheduler
        would have). A hand-written ticket of this week plays as written.
        """
        opened_at = now - spec.ago
        board = self.boards[spec.board]
        ticket = Ticket(
            title=spec.title,
            description=spec.description,
            requester_name=spec.requester,
            requester_email="" if spec.source == Ticket.Source.MONITORING else _email(spec.requester, spec.client),
            client=self.clients[spec.client],
            priority=spec.priority,
            source=spec.source,
            board=board,
            column=self.entry[board.pk],
            tier=spec.tier,
            assignee=self.users.get(spec.assignee) if spec.assignee else None,
        )
        # Monitoring alerts and mail arrive by themselves (no actor); the front
        # line logs calls as they come in.
        opened_by = spec.opened_by
        if opened_by is None:
            opened_by = spec.assignee or "tess" if spec.board == "triage" else ""
        services.open_ticket(ticket, actor=self.users.get(opened_by), now=opened_at, notify=False)

        last = opened_at
        for offset, step in spec.steps:
            at = opened_at + offset
            if not last <= at <= now:
                raise ValueError(f"Demo ticket {spec.title!r}: steps must run in order and not in the future.")
            last = at
            ticket = self.play(ticket, step, at, spec.title, strict=history)
        if history and ticket.deadline_at is not None and ticket.deadline_at <= now:
            # The history stopped short of this ticket's end, and the
            # scheduler has since done what it does at the deadline.
            ticket = self.play(ticket, ("timeout",), ticket.deadline_at, spec.title, strict=True)
        return ticket

    def play(self, ticket: Ticket, step: Step, at: datetime, title: str, *, strict: bool = False) -> Ticket:
        """Play one step at ``at``; return the ticket as it is afterwards."""
        kind, *args = step
        if strict and kind != "timeout" and ticket.deadline_at is not None and ticket.deadline_at <= at:
            raise ValueError(f"Demo ticket {title!r}: the time limit fires before {step!r}; the scheduler goes first.")
        move = None
        if kind == "column":
            name, who = args
            move = self._move(ticket, who, at, to_column=self.columns[ticket.board_id, name])
            ticket = move.ticket if move else ticket
            if ticket.assignee_id is None:
                ticket = self._assign(ticket, who)
            return ticket
        if kind == "criterion":
            name, who, note = args
            move = self._move(ticket, who, at, criterion=self.criteria[name], note=note)
        elif kind == "timeout":
            criterion = self.criteria_by_pk.get(ticket.deadline_criterion_id)
            if criterion is None or (strict and abs(ticket.deadline_at - at) > timedelta(seconds=1)):
                raise ValueError(f"Demo ticket {title!r}: no time limit fires at {at:%Y-%m-%d %H:%M}.")
            move = services.move_ticket(
                ticket.pk,
                actor=None,
                expected_version=None,
                criterion=criterion,
                note=TIME_LIMIT_NOTE.format(criterion.limit_for(ticket.priority)),
                now=ticket.deadline_at,
                notify=False,
            )
        elif kind in ("onsite", "skill"):
            if kind == "onsite":
                (who,) = args
                # A fact, not a move: boards.services.update_ticket would write it
                # but always notifies, and replayed history must not.
                Ticket.objects.filter(pk=ticket.pk).update(needs_onsite=True)
                ticket.needs_onsite = True
            else:
                name, who = args
                ticket.required_skills.add(self.skills[name])
            move = services.facts_changed(ticket, actor=self.users[who], now=at, notify=False)
        elif kind == "resolve":
            (who,) = args
            move = self._move(ticket, who, at, to_column=self.done[ticket.board_id])
        elif kind == "note":
            who, body, minutes_worked = args
            add_note(ticket, author=self.users[who], body=body, minutes_worked=minutes_worked, now=at)
        elif kind == "assign":
            (who,) = args
            return self._assign(ticket, who)
        else:
            raise ValueError(f"Unknown demo step {kind!r}")
        return move.ticket if move else ticket

    def _move(self, ticket: Ticket, who: str, at: datetime, **how):
        return services.move_ticket(
            ticket.pk, actor=self.users[who], expected_version=None, now=at, notify=False, **how
        )

    def _assign(self, ticket: Ticket, who: str) -> Ticket:
        user = self.users[who]
        update_ticket(ticket, actor=user, expected_version=None, assignee=user)
        ticket.assignee = user
        return ticket


def history_loaded(specs: list[Spec]) -> bool:
    """Whether (some of) this history is on the desk already: it is then left as it is."""
    return Ticket.objects.filter(title__in={s.title for s in specs}).exists()


def _load_history(
    player: _Player,
    history: list[Spec],
    now: datetime,
    progress: Callable[[int, int], None] | None,
    chunk: int,
) -> tuple[bool, int, str]:
    """Write the history; return (skipped, tickets written, problem).

    Without ``chunk``, one transaction: the history is there or it is not,
    which is what makes it safe to skip by title on the next run, and one
    commit is far faster on SQLite than thousands. With ``chunk``, a commit
    every that many tickets, so a running desk (the sweep, a technician's
    move) never waits long for SQLite's one writer; an interrupted load then
    leaves part of the history, which later runs keep as it is.

    The first transaction takes the boards' rows before it asks whether the
    history is there, so two loads at once (a duplicated task) write it once.
    """
    size = chunk or len(history)
    written = 0
    try:
        for start in range(0, len(history), size):
            with transaction.atomic():
                if start == 0:
                    list(Board.objects.select_for_update().order_by("pk").values_list("pk", flat=True))
                    if history_loaded(history):
                        return True, 0, ""
                    if progress:
                        progress(0, len(history))
                for spec in history[start : start + size]:
                    player.open(spec, now, history=True)
            written = min(start + size, len(history))
            if progress and (written // 250 != start // 250 or written == len(history)):
                progress(written, len(history))
    except (ValueError, services.MoveError) as exc:
        # The history is written for the seed's criteria. On a desk whose
        # criteria were changed since (another time limit, one switched off)
        # it cannot play as written: leave it out, say why, and let
        # `make run` start anyway.
        kept = f" ({written} tickets of it were written before that and stay.)" if written else ""
        return False, written, f"{exc}{kept}"
    return False, written, ""


def _email(name: str, client: str) -> str:
    domain = {n: e.split("@")[1] for n, e, _ in CLIENTS}[client]
    local = ".".join(part for part in name.lower().replace("dr. ", "").split() if part.isalpha())
    return f"{local}@{domain}"


def history_specs(
    now: datetime, days: int, triage_hours: Calendar | None = None, noc_hours: Calendar | None = None
) -> list[Spec]:
    """The history's tickets for ``days`` before ``now``, oldest first; none of them shares a title
    with this week's tickets (those are found by title). Triage's and NOC's time limits fall in the
    working time of ``triage_hours`` and ``noc_hours`` (None: wall time)."""
    if days <= 0:
        return []
    specs = _History(now, days, triage_hours, noc_hours).specs()
    clash = {s.title for s in specs} & {s.title for s in TICKETS}
    if clash:
        raise ValueError(f"History titles clash with this week's demo tickets: {sorted(clash)}")
    return specs


def load_demo(
    now: datetime | None = None,
    *,
    dry_run: bool = False,
    history_days: int = DEFAULT_HISTORY_DAYS,
    progress: Callable[[int, int], None] | None = None,
    history_chunk: int = 0,
) -> Result:
    """Create whatever part of the demo desk is missing; return the logins.

    ``history_days`` of older history come first (0: none); ``progress`` is
    called with (tickets written, tickets in all) as it goes. ``history_chunk``
    commits the history every that many tickets instead of all at once (the
    worker loads it so, beside a running desk; see ``boards.tasks``). With ``dry_run``,
    everything is made and then rolled back, so the result says what a real
    run would create.
    """
    now = now or timezone.now()
    # Back-dated history is replayed with notify=False: nobody is emailed about
    # last week's moves, and loading needs no broker.
    with transaction.atomic() if dry_run else contextlib.nullcontext():
        result = _load(now, history_days, progress, history_chunk)
        result.boards = Board.objects.count()
        result.tickets = Ticket.objects.count()
        if dry_run:
            transaction.set_rollback(True)
    return result


def _seed_calendars(boards: dict[str, Board]) -> None:
    """The demo's working hours (NOC 24/7, Triage and Support Mon–Fri 08:00–18:00), once.

    Here, not in ``seed_structure``: the tests' desk is seeded by that, and
    there a board without a calendar keeps wall time. Last, after this week's
    tickets: they are written relative to the moment of loading ("opened 25
    minutes ago, 30-minute limit"), which on a Sunday or at 03:00 would be
    outside office hours, so they play in wall time, as written, and the
    calendars then take over their running clocks (``recompute_deadlines``:
    what is left of each limit counts in working hours from here on). The
    history follows whatever calendars Triage and NOC have when it plays: on
    a fresh desk it plays before the calendars exist, in wall time; written
    later by the worker (``make run``), it is drafted in their working hours
    (NOC's around the clock), so its time limits still fall where the
    services put them.
    """
    if Calendar.objects.filter(board__in=list(boards.values())).count() == len(boards):
        return
    with transaction.atomic():
        seed_calendars(boards)
        services.recompute_deadlines()


def _add_criterion(now: datetime, *, recompute: bool = False, **fields) -> None:
    """A criterion the demo adds to the seed's, once (by name), saved as admin would (``save_criterion``)."""
    if not Criterion.objects.filter(name=fields["name"]).exists():
        services.save_criterion(Criterion(**fields), actor=None, now=now, recompute=recompute)


def _load(
    now: datetime, history_days: int, progress: Callable[[int, int], None] | None, history_chunk: int = 0
) -> Result:
    boards, criteria = seed_structure()
    skills = {s.name: s for s in Skill.objects.all()}
    with transaction.atomic():
        users, logins = _people(boards, skills)
        clients = {
            name: Client.objects.get_or_create(name=name, defaults={"contact_email": email, "phone": phone})[0]
            for name, email, phone in CLIENTS
        }
        # The alert source whose sample curl load_demo prints (intake/demo.py).
        ensure_demo_source(boards["noc"])
        # The bell warns at 80 % of the Tier 1 limit, when the card turns amber
        # (unless a manager has set a lead of their own).
        Criterion.objects.filter(
            trigger=Criterion.Trigger.TIME, name="Tier 1 time limit", warn_before_minutes=None, warn_at_percent=None
        ).update(warn_at_percent=80)
        last = max((c.position for c in criteria.values()), default=0)
        # Support hands a ticket back to whichever board escalated it (NOC or Triage).
        _add_criterion(
            now,
            name=RETURN_TO_SENDER,
            description="Back to the board and tier that escalated it: NOC or Triage, whichever sent it.",
            direction=Direction.DE_ESCALATE,
            trigger=Criterion.Trigger.MANUAL,
            from_board=boards["support"],
            to_sender=True,
            position=last + 1,
        )
        # Support's work that nobody has touched for three working days (30 office hours) is flagged.
        _add_criterion(
            now,
            name=UNTOUCHED,
            description="Nobody has added a note, moved or updated it for three working days.",
            direction=Direction.ESCALATE,
            trigger=Criterion.Trigger.INACTIVITY,
            from_board=boards["support"],
            idle_hours=30,
            notify_only=True,
            position=last + 2,
        )
        # NOC's urgent alerts have a limit (NOC_LIMITS); P3 and P4 keep none. Made
        # before the tickets, so they get their deadlines as they open; with
        # tickets on the desk already (a desk loaded before), theirs are recomputed.
        _add_criterion(
            now,
            recompute=Ticket.objects.exists(),
            name=NOC_TIME_LIMIT,
            # No number in the text: the pages show the live limits beside it.
            description="An urgent alert (P1 or P2) that NOC has not fixed, parked with the vendor or handed "
            "on within its limit of active minutes goes to Support. P3 and P4 alerts have no limit.",
            direction=Direction.ESCALATE,
            trigger=Criterion.Trigger.TIME,
            from_board=boards["noc"],
            # Where NOC's other escalation goes (Needs onsite visit), to Support's New column.
            to_board=boards["support"],
            to_tier=2,
            p1_limit_minutes=NOC_LIMITS[P1],
            p2_limit_minutes=NOC_LIMITS[P2],
            # The bell warns when the card turns amber, as for the Tier 1 limit.
            warn_at_percent=80,
            position=last + 3,
        )
    # With the criteria the demo adds: the history's timeouts name NOC's.
    criteria = {c.name: c for c in Criterion.objects.all()}
    player = _Player(boards, criteria, clients, users, skills)

    history = history_specs(now, history_days, load_calendar(boards["triage"]), load_calendar(boards["noc"]))
    history_skipped, history_created, history_problem = False, 0, ""
    if history:
        history_skipped, history_created, history_problem = _load_history(player, history, now, progress, history_chunk)

    existing = set(Ticket.objects.filter(title__in=[s.title for s in TICKETS]).values_list("title", flat=True))
    created = 0
    for spec in TICKETS:
        if spec.title in existing:
            continue
        # One transaction per ticket: an interrupted load leaves whole tickets.
        with transaction.atomic():
            player.open(spec, now)
        created += 1
    _seed_calendars(boards)
    return Result(
        logins=logins,
        tickets_created=created,
        tickets_skipped=len(TICKETS) - created,
        history_created=history_created,
        history_skipped=history_skipped,
        history_problem=history_problem,
    )
