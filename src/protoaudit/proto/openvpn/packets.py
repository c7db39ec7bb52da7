"""OpenVPN packets without tls-auth or tls-crypt: opcodes, control packets, TCP framing.

Every packet starts with one byte: the opcode in the high 5 bits, the key id
in the low 3. A control packet (every opcode but P_DATA_*) then carries

    session_id               8 bytes, the sender's
    packet_id_array_len      1 byte, at most MAX_ACKS
    packet_id_array          4 bytes each: the receiver's packets acknowledged
    remote_session_id        8 bytes, the receiver's, only when the array is not empty
    message_packet_id        4 bytes, absent from P_ACK_V1
    payload                  TLS records (P_CONTROL_V1), or nothing/TLVs (the resets)

(OpenVPN 2.6, doc/doxygen/doc_protocol_overview.h and src/openvpn/ssl_pkt.h,
reliable.c). With tls-auth an HMAC, a packet id and a time stamp sit between
the session id and the array; with tls-crypt everything after the session id
is encrypted. A probe holds neither key, so it neither writes nor reads those
forms: such a server drops our packets, which is what the probe reports.

Over TCP each packet is preceded by its length, 2 bytes big-endian
(`frame`, `StreamDeframer`). Over UDP a datagram is one packet.

Decoders raise only `DecodeError`; encoders serialise what they are given.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import NoReturn

from protoaudit.errors import DecodeError
from protoaudit.wire import Reader, Writer

PROTOCOL = "openvpn"
SESSION_ID_LENGTH = 8
PACKET_ID_LENGTH = 4
# reliable.h RELIABLE_ACK_SIZE: OpenVPN refuses a longer array, and so do we.
MAX_ACKS = 8
# What one packet may be: OpenVPN's control packets stay under --tls-mtu (1250 by
# default) and its data packets under the link MTU (about 1600); this leaves room.
MAX_PACKET_LENGTH = 4096
LENGTH_PREFIX = 2
DEFAULT_MAX_BUFFERED = 64 * 1024
MAX_KEY_ID = 7


class Opcode(IntEnum):
    """ssl_pkt.h. V1 resets are OpenVPN 1.x and 2.0-beta; V3 is tls-crypt-v2 (2.5)."""

    P_CONTROL_HARD_RESET_CLIENT_V1 = 1
    P_CONTROL_HARD_RESET_SERVER_V1 = 2
    P_CONTROL_SOFT_RESET_V1 = 3
    P_CONTROL_V1 = 4
    P_ACK_V1 = 5
    P_DATA_V1 = 6
    P_CONTROL_HARD_RESET_CLIENT_V2 = 7
    P_CONTROL_HARD_RESET_SERVER_V2 = 8
    P_DATA_V2 = 9
    P_CONTROL_HARD_RESET_CLIENT_V3 = 10
    P_CONTROL_WKC_V1 = 11


DATA_OPCODES = frozenset({Opcode.P_DATA_V1, Opcode.P_DATA_V2})
CLIENT_RESETS = frozenset(
    {
        Opcode.P_CONTROL_HARD_RESET_CLIENT_V1,
        Opcode.P_CONTROL_HARD_RESET_CLIENT_V2,
        Opcode.P_CONTROL_HARD_RESET_CLIENT_V3,
    }
)
SERVER_RESETS = frozenset(
    {Opcode.P_CONTROL_HARD_RESET_SERVER_V1, Opcode.P_CONTROL_HARD_RESET_SERVER_V2}
)
_KNOWN = frozenset(int(member) for member in Opcode)


def opcode_name(opcode: int) -> str:
    return Opcode(opcode).name if opcode in _KNOWN else f"OPCODE_{opcode}"


@dataclass(frozen=True, slots=True)
class ControlPacket:
    """Any packet but P_DATA_*; `message_packet_id` is None exactly for P_ACK_V1."""

    opcode: int
    key_id: int
    session_id: bytes
    packet_id_array: tuple[int, ...] = ()
    remote_session_id: bytes | None = None
    message_packet_id: int | None = None
    payload: bytes = b""

    def encode(self) -> bytes:
        writer = Writer().u8((self.opcode << 3) | self.key_id).raw(self.session_id)
        writer.u8(len(self.packet_id_array))
        for packet_id in self.packet_id_array:
            writer.u32(packet_id)
        if self.remote_session_id is not None:
            writer.raw(self.remote_session_id)
        if self.message_packet_id is not None:
            writer.u32(self.message_packet_id)
        return writer.raw(self.payload).getvalue()


@dataclass(frozen=True, slots=True)
class DataPacket:
    """P_DATA_V1 or P_DATA_V2: encrypted with keys a probe never has; kept opaque."""

    opcode: int
    key_id: int
    payload: bytes  # for P_DATA_V2, the 3-byte peer id first

    def encode(self) -> bytes:
        return bytes([(self.opcode << 3) | self.key_id]) + self.payload


Packet = ControlPacket | DataPacket


def decode_packet(data: bytes) -> Packet:
    """One packet (a UDP datagram, or a TCP packet without its length prefix)."""
    reader = Reader(data, PROTOCOL)
    if len(data) > MAX_PACKET_LENGTH:
        raise reader.fail("packet", f"{len(data)} bytes, the limit is {MAX_PACKET_LENGTH}")
    first = reader.u8("opcode")
    opcode, key_id = first >> 3, first & MAX_KEY_ID
    if opcode not in _KNOWN:
        raise DecodeError(PROTOCOL, "opcode", 0, f"unknown opcode {opcode}")
    if opcode in DATA_OPCODES:
        return DataPacket(opcode, key_id, data[1:])
    session_id = reader.bytes(SESSION_ID_LENGTH, "session_id")
    count = reader.u8("packet_id_array_len")
    if count > MAX_ACKS:
        reason = f"{count} acks, at most {MAX_ACKS}"
        raise DecodeError(PROTOCOL, "packet_id_array_len", 1 + SESSION_ID_LENGTH, reason)
    acks = tuple(reader.u32("packet_id_array") for _ in range(count))
    remote_session_id = reader.bytes(SESSION_ID_LENGTH, "remote_session_id") if count else None
    if opcode == Opcode.P_ACK_V1:
        if not count:
            raise reader.fail("packet_id_array_len", "an ACK that acknowledges nothing")
        reader.expect_end("ack")
        return ControlPacket(opcode, key_id, session_id, acks, remote_session_id)
    message_packet_id = reader.u32("message_packet_id")
    payload = reader.bytes(reader.remaining(), "payload")
    return ControlPacket(
        opcode, key_id, session_id, acks, remote_session_id, message_packet_id, payload
    )


def frame(packet: bytes) -> bytes:
    """A packet as OpenVPN sends it over TCP: its 2-byte length, then the packet."""
    return len(packet).to_bytes(LENGTH_PREFIX, "big") + packet


class StreamDeframer:
    """Cuts an OpenVPN TCP stream into packets, refusing a length of 0 or over the limit.

    After a `DecodeError` it stays failed: a stream that lost its framing cannot
    be resynchronised.
    """

    __slots__ = ("_buffer", "_failure", "_max_buffered", "_max_packet_length", "_stream_offset")

    def __init__(
        self,
        *,
        max_packet_length: int = MAX_PACKET_LENGTH,
        max_buffered: int = DEFAULT_MAX_BUFFERED,
    ) -> None:
        self._buffer = bytearray()
        self._max_packet_length = max_packet_length
        self._max_buffered = max_buffered
        self._stream_offset = 0
        self._failure: DecodeError | None = None

    def feed(self, data: bytes) -> None:
        if self._failure is not None:
            raise self._failure
        if len(self._buffer) + len(data) > self._max_buffered:
            total = len(self._buffer) + len(data)
            self._fail(0, "buffer", f"{total} bytes buffered, the limit is {self._max_buffered}")
        self._buffer += data

    def next_packet(self) -> bytes | None:
        """The next whole packet without its length, or None until more bytes arrive."""
        if self._failure is not None:
            raise self._failure
        if len(self._buffer) < LENGTH_PREFIX:
            return None
        length = int.from_bytes(self._buffer[:LENGTH_PREFIX], "big")
        if length == 0:
            self._fail(0, "packet_length", "an empty packet")
        if length > self._max_packet_length:
            reason = f"length {length}, the limit is {self._max_packet_length}"
            self._fail(0, "packet_length", reason)
        end = LENGTH_PREFIX + length
        if len(self._buffer) < end:
            return None
        packet = bytes(self._buffer[LENGTH_PREFIX:end])
        del self._buffer[:end]
        self._stream_offset += end
        return packet

    def _fail(self, relative_offset: int, field: str, reason: str) -> NoReturn:
        self._failure = DecodeError(PROTOCOL, field, self._stream_offset + relative_offset, reason)
        raise self._failure
