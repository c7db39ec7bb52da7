"""The binary packet protocol before NEWKEYS (RFC 4253 6)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ssh_helpers import chunks, load_hex, seeded_rng

from protoaudit.errors import DecodeError
from protoaudit.proto.ssh.ident import parse_identification
from protoaudit.proto.ssh.packet import (
    MAX_PACKET_LENGTH,
    PacketReader,
    encode_packet,
    padding_length_for,
)


def payloads(data: bytes, reader: PacketReader | None = None) -> list[bytes]:
    reader = reader or PacketReader()
    reader.feed(data)
    found = []
    while (payload := reader.next_payload()) is not None:
        found.append(payload)
    return found


def server_packets(fixture: str) -> bytes:
    found = parse_identification(load_hex(fixture))
    assert found is not None
    return found[1]


def test_a_captured_openssh_stream() -> None:
    # Given the bytes sshd sent after its identification for a curve25519 exchange
    packets = server_packets("openssh_curve25519_ed25519.hex")
    # When they are cut into packets, whole and one byte at a time
    whole = payloads(packets)
    reader = PacketReader()
    one_by_one = [p for piece in chunks(packets, 1) for p in payloads(piece, reader)]
    # Then KEXINIT (20), the ECDH reply (31) and NEWKEYS (21) come out, the same both ways
    assert [p[0] for p in whole] == [20, 31, 21]
    assert one_by_one == whole
    assert reader.packets_received == 3
    assert reader.buffered == 0


def test_trailing_bytes_wait_for_the_next_packet() -> None:
    reader = PacketReader()
    assert payloads(encode_packet(b"\x02abc", seeded_rng(1)) + b"\0\0\0", reader) == [b"\x02abc"]
    assert reader.buffered == 3


@pytest.mark.parametrize("length", [0, 1, 2, 3, 4, 10, 11, 12, 100, 1000])
def test_padding_rules(length: int) -> None:
    padding = padding_length_for(length)
    total = 5 + length + padding
    assert padding >= 4
    assert total % 8 == 0
    assert total >= 16
    assert padding < 4 + 8 + 16  # never more than the rules need


def test_encoding_uses_the_rng_for_padding_only() -> None:
    data = encode_packet(b"\x15", lambda count: b"\xaa" * count)
    assert data == bytes.fromhex("0000000c0a15") + b"\xaa" * 10


def test_a_crafted_padding_is_sent_as_given() -> None:
    data = encode_packet(b"\x15", bytes, padding_length=2)
    assert data == bytes.fromhex("00000004021500 00".replace(" ", ""))


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ((MAX_PACKET_LENGTH + 4).to_bytes(4, "big") + b"\x04", "packet_length", "the limit is"),
        ((0xFFFFFFF4).to_bytes(4, "big") + b"\x04", "packet_length", "the limit is"),
        (bytes.fromhex("0000000d04") + bytes(13), "packet_length", "not a multiple"),
        (bytes.fromhex("0000000c03") + bytes(12), "padding_length", "fewer than 4"),
        (bytes.fromhex("0000000c0b") + bytes(12), "padding_length", "no payload"),
        (bytes.fromhex("0000000cff") + bytes(12), "padding_length", "no payload"),
    ],
)
def test_refused_before_the_body_arrives(data: bytes, field: str, words: str) -> None:
    reader = PacketReader()
    with pytest.raises(DecodeError) as raised:
        payloads(data[:5], reader)  # the header alone is enough to refuse
    assert raised.value.field == field
    assert words in raised.value.reason
    with pytest.raises(DecodeError):  # and the reader stays failed
        reader.next_payload()


def test_the_limit_is_the_caller_s() -> None:
    big = encode_packet(b"\x02" + bytes(100), seeded_rng(2))
    with pytest.raises(DecodeError):
        payloads(big, PacketReader(max_packet_length=64))
    assert payloads(big, PacketReader(max_packet_length=200)) == [b"\x02" + bytes(100)]


def test_buffered_bytes_are_bounded() -> None:
    reader = PacketReader(max_buffered=100)
    with pytest.raises(DecodeError) as raised:
        reader.feed(bytes.fromhex("0000000c0a") + bytes(200))
    assert raised.value.field == "buffer"


def test_error_offsets_count_from_the_start_of_the_stream() -> None:
    reader = PacketReader(stream_offset=40)
    with pytest.raises(DecodeError) as raised:
        payloads(encode_packet(b"\x02", seeded_rng(3)) + bytes.fromhex("0000000c03"), reader)
    assert raised.value.offset == 40 + 16 + 4


@given(st.binary(min_size=1, max_size=3000), st.integers(0, 2**32 - 1))
def test_round_trip(payload: bytes, seed: int) -> None:
    assert payloads(encode_packet(payload, seeded_rng(seed))) == [payload]


@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        payloads(data)
