from __future__ import annotations

from django import forms
from django.conf import settings

from boards.models import Board


def _kib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB" if size >= 1024 * 1024 else f"{size // 1024} KiB"


class NewRequestForm(forms.Form):
    name = forms.CharField(max_length=120, label="Your name")
    email = forms.EmailField(label="Your email", help_text="We answer here, and send you a link to follow the request.")
    subject = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), max_length=20_000, label="What happened?")
    attachment = forms.FileField(required=False, help_text="A screenshot or a log file, if it helps.")
    board = forms.ModelChoiceField(queryset=Board.objects.none(), required=False, label="What is it about?")
    # A honeypot: hidden from people by CSS, filled in by bots that fill in everything.
    website = forms.CharField(required=False, label="Leave this empty")

    def __init__(self, *args, offered=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if offered is not None and offered.exists():
            self.fields["board"].queryset = offered
            self.fields["board"].required = True
            self.fields["board"].empty_label = None
        else:
            del self.fields["board"]
        self.fields["attachment"].help_text += f" At most {_kib(settings.REQUESTER_ATTACHMENT_MAX_BYTES)}."

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean_attachment(self):
        upload = self.cleaned_data.get("attachment")
        limit = settings.REQUESTER_ATTACHMENT_MAX_BYTES
        if upload and upload.size > limit:
            raise forms.ValidationError(f"The attachment is {_kib(upload.size)}; the limit is {_kib(limit)}.")
        return upload


class ReplyForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=20_000, label="Your reply")
