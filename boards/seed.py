"""The framework's structure as data: the three boards, their columns, and the
seed's escalation and de-escalation criteria.

Used by ``manage.py load_demo`` and by the tests, so both run on the same desk.
Every function is idempotent: it finds by natural key and creates what is missing.
"""

from __future__ import annotations

from django.db import transaction

from routing.models import Criterion, Direction

from .models import Board, Column, Skill

C = Column.Category

BOARDS = [
    {
        "slug": "noc",
        "name": "NOC",
        "colour": "#2f8f83",
        "purpose": "Remote, automated, event-driven work: monitoring alerts, patching, backups, "
        "remote remediation. Where tickets land when the deep work is done.",
        "columns": [
            ("New", C.NEW, None),
            ("In progress", C.ACTIVE, 10),
            ("Waiting on vendor", C.WAITING, None),
            ("Resolved", C.DONE, None),
        ],
    },
    {
        "slug": "triage",
        "name": "Triage",
        "colour": "#d9822b",
        "purpose": "Front-line, rapid, user-facing work: first response, password resets, quick fixes.",
        "columns": [
            ("New", C.NEW, None),
            ("In progress", C.ACTIVE, 8),
            ("Waiting on customer", C.WAITING, None),
            ("Resolved", C.DONE, None),
        ],
    },
    {
        "slug": "support",
        "name": "Support",
        "colour": "#5b6ee1",
        "purpose": "Depth: onsite visits, projects, problems beyond the front line.",
        "columns": [
            ("New", C.NEW, None),
            ("In progress", C.ACTIVE, 6),
            ("Waiting on customer", C.WAITING, None),
            ("Scheduled / Onsite", C.WAITING, None),
            ("Resolved", C.DONE, None),
        ],
    },
]

# Waiting columns that wait on the requester: their reply brings the ticket back to work.
WAITS_ON_REQUESTER = {"Waiting on customer"}

SKILLS = ["Onsite", "Networking", "Firewall", "Microsoft 365", "Backup", "Printers", "Line of business apps"]

CRITERIA = [
    {
        "name": "Tier 1 time limit",
        # No number in the text: the pages show the live limit beside it.
        "description": "Triage's Tier 1 work has a limit of active minutes before it goes to Support. "
        "Time waiting on the customer does not count.",
        "direction": Direction.ESCALATE,
        "trigger": Criterion.Trigger.TIME,
        "from_board": "triage",
        "from_tier": 1,
        "to_board": "support",
        "to_tier": 2,
        "time_limit_minutes": 30,
    },
    {
        "name": "Needs onsite visit",
        "description": "Someone has to be there in person: hardware, cabling, a site visit.",
        "direction": Direction.ESCALATE,
        "trigger": Criterion.Trigger.CONDITION,
        "condition": Criterion.Condition.NEEDS_ONSITE,
        "from_board": "triage",
        "to_board": "support",
        "to_tier": 2,
        # It lands where onsite work is planned, not in New.
        "to_column": "Scheduled / Onsite",
    },
    {
        "name": "Needs onsite visit (from NOC)",
        "description": "A remote fix will not do; someone has to go onsite.",
        "direction": Direction.ESCALATE,
        "trigger": Criterion.Trigger.CONDITION,
        "condition": Criterion.Condition.NEEDS_ONSITE,
        "from_board": "noc",
        "to_board": "support",
        "to_tier": 2,
        # It lands where onsite work is planned, not in New.
        "to_column": "Scheduled / Onsite",
    },
    {
        "name": "Needs a specialized skill or tool",
        "description": "The work needs a skill or tool nobody on this board has (firewall, LOB app, …).",
        "direction": Direction.ESCALATE,
        "trigger": Criterion.Trigger.CONDITION,
        "condition": Criterion.Condition.MISSING_SKILL,
        "from_board": "triage",
        "to_board": "support",
        "to_tier": 2,
    },
    {
        "name": "Beyond this tier",
        "description": "The problem is more complex than the front line should handle.",
        "direction": Direction.ESCALATE,
        "trigger": Criterion.Trigger.MANUAL,
        "from_board": "triage",
        "to_board": "support",
        "to_tier": 2,
    },
    {
        "name": "Beyond this tier (Support tier 2 → 3)",
        "description": "Needs a senior engineer: escalate to Tier 3 on Support.",
        "direction": Direction.ESCALATE,
        "trigger": Criterion.Trigger.MANUAL,
        "from_board": "support",
        "from_tier": 2,
        "to_tier": 3,
    },
    {
        "name": "Onsite complete",
        "description": "The onsite work is done; NOC takes over remote follow-up and monitoring.",
        "direction": Direction.DE_ESCALATE,
        "trigger": Criterion.Trigger.MANUAL,
        "from_board": "support",
        "to_board": "noc",
        "to_tier": 1,
    },
    {
        "name": "User error discovered",
        "description": "It was a how-to or user error after all; Triage closes the loop with the user.",
        "direction": Direction.DE_ESCALATE,
        "trigger": Criterion.Trigger.MANUAL,
        "from_board": "support",
        "to_board": "triage",
        "to_tier": 1,
    },
    {
        "name": "User-facing follow-up",
        "description": "The alert needs a conversation with a user; hand it to Triage.",
        "direction": Direction.TRANSFER,
        "trigger": Criterion.Trigger.MANUAL,
        "from_board": "noc",
        "to_board": "triage",
        "to_tier": 1,
    },
]


@transaction.atomic
def seed_boards() -> dict[str, Board]:
    boards = {}
    for position, spec in enumerate(BOARDS):
        board, _ = Board.objects.get_or_create(
            slug=spec["slug"],
            defaults={
                "name": spec["name"],
                "colour": spec["colour"],
                "purpose": spec["purpose"],
                "position": position,
            },
        )
        for col_position, (name, category, wip) in enumerate(spec["columns"]):
            Column.objects.get_or_create(
                board=board,
                name=name,
                defaults={
                    "category": category,
                    "position": col_position,
                    "wip_limit": wip,
                    "resumes_on_reply": name in WAITS_ON_REQUESTER,
                },
            )
        boards[board.slug] = board
    return boards


@transaction.atomic
def seed_skills() -> dict[str, Skill]:
    return {name: Skill.objects.get_or_create(name=name)[0] for name in SKILLS}


@transaction.atomic
def seed_criteria(boards: dict[str, Board] | None = None) -> dict[str, Criterion]:
    boards = boards or {b.slug: b for b in Board.objects.all()}
    criteria = {}
    for position, spec in enumerate(CRITERIA):
        spec = dict(spec)
        name = spec.pop("name")
        for key in ("from_board", "to_board"):
            if spec.get(key):
                spec[key] = boards[spec[key]]
        if spec.get("to_column"):
            spec["to_column"] = spec["to_board"].columns.get(name=spec["to_column"])
        criterion, _ = Criterion.objects.get_or_create(name=name, defaults={**spec, "position": position})
        criteria[name] = criterion
    return criteria


def seed_structure() -> tuple[dict[str, Board], dict[str, Criterion]]:
    boards = seed_boards()
    seed_skills()
    return boards, seed_criteria(boards)
