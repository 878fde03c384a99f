"""API tokens: personal ones a user makes on their profile page, service ones a manager makes in admin.

A token reads ``sb_<prefix>_<secret>``. Only the prefix (to find the row) and
the SHA-256 of the whole token are stored; the token itself is shown once,
when it is made. SHA-256 rather than a password hash is deliberate: the
secret is 32 random bytes, not a guessable password, so a slow hash buys
nothing and would cost every API call.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

PREFIX_LENGTH = 8
TOKEN_START = "sb_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def live(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)

    def find(self, token: str) -> ApiToken | None:
        """The live token this string is, with its user; None for anything else (malformed, unknown, revoked)."""
        parts = token.split("_")
        if len(parts) != 3 or f"{parts[0]}_" != TOKEN_START or len(parts[1]) != PREFIX_LENGTH or not token.isascii():
            return None
        found = self.live().select_related("user").filter(prefix=parts[1]).first()
        if found is None or not hmac.compare_digest(found.key_hash, _digest(token)):
            return None
        return found


class ApiToken(models.Model):
    class Kind(models.TextChoices):
        PERSONAL = "personal", "Personal"
        SERVICE = "service", "Service (an integration)"

    class Scope(models.TextChoices):
        READ = "read", "Read only"
        WRITE = "write", "Read and write"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        help_text="The account the token acts as: it sees and changes what this account may.",
    )
    name = models.CharField(max_length=80, help_text="What the token is for, e.g. “Grafana alerts”.")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PERSONAL)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ)
    # The visible part, for lookup and for telling tokens apart in a list.
    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({TOKEN_START}{self.prefix}…)"

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.WRITE

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None

    def issue(self) -> str:
        """Give this (unsaved) token its secret and return the token text, the only time it exists."""
        while True:
            prefix = secrets.token_hex(PREFIX_LENGTH // 2)
            if not ApiToken.objects.filter(prefix=prefix).exists():
                break
        token = f"{TOKEN_START}{prefix}_{secrets.token_urlsafe(32).replace('_', '-')}"
        self.prefix = prefix
        self.key_hash = _digest(token)
        return token

    def revoke(self, now=None) -> None:
        if self.revoked_at is None:
            self.revoked_at = now or timezone.now()
            self.save(update_fields=["revoked_at"])
