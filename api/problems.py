"""Every API error is an RFC 9457 problem: ``application/problem+json`` with a stable ``code``.

    {"type": "/api/docs/#problem-stale_version", "title": "The ticket changed since you read it",
     "status": 412, "detail": "…", "code": "stale_version", …}

``code`` never changes once published; clients branch on it (or on ``type``,
which names the same thing as a link into the docs page), never on ``title``
or ``detail``, which are written for people. Extra members carry what a client
needs to recover: ``errors`` (per field), ``current_version``, ``moved_by``.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response

# code → (status, title). The docs page lists these.
PROBLEMS: dict[str, tuple[int, str]] = {
    "invalid": (400, "The request's data is not valid"),
    "malformed": (400, "The request could not be read"),
    "not_authenticated": (401, "Authentication is required"),
    "invalid_token": (401, "The token is unknown, revoked or malformed"),
    "forbidden": (403, "You may not do that"),
    "csrf_failed": (403, "The CSRF check failed"),
    "insufficient_scope": (403, "The token's scope does not allow this"),
    "not_your_board": (403, "The ticket is on a board you do not work"),
    "not_found": (404, "Not found"),
    "method_not_allowed": (405, "Method not allowed"),
    "not_acceptable": (406, "Cannot answer in the requested format"),
    "conflict": (409, "The ticket was moved since you read it"),
    "stale_version": (412, "The ticket changed since you read it"),
    "unsupported_media_type": (415, "Send JSON (Content-Type: application/json)"),
    "move_not_allowed": (422, "That move is not allowed"),
    "if_match_required": (428, "Send If-Match with the ticket's version"),
    "throttled": (429, "Too many requests"),
    "server_error": (500, "Something went wrong"),
    "unavailable": (503, "Switchback is briefly unavailable"),
}
CONTENT_TYPE = "application/problem+json"


class Problem(exceptions.APIException):
    """Raise from a view to answer with the named problem and extra members."""

    def __init__(self, code: str, detail: str | None = None, **extra):
        self.status_code, title = PROBLEMS[code]
        self.problem_code = code
        self.extra = extra
        super().__init__(detail or title, code)


def problem_body(code: str, detail: str | None = None, *, status_code: int | None = None, **extra) -> dict:
    default_status, title = PROBLEMS[code]
    return {
        "type": f"/api/docs/#problem-{code}",
        "title": title,
        "status": status_code or default_status,
        "detail": detail or title,
        "code": code,
        **extra,
    }


# DRF's own exceptions and the stable code each answers with; the first match wins.
_CODES: tuple[tuple[type[exceptions.APIException], str], ...] = (
    (exceptions.ValidationError, "invalid"),
    (exceptions.ParseError, "malformed"),
    (exceptions.AuthenticationFailed, "invalid_token"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.PermissionDenied, "forbidden"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "throttled"),
)


def _code_for(exc: exceptions.APIException) -> str:
    if isinstance(exc, Problem):
        return exc.problem_code
    if isinstance(exc, exceptions.PermissionDenied) and str(exc.detail).startswith("CSRF Failed"):
        return "csrf_failed"
    for kind, code in _CODES:
        if isinstance(exc, kind):
            return code
    return {400: "invalid", 403: "forbidden"}.get(exc.status_code, "malformed")


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every APIException (and Http404, PermissionDenied) as a problem."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) if exc.args else None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) if exc.args else None)
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django's 500 handler answers (as a problem, see helpdesk.errors)

    code = _code_for(exc)
    extra = dict(getattr(exc, "extra", {}))
    if isinstance(exc, exceptions.ValidationError):
        detail = "Check the fields named in errors."
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        extra["errors"] = errors
    else:
        detail = str(exc.detail)
    body = problem_body(code, detail, status_code=exc.status_code, **extra)
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    response = Response(body, status=exc.status_code, headers=headers, content_type=CONTENT_TYPE)
    return response


def is_api_path(path: str) -> bool:
    """Whether Django's own error pages should answer this path as a problem (the API), not HTML."""
    return path.startswith("/api/") and not path.startswith("/api/docs/")


def django_error_response(request: HttpRequest, status_code: int, message: str) -> JsonResponse:
    """Django's 400/403/404/500/503 for an API path (raised before or outside DRF), as a problem."""
    code = {
        400: "malformed",
        403: "forbidden",
        404: "not_found",
        500: "server_error",
        503: "unavailable",
    }.get(status_code, "malformed")
    if status_code == 404:
        # Only a URL outside the API's patterns gets here (DRF answers the
        # views' own 404s), and Django's reason is the resolver's internals.
        message = "There is no such URL in the API; see /api/docs/."
    body = problem_body(code, message, status_code=status_code)
    return JsonResponse(body, status=status_code, content_type=CONTENT_TYPE)
