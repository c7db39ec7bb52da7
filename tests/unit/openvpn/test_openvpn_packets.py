"""OpenVPN packets and TCP framing: golden bytes both ways, limits, arbitrary input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openvpn_helpers import captured

from protoaudit.errors import DecodeError
from protoaudit.proto.openvpn.packets import (
    MAX_ACKS,
    MAX_PACKET_LENGTH,
    ControlPacket,
    DataPacket,
    Opcode,
    StreamDeframer,
    decode_packet,
    frame,
    opcode_name,
)

# OpenVPN 2.6.14's answer to our reset (lab/openvpn ovpn-udp), byte for byte.
SERVER_RESET = bytes.fromhex("402cd44788afd7bf2c0100000000485cb55265655bd300000000")


def test_a_captured_server_reset_decodes_and_encodes_back() -> None:
    packet = decode_packet(SERVER_RESET)
    assert packet == ControlPacket(
        opcode=Opcode.P_CONTROL_HARD_RESET_SERVER_V2,
        key_id=0,
        session_id=bytes.fromhex("2cd44788afd7bf2c"),
        packet_id_array=(0,),
        remote_session_id=bytes.fromhex("485cb55265655bd3"),
        message_packet_id=0,
        payload=b"",
    )
    assert packet.encode() == SERVER_RESET


def test_every_captured_packet_round_trips() -> None:
    # Given a whole session with a real server: our packets and its packets
    session = captured()
    for text in session["sent"] + session["received"]:
        raw = bytes.fromhex(text)
        packet = decode_packet(raw)
        # Then each decodes, and encodes back to the same bytes
        assert packet.encode() == raw
    opcodes = [decode_packet(bytes.fromhex(t)).opcode for t in session["received"]]
    assert opcodes[0] == Opcode.P_CONTROL_HARD_RESET_SERVER_V2
    assert set(opcodes[1:]) == {Opcode.P_CONTROL_V1}


def test_our_reset_is_fourteen_bytes() -> None:
    reset = ControlPacket(Opcode.P_CONTROL_HARD_RESET_CLIENT_V2, 0, b"A" * 8, message_packet_id=0)
    assert reset.encode() == bytes([7 << 3]) + b"A" * 8 + b"\x00" + b"\x00\x00\x00\x00"


def test_an_ack_has_no_message_packet_id() -> None:
    ack = ControlPacket(Opcode.P_ACK_V1, 2, b"S" * 8, (1, 2), b"C" * 8)
    raw = ack.encode()
    assert (
        raw
        == bytes([5 << 3 | 2])
        + b"S" * 8
        + b"\x02"
        + bytes(3)
        + b"\x01"
        + bytes(3)
        + b"\x02"
        + b"C" * 8
    )
    assert decode_packet(raw) == ack


def test_data_packets_stay_opaque() -> None:
    raw = bytes([9 << 3 | 1]) + b"\x00\x00\x07" + b"ciphertext"
    assert decode_packet(raw) == DataPacket(Opcode.P_DATA_V2, 1, b"\x00\x00\x07ciphertext")
    assert decode_packet(raw).encode() == raw


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"", "opcode"),
        (bytes([0]), "opcode"),  # opcode 0 does not exist
        (bytes([12 << 3]) + bytes(20), "opcode"),
        (bytes([4 << 3]) + b"short", "session_id"),
        (bytes([4 << 3]) + bytes(8) + bytes([MAX_ACKS + 1]) + bytes(64), "packet_id_array_len"),
        (bytes([4 << 3]) + bytes(8) + b"\x01" + bytes(4) + b"rem", "remote_session_id"),
        (bytes([4 << 3]) + bytes(8) + b"\x00" + b"\x00\x00", "message_packet_id"),
        (bytes([5 << 3]) + bytes(8) + b"\x00", "packet_id_array_len"),  # an empty ACK
        (bytes([5 << 3]) + bytes(8) + b"\x01" + bytes(12) + b"x", "ack"),  # leftover
        (bytes([4 << 3]) + bytes(MAX_PACKET_LENGTH), "packet"),
    ],
)
def test_malformed_packets_name_their_field(raw: bytes, field: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_packet(raw)
    assert caught.value.field == field
    assert caught.value.protocol == "openvpn"


def test_opcode_names() -> None:
    assert opcode_name(8) == "P_CONTROL_HARD_RESET_SERVER_V2"
    assert opcode_name(31) == "OPCODE_31"


def packets_of(deframer: StreamDeframer, data: bytes) -> list[bytes]:
    deframer.feed(data)
    found = []
    while (packet := deframer.next_packet()) is not None:
        found.append(packet)
    return found


def test_tcp_framing_whole_byte_by_byte_and_with_trailing_bytes() -> None:
    stream = frame(SERVER_RESET) + frame(b"\x28" + bytes(13)) + b"\x00"
    whole = packets_of(StreamDeframer(), stream)
    deframer = StreamDeframer()
    one_by_one = [p for i in range(len(stream)) for p in packets_of(deframer, stream[i : i + 1])]
    assert whole == one_by_one == [SERVER_RESET, b"\x28" + bytes(13)]


@pytest.mark.parametrize("length", [0, MAX_PACKET_LENGTH + 1, 0xFFFF])
def test_tcp_lengths_out_of_bounds_fail_at_once(length: int) -> None:
    deframer = StreamDeframer()
    with pytest.raises(DecodeError) as caught:
        packets_of(deframer, length.to_bytes(2, "big"))
    assert caught.value.field == "packet_length"
    with pytest.raises(DecodeError):  # and it stays failed
        deframer.next_packet()


def test_the_tcp_buffer_is_bounded() -> None:
    deframer = StreamDeframer(max_buffered=100)
    deframer.feed(b"\x00\x50" + bytes(90))
    with pytest.raises(DecodeError) as caught:
        deframer.feed(bytes(20))
    assert caught.value.field == "buffer"


control_packets = st.builds(
    ControlPacket,
    opcode=st.sampled_from(
        [o for o in Opcode if o not in (Opcode.P_DATA_V1, Opcode.P_DATA_V2, Opcode.P_ACK_V1)]
    ),
    key_id=st.integers(0, 7),
    session_id=st.binary(min_size=8, max_size=8),
    packet_id_array=st.lists(st.integers(0, 2**32 - 1), max_size=MAX_ACKS).map(tuple),
    remote_session_id=st.just(None),
    message_packet_id=st.integers(0, 2**32 - 1),
    payload=st.binary(max_size=200),
).map(
    lambda p: ControlPacket(
        p.opcode,
        p.key_id,
        p.session_id,
        p.packet_id_array,
        b"R" * 8 if p.packet_id_array else None,
        p.message_packet_id,
        p.payload,
    )
)


@given(control_packets)
def test_decode_encode_round_trip(packet: ControlPacket) -> None:
    assert decode_packet(packet.encode()) == packet


@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_packet(data)


@given(st.binary(max_size=300))
def test_arbitrary_streams_raise_only_decode_error(data: bytes) -> None:
    deframer = StreamDeframer()
    with contextlib.suppress(DecodeError):
        packets_of(deframer, data)
