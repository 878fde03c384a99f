"""Reading one message: addresses, text from HTML, what it answers, whether a machine wrote it."""

from __future__ import annotations

import pytest

from requesters import parsing
from tests.requesters.conftest import email


def test_html_becomes_words_without_script_style_or_markup():
    html = (
        "<html><head><title>t</title><style>p{color:red}</style></head><body>"
        "<p>Hello&nbsp;desk,</p><script>alert('x')</script><ul><li>VPN</li><li>Mail</li></ul>"
        '<p>See <a href="https://status.example/x">the status page</a> &lt;b&gt;</p></body></html>'
    )

    assert parsing.html_to_text(html) == (
        "Hello desk,\n\n- VPN\n- Mail\n\nSee the status page (https://status.example/x) <b>"
    )


def test_a_javascript_link_is_not_kept():
    assert parsing.html_to_text('<a href="javascript:alert(1)">click</a>') == "click"


def test_quoted_history_is_cut_from_a_reply():
    text = "Works now.\n\nOn Tue, 3 Mar 2026 at 09:00, Desk <desk@example.test> wrote:\n> We have your request\n> #12"

    assert parsing.without_quote(text) == "Works now."
    assert parsing.without_quote("> only a quote") == "> only a quote"


def test_threading_ids_come_in_reply_to_first_then_newest_reference():
    msg = email(headers={"In-Reply-To": "<c@x>", "References": "<a@x> <b@x> <c@x>"})

    assert parsing.parse(msg.as_bytes()).answers == ["c@x", "b@x", "a@x"]


def test_the_ticket_tag_and_sender_domain():
    parsed = parsing.parse(email(subject="RE: [#4521] Printer", sender="Lee <Lee@Harbor.Example>").as_bytes())

    assert (parsed.tagged_ticket, parsed.sender, parsed.domain, parsed.sender_name) == (
        4521,
        "lee@harbor.example",
        "harbor.example",
        "Lee",
    )


def test_a_message_without_message_id_is_named_by_its_bytes():
    raw = b"From: pat@northwind.example\r\nSubject: hi\r\n\r\nbody\r\n"

    assert parsing.parse(raw).message_id == parsing.parse(raw).message_id
    assert parsing.parse(raw).message_id.startswith("sha256:")


@pytest.mark.parametrize(
    ("headers", "sender", "automatic"),
    [
        ({"Auto-Submitted": "no"}, "pat@northwind.example", ""),
        ({"Auto-Submitted": "auto-generated"}, "pat@northwind.example", "Auto-Submitted: auto-generated"),
        ({"Precedence": "junk"}, "pat@northwind.example", "Precedence: junk"),
        ({"Return-Path": "<>"}, "pat@northwind.example", "a bounce (empty Return-Path)"),
        ({}, "postmaster@northwind.example", "a bounce (delivery report)"),
    ],
)
def test_machines_are_recognised(headers, sender, automatic):
    assert parsing.parse(email(sender=sender, headers=headers).as_bytes()).automatic == automatic


@pytest.mark.parametrize(
    "raw",
    [b"", b"\r\n\r\njust a body", b"From: nobody\r\nSubject: x\r\n\r\nbody"],
    ids=["empty", "no-headers", "no-address"],
)
def test_unreadable_messages_say_why(raw):
    with pytest.raises(parsing.Unreadable):
        parsing.parse(raw)
