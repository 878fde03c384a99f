"""The login form."""

from __future__ import annotations

from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator


class LoginForm(AuthenticationForm):
    """Django's login form, with the username's length enforced.

    Django sets the username field's ``max_length`` after the field is made,
    so only the HTML ``maxlength`` follows it, not the validation: a 100,000
    character username reached ``authenticate()`` (and the login throttle's
    table). Now it is a form error.
    """

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        field = self.fields["username"]
        field.validators.append(MaxLengthValidator(field.max_length))
