"""InjectingDialog: a command pipelined after each protocol's STARTTLS, and what follows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from line_dialog_helpers import byte_by_byte

from protoaudit.proto.starttls.base import Dialog, Status
from protoaudit.proto.starttls.ftp import FtpStartTls
from protoaudit.proto.starttls.imap import ImapStartTls
from protoaudit.proto.starttls.injection import (
    INJECTION_PROTOCOLS,
    MAX_AFTER_READY,
    InjectingDialog,
    verdict,
)
from protoaudit.proto.starttls.lines import CLOSED
from protoaudit.proto.starttls.nntp import NntpStartTls
from protoaudit.proto.starttls.pop3 import Pop3StartTls
from protoaudit.proto.starttls.smtp import LmtpStartTls, SmtpStartTls
from protoaudit.proto.starttls.xmpp import XmppStartTls

# (dialog, the plaintext before STARTTLS as (sent, answer) turns, the STARTTLS write, go-ahead)
Case = tuple[Callable[[], Dialog], tuple[tuple[bytes, bytes], ...], bytes, bytes]

CASES: dict[str, Case] = {
    "smtp": (
        SmtpStartTls,
        (
            (b"", b"220 localhost ESMTP Postfix\r\n"),
            (b"EHLO protoaudit.invalid\r\n", b"250-localhost\r\n250 STARTTLS\r\n"),
        ),
        b"STARTTLS\r\nXPROTOAUDIT\r\n",
        b"220 2.0.0 Ready to start TLS\r\n",
    ),
    "lmtp": (
        LmtpStartTls,
        (
            (b"", b"220 localhost LMTP\r\n"),
            (b"LHLO protoaudit.invalid\r\n", b"250-localhost\r\n250 STARTTLS\r\n"),
        ),
        b"STARTTLS\r\nXPROTOAUDIT\r\n",
        b"220 2.0.0 Ready to start TLS\r\n",
    ),
    "pop3": (
        lambda: Pop3StartTls(ask_capabilities=False),
        ((b"", b"+OK Dovecot (Debian) ready.\r\n"),),
        b"STLS\r\nXPROTOAUDIT\r\n",
        b"+OK Begin TLS negotiation now.\r\n",
    ),
    "imap": (
        ImapStartTls,
        ((b"", b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] Dovecot ready.\r\n"),),
        b"a1 STARTTLS\r\na2 NOOP\r\n",
        b"a1 OK Begin TLS negotiation now.\r\n",
    ),
    "ftp": (
        lambda: FtpStartTls(ask_capabilities=False),
        ((b"", b"220 (vsFTPd 3.0.3)\r\n"),),
        b"AUTH TLS\r\nXPROTOAUDIT\r\n",
        b"234 Proceed with negotiation.\r\n",
    ),
    "nntp": (
        lambda: NntpStartTls(ask_capabilities=False),
        ((b"", b"200 news.example ready\r\n"),),
        b"STARTTLS\r\nXPROTOAUDIT\r\n",
        b"382 Continue with TLS negotiation\r\n",
    ),
}


def played(protocol: str) -> InjectingDialog:
    """The dialog up to (and including) its STARTTLS write, which is checked."""
    make, turns, starttls, _ = CASES[protocol]
    dialog = InjectingDialog(make())
    for sent, answer in turns:
        assert dialog.bytes_to_send() == sent
        dialog.receive_data(answer)
    assert dialog.injected is None
    assert dialog.bytes_to_send() == starttls
    return dialog


def test_every_protocol_has_a_case() -> None:
    assert set(CASES) == INJECTION_PROTOCOLS


@pytest.mark.parametrize("protocol", sorted(CASES))
def test_the_command_rides_in_the_starttls_write(protocol: str) -> None:
    dialog = played(protocol)
    injected = CASES[protocol][2].split(b"\r\n")[1].decode()
    assert dialog.injected == injected
    dialog.receive_data(CASES[protocol][3])
    assert dialog.status is Status.READY
    assert dialog.after_ready == b""
    assert dialog.outcome.starttls_offered is not False


def test_imap_takes_the_tag_after_starttls_s_own() -> None:
    # Given a greeting without capabilities, CAPABILITY is a1 and STARTTLS a2
    dialog = InjectingDialog(ImapStartTls())
    dialog.bytes_to_send()
    dialog.receive_data(b"* OK ready\r\n")
    assert dialog.bytes_to_send() == b"a1 CAPABILITY\r\n"
    dialog.receive_data(b"* CAPABILITY IMAP4rev1 STARTTLS\r\na1 OK done\r\n")
    assert dialog.bytes_to_send() == b"a2 STARTTLS\r\na3 NOOP\r\n"
    assert dialog.injected == "a3 NOOP"
    assert dialog.marker == "a4 NOOP"


@pytest.mark.parametrize("protocol", sorted(CASES))
@pytest.mark.parametrize("split", ["whole", "byte_by_byte"])
def test_a_plaintext_answer_after_the_go_ahead_is_kept_not_failed(
    protocol: str, split: str
) -> None:
    # Given a sloppy server that answers the injected command in clear at once
    dialog = played(protocol)
    answer = CASES[protocol][3] + b"250 2.0.0 Ok\r\n"
    for piece in [answer] if split == "whole" else byte_by_byte(answer):
        dialog.receive_data(piece)
    # Then the inner dialog is ready for TLS and the answer waits for the probe
    assert dialog.status is Status.READY, dialog.outcome.failure
    assert dialog.after_ready == b"250 2.0.0 Ok\r\n"


def test_what_follows_the_go_ahead_is_bounded() -> None:
    dialog = played("smtp")
    dialog.receive_data(CASES["smtp"][3] + b"x" * (MAX_AFTER_READY + 100))
    dialog.receive_data(b"y" * 50)
    assert len(dialog.after_ready) == MAX_AFTER_READY
    assert dialog.after_ready_dropped == 150


def test_a_refusal_of_starttls_fails_the_dialog_after_the_injection() -> None:
    dialog = played("smtp")
    dialog.receive_data(b"554 5.5.1 Error: command pipelining not allowed\r\n")
    assert dialog.status is Status.FAILED
    assert dialog.injected == "XPROTOAUDIT"
    assert "STARTTLS refused" in str(dialog.outcome.failure)


def test_a_server_that_hangs_up_fails_the_dialog() -> None:
    dialog = played("pop3")
    dialog.connection_closed()
    assert dialog.status is Status.FAILED
    assert str(dialog.outcome.failure).startswith(CLOSED)


def test_a_dialog_that_fails_before_starttls_injects_nothing() -> None:
    dialog = InjectingDialog(SmtpStartTls())
    dialog.receive_data(b"554 go away\r\n")
    assert dialog.status is Status.FAILED
    dialog.bytes_to_send()  # QUIT
    assert dialog.injected is None


def test_protocols_without_a_starttls_command_line_are_refused() -> None:
    with pytest.raises(ValueError, match="no STARTTLS injection"):
        InjectingDialog(XmppStartTls(domain="example.com"))


@pytest.mark.parametrize(
    ("protocol", "data", "expected"),
    [
        # the marker (accepted) answered first: safe, at once
        ("smtp", b"250 2.0.0 Ok\r\n", False),
        ("smtp", b"250-first\r\n250 last\r\n", False),
        # a refusal, then another reply: the refusal answered the injected command
        ("smtp", b"502 5.5.2 Error: command not implemented\r\n250 2.0.0 Ok\r\n", True),
        ("lmtp", b"500 unknown\r\n500 unknown\r\n", True),
        # a lone refusal: undecided (the marker itself may be refused)
        ("smtp", b"502 5.5.2 Error\r\n", None),
        ("smtp", b"250 2.0.0 Ok", None),  # not a whole line yet
        ("smtp", b"250-not the last line\r\n", None),
        ("smtp", b"xxxxxxxx\r\n", None),  # a flood is no answer
        ("smtp", b"25\r\n", None),
        ("ftp", b"200 NOOP ok.\r\n", False),
        ("ftp", b"530 Please login with USER and PASS.\r\n200 NOOP ok.\r\n", True),
        ("ftp", b"600 odd\r\n", None),
        ("nntp", b"111 20250101000000\r\n", False),
        ("nntp", b"500 What?\r\n111 20250101000000\r\n", True),
        ("pop3", b"+OK\r\nTOP\r\n.\r\n", False),
        ("pop3", b"-ERR Unknown command\r\n+OK\r\n", True),
        ("pop3", b"-ERR Unknown command\r\n", None),
        ("pop3", b"OK\r\n", None),
        ("imap", b"* 1 EXISTS\r\na3 OK NOOP completed\r\n", True),
        ("imap", b"a4 OK NOOP completed\r\na3 OK\r\n", False),
        ("imap", b"* 1 EXISTS\r\n", None),
        ("imap", b"a30 OK\r\n", None),
    ],
)
def test_what_the_replies_over_tls_say(protocol: str, data: bytes, expected: bool | None) -> None:
    injected, marker = ("a3 NOOP", "a4 NOOP") if protocol == "imap" else ("XPROTOAUDIT", "NOOP")
    assert verdict(protocol, injected, marker, data) is expected


@pytest.mark.parametrize("protocol", sorted(CASES))
def test_the_marker_is_known_once_the_command_is_injected(protocol: str) -> None:
    dialog = played(protocol)
    assert dialog.marker is not None
    assert dialog.marker != dialog.injected


@given(st.sampled_from(sorted(CASES)), st.lists(st.binary(max_size=2000), max_size=20))
def test_arbitrary_bytes_never_raise(protocol: str, pieces: list[bytes]) -> None:
    dialog = InjectingDialog(CASES[protocol][0]())
    for piece in pieces:
        dialog.bytes_to_send()
        dialog.receive_data(piece)
    dialog.connection_closed()
    assert dialog.status in (Status.READY, Status.FAILED)
    assert len(dialog.after_ready) <= MAX_AFTER_READY
