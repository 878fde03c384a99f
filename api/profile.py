"""The profile page: who you are, and the personal API tokens you make and revoke.

A new token is shown once, in the answer to the POST that made it, and never
stored: only its prefix and hash are (api.models). That answer is a page, not
a redirect, so the token never passes through the session or a cookie.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from boards import permissions
from boards.models import Board, is_manager

from .models import ApiToken

MAX_LIVE_TOKENS = 20


class TokenForm(forms.Form):
    name = forms.CharField(max_length=80, strip=True, help_text="What it is for, e.g. “My backup script”.")
    scope = forms.ChoiceField(choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ)


def _page(request: HttpRequest, form: TokenForm, *, new_token: str = "", status: int = 200) -> HttpResponse:
    worked = permissions.worked_board_ids(request.user)
    boards = Board.objects.all() if worked is None else Board.objects.filter(pk__in=worked)
    context = {
        "form": form,
        "tokens": ApiToken.objects.filter(user=request.user),
        "new_token": new_token,
        "boards": boards,
        "is_manager": is_manager(request.user),
        "technician": getattr(request.user, "technician", None),
    }
    return render(request, "api/profile.html", context, status=status)


@require_GET
def profile_page(request: HttpRequest) -> HttpResponse:
    return _page(request, TokenForm())


@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    if ApiToken.objects.live().filter(user=request.user).count() >= MAX_LIVE_TOKENS:
        form.add_error(None, f"You have {MAX_LIVE_TOKENS} live tokens; revoke one first.")
        return _page(request, form, status=400)
    token = ApiToken(user=request.user, created_by=request.user, kind=ApiToken.Kind.PERSONAL, **form.cleaned_data)
    text = token.issue()
    token.save()
    return _page(request, TokenForm(), new_token=text, status=201)


@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    token.revoke()
    messages.success(request, f"Revoked “{token.name}”: it no longer works.")
    return redirect("profile")
