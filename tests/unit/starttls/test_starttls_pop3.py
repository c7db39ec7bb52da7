"""POP3 STLS dialog against what Dovecot really sends (RFC 2449 CAPA, RFC 2595 STLS)."""

from __future__ import annotations

import pytest
from line_dialog_helpers import DialogSuite, assert_failed, converse

from protoaudit.proto.starttls.base import Status
from protoaudit.proto.starttls.lines import NOT_OFFERED
from protoaudit.proto.starttls.pop3 import Pop3StartTls, State

GREETING = b"+OK Dovecot (Debian) ready.\r\n"
GO_AHEAD = b"+OK Begin TLS negotiation now.\r\n"


class TestDovecotPlaintextAllowed(DialogSuite):
    # Dovecot with disable_plaintext_auth = no: USER and SASL PLAIN offered in clear.
    script = (
        (b"", GREETING),
        (
            b"CAPA\r\n",
            b"+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n"
            b"STLS\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n",
        ),
        (b"STLS\r\n", GO_AHEAD),
    )
    banner = "+OK Dovecot (Debian) ready."
    capabilities = (
        "CAPA",
        "TOP",
        "UIDL",
        "RESP-CODES",
        "PIPELINING",
        "AUTH-RESP-CODE",
        "STLS",
        "USER",
        "SASL PLAIN LOGIN",
    )
    offered = True
    plaintext_auth = ("USER/PASS", "PLAIN", "LOGIN")
    endless = b"TOP\r\n"
    endless_after = 1
    endless_prefix = b"+OK\r\n"

    def make(self) -> Pop3StartTls:
        return Pop3StartTls()


class TestDovecotDefault(DialogSuite):
    # The default (disable_plaintext_auth = yes): no USER, SASL lists no mechanism.
    script = (
        (b"", b"+OK Dovecot ready.\r\n"),
        (b"CAPA\r\n", b"+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nSTLS\r\nSASL\r\n.\r\n"),
        (b"STLS\r\n", GO_AHEAD),
    )
    banner = "+OK Dovecot ready."
    capabilities = ("CAPA", "TOP", "UIDL", "RESP-CODES", "STLS", "SASL")
    offered = True
    plaintext_auth = ()
    endless = b"..dot-stuffed\r\n"
    endless_after = 1
    endless_prefix = b"+OK\r\n"

    def make(self) -> Pop3StartTls:
        return Pop3StartTls()


def test_the_states_follow_the_dialog() -> None:
    dialog = Pop3StartTls()
    states = [dialog.state]
    for piece in (GREETING, b"+OK\r\n", b"STLS\r\n", b".\r\n", GO_AHEAD):
        dialog.receive_data(piece)
        states.append(dialog.state)
    assert states == [
        State.GREETING,
        State.CAPA,
        State.CAPA_LIST,
        State.CAPA_LIST,
        State.STLS,
        State.READY,
    ]


def test_without_capa_stls_is_tried_blind() -> None:
    dialog = Pop3StartTls()
    converse(dialog, ((b"", GREETING), (b"CAPA\r\n", b"-ERR Unknown command.\r\n")))
    assert dialog.bytes_to_send() == b"STLS\r\n"
    dialog.receive_data(GO_AHEAD)
    assert dialog.status is Status.READY
    assert dialog.outcome.starttls_offered is None
    assert dialog.outcome.capabilities_before == ()


def test_ask_capabilities_false_goes_straight_to_stls() -> None:
    dialog = Pop3StartTls(ask_capabilities=False)
    converse(dialog, ((b"", GREETING), (b"STLS\r\n", GO_AHEAD)))
    assert dialog.status is Status.READY
    assert dialog.outcome.starttls_offered is None


def test_a_list_without_stls_gets_quit() -> None:
    dialog = Pop3StartTls()
    converse(dialog, ((b"", GREETING), (b"CAPA\r\n", b"+OK\r\nTOP\r\nUSER\r\n.\r\n")))
    assert_failed(dialog, NOT_OFFERED)
    assert dialog.bytes_to_send() == b"QUIT\r\n"
    assert dialog.outcome.plaintext_auth_offered == ("USER/PASS",)
    assert dialog.outcome.starttls_offered is False


@pytest.mark.parametrize(
    ("turns", "answer", "failure"),
    [
        (0, b"-ERR [SYS/TEMP] Try later\r\n", "greeting refused: -ERR [SYS/TEMP] Try later"),
        (
            2,
            b"-ERR TLS support isn't enabled.\r\n",
            "STARTTLS refused: -ERR TLS support isn't enabled.",
        ),
    ],
)
def test_a_refusal_is_quoted_and_answered_with_quit(
    turns: int, answer: bytes, failure: str
) -> None:
    dialog = Pop3StartTls()
    converse(dialog, TestDovecotDefault.script[:turns])
    dialog.bytes_to_send()
    dialog.receive_data(answer)
    assert_failed(dialog, failure)
    assert dialog.bytes_to_send() == b"QUIT\r\n"


def test_dot_stuffing_is_undone() -> None:
    dialog = Pop3StartTls()
    converse(dialog, ((b"", GREETING), (b"CAPA\r\n", b"+OK\r\n..X-ODD\r\nSTLS\r\n.\r\n")))
    assert dialog.outcome.capabilities_before == (".X-ODD", "STLS")


def test_a_line_that_is_no_status() -> None:
    dialog = Pop3StartTls()
    dialog.receive_data(b"220 mail.example.com ESMTP\r\n")
    assert_failed(dialog, "not a valid POP3 reply: '220 mail.example.com ESMTP'")


def test_hanging_up_names_what_was_awaited() -> None:
    dialog = Pop3StartTls()
    converse(dialog, TestDovecotDefault.script[:2])
    dialog.connection_closed()
    assert_failed(dialog, "connection closed by the server while waiting for the reply to STLS")
