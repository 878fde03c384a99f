"""Reading what monitoring sends: Alertmanager's webhook (version 4) and PagerDuty-style events (v2).

Both become ``Incoming`` alerts. Everything is checked before anything is
written, and a ``PayloadError`` says what is wrong in words a person fixing
the sender's configuration can use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime

from .models import Alert

MAX_LABELS = 200
MAX_TEXT = 10_000
EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")
EVENT_SEVERITIES = ("critical", "error", "warning", "info")


class PayloadError(ValueError):
    """The sender's payload is not what the endpoint reads; the message says where."""


@dataclass
class Incoming:
    """One alert as the source describes it, whichever format it came in."""

    kind: str
    fingerprint: str
    action: str  # "firing", "resolved" or "acknowledge"
    labels: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    description: str = ""
    severity: str = ""
    link: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None


def _text(value, where: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise PayloadError(f"{where} must be a non-empty string." if required else f"{where} must be a string.")
    if len(value) > limit:
        raise PayloadError(f"{where} is longer than {limit} characters.")
    return value


def _string_map(value, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"{where} must be an object of strings.")
    if len(value) > MAX_LABELS:
        raise PayloadError(f"{where} has more than {MAX_LABELS} entries.")
    for key, item in value.items():
        if not isinstance(item, str):
            raise PayloadError(f"{where}.{key} must be a string.")
        if len(key) > 200 or len(item) > MAX_TEXT:
            raise PayloadError(f"{where}.{key} is too long.")
    return dict(value)


def _time(value, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise PayloadError(f"{where} must be an RFC 3339 time with a zone, e.g. 2026-01-02T03:04:05Z.")
    # Alertmanager's "no end yet" is the zero time.
    return None if parsed.year <= 1 else parsed.astimezone(UTC)


def parse_alertmanager(data) -> list[Incoming]:
    """The alerts of an Alertmanager webhook delivery (payload version 4)."""
    if not isinstance(data, dict):
        raise PayloadError("The body must be a JSON object (Alertmanager's webhook payload).")
    if data.get("version") != "4":
        raise PayloadError('"version" must be "4" (Alertmanager\'s webhook payload version).')
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError('"alerts" must be a list.')
    found = []
    for i, raw in enumerate(alerts):
        where = f"alerts[{i}]"
        if not isinstance(raw, dict):
            raise PayloadError(f"{where} must be an object.")
        status = raw.get("status")
        if status not in (Alert.Status.FIRING, Alert.Status.RESOLVED):
            raise PayloadError(f'{where}.status must be "firing" or "resolved".')
        labels = _string_map(raw.get("labels"), f"{where}.labels")
        annotations = _string_map(raw.get("annotations"), f"{where}.annotations")
        found.append(
            Incoming(
                kind=Alert.Kind.ALERTMANAGER,
                fingerprint=_text(raw.get("fingerprint"), f"{where}.fingerprint", required=True, limit=255),
                action=status,
                labels=labels,
                summary=annotations.get("summary", ""),
                description=annotations.get("description", ""),
                severity=labels.get("severity", ""),
                link=_text(raw.get("generatorURL"), f"{where}.generatorURL", limit=2000),
                starts_at=_time(raw.get("startsAt"), f"{where}.startsAt"),
                ends_at=_time(raw.get("endsAt"), f"{where}.endsAt"),
            )
        )
    return found


def routing_key_of(data) -> str:
    if not isinstance(data, dict):
        raise PayloadError("The body must be a JSON object (an Events API v2 event).")
    return _text(data.get("routing_key"), '"routing_key"', required=True, limit=200)


def parse_event(data, new_key: str) -> Incoming:
    """An Events API v2 event (PagerDuty's shape). ``new_key`` is the dedup key of a trigger that has none."""
    action = data.get("event_action")
    if action not in EVENT_ACTIONS:
        raise PayloadError('"event_action" must be "trigger", "acknowledge" or "resolve".')
    dedup_key = data.get("dedup_key")
    if dedup_key is None and action == "trigger":
        dedup_key = new_key
    dedup_key = _text(dedup_key, '"dedup_key"', required=True, limit=255)
    if action != "trigger":
        return Incoming(kind=Alert.Kind.EVENT, fingerprint=dedup_key, action=_ACTION[action])
    payload = data.get("payload")
    if not isinstance(payload, dict):
        raise PayloadError('"payload" must be an object with "summary", "severity" and "source".')
    summary = _text(payload.get("summary"), "payload.summary", required=True, limit=1024)
    severity = payload.get("severity")
    if severity not in EVENT_SEVERITIES:
        raise PayloadError('payload.severity must be "critical", "error", "warning" or "info".')
    origin = _text(payload.get("source"), "payload.source", required=True, limit=255)
    labels = {"source": origin, "severity": severity}
    for name in ("component", "group", "class"):
        value = _text(payload.get(name), f"payload.{name}", limit=255)
        if value:
            labels[name] = value
    # Checked, not used: a sender's clock says nothing about the order of our
    # deliveries (only Alertmanager's startsAt/endsAt tell a late retry).
    _time(payload.get("timestamp"), "payload.timestamp")
    details = payload.get("custom_details")
    if details is not None and not isinstance(details, dict):
        raise PayloadError("payload.custom_details must be an object.")
    # String details read like labels (a client label among them); others are shown as they came.
    lines = []
    for key, value in (details or {}).items():
        if isinstance(value, str) and len(value) <= MAX_TEXT and len(labels) < MAX_LABELS:
            labels.setdefault(str(key)[:200], value)
        else:
            lines.append(f"{key}: {value!r}"[:MAX_TEXT])
    link = ""
    links = data.get("links")
    if isinstance(links, list) and links and isinstance(links[0], dict):
        link = _text(links[0].get("href"), "links[0].href", limit=2000)
    return Incoming(
        kind=Alert.Kind.EVENT,
        fingerprint=dedup_key,
        action="firing",
        labels=labels,
        summary=summary,
        description="\n".join(lines),
        severity=severity,
        link=link,
    )


_ACTION = {"acknowledge": "acknowledge", "resolve": "resolved"}
