"""The identification exchange (RFC 4253 4.2): real banners, pre-banner lines, limits."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ssh_helpers import expected, load_hex

from protoaudit.errors import DecodeError
from protoaudit.proto.ssh.ident import (
    Identification,
    IdentificationLimits,
    decode_identification_line,
    identification_line,
    parse_identification,
)

OPENSSH = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n"


def parse_incrementally(data: bytes) -> tuple[Identification, bytes]:
    """Feed one byte more each time, as a slow server would deliver it."""
    for end in range(len(data) + 1):
        found = parse_identification(data[:end])
        if found is not None:
            identification, rest = found
            return identification, rest + data[end:]
    raise AssertionError("never complete")


def test_a_captured_openssh_banner() -> None:
    data = load_hex("openssh_curve25519_ed25519.hex")
    found = parse_identification(data)
    assert found is not None
    identification, rest = found
    version = expected()["versions"]["openssh"].split(",")[0]  # "OpenSSH_9.2p1 Debian-2+deb12u10"
    assert identification.line == f"SSH-2.0-{version}"
    assert identification.protocol_version == "2.0"
    assert identification.software == version.split()[0]
    assert identification.comments == version.split()[1]
    assert identification.pre_banner == ()
    assert identification.ssh2
    assert identification.raw == identification.line.encode()
    assert rest == data[len(identification.raw) + 2 :]


def test_a_captured_dropbear_banner() -> None:
    found = parse_identification(load_hex("dropbear_curve25519_ed25519.hex"))
    assert found is not None
    identification = found[0]
    assert identification.software == "dropbear_" + expected()["versions"]["dropbear"].split("v")[1]
    assert identification.comments is None


@pytest.mark.parametrize(
    "data",
    [OPENSSH, OPENSSH + b"\0\0\0\x14", OPENSSH + b"trailing bytes"],
    ids=["alone", "with a packet", "with trailing bytes"],
)
def test_whole_byte_by_byte_and_with_trailing_bytes(data: bytes) -> None:
    whole = parse_identification(data)
    assert whole is not None
    assert parse_incrementally(data) == whole
    assert whole[1] == data[len(OPENSSH) :]


def test_lines_before_the_identification_are_kept_and_cut() -> None:
    long_line = b"x" * 300
    data = b"Welcome\r\n\r\n" + long_line + b"\n" + OPENSSH
    identification, rest = parse_incrementally(data)
    assert identification.pre_banner == ("Welcome", "", "x" * 128)
    assert identification.software == "OpenSSH_9.2p1"
    assert rest == b""


@pytest.mark.parametrize(
    ("line", "version", "software", "comments"),
    [
        (b"SSH-2.0-dropbear_2022.83", "2.0", "dropbear_2022.83", None),
        (b"SSH-1.99-Cisco-1.25", "1.99", "Cisco-1.25", None),  # a hyphen in the software
        (b"SSH-1.5-1.2.27", "1.5", "1.2.27", None),
        (b"SSH-2.0-Foo some words here", "2.0", "Foo", "some words here"),
        (b"SSH-2.0-Foo ", "2.0", "Foo", ""),
    ],
)
def test_line_fields(line: bytes, version: str, software: str, comments: str | None) -> None:
    identification = decode_identification_line(line)
    assert (identification.protocol_version, identification.software) == (version, software)
    assert identification.comments == comments
    assert identification.ssh2 == (version in ("2.0", "1.99"))


def test_a_bare_lf_ends_the_line() -> None:
    found = parse_identification(b"SSH-2.0-Foo\nrest")
    assert found is not None
    assert found[0].line == "SSH-2.0-Foo"
    assert found[1] == b"rest"


def test_need_more_until_the_line_ends() -> None:
    assert parse_identification(b"") is None
    assert parse_identification(b"SS") is None
    assert parse_identification(b"SSH-2.0-OpenSSH_9.2p1\r") is None
    assert parse_identification(b"Hello\r\nSSH-2.0") is None


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (b"SSH-2.0-" + b"a" * 250 + b"\r\n", "identification", "longer than 255"),
        (b"SSH-2.0-" + b"a" * 300, "identification", "longer than 255"),  # no LF yet
        (b"line\n" * 17 + OPENSSH, "pre_banner", "more than 16 lines"),
        (b"x" * 9000, "pre_banner", "within the first 8192 bytes"),
        (b"\x16\x03\x01\x02\x00\x01\x00", "pre_banner", "binary data"),  # a TLS ClientHello
        (b"\xff\xfd\x18\xff\xfd\x20", "pre_banner", "binary data"),  # telnet negotiation
        (b"caf\xe9 au lait\r\n", "pre_banner", "not UTF-8"),  # Latin-1
        (b"SSH-2.0-Foo\0bar\r\n", "identification", "binary data"),
        (b"SSH-2.0-Foo\rbar\r\n", "identification", "binary data"),
        (b"SSH-2.0-Foo\r\r\n", "identification", "binary data"),
        (b"SSH-2.0\r\n", "identification", "no protocol version"),
        (b"SSH-2.0-\r\n", "identification", "no software version"),
        (b"SSH- 2.0-Foo\r\n", "identification", "no protocol version"),
    ],
)
def test_refused(data: bytes, field: str, words: str) -> None:
    with pytest.raises(DecodeError) as raised:
        parse_identification(data)
    assert raised.value.protocol == "ssh"
    assert raised.value.field == field
    assert words in raised.value.reason


def test_limits_are_the_caller_s() -> None:
    limits = IdentificationLimits(max_pre_banner_lines=1, kept_line_length=3)
    found = parse_identification(b"Welcome\r\n" + OPENSSH, limits)
    assert found is not None
    assert found[0].pre_banner == ("Wel",)
    with pytest.raises(DecodeError):
        parse_identification(b"a\nb\n" + OPENSSH, limits)


def test_our_own_line() -> None:
    assert identification_line("protoaudit_0.1") == b"SSH-2.0-protoaudit_0.1\r\n"
    assert identification_line("x", "y z", protocol_version="1.99") == b"SSH-1.99-x y z\r\n"


@given(st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        parse_identification(data)


_token = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20)


@given(
    version=_token.filter(lambda text: "-" not in text),
    software=_token.filter(lambda text: " " not in text),
    comments=st.none()
    | st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
)
def test_round_trip(version: str, software: str, comments: str | None) -> None:
    line = identification_line(software, comments, protocol_version=version)
    found = parse_identification(line + b"after")
    assert found is not None
    identification, rest = found
    assert (identification.protocol_version, identification.software) == (version, software)
    assert identification.comments == comments
    assert rest == b"after"
