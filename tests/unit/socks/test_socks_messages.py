"""SOCKS 5, RFC 1929 and SOCKS 4 messages: golden bytes both ways, refusals, arbitrary input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protoaudit.errors import DecodeError
from protoaudit.proto.socks.constants import (
    AddressType,
    Command,
    method_name,
    reply_name,
    socks4_reply_name,
)
from protoaudit.proto.socks.messages import (
    MethodSelectionReply,
    MethodSelectionRequest,
    Reply,
    Request,
    UsernamePasswordReply,
    UsernamePasswordRequest,
    address_fields,
    address_text,
)
from protoaudit.proto.socks.socks4 import SOCKS4A_ADDRESS, Socks4Reply, Socks4Request

# (message, its bytes): what curl sends and what Dante 1.4.2 answered in the lab.
GOLDEN = [
    (MethodSelectionRequest((0, 2)), bytes.fromhex("05020002")),
    (MethodSelectionReply(0xFF), bytes.fromhex("05ff")),
    (UsernamePasswordRequest(b"user", b"pw"), b"\x01\x04user\x02pw"),
    (UsernamePasswordReply(1), bytes.fromhex("0101")),
    (Request.to(Command.CONNECT, "127.0.0.1", 18080), bytes.fromhex("050100017f00000146a0")),
    (
        Request.to(Command.CONNECT, "::1", 80),
        bytes.fromhex("05010004") + bytes(15) + b"\x01\x00\x50",
    ),
    (Request.to(Command.CONNECT, "example.org", 443), b"\x05\x01\x00\x03\x0bexample.org\x01\xbb"),
    (
        Reply(0, AddressType.IPV4, bytes([127, 0, 0, 1]), 41371),
        bytes.fromhex("050000017f000001a19b"),
    ),
]
DECODERS = {
    MethodSelectionRequest: MethodSelectionRequest.decode,
    MethodSelectionReply: MethodSelectionReply.decode,
    UsernamePasswordRequest: UsernamePasswordRequest.decode,
    UsernamePasswordReply: UsernamePasswordReply.decode,
    Request: Request.decode,
    Reply: Reply.decode,
}


@pytest.mark.parametrize(("message", "raw"), GOLDEN)
def test_golden_messages_both_ways(message: object, raw: bytes) -> None:
    assert message.encode() == raw  # type: ignore[attr-defined]
    assert DECODERS[type(message)](raw) == message  # type: ignore[index]


@pytest.mark.parametrize(("message", "raw"), GOLDEN)
def test_trailing_bytes_are_refused(message: object, raw: bytes) -> None:
    with pytest.raises(DecodeError):
        DECODERS[type(message)](raw + b"\x00")  # type: ignore[index]


def test_reply_length_is_known_from_its_first_bytes() -> None:
    ipv4 = bytes.fromhex("050000017f000001a19b")
    name = b"\x05\x00\x00\x03\x04host\x00\x50"
    assert Reply.needed(ipv4[:3]) is None
    assert Reply.needed(ipv4[:4]) == len(ipv4)
    assert Reply.needed(name[:4]) is None
    assert Reply.needed(name[:5]) == len(name)
    assert Reply.decode(name).bound_address == "host"
    with pytest.raises(DecodeError) as caught:
        Reply.needed(b"\x05\x00\x00\x09")
    assert caught.value.field == "atyp"


def test_socks4_golden_bytes() -> None:
    # Dante's answer to a bogus command, as captured: VN 0, CD 91 ('[').
    reply = Socks4Reply.decode(b"\x00[\x00\x00\x00\x00\x00\x00")
    assert (reply.vn, reply.cd, reply.granted) == (0, 91, False)
    assert reply.encode() == b"\x00[\x00\x00\x00\x00\x00\x00"
    request = Socks4Request(1, 80, bytes([127, 0, 0, 1]))
    assert request.encode() == b"\x04\x01\x00\x50\x7f\x00\x00\x01\x00"
    assert Socks4Request.decode(request.encode()) == request
    socks4a = Socks4Request(1, 443, SOCKS4A_ADDRESS, b"", b"example.org")
    assert socks4a.encode() == b"\x04\x01\x01\xbb\x00\x00\x00\x01\x00example.org\x00"
    assert Socks4Request.decode(socks4a.encode()) == socks4a


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"\x05\x00", "vn"),  # a SOCKS 5 method reply where SOCKS 4 was asked
        (b"\x00\x05\x00\x00\x00\x00\x00\x00", "cd"),
        (b"\x00\x5a\x00", "dstport"),
    ],
)
def test_socks4_replies_refused(raw: bytes, field: str) -> None:
    with pytest.raises(DecodeError) as caught:
        Socks4Reply.decode(raw)
    assert caught.value.field == field


def test_socks4_strings_are_bounded() -> None:
    with pytest.raises(DecodeError) as caught:
        Socks4Request.decode(b"\x04\x01\x00\x50\x7f\x00\x00\x01" + b"a" * 300 + b"\x00")
    assert caught.value.field == "userid"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"\x05\x00", "nmethods"),
        (b"\x05\x03\x00", "methods"),
        (b"\x01\x05user", "uname"),
        (b"\x05\x01\x00\x09", "dst.atyp"),
        (b"\x05\x01\x00\x03\x00\x00\x50", "dst.addr"),  # an empty domain name
        (b"\x05\x01\x00\x01\x7f\x00", "dst.addr"),
    ],
)
def test_malformed_client_messages_name_their_field(raw: bytes, field: str) -> None:
    decoder = MethodSelectionRequest.decode if len(raw) < 4 and raw[0] == 5 else None
    if raw[0] == 1:
        decoder = UsernamePasswordRequest.decode
    elif decoder is None:
        decoder = Request.decode
    with pytest.raises(DecodeError) as caught:
        decoder(raw)
    assert caught.value.field == field


def test_address_fields() -> None:
    assert address_fields("10.0.0.1") == (AddressType.IPV4, bytes([10, 0, 0, 1]))
    assert address_fields("[::1]")[0] == AddressType.IPV6
    assert address_fields("bücher.example.") == (AddressType.DOMAINNAME, b"xn--bcher-kva.example")
    with pytest.raises(ValueError):
        address_fields("a" * 300)


def test_address_text_escapes_what_a_domain_name_should_not_hold() -> None:
    assert address_text(AddressType.IPV4, bytes([10, 0, 0, 1])) == "10.0.0.1"
    assert address_text(AddressType.DOMAINNAME, b"example.org") == "example.org"
    raw = b"\x1b]0;x\x07\xff" + b"\x9b" * 248  # 255 octets, the most a reply holds
    escaped = address_text(AddressType.DOMAINNAME, raw)
    assert escaped.startswith("\\x1b]0;x\\x07\\xff\\x9b")
    assert escaped.count("\\x9b") == 248  # nothing cut


def test_names() -> None:
    assert method_name(0) == "NO AUTHENTICATION REQUIRED"
    assert method_name(0x04) == "unassigned 0x04"
    assert method_name(0x85) == "private method 0x85"
    assert reply_name(2) == "connection not allowed by ruleset"
    assert reply_name(0x42) == "unassigned reply 0x42"
    assert socks4_reply_name(90) == "request granted"
    assert socks4_reply_name(1) == "unknown reply 1"


requests = st.builds(
    Request,
    cmd=st.integers(0, 255),
    atyp=st.just(int(AddressType.DOMAINNAME)),
    dst_addr=st.binary(min_size=1, max_size=255),
    dst_port=st.integers(0, 65535),
)


@given(requests)
def test_request_round_trip(request: Request) -> None:
    assert Request.decode(request.encode()) == request


@given(st.lists(st.integers(0, 255), min_size=1, max_size=255).map(tuple))
def test_method_selection_round_trip(methods: tuple[int, ...]) -> None:
    message = MethodSelectionRequest(methods)
    assert MethodSelectionRequest.decode(message.encode()) == message


@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_decode_error(data: bytes) -> None:
    for decoder in (*DECODERS.values(), Socks4Reply.decode, Socks4Request.decode):
        with contextlib.suppress(DecodeError):
            decoder(data)  # type: ignore[operator]
    with contextlib.suppress(DecodeError):
        Reply.needed(data)
