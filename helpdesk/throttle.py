"""Login throttling on top of django-axes: two limits, one client address, one lockout page.

django-axes counts failed logins in the database (``axes.AccessAttempt``; managers
see and clear them in admin). Three things here are ours:

1. Two limits. Axes applies one limit to every lockout parameter; a whole office
   behind one NAT address would then be locked out by a few typos. A username
   locks after ``LOGIN_FAILURE_LIMIT`` failures, an address after the higher
   ``LOGIN_ADDRESS_FAILURE_LIMIT`` (password spraying across many usernames).
2. The client address behind ``TRUSTED_PROXY_COUNT`` proxies, read from the
   right of X-Forwarded-For (the left is whatever the client sent), and only
   when it is an IP address (the column is an inet on PostgreSQL).
3. A lockout page that says when to try again, in the app's look.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from django.conf import settings
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' gate, for logins that come with a request.

    Every login over the web (the login page, admin) passes the request. A call
    without one is code in this process (a management command, the test
    client's ``login()``), not a remote guesser; Axes would raise there, and
    the next backend checks the password as usual instead.
    """

    def authenticate(self, request: HttpRequest | None, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def _failures(attempts) -> int:
    return attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0


class LoginThrottleHandler(AxesDatabaseHandler):
    """Axes' database handler with a limit per username and a higher one per address.

    Axes compares ``get_failures()`` with ``AXES_FAILURE_LIMIT`` (the per-user
    limit). An address over its own limit therefore reports at least that many.
    """

    def get_failures(self, request, credentials: dict | None = None) -> int:
        by_user, by_address = self.get_user_attempts(request, credentials)  # AXES_LOCKOUT_PARAMETERS order
        failures = _failures(by_user) if get_client_username(request, credentials) else 0
        if _failures(by_address) >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
            failures = max(failures, settings.LOGIN_FAILURE_LIMIT)
        return failures


def username_of(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The username a failure is counted against, as Axes reads it, cut to fit its column.

    Admin's login form lets any length through to ``authenticate()``; Axes
    would then store it whole, and PostgreSQL refuses more than 255 characters
    (a 500). No user has a name that long (150 at most), so nothing is lost.
    """
    field = settings.AXES_USERNAME_FORM_FIELD
    value = credentials.get(field) if credentials else request.POST.get(field)
    return value[:255] if isinstance(value, str) else value


def client_ip(request: HttpRequest) -> str | None:
    """The address a login attempt is counted against."""
    candidate = request.META.get("REMOTE_ADDR")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= hops:
            candidate = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(candidate or ""))
    except ValueError:
        return None


def retry_at(request: HttpRequest, credentials: dict | None = None) -> datetime:
    """When the lockout this request ran into ends: its latest failure plus the cool-off.

    The later of the two buckets (username, address) that may be locked; a
    bucket's failures inside the cool-off all count, so the last one decides.
    """
    handler = LoginThrottleHandler()
    latest = None
    for attempts in handler.get_user_attempts(request, credentials):
        when = attempts.aggregate(at=Max("attempt_time"))["at"]
        if when is not None and (latest is None or when > latest):
            latest = when
    return (latest or timezone.now()) + settings.AXES_COOLOFF_TIME


def lockout_response(request: HttpRequest, original_response=None, credentials: dict | None = None) -> HttpResponse:
    """The lockout page (429): why, and the time to try again in the desk's time zone."""
    until = retry_at(request, credentials)
    minutes = max(1, round((until - timezone.now()).total_seconds() / 60))
    response = render(
        request,
        "registration/locked_out.html",
        {"retry_at": until, "minutes": minutes, "username": get_client_username(request, credentials) or ""},
        status=429,
    )
    response["Retry-After"] = str(minutes * 60)
    return response
