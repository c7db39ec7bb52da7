"""ManageSieve STARTTLS dialog against what Dovecot Pigeonhole really sends (RFC 5804)."""

from __future__ import annotations

import time

import pytest
from line_dialog_helpers import DialogSuite, assert_failed, converse

from protoaudit.proto.starttls.base import Status
from protoaudit.proto.starttls.lines import NOT_OFFERED
from protoaudit.proto.starttls.sieve import SieveStartTls, State

GREETING = (
    b'"IMPLEMENTATION" "Dovecot Pigeonhole"\r\n'
    b'"SIEVE" "fileinto reject envelope vacation imap4flags include variables body"\r\n'
    b'"NOTIFY" "mailto"\r\n"SASL" ""\r\n"STARTTLS"\r\n"VERSION" "1.0"\r\nOK "Dovecot ready."\r\n'
)
GO_AHEAD = b'OK "Begin TLS negotiation now."\r\n'


class TestDovecotPigeonhole(DialogSuite):
    script = ((b"", GREETING), (b"STARTTLS\r\n", GO_AHEAD))
    banner = 'OK "Dovecot ready."'
    capabilities = (
        "IMPLEMENTATION Dovecot Pigeonhole",
        "SIEVE fileinto reject envelope vacation imap4flags include variables body",
        "NOTIFY mailto",
        "SASL",
        "STARTTLS",
        "VERSION 1.0",
    )
    offered = True
    plaintext_auth = ()
    endless = b'"NOTIFY" "mailto"\r\n'
    endless_after = 0

    def make(self) -> SieveStartTls:
        return SieveStartTls()


def test_the_states_follow_the_dialog() -> None:
    dialog = SieveStartTls()
    states = [dialog.state]
    for _, answer in TestDovecotPigeonhole.script:
        dialog.receive_data(answer)
        states.append(dialog.state)
    assert states == [State.GREETING, State.STARTTLS, State.READY]


def test_sasl_plain_before_tls_and_quoted_escapes() -> None:
    dialog = SieveStartTls()
    dialog.receive_data(
        b'"IMPLEMENTATION" "Cyrus \\"timsieved\\" v3.6"\r\n"SASL" "PLAIN LOGIN SCRAM-SHA-1"\r\n'
        b'"STARTTLS"\r\nOK\r\n'
    )
    outcome = dialog.outcome
    assert outcome.capabilities_before[0] == 'IMPLEMENTATION Cyrus "timsieved" v3.6'
    assert outcome.plaintext_auth_offered == ("PLAIN", "LOGIN")
    assert dialog.bytes_to_send() == b"STARTTLS\r\n"


def test_quoting_that_never_closes_is_read_in_one_pass() -> None:
    # Given lines of escaped quotes that never close, on which a quoted-string regular
    # expression backtracks quadratically (half a second of CPU a line), when they fill the
    # dialog's byte budget, then reading them stays cheap.
    dialog = SieveStartTls()
    started = time.perf_counter()
    for _ in range(7):
        dialog.receive_data(b'"' + b'\\"' * 4000 + b"\r\n")
    assert time.perf_counter() - started < 0.5
    assert dialog.status is Status.RUNNING


def test_a_value_sent_as_a_literal() -> None:
    dialog = SieveStartTls()
    dialog.receive_data(b'"SIEVE" {13}\r\nfileinto body\r\n"STARTTLS"\r\nOK\r\n')
    assert dialog.outcome.capabilities_before == ("SIEVE fileinto body", "STARTTLS")


def test_without_starttls_listed_logout() -> None:
    dialog = SieveStartTls()
    dialog.receive_data(b'"IMPLEMENTATION" "x"\r\n"SASL" "PLAIN"\r\nOK "ready"\r\n')
    assert_failed(dialog, NOT_OFFERED)
    assert dialog.bytes_to_send() == b"LOGOUT\r\n"
    assert dialog.outcome.starttls_offered is False


@pytest.mark.parametrize(
    ("turns", "answer", "failure", "sent"),
    [
        (
            0,
            b'NO "Service unavailable"\r\n',
            'greeting refused: NO "Service unavailable"',
            b"LOGOUT\r\n",
        ),
        (0, b'BYE "Too many connections"\r\n', 'greeting refused: BYE "Too many connections"', b""),
        (1, b'NO "TLS unavailable"\r\n', 'STARTTLS refused: NO "TLS unavailable"', b"LOGOUT\r\n"),
        (1, b'NO (TRYLATER) "busy"\r\n', 'STARTTLS refused: NO (TRYLATER) "busy"', b"LOGOUT\r\n"),
    ],
)
def test_a_refusal_is_quoted(turns: int, answer: bytes, failure: str, sent: bytes) -> None:
    dialog = SieveStartTls()
    converse(dialog, TestDovecotPigeonhole.script[:turns])
    dialog.bytes_to_send()
    dialog.receive_data(answer)
    assert_failed(dialog, failure)
    assert dialog.bytes_to_send() == sent


def test_a_capability_in_answer_to_starttls_is_malformed() -> None:
    dialog = SieveStartTls()
    converse(dialog, ((b"", GREETING), (b"STARTTLS\r\n", b'"SASL" "PLAIN"\r\n')))
    assert_failed(dialog, 'not a valid SIEVE response: \'"SASL" "PLAIN"\'')


def test_hanging_up_names_what_was_awaited() -> None:
    dialog = SieveStartTls()
    dialog.receive_data(GREETING.split(b"OK")[0])
    dialog.connection_closed()
    assert dialog.status is Status.FAILED
    assert (
        dialog.outcome.failure == "connection closed by the server while waiting for the greeting"
    )
