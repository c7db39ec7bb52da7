"""The ISAKMP header (RFC 2408 3.1, RFC 7296 3.1) and the payload chain, both ways.

One UDP datagram on port 500 is one message: the header's Length must equal
the datagram's, and the chain of generic payload headers must end (next
payload 0) exactly at its end. A payload length below the 4-byte generic
header, a chain longer than MAX_PAYLOADS, or a length that overruns is a
DecodeError: a hostile responder cannot make the walk loop or read past the
datagram. IKEv2's SK/SKF payload (and an IKEv1 message with the encryption
flag) is opaque: the walk stops there.

On the NAT-T port (4500) a datagram is the 4-byte zero non-ESP marker and then
one message (RFC 3948 2.2, RFC 7296 2.23): `add_non_esp_marker` frames a message
for sending, `strip_non_esp_marker` requires the marker on receipt (four
non-zero bytes there are an ESP packet's SPI, not IKE) and says None for a
NAT-keepalive, which carries no message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from protoaudit.errors import DecodeError
from protoaudit.proto.ike.constants import (
    GENERIC_HEADER_LENGTH,
    HEADER_LENGTH,
    MAX_MESSAGE_LENGTH,
    MAX_PAYLOADS,
    NAT_KEEPALIVE,
    NON_ESP_MARKER,
    PROTOCOL,
    SPI_LENGTH,
    V1Flag,
    V2Payload,
)
from protoaudit.proto.ike.payloads import (
    Encrypted,
    Payload,
    decode_v1_body,
    decode_v2_body,
    encode_body,
    payload_type,
)
from protoaudit.wire import Reader, Writer

_CRITICAL = 0x80


@dataclass(frozen=True, slots=True)
class Header:
    initiator_spi: bytes
    responder_spi: bytes
    next_payload: int
    major_version: int
    minor_version: int
    exchange_type: int
    flags: int
    message_id: int
    length: int


@dataclass(frozen=True, slots=True)
class Message:
    header: Header
    payloads: tuple[Payload, ...]
    # An IKEv1 message with the encryption flag: everything after the header, unread.
    encrypted_body: bytes = field(default=b"")

    def of_type(self, kind: type[Payload]) -> list[Payload]:
        return [payload for payload in self.payloads if isinstance(payload, kind)]


def encode_message(
    *,
    initiator_spi: bytes,
    responder_spi: bytes,
    major_version: int,
    exchange_type: int,
    flags: int,
    message_id: int,
    payloads: tuple[Payload, ...],
    minor_version: int = 0,
    critical: frozenset[int] = frozenset(),
    length: int | None = None,
) -> bytes:
    """One message; next-payload fields and the length come from `payloads` unless overridden.

    `critical` holds the indexes of payloads to send with IKEv2's critical bit.
    """
    types = [payload_type(payload, major_version) for payload in payloads]
    body = Writer()
    for index, payload in enumerate(payloads):
        content = encode_body(payload)
        following = types[index + 1] if index + 1 < len(types) else 0
        if isinstance(payload, Encrypted):
            following = payload.first_inner_payload
        body.u8(following).u8(_CRITICAL if index in critical else 0)
        body.u16(len(content) + GENERIC_HEADER_LENGTH).raw(content)
    encoded = body.getvalue()
    header = Writer().raw(initiator_spi).raw(responder_spi)
    header.u8(types[0] if types else 0).u8((major_version << 4) | minor_version)
    header.u8(exchange_type).u8(flags).u32(message_id)
    header.u32(HEADER_LENGTH + len(encoded) if length is None else length)
    return header.getvalue() + encoded


def decode_header(reader: Reader) -> Header:
    initiator_spi = reader.bytes(SPI_LENGTH, "header.initiator_spi")
    responder_spi = reader.bytes(SPI_LENGTH, "header.responder_spi")
    next_payload = reader.u8("header.next_payload")
    version = reader.u8("header.version")
    exchange_type = reader.u8("header.exchange_type")
    flags = reader.u8("header.flags")
    message_id = reader.u32("header.message_id")
    length = reader.u32("header.length")
    return Header(
        initiator_spi,
        responder_spi,
        next_payload,
        version >> 4,
        version & 0x0F,
        exchange_type,
        flags,
        message_id,
        length,
    )


def decode_message(data: bytes) -> Message:
    """One whole datagram; raises only DecodeError."""
    if len(data) > MAX_MESSAGE_LENGTH:
        raise DecodeError(PROTOCOL, "message", 0, f"{len(data)} bytes is more than a datagram")
    reader = Reader(data, PROTOCOL)
    header = decode_header(reader)
    if header.length != len(data):
        raise DecodeError(
            PROTOCOL, "header.length", 24, f"says {header.length}, datagram has {len(data)}"
        )
    if header.major_version not in (1, 2):
        raise DecodeError(
            PROTOCOL, "header.version", 17, f"major version {header.major_version} is not 1 or 2"
        )
    if header.major_version == 1 and header.flags & V1Flag.ENCRYPTION:
        return Message(header, (), reader.bytes(reader.remaining(), "encrypted_body"))
    payloads: list[Payload] = []
    kind = header.next_payload
    while kind:
        if len(payloads) >= MAX_PAYLOADS:
            raise reader.fail("payload", f"more than {MAX_PAYLOADS} payloads")
        following = reader.u8("payload.next_payload")
        critical = bool(reader.u8("payload.critical") & _CRITICAL)
        length = reader.u16("payload.length")
        if length < GENERIC_HEADER_LENGTH:
            raise reader.fail("payload.length", f"{length} is shorter than the generic header")
        start = reader.offset
        body = reader.bytes(length - GENERIC_HEADER_LENGTH, f"payload {kind}")
        if header.major_version == 2 and kind in (V2Payload.SK, V2Payload.SKF):
            payloads.append(Encrypted(kind, following, body))
            break
        try:
            if header.major_version == 2:
                payloads.append(decode_v2_body(kind, critical, body))
            else:
                payloads.append(decode_v1_body(kind, body))
        except DecodeError as error:
            # The body's reader counts from the body; the caller wants the datagram's offset.
            raise DecodeError(PROTOCOL, error.field, start + error.offset, error.reason) from None
        kind = following
    reader.expect_end("message")
    return Message(header, tuple(payloads))


def add_non_esp_marker(message: bytes) -> bytes:
    """`message` as a datagram for the NAT-T port: the non-ESP marker first (RFC 3948 2.2)."""
    return NON_ESP_MARKER + message


def strip_non_esp_marker(datagram: bytes) -> bytes | None:
    """The message in a datagram from the NAT-T port; None for a NAT-keepalive (RFC 3948 2.3).

    Raises DecodeError for a datagram longer than UDP allows, one too short for the marker
    and a header, or one without the marker (an ESP packet, or not IKE at all).
    """
    if datagram == NAT_KEEPALIVE:
        return None
    if len(datagram) > MAX_MESSAGE_LENGTH:
        raise DecodeError(PROTOCOL, "message", 0, f"{len(datagram)} bytes is more than a datagram")
    if len(datagram) < len(NON_ESP_MARKER) + HEADER_LENGTH:
        raise DecodeError(
            PROTOCOL,
            "non_esp_marker",
            0,
            f"{len(datagram)} bytes cannot hold the non-ESP marker and an IKE header",
        )
    if datagram[: len(NON_ESP_MARKER)] != NON_ESP_MARKER:
        raise DecodeError(
            PROTOCOL,
            "non_esp_marker",
            0,
            f"{datagram[:4].hex()} is not the non-ESP marker (an ESP SPI, or not IKE)",
        )
    return datagram[len(NON_ESP_MARKER) :]
