"""SMTP and LMTP STARTTLS dialogs against what Postfix and Dovecot really send."""

from __future__ import annotations

import pytest
from line_dialog_helpers import DialogSuite, assert_failed, converse

from protoaudit.proto.starttls.lines import NOT_OFFERED
from protoaudit.proto.starttls.smtp import LmtpStartTls, SmtpStartTls, State

POSTFIX_GREETING = b"220 mx.example.com ESMTP Postfix (Debian/GNU)\r\n"
POSTFIX_EHLO = (
    b"250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
    b"250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
    b"250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"
)
POSTFIX_CAPABILITIES = (
    "PIPELINING",
    "SIZE 10240000",
    "VRFY",
    "ETRN",
    "STARTTLS",
    "AUTH PLAIN LOGIN",
    "ENHANCEDSTATUSCODES",
    "8BITMIME",
    "DSN",
    "SMTPUTF8",
    "CHUNKING",
)
EHLO = b"EHLO protoaudit.invalid\r\n"
GO_AHEAD = b"220 2.0.0 Ready to start TLS\r\n"


class TestPostfix(DialogSuite):
    script = ((b"", POSTFIX_GREETING), (EHLO, POSTFIX_EHLO), (b"STARTTLS\r\n", GO_AHEAD))
    banner = "220 mx.example.com ESMTP Postfix (Debian/GNU)"
    capabilities = POSTFIX_CAPABILITIES
    offered = True
    plaintext_auth = ("PLAIN", "LOGIN")
    endless = b"250-PIPELINING\r\n"
    endless_after = 1

    def make(self) -> SmtpStartTls:
        return SmtpStartTls()


class TestDovecotLmtp(DialogSuite):
    script = (
        (b"", b"220 mail.example.com Dovecot (Debian) ready.\r\n"),
        (
            b"LHLO protoaudit.invalid\r\n",
            b"250-mail.example.com\r\n250-8BITMIME\r\n250-CHUNKING\r\n"
            b"250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n250-STARTTLS\r\n"
            b"250 XCLIENT ADDR PORT TTL TIMEOUT\r\n",
        ),
        (b"STARTTLS\r\n", b"220 2.0.0 Begin TLS.\r\n"),
    )
    banner = "220 mail.example.com Dovecot (Debian) ready."
    capabilities = (
        "8BITMIME",
        "CHUNKING",
        "ENHANCEDSTATUSCODES",
        "PIPELINING",
        "STARTTLS",
        "XCLIENT ADDR PORT TTL TIMEOUT",
    )
    offered = True
    plaintext_auth = ()
    endless = b"250-8BITMIME\r\n"
    endless_after = 1

    def make(self) -> LmtpStartTls:
        return LmtpStartTls()


def test_the_states_follow_the_dialog() -> None:
    dialog = SmtpStartTls()
    assert (dialog.protocol, dialog.state) == ("smtp", State.GREETING)
    dialog.receive_data(POSTFIX_GREETING)
    assert dialog.state is State.HELLO
    dialog.receive_data(POSTFIX_EHLO)
    assert dialog.state is State.STARTTLS
    dialog.receive_data(GO_AHEAD)
    assert dialog.state is State.READY


def test_a_greeting_on_several_lines_is_one_banner() -> None:
    dialog = SmtpStartTls(client_name="[192.0.2.7]")
    converse(dialog, ((b"", b"220-mx.example.com ESMTP\r\n220-No UCE\r\n220 ready\r\n"),))
    assert dialog.bytes_to_send() == b"EHLO [192.0.2.7]\r\n"
    assert dialog.outcome.banner == "220-mx.example.com ESMTP\n220-No UCE\n220 ready"


def test_a_server_without_starttls_gets_quit_and_nothing_else() -> None:
    dialog = SmtpStartTls()
    converse(
        dialog,
        (
            (b"", b"220 mail.example.org ESMTP Exim 4.96\r\n"),
            (EHLO, b"250-mail.example.org Hello\r\n250-SIZE 52428800\r\n250 AUTH=LOGIN PLAIN\r\n"),
        ),
    )
    assert_failed(dialog, NOT_OFFERED)
    assert dialog.bytes_to_send() == b"QUIT\r\n"
    outcome = dialog.outcome
    assert outcome.starttls_offered is False
    assert outcome.capabilities_before == ("SIZE 52428800", "AUTH=LOGIN PLAIN")
    assert outcome.plaintext_auth_offered == ("LOGIN", "PLAIN")


@pytest.mark.parametrize(
    ("turns", "answer", "failure"),
    [
        (
            0,
            b"554 5.3.2 mx.example.com no service\r\n",
            "greeting refused: 554 5.3.2 mx.example.com no service",
        ),
        (0, b"250 hello?\r\n", "unexpected greeting reply: 250 hello?"),
        (
            1,
            b"502 5.5.1 Error: command not implemented\r\n",
            "EHLO refused: 502 5.5.1 Error: command not implemented",
        ),
        (
            2,
            b"454 4.7.0 TLS not available due to local problem\r\n",
            "STARTTLS refused: 454 4.7.0 TLS not available due to local problem",
        ),
        (2, b"250 2.0.0 Ok\r\n", "unexpected STARTTLS reply: 250 2.0.0 Ok"),
    ],
)
def test_a_refusal_is_quoted_and_answered_with_quit(
    turns: int, answer: bytes, failure: str
) -> None:
    dialog = SmtpStartTls()
    converse(dialog, TestPostfix.script[:turns])
    dialog.bytes_to_send()
    dialog.receive_data(answer)
    assert_failed(dialog, failure)
    assert dialog.bytes_to_send() == b"QUIT\r\n"


def test_ehlo_refused_gets_no_helo_fallback() -> None:
    dialog = LmtpStartTls()
    converse(dialog, ((b"", POSTFIX_GREETING), (b"LHLO protoaudit.invalid\r\n", b"500 what?\r\n")))
    assert_failed(dialog, "LHLO refused: 500 what?")
    assert dialog.bytes_to_send() == b"QUIT\r\n"


def test_a_reply_that_changes_its_code_is_malformed() -> None:
    dialog = SmtpStartTls()
    converse(dialog, ((b"", POSTFIX_GREETING), (EHLO, b"250-mx.example.com\r\n251 odd\r\n")))
    assert_failed(dialog, "a reply whose code changes from 250 to 251")
    assert dialog.bytes_to_send() == b""


def test_a_reply_without_a_code() -> None:
    dialog = SmtpStartTls()
    dialog.receive_data(b"hello\r\n")
    assert_failed(dialog, "not a valid SMTP reply: 'hello'")


def test_hanging_up_names_what_was_awaited() -> None:
    dialog = SmtpStartTls()
    converse(dialog, TestPostfix.script[:1])
    dialog.connection_closed()
    assert_failed(dialog, "connection closed by the server while waiting for the reply to EHLO")


@pytest.mark.parametrize("name", ["", "two words", "mx\r\nRCPT TO:<x>", "caf\u00e9.example"])
def test_a_client_name_that_does_not_fit_ehlo_is_our_error(name: str) -> None:
    with pytest.raises(ValueError, match="client_name"):
        SmtpStartTls(client_name=name)
