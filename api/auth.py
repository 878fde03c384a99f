"""How an API call says who it is, and what its token may do.

- ``Authorization: Bearer sb_…``: a personal or service token (api.models).
- The browser's own session, with Django's CSRF check (DRF's
  SessionAuthentication enforces it for every unsafe method).

The token comes first so that an anonymous call is answered 401 with
``WWW-Authenticate: Bearer`` (DRF takes the challenge from the first class).
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from .models import ApiToken
from .problems import Problem

# last_used_at is written at most this often per token, so a busy integration
# doesn't turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=5)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send one token: Authorization: Bearer sb_…")
        try:
            text = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("A token is ASCII text.") from None
        token = ApiToken.objects.find(text)
        if token is None:
            raise exceptions.AuthenticationFailed("That token is unknown, revoked or malformed.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("The token's account is deactivated.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class TokenScope(permissions.BasePermission):
    """Signed in (token or session); a read-scoped token may only read."""

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            raise exceptions.NotAuthenticated()
        token = request.auth
        if isinstance(token, ApiToken) and request.method not in permissions.SAFE_METHODS and not token.can_write:
            raise Problem("insufficient_scope", f"The token “{token.name}” may only read; this needs the write scope.")
        return True


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Names the token scheme in the OpenAPI schema."""

    target_class = BearerTokenAuthentication
    name = "bearerToken"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal or service token, sb_…; make one on your profile page.",
        }
