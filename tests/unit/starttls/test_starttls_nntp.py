"""NNTP STARTTLS dialog against what INN's nnrpd really sends (RFC 3977, RFC 4642)."""

from __future__ import annotations

import pytest
from line_dialog_helpers import DialogSuite, assert_failed, converse

from protoaudit.proto.starttls.base import Status
from protoaudit.proto.starttls.lines import NOT_OFFERED
from protoaudit.proto.starttls.nntp import NntpStartTls, State

GREETING = b"200 news.example.com InterNetNews NNRP server INN 2.7.1 ready (posting ok)\r\n"
GO_AHEAD = b"382 Begin TLS negotiation now\r\n"


class TestInn(DialogSuite):
    script = (
        (b"", GREETING),
        (
            b"CAPABILITIES\r\n",
            b"101 Capability list:\r\nVERSION 2\r\nIMPLEMENTATION INN 2.7.1\r\n"
            b"AUTHINFO USER\r\nHDR\r\nLIST ACTIVE ACTIVE.TIMES COUNTS DISTRIB.PATS HEADERS\r\n"
            b"NEWNEWS\r\nOVER\r\nPOST\r\nREADER\r\nSASL PLAIN\r\nSTARTTLS\r\n.\r\n",
        ),
        (b"STARTTLS\r\n", GO_AHEAD),
    )
    banner = GREETING.decode().strip()
    capabilities = (
        "VERSION 2",
        "IMPLEMENTATION INN 2.7.1",
        "AUTHINFO USER",
        "HDR",
        "LIST ACTIVE ACTIVE.TIMES COUNTS DISTRIB.PATS HEADERS",
        "NEWNEWS",
        "OVER",
        "POST",
        "READER",
        "SASL PLAIN",
        "STARTTLS",
    )
    offered = True
    plaintext_auth = ("AUTHINFO USER", "PLAIN")
    endless = b"OVER\r\n"
    endless_after = 1
    endless_prefix = b"101 Capability list:\r\n"

    def make(self) -> NntpStartTls:
        return NntpStartTls()


def test_the_states_follow_the_dialog() -> None:
    dialog = NntpStartTls()
    states = [dialog.state]
    for piece in (GREETING, b"101 list\r\n", b"STARTTLS\r\n.\r\n", GO_AHEAD):
        dialog.receive_data(piece)
        states.append(dialog.state)
    assert states == [
        State.GREETING,
        State.CAPABILITIES,
        State.CAPABILITY_LIST,
        State.STARTTLS,
        State.READY,
    ]


def test_a_server_older_than_rfc_3977_is_asked_blind() -> None:
    dialog = NntpStartTls()
    converse(
        dialog,
        (
            (b"", b"201 news.example.com ready (no posting)\r\n"),
            (b"CAPABILITIES\r\n", b"500 What?\r\n"),
            (b"STARTTLS\r\n", GO_AHEAD),
        ),
    )
    assert dialog.status is Status.READY
    assert dialog.outcome.starttls_offered is None


def test_without_starttls_listed_quit() -> None:
    dialog = NntpStartTls()
    converse(
        dialog,
        (
            (b"", GREETING),
            (b"CAPABILITIES\r\n", b"101 list\r\nVERSION 2\r\nAUTHINFO USER SASL\r\n.\r\n"),
        ),
    )
    assert_failed(dialog, NOT_OFFERED)
    assert dialog.bytes_to_send() == b"QUIT\r\n"
    assert dialog.outcome.plaintext_auth_offered == ("AUTHINFO USER",)


@pytest.mark.parametrize(
    ("turns", "answer", "failure"),
    [
        (0, b"502 Permission denied\r\n", "greeting refused: 502 Permission denied"),
        (0, b"100 help text follows\r\n", "unexpected greeting reply: 100 help text follows"),
        (
            2,
            b"580 Can not initiate TLS negotiation\r\n",
            "STARTTLS refused: 580 Can not initiate TLS negotiation",
        ),
        (2, b"502 Command unavailable\r\n", "STARTTLS refused: 502 Command unavailable"),
    ],
)
def test_a_refusal_is_quoted_and_answered_with_quit(
    turns: int, answer: bytes, failure: str
) -> None:
    dialog = NntpStartTls()
    converse(dialog, TestInn.script[:turns])
    dialog.bytes_to_send()
    dialog.receive_data(answer)
    assert_failed(dialog, failure)
    assert dialog.bytes_to_send() == b"QUIT\r\n"


def test_ask_capabilities_false_goes_straight_to_starttls() -> None:
    dialog = NntpStartTls(ask_capabilities=False)
    converse(dialog, ((b"", GREETING), (b"STARTTLS\r\n", GO_AHEAD)))
    assert dialog.status is Status.READY


def test_hanging_up_names_what_was_awaited() -> None:
    dialog = NntpStartTls()
    converse(dialog, TestInn.script[:1])
    dialog.receive_data(b"101 list\r\nVERSION 2\r\n")
    dialog.connection_closed()
    assert_failed(dialog, "connection closed by the server while waiting for the capabilities")
