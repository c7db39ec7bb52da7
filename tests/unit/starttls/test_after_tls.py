"""Capability queries over TLS (after_tls.py), against what postfix, dovecot and vsftpd send."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from line_dialog_helpers import byte_by_byte

from protoaudit.proto.starttls.after_tls import (
    CAPABILITY_PROTOCOLS,
    FtpCapabilities,
    FtpGreeting,
    ImapCapabilities,
    LineQuery,
    LmtpCapabilities,
    NntpCapabilities,
    Pop3Capabilities,
    SmtpCapabilities,
    capability_query,
)
from protoaudit.proto.starttls.base import MAX_DIALOG_BYTES, MAX_LINE, Status
from protoaudit.proto.starttls.lines import CLOSED

# (query, what it must send, what the server answers, the capabilities it lists)
Case = tuple[Callable[[], LineQuery], bytes, bytes, tuple[str, ...]]

POSTFIX_EHLO = (
    b"250-localhost\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-AUTH PLAIN LOGIN\r\n"
    b"250 CHUNKING\r\n"
)
DOVECOT_CAPABILITY = (
    b"* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN\r\n"
    b"c1 OK Pre-login capabilities listed, post-login capabilities have more.\r\n"
)
DOVECOT_CAPA = b"+OK\r\nCAPA\r\nTOP\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n"
VSFTPD_FEAT = b"211-Features:\r\n AUTH TLS\r\n EPSV\r\n PBSZ\r\n PROT\r\n211 End\r\n"
INN_CAPABILITIES = b"101 Capability list:\r\nVERSION 2\r\nREADER\r\nAUTHINFO USER\r\n.\r\n"

CASES: dict[str, Case] = {
    "smtp": (
        SmtpCapabilities,
        b"EHLO protoaudit.invalid\r\n",
        POSTFIX_EHLO,
        ("PIPELINING", "SIZE 10240000", "AUTH PLAIN LOGIN", "CHUNKING"),
    ),
    "lmtp": (
        LmtpCapabilities,
        b"LHLO protoaudit.invalid\r\n",
        b"250-localhost\r\n250 PIPELINING\r\n",
        ("PIPELINING",),
    ),
    "imap": (
        ImapCapabilities,
        b"c1 CAPABILITY\r\n",
        DOVECOT_CAPABILITY,
        (
            "IMAP4rev1",
            "SASL-IR",
            "LOGIN-REFERRALS",
            "ID",
            "ENABLE",
            "IDLE",
            "LITERAL+",
            "AUTH=PLAIN",
        ),
    ),
    "pop3": (
        Pop3Capabilities,
        b"CAPA\r\n",
        DOVECOT_CAPA,
        ("CAPA", "TOP", "USER", "SASL PLAIN LOGIN"),
    ),
    "ftp": (FtpCapabilities, b"FEAT\r\n", VSFTPD_FEAT, ("AUTH TLS", "EPSV", "PBSZ", "PROT")),
    "nntp": (
        NntpCapabilities,
        b"CAPABILITIES\r\n",
        INN_CAPABILITIES,
        ("VERSION 2", "READER", "AUTHINFO USER"),
    ),
}


def test_every_protocol_has_a_case() -> None:
    assert set(CASES) == CAPABILITY_PROTOCOLS


@pytest.mark.parametrize("protocol", sorted(CASES))
@pytest.mark.parametrize("split", ["whole", "byte_by_byte"])
def test_a_query_reads_the_whole_reply(protocol: str, split: str) -> None:
    make, sent, answer, capabilities = CASES[protocol]
    query = make()
    assert query.bytes_to_send() == sent
    assert query.bytes_to_send() == b""  # once
    pieces = [answer] if split == "whole" else byte_by_byte(answer)
    for piece in pieces[:-1]:
        query.receive_data(piece)
        assert query.status is Status.RUNNING
    query.receive_data(pieces[-1])
    assert query.status is Status.READY, query.failure
    assert query.capabilities == capabilities
    assert query.refusal is None


def test_capability_query_makes_fresh_queries() -> None:
    first, second = capability_query("imap"), capability_query("imap")
    assert isinstance(first, ImapCapabilities)
    assert first is not second
    assert capability_query("ldap") is None


@pytest.mark.parametrize(
    ("make", "answer"),
    [
        (SmtpCapabilities, b"502 5.5.2 Error: command not recognized\r\n"),
        (ImapCapabilities, b"c1 BAD unknown command\r\n"),
        (Pop3Capabilities, b"-ERR unknown command\r\n"),
        (FtpCapabilities, b"500 Unknown command.\r\n"),
        (NntpCapabilities, b"500 What?\r\n"),
    ],
)
def test_a_negative_answer_is_ready_with_no_capabilities(
    make: Callable[[], LineQuery], answer: bytes
) -> None:
    query = make()
    query.bytes_to_send()
    query.receive_data(answer)
    assert query.status is Status.READY
    assert query.capabilities == ()
    assert query.refusal is not None
    assert query.refusal.split()[0] in answer.decode()


@pytest.mark.parametrize("protocol", sorted(CASES))
def test_bytes_after_the_reply_fail_the_query(protocol: str) -> None:
    make, _, answer, _ = CASES[protocol]
    query = make()
    query.receive_data(answer + b"250 surprise\r\n")
    assert query.status is Status.FAILED
    assert "after the reply to" in str(query.failure)
    query = make()
    query.receive_data(answer)
    query.receive_data(b"x")
    assert query.status is Status.FAILED


@pytest.mark.parametrize("protocol", sorted(CASES))
def test_hanging_up_names_what_was_awaited(protocol: str) -> None:
    make, _, answer, _ = CASES[protocol]
    query = make()
    query.receive_data(answer[: len(answer) // 2])
    query.connection_closed()
    assert query.status is Status.FAILED
    assert str(query.failure).startswith(f"{CLOSED} while waiting for the reply to ")


@pytest.mark.parametrize(
    ("make", "garbage"),
    [
        (SmtpCapabilities, b"hello there\r\n"),
        (SmtpCapabilities, b"250-localhost\r\n251 PIPELINING\r\n"),  # the code changes
        (ImapCapabilities, b"+ go ahead\r\n"),
        (ImapCapabilities, b"a9 OK not ours\r\n"),
        (ImapCapabilities, b"c1 MAYBE\r\n"),
        (Pop3Capabilities, b"OK\r\n"),
        (NntpCapabilities, b"hello\r\n"),
    ],
)
def test_what_is_not_the_protocol_fails(make: Callable[[], LineQuery], garbage: bytes) -> None:
    query = make()
    query.receive_data(garbage)
    assert query.status is Status.FAILED
    assert query.failure


@pytest.mark.parametrize("protocol", sorted(CASES))
def test_floods_end_the_query_within_the_bounds(protocol: str) -> None:
    make, _, _, _ = CASES[protocol]
    endless_line = make()
    endless_line.receive_data(b"2" * (MAX_LINE + 10))
    assert endless_line.status is Status.FAILED
    endless_list = make()
    continuation = {
        "smtp": b"250-X\r\n",
        "lmtp": b"250-X\r\n",
        "imap": b"* X\r\n",
        "pop3": b"X\r\n",
        "ftp": b" X\r\n",
        "nntp": b"X\r\n",
    }[protocol]
    head = {"pop3": b"+OK\r\n", "nntp": b"101 list\r\n", "ftp": b"211-Features:\r\n"}
    endless_list.receive_data(head.get(protocol, b""))
    for _ in range(MAX_DIALOG_BYTES // len(continuation) + 1):
        endless_list.receive_data(continuation)
        if endless_list.status is Status.FAILED:
            break
    assert endless_list.status is Status.FAILED


def test_the_ftp_greeting_waits_out_120_and_reads_220() -> None:
    greeting = FtpGreeting()
    assert greeting.bytes_to_send() == b""
    greeting.receive_data(b"120 ready in 1 minute\r\n")
    assert greeting.status is Status.RUNNING
    greeting.receive_data(b"220-Welcome\r\n to the lab\r\n220 (vsFTPd 3.0.3)\r\n")
    assert greeting.status is Status.READY
    assert greeting.refusal is None
    assert greeting.reply is not None
    assert greeting.reply.code == 220


def test_an_ftp_greeting_that_refuses_is_a_refusal() -> None:
    greeting = FtpGreeting()
    greeting.receive_data(b"421 Too many connections\r\n")
    assert greeting.status is Status.READY
    assert greeting.refusal == "421 Too many connections"


def test_a_command_that_is_not_printable_ascii_is_our_error() -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        SmtpCapabilities(client_name="bad\r\nname")


@given(st.sampled_from(sorted(CASES)), st.lists(st.binary(max_size=3000), max_size=30))
def test_arbitrary_bytes_never_raise_nor_pile_up(protocol: str, pieces: list[bytes]) -> None:
    query = CASES[protocol][0]()
    for piece in pieces:
        query.receive_data(piece)
    query.connection_closed()
    assert query.status in (Status.READY, Status.FAILED)
