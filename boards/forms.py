"""Forms that parse what the board pages post, and the board's URL filters."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.models import User
from django.db.models import Q
from django.http import QueryDict

from .models import Client, Skill, Ticket

# The largest value a ticket number or version can hold (a bigint on PostgreSQL).
MAX_ID = 2**63 - 1


def ascii_int(text: str | None) -> int | None:
    """A whole number written in ASCII digits ("42"), else None.

    Everything that reads a number from a query, a form field outside a form,
    or a header goes through here. ``str.isdigit()`` is true for "²", which
    ``int()`` then refuses; ``int()`` itself accepts "١٢" and " 12 ". A number
    too large for the database is no number either.
    """
    if not text or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value <= MAX_ID else None


class IdsField(forms.ModelMultipleChoiceField):
    """Ids of rows, refused as a form error when one can't be an id, before the database is asked.

    Django turns ``pk__in=[10**30]`` into a query that SQLite can't run
    (OverflowError), a 500; a single ``pk=10**30`` it already answers as "no such row".
    """

    def _check_values(self, value):
        for pk in value:
            if ascii_int(str(pk)) is None:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                )
        return super()._check_values(value)


PRIORITY_CHOICES = [("", "Any priority")] + [(str(value), f"P{value}") for value in Ticket.Priority.values]


class BoardFilterForm(forms.Form):
    mine = forms.BooleanField(required=False)
    unassigned = forms.BooleanField(required=False)
    priority = forms.TypedChoiceField(choices=PRIORITY_CHOICES, coerce=int, empty_value=None, required=False)
    q = forms.CharField(max_length=100, required=False, strip=True)


@dataclass(frozen=True)
class BoardFilters:
    """The board's filters, read from and written back to the URL so a filtered board can be bookmarked."""

    mine: bool = False
    unassigned: bool = False
    priority: int | None = None
    q: str = ""

    @classmethod
    def from_query(cls, data: QueryDict) -> BoardFilters:
        form = BoardFilterForm(data)
        if not form.is_valid():
            # A hand-edited URL: keep the parts that parse, drop the rest.
            cleaned = {name: form.cleaned_data.get(name) for name in form.fields if name not in form.errors}
        else:
            cleaned = form.cleaned_data
        return cls(
            mine=bool(cleaned.get("mine")),
            unassigned=bool(cleaned.get("unassigned")),
            priority=cleaned.get("priority"),
            q=cleaned.get("q") or "",
        )

    @property
    def active(self) -> bool:
        return bool(self.mine or self.unassigned or self.priority or self.q)

    def query(self) -> str:
        """The filters as a query string (no leading '?'), empty when none is set."""
        pairs = []
        if self.mine:
            pairs.append(("mine", "1"))
        if self.unassigned:
            pairs.append(("unassigned", "1"))
        if self.priority:
            pairs.append(("priority", str(self.priority)))
        if self.q:
            pairs.append(("q", self.q))
        return urlencode(pairs)

    def apply(self, tickets, user):
        """Narrow a Ticket queryset. Mine and unassigned together mean either."""
        if self.mine and self.unassigned:
            tickets = tickets.filter(Q(assignee=user) | Q(assignee__isnull=True))
        elif self.mine:
            tickets = tickets.filter(assignee=user)
        elif self.unassigned:
            tickets = tickets.filter(assignee__isnull=True)
        if self.priority:
            tickets = tickets.filter(priority=self.priority)
        if self.q:
            text = Q(title__icontains=self.q) | Q(client__name__icontains=self.q) | Q(requester_name__icontains=self.q)
            number = ascii_int(self.q.lstrip("#"))
            if number is not None:
                text |= Q(pk=number)
            tickets = tickets.filter(text)
        return tickets


class DoneFilterForm(forms.Form):
    """The filters of a board's "All resolved tickets" page."""

    q = forms.CharField(max_length=100, required=False, strip=True, label="Title, client or #number")
    assignee = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="Anyone")
    priority = forms.TypedChoiceField(choices=PRIORITY_CHOICES, coerce=int, empty_value=None, required=False)
    since = forms.DateField(required=False, label="Resolved from", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="to", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, assignees=None, **kwargs):
        super().__init__(*args, **kwargs)
        if assignees is not None:
            self.fields["assignee"].queryset = assignees

    @property
    def active(self) -> bool:
        return any(self.cleaned_data.get(name) not in (None, "") for name in self.fields)

    def apply(self, tickets):
        data = self.cleaned_data
        if data["q"]:
            text = Q(title__icontains=data["q"]) | Q(client__name__icontains=data["q"])
            number = ascii_int(data["q"].lstrip("#"))
            if number is not None:
                text |= Q(pk=number)
            tickets = tickets.filter(text)
        if data["assignee"]:
            tickets = tickets.filter(assignee=data["assignee"])
        if data["priority"]:
            tickets = tickets.filter(priority=data["priority"])
        if data["since"]:
            tickets = tickets.filter(resolved_at__date__gte=data["since"])
        if data["until"]:
            tickets = tickets.filter(resolved_at__date__lte=data["until"])
        return tickets


class MoveForm(forms.Form):
    """A same-board column change: the drag, the keyboard and the no-JS select all post this."""

    column = forms.IntegerField()
    version = forms.IntegerField(min_value=1)


class CriterionForm(forms.Form):
    """Escalate, de-escalate or transfer with a criterion picked from those that apply."""

    criterion = forms.TypedChoiceField(coerce=int, error_messages={"required": "Pick the criterion that applies."})
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
    version = forms.IntegerField(min_value=1)

    def __init__(self, *args, criteria=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["criterion"].choices = [(c.pk, c.name) for c in criteria]


class TicketUpdateForm(forms.Form):
    """Assignee, tier and the facts that may fire a condition criterion."""

    assignee = forms.ModelChoiceField(queryset=User.objects.none(), required=False)
    assign_to_me = forms.BooleanField(required=False)
    tier = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    needs_onsite = forms.BooleanField(required=False)
    required_skills = IdsField(queryset=Skill.objects.all(), required=False)
    version = forms.IntegerField(min_value=1)

    def __init__(self, *args, assignees=None, tiers=(1, 2, 3), **kwargs):
        super().__init__(*args, **kwargs)
        if assignees is not None:
            self.fields["assignee"].queryset = assignees
        self.fields["tier"].choices = [(t, f"Tier {t}") for t in tiers]


class NoteForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=20000, strip=True)
    internal = forms.BooleanField(required=False)
    minutes_worked = forms.IntegerField(min_value=0, max_value=24 * 60, required=False)


class ResolveForm(forms.Form):
    """Resolve (with an optional resolution note) and reopen."""

    version = forms.IntegerField(min_value=1)
    note = forms.CharField(required=False, max_length=20000, strip=True)
    internal = forms.BooleanField(required=False)


class QuickAddForm(forms.Form):
    title = forms.CharField(max_length=200)
    priority = forms.TypedChoiceField(
        choices=Ticket.Priority.choices, coerce=int, initial=Ticket.Priority.P3, required=False
    )
    client = forms.ModelChoiceField(queryset=Client.objects.all(), required=False, empty_label="No client")
    requester_name = forms.CharField(max_length=120, required=False)
    requester_email = forms.EmailField(required=False)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=20000)

    def clean_priority(self) -> int:
        return self.cleaned_data.get("priority") or Ticket.Priority.P3
