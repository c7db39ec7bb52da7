"""Telnet option negotiation, and the rlogin, rsh and rexec start-up messages."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protoaudit.errors import DecodeError
from protoaudit.proto.remote_login import (
    RemoteReply,
    TelnetCommand,
    TelnetNegotiation,
    TelnetSubnegotiation,
    parse_remote_reply,
    parse_telnet,
    rexec_request,
    rlogin_request,
    rsh_request,
    telnet_refusals,
)

IAC, DO, DONT, WILL, WONT, SB, SE = 255, 253, 254, 251, 252, 250, 240

# What inetutils-telnetd 2.4 (Debian 12) sent first on 2026-11-28, run on loopback by hand.
TELNETD = b"\xff\xfb%\xff\xfb&\xff\xfd\x18\xff\xfd \xff\xfd#\xff\xfd'\xff\xfd$"


def test_a_telnetd_opening() -> None:
    greeting = parse_telnet(TELNETD)
    assert [(n.command, n.option) for n in greeting.negotiations] == [
        (WILL, 37),
        (WILL, 38),
        (DO, 24),
        (DO, 32),
        (DO, 35),
        (DO, 39),
        (DO, 36),
    ]
    assert greeting.negotiates
    assert greeting.text == ""
    assert not greeting.incomplete
    assert greeting.describe() == (
        "IAC WILL AUTHENTICATION, IAC WILL ENCRYPT, IAC DO TERMINAL-TYPE, IAC DO TERMINAL-SPEED, "
        "IAC DO X-DISPLAY-LOCATION, IAC DO NEW-ENVIRON, IAC DO ENVIRON"
    )


def test_text_subnegotiation_and_commands_are_told_apart() -> None:
    data = (
        bytes([IAC, WILL, 1, IAC, SB, 24, 1, IAC, IAC, IAC, SE, IAC, TelnetCommand.GO_AHEAD])
        + b"Debian GNU/Linux 12\r\nlogin: \r\0"
        + bytes([IAC, IAC, 0x07])
    )
    greeting = parse_telnet(data)
    assert greeting.negotiations == (TelnetNegotiation(WILL, 1),)
    assert greeting.subnegotiations == (TelnetSubnegotiation(24, bytes([1, IAC])),)
    assert greeting.commands == (TelnetCommand.GO_AHEAD,)
    assert greeting.text == "Debian GNU/Linux 12\nlogin: \n\ufffd"  # IAC IAC is data 0xff
    assert str(greeting.subnegotiations[0]) == "IAC SB TERMINAL-TYPE ... IAC SE"


@pytest.mark.parametrize(
    "data", [bytes([IAC]), bytes([IAC, DO]), bytes([IAC, SB, 24, 1, 2]), bytes([IAC, SB])]
)
def test_incomplete_sequences(data: bytes) -> None:
    greeting = parse_telnet(b"x" + data)
    assert greeting.incomplete
    assert greeting.text == "x"


def test_plain_text_is_not_telnet() -> None:
    greeting = parse_telnet(b"220 mail.example.com ESMTP\r\n")
    assert not greeting.negotiates
    assert greeting.text == "220 mail.example.com ESMTP\n"


def test_only_max_length_bytes_are_read() -> None:
    greeting = parse_telnet(b"a" * 10 + TELNETD, max_length=10)
    assert greeting.text == "a" * 10
    assert not greeting.negotiates


def test_refusals() -> None:
    greeting = parse_telnet(TELNETD + bytes([IAC, WILL, 1, IAC, DONT, 5, IAC, DO, 24]))
    refused_first = bytes([IAC, DONT, 37, IAC, DONT, 38])
    refused_then = bytes(
        [IAC, WONT, 24, IAC, WONT, 32, IAC, WONT, 35, IAC, WONT, 39, IAC, WONT, 36]
    )
    assert telnet_refusals(greeting) == refused_first + refused_then + bytes([IAC, DONT, 1])


def test_rlogin_rsh_rexec_requests() -> None:
    assert rlogin_request("alice", "bob") == b"\0alice\0bob\0dumb/38400\0"
    assert rsh_request("alice", "bob", "id") == b"0\0alice\0bob\0id\0"
    assert rsh_request("a", "b", "c", stderr_port=1023) == b"1023\0a\0b\0c\0"
    assert rexec_request("bob", "secret", "id") == b"0\0bob\0secret\0id\0"
    with pytest.raises(ValueError, match="NUL"):
        rsh_request("a\0b", "b", "c")
    with pytest.raises(ValueError, match="NUL"):
        rexec_request("a", "b", "c" * 2000)
    with pytest.raises(ValueError, match="not a TCP port"):
        rsh_request("a", "b", "c", stderr_port=70000)


@pytest.mark.parametrize(
    ("data", "reply"),
    [
        (b"\0", RemoteReply(True, "")),
        # in.rlogind (rsh-redone-server 85, Debian 12) to rlogin_request("root", "nobody"):
        (b"\0Password: ", RemoteReply(True, "Password:")),
        # in.rshd of the same package: the request is taken, then PAM refuses
        (b"\0Authentication failure\n", RemoteReply(True, "Authentication failure")),
        (b"\x01Permission denied.\n", RemoteReply(False, "Permission denied.")),
        (b"\x01rshd: Login incorrect.\nmore", RemoteReply(False, "rshd: Login incorrect.")),
        (b"\x01\x1b[31mred\n", RemoteReply(False, "[31mred")),  # the escape byte is dropped
    ],
)
def test_replies(data: bytes, reply: RemoteReply) -> None:
    assert parse_remote_reply(data) == reply


def test_a_reply_that_is_not_one() -> None:
    assert parse_remote_reply(b"") is None
    with pytest.raises(DecodeError) as raised:
        parse_remote_reply(b"SSH-2.0-OpenSSH\r\n", protocol="rexec")
    assert raised.value.protocol == "rexec"
    assert "neither 0" in raised.value.reason


@given(st.binary(max_size=300))
def test_telnet_parsing_never_raises(data: bytes) -> None:
    greeting = parse_telnet(data)
    assert all(0 <= n.option <= 255 for n in greeting.negotiations)


@given(st.binary(max_size=100))
def test_reply_parsing_raises_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        parse_remote_reply(data)
