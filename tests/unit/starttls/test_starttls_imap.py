"""IMAP STARTTLS dialog: RFC 3501's example server and what Dovecot really sends."""

from __future__ import annotations

import pytest
from line_dialog_helpers import DialogSuite, assert_failed, converse

from protoaudit.proto.starttls.base import Status
from protoaudit.proto.starttls.imap import ImapStartTls, State
from protoaudit.proto.starttls.lines import NOT_OFFERED

RFC_GREETING = b"* OK IMAP4rev1 Service Ready\r\n"
RFC_CAPABILITY = (
    b"* CAPABILITY IMAP4rev1 STARTTLS AUTH=GSSAPI LOGINDISABLED\r\na1 OK CAPABILITY completed\r\n"
)
DOVECOT_GREETING = (
    b"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS "
    b"AUTH=PLAIN] Dovecot (Debian) ready.\r\n"
)


class TestRfc3501Example(DialogSuite):
    # RFC 3501 6.1.1 and 6.2.1, one after the other.
    script = (
        (b"", RFC_GREETING),
        (b"a1 CAPABILITY\r\n", RFC_CAPABILITY),
        (b"a2 STARTTLS\r\n", b"a2 OK Begin TLS negotiation now\r\n"),
    )
    banner = "* OK IMAP4rev1 Service Ready"
    capabilities = ("IMAP4rev1", "STARTTLS", "AUTH=GSSAPI", "LOGINDISABLED")
    offered = True
    plaintext_auth = ()
    endless = b"* OK [ALERT] still here\r\n"
    endless_after = 1

    def make(self) -> ImapStartTls:
        return ImapStartTls()


class TestDovecotCapabilitiesInGreeting(DialogSuite):
    # The greeting's CAPABILITY response code saves the CAPABILITY round trip.
    script = (
        (b"", DOVECOT_GREETING),
        (b"a1 STARTTLS\r\n", b"a1 OK Begin TLS negotiation now.\r\n"),
    )
    banner = DOVECOT_GREETING.decode().strip()
    capabilities = (
        "IMAP4rev1",
        "SASL-IR",
        "LOGIN-REFERRALS",
        "ID",
        "ENABLE",
        "IDLE",
        "LITERAL+",
        "STARTTLS",
        "AUTH=PLAIN",
    )
    offered = True
    plaintext_auth = ("LOGIN", "AUTH=PLAIN")
    endless = b"* OK Waiting\r\n"
    endless_after = 1

    def make(self) -> ImapStartTls:
        return ImapStartTls()


def test_the_states_follow_the_dialog() -> None:
    dialog = ImapStartTls()
    states = [dialog.state]
    for turn in TestRfc3501Example.script:
        dialog.receive_data(turn[1])
        states.append(dialog.state)
    assert states == [State.GREETING, State.CAPABILITY, State.STARTTLS, State.READY]


def test_preauth_is_a_failure_then_logout() -> None:
    dialog = ImapStartTls()
    dialog.receive_data(b"* PREAUTH IMAP4rev1 server logged in as Smith\r\n")
    assert_failed(
        dialog,
        "greeting is PREAUTH, STARTTLS is only valid before login: "
        "* PREAUTH IMAP4rev1 server logged in as Smith",
    )
    assert dialog.bytes_to_send() == b"a1 LOGOUT\r\n"


def test_bye_is_a_refusal_and_nothing_is_sent() -> None:
    dialog = ImapStartTls()
    dialog.receive_data(b"* BYE Too many connections\r\n")
    assert_failed(dialog, "greeting refused: * BYE Too many connections")
    assert dialog.bytes_to_send() == b""


@pytest.mark.parametrize(
    ("turns", "answer", "failure", "logout"),
    [
        (1, b"a1 BAD Unknown command\r\n", "CAPABILITY refused: a1 BAD Unknown command", b"a2"),
        (2, b"a2 NO STARTTLS disabled\r\n", "STARTTLS refused: a2 NO STARTTLS disabled", b"a3"),
        (
            2,
            b"a2 BAD Error in IMAP command\r\n",
            "STARTTLS refused: a2 BAD Error in IMAP command",
            b"a3",
        ),
    ],
)
def test_a_refusal_is_quoted_and_answered_with_logout(
    turns: int, answer: bytes, failure: str, logout: bytes
) -> None:
    dialog = ImapStartTls()
    converse(dialog, TestRfc3501Example.script[:turns])
    dialog.bytes_to_send()
    dialog.receive_data(answer)
    assert_failed(dialog, failure)
    assert dialog.bytes_to_send() == logout + b" LOGOUT\r\n"


def test_without_starttls_listed_logout() -> None:
    dialog = ImapStartTls()
    dialog.receive_data(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=LOGIN] ready\r\n")
    assert_failed(dialog, NOT_OFFERED)
    assert dialog.bytes_to_send() == b"a1 LOGOUT\r\n"
    assert dialog.outcome.plaintext_auth_offered == ("LOGIN", "AUTH=PLAIN", "AUTH=LOGIN")
    assert dialog.outcome.starttls_offered is False


def test_a_response_with_another_tag_is_refused() -> None:
    dialog = ImapStartTls()
    converse(dialog, ((b"", RFC_GREETING), (b"a1 CAPABILITY\r\n", b"a9 OK done\r\n")))
    assert_failed(dialog, "not a valid IMAP response to a1: 'a9 OK done'")
    assert dialog.bytes_to_send() == b""


def test_a_tagged_response_that_is_no_completion_is_refused() -> None:
    dialog = ImapStartTls()
    converse(dialog, ((b"", RFC_GREETING), (b"a1 CAPABILITY\r\n", b"a1 MAYBE\r\n")))
    assert_failed(dialog, "not a valid IMAP response: 'a1 MAYBE'")


def test_a_continuation_request_is_refused() -> None:
    dialog = ImapStartTls()
    converse(dialog, ((b"", RFC_GREETING), (b"a1 CAPABILITY\r\n", b"+ go ahead\r\n")))
    assert_failed(dialog, "a continuation request we did not ask for")


@pytest.mark.parametrize(
    "greeting", [b"hello\r\n", b"* NO what\r\n", b"a1 OK early\r\n", b"*OK no space\r\n"]
)
def test_a_greeting_that_is_none(greeting: bytes) -> None:
    dialog = ImapStartTls()
    dialog.receive_data(greeting)
    assert dialog.status is Status.FAILED
    assert (dialog.outcome.failure or "").startswith("not a valid IMAP greeting: ")


def test_ask_capabilities_false_and_another_tag_prefix() -> None:
    dialog = ImapStartTls(tag_prefix="pa", ask_capabilities=False)
    converse(dialog, ((b"", RFC_GREETING), (b"pa1 STARTTLS\r\n", b"pa1 OK go\r\n")))
    assert dialog.status is Status.READY
    assert dialog.outcome.starttls_offered is None


@pytest.mark.parametrize("prefix", ["", "a b", "a1", "\u00e9"])
def test_a_tag_prefix_that_is_not_letters_is_our_error(prefix: str) -> None:
    with pytest.raises(ValueError, match="tag_prefix"):
        ImapStartTls(tag_prefix=prefix)


def test_hanging_up_names_what_was_awaited() -> None:
    dialog = ImapStartTls()
    converse(dialog, TestRfc3501Example.script[:1])
    dialog.connection_closed()
    assert_failed(
        dialog, "connection closed by the server while waiting for the reply to CAPABILITY"
    )
