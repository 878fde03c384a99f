"""The intake endpoints: Alertmanager's webhook and PagerDuty-style events, answered in JSON.

Machines call these, not people: no login, no CSRF (the secret token is the
credential), and every answer — errors included — is JSON. The order of the
checks: the source (404), its token (401), the size (413), the payload (400).
"""

from __future__ import annotations

import json
import secrets

from django.contrib.auth.decorators import login_not_required
from django.db import OperationalError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from routing.services import MoveError

from . import services
from .models import AlertSource
from .payloads import PayloadError, parse_alertmanager, parse_event, routing_key_of

MAX_BODY = 1024 * 1024  # 1 MiB: a 500-alert delivery is a few hundred KiB


class Refused(Exception):
    def __init__(self, status: int, message: str, **headers: str) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers


def _error(status: int, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"status": "error", "error": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _source(key: str) -> AlertSource:
    source = AlertSource.objects.filter(key=key, active=True).select_related("board").first()
    if source is None:
        raise Refused(404, "No alert source with this URL.")
    return source


def _body(request: HttpRequest):
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refused(400, "Content-Length is not a number.") from None
    if length > MAX_BODY:
        raise Refused(413, f"The payload is over {MAX_BODY} bytes; send fewer alerts per delivery.")
    body = request.body
    if len(body) > MAX_BODY:
        raise Refused(413, f"The payload is over {MAX_BODY} bytes; send fewer alerts per delivery.")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refused(400, f"The body is not JSON: {exc}.") from None


def _bearer(request: HttpRequest) -> str:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def _busy(exc: OperationalError) -> bool:
    """A deadlock or serialization failure: PostgreSQL undid our transaction; a retry will do."""
    return getattr(getattr(exc, "__cause__", None), "sqlstate", None) in ("40P01", "40001")


def _handle(request: HttpRequest, run) -> JsonResponse:
    try:
        return run()
    except Refused as refused:
        return _error(refused.status, str(refused), **refused.headers)
    except PayloadError as exc:
        return _error(400, str(exc))
    except MoveError as exc:
        # The source's board can't take the ticket (no columns): a manager's
        # fix, not the sender's; nothing of the delivery was kept.
        return _error(422, str(exc))
    except OperationalError as exc:
        if not _busy(exc):
            raise
        return _error(503, "The desk was busy with the same tickets; please retry.", Retry_After="1")


@csrf_exempt
@login_not_required
@require_POST
def alertmanager(request: HttpRequest, key: str) -> JsonResponse:
    """Alertmanager's webhook receiver; the token comes as ``Authorization: Bearer <token>``."""

    def run() -> JsonResponse:
        source = _source(key)
        if not source.token_matches(_bearer(request)):
            raise Refused(401, "Wrong or missing token: send Authorization: Bearer <token>.", WWW_Authenticate="Bearer")
        alerts = parse_alertmanager(_body(request))
        outcomes = services.receive(source, alerts)
        return JsonResponse({"status": "ok", "alerts": [o.as_json() for o in outcomes]})

    return _handle(request, run)


@csrf_exempt
@login_not_required
@require_POST
def events(request: HttpRequest, key: str) -> JsonResponse:
    """Events API v2 (PagerDuty's shape): the token is the event's ``routing_key``."""

    def run() -> JsonResponse:
        source = _source(key)
        data = _body(request)
        if not source.token_matches(routing_key_of(data)):
            raise Refused(401, 'Wrong "routing_key" for this source.')
        event = parse_event(data, new_key=secrets.token_hex(16))
        (outcome,) = services.receive(source, [event])
        return JsonResponse(
            {"status": "success", "message": "Event processed", "dedup_key": event.fingerprint, **outcome.as_json()},
            status=202,
        )

    return _handle(request, run)
