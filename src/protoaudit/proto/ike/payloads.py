"""IKE payload bodies, IKEv2 (RFC 7296 3.3-3.12) and IKEv1 (RFC 2408 3.4-3.16), both ways.

Each payload is a frozen dataclass with the RFC's field names; `encode_body` and
`decode_body` handle what follows the 4-byte generic payload header, which
`message` reads and writes. A payload type the decoder does not know survives as
`UnknownPayload`. SA payloads nest proposals, and proposals nest transforms, as
substructures with the same 4-byte header shape (RFC 7296 3.3.1: "last
substruc" 0 or 2 for proposals, 0 or 3 for transforms; RFC 2408 3.5: next
payload 0, 2 or 3): every count and length is checked against its container.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from protoaudit.errors import DecodeError
from protoaudit.proto.ike.constants import (
    GENERIC_HEADER_LENGTH,
    MAX_ATTRIBUTES,
    MAX_PROPOSALS,
    MAX_TRANSFORMS,
    PROTOCOL,
    V2_KEY_LENGTH_ATTRIBUTE,
    V1Attribute,
    V1Payload,
    V2Payload,
)
from protoaudit.wire import Reader, Writer

_AF_TV = 0x8000
_MORE_PROPOSALS = 2
_MORE_TRANSFORMS = 3
_MAX_ATTRIBUTE_INT_BYTES = 8


# -- data attributes (RFC 2408 3.3, RFC 7296 3.3.5) ---------------------------------------


@dataclass(frozen=True, slots=True)
class Attribute:
    """One data attribute: an int is sent as TV (AF=1, 16 bits), bytes as TLV (AF=0)."""

    attribute_type: int
    value: int | bytes

    def as_int(self) -> int | None:
        """The value as a number (a TLV of up to 8 bytes counts too); None if longer."""
        if isinstance(self.value, int):
            return self.value
        if len(self.value) > _MAX_ATTRIBUTE_INT_BYTES:
            return None
        return int.from_bytes(self.value, "big")


def _encode_attributes(writer: Writer, attributes: tuple[Attribute, ...]) -> None:
    for attribute in attributes:
        if isinstance(attribute.value, int):
            writer.u16(_AF_TV | attribute.attribute_type).u16(attribute.value)
        else:
            writer.u16(attribute.attribute_type & 0x7FFF).vector(attribute.value, 2)


def _decode_attributes(reader: Reader, field: str) -> tuple[Attribute, ...]:
    found: list[Attribute] = []
    while not reader.at_end():
        if len(found) >= MAX_ATTRIBUTES:
            raise reader.fail(field, f"more than {MAX_ATTRIBUTES} attributes")
        kind = reader.u16(field + ".type")
        if kind & _AF_TV:
            found.append(Attribute(kind & 0x7FFF, reader.u16(field + ".value")))
        else:
            found.append(Attribute(kind, reader.vector(2, field + ".value")))
    return tuple(found)


def _attribute(attributes: tuple[Attribute, ...], attribute_type: int) -> int | None:
    for attribute in attributes:
        if attribute.attribute_type == attribute_type:
            return attribute.as_int()
    return None


# -- substructures -----------------------------------------------------------------------


def _substructures(reader: Reader, more: int, limit: int, field: str) -> list[Reader]:
    """Readers over each substructure's body (after its 4-byte header), in order."""
    bodies: list[Reader] = []
    last = False
    while not last:
        if len(bodies) >= limit:
            raise reader.fail(field, f"more than {limit} entries")
        marker = reader.u8(field + ".last_substruc")
        if marker not in (0, more):
            raise reader.fail(field + ".last_substruc", f"{marker} is neither 0 nor {more}")
        reader.u8(field + ".reserved")
        length = reader.u16(field + ".length")
        if length < GENERIC_HEADER_LENGTH:
            raise reader.fail(field + ".length", f"{length} is shorter than its own header")
        body = reader.bytes(length - GENERIC_HEADER_LENGTH, field)
        bodies.append(Reader(body, PROTOCOL))
        last = marker == 0
    reader.expect_end(field)
    return bodies


def _substructure(writer: Writer, last: bool, more: int, body: bytes) -> None:
    writer.u8(0 if last else more).u8(0).u16(len(body) + GENERIC_HEADER_LENGTH).raw(body)


# -- IKEv2 -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transform:
    transform_type: int
    transform_id: int
    attributes: tuple[Attribute, ...] = ()

    @property
    def key_length(self) -> int | None:
        return _attribute(self.attributes, V2_KEY_LENGTH_ATTRIBUTE)


@dataclass(frozen=True, slots=True)
class Proposal:
    proposal_num: int
    protocol_id: int
    spi: bytes
    transforms: tuple[Transform, ...]


@dataclass(frozen=True, slots=True)
class SecurityAssociation:
    proposals: tuple[Proposal, ...]


@dataclass(frozen=True, slots=True)
class KeyExchange:
    dh_group_num: int
    key_exchange_data: bytes


@dataclass(frozen=True, slots=True)
class Nonce:
    """Nonce data: the same body in IKEv1 (type 10) and IKEv2 (type 40)."""

    nonce_data: bytes


@dataclass(frozen=True, slots=True)
class Notify:
    protocol_id: int
    spi: bytes
    notify_message_type: int
    notification_data: bytes


@dataclass(frozen=True, slots=True)
class VendorId:
    """A Vendor ID: the same body in IKEv1 (type 13) and IKEv2 (type 43)."""

    vendor_id: bytes


@dataclass(frozen=True, slots=True)
class CertificateRequest:
    cert_encoding: int
    certification_authority: bytes


@dataclass(frozen=True, slots=True)
class Encrypted:
    """SK or SKF (RFC 7296 3.14, RFC 7383 2.5): opaque to an unauthenticated probe."""

    payload_type: int
    first_inner_payload: int
    body: bytes


@dataclass(frozen=True, slots=True)
class UnknownPayload:
    payload_type: int
    critical: bool
    body: bytes


# -- IKEv1 -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class V1Transform:
    transform_number: int
    transform_id: int
    sa_attributes: tuple[Attribute, ...]

    def attribute(self, attribute_type: int) -> int | None:
        return _attribute(self.sa_attributes, attribute_type)

    @property
    def key_length(self) -> int | None:
        return self.attribute(V1Attribute.KEY_LENGTH)


@dataclass(frozen=True, slots=True)
class V1Proposal:
    proposal_number: int
    protocol_id: int
    spi: bytes
    transforms: tuple[V1Transform, ...]


@dataclass(frozen=True, slots=True)
class V1SecurityAssociation:
    doi: int
    situation: int
    proposals: tuple[V1Proposal, ...]


@dataclass(frozen=True, slots=True)
class V1KeyExchange:
    key_exchange_data: bytes


@dataclass(frozen=True, slots=True)
class V1Identification:
    id_type: int
    protocol_id: int
    port: int
    identification_data: bytes


@dataclass(frozen=True, slots=True)
class V1Hash:
    hash_data: bytes


@dataclass(frozen=True, slots=True)
class V1Signature:
    signature_data: bytes


@dataclass(frozen=True, slots=True)
class V1Certificate:
    cert_encoding: int
    certificate_data: bytes


@dataclass(frozen=True, slots=True)
class V1Notification:
    doi: int
    protocol_id: int
    spi: bytes
    notify_message_type: int
    notification_data: bytes


@dataclass(frozen=True, slots=True)
class V1NatDiscovery:
    hash_of_address_and_port: bytes


Payload = (
    SecurityAssociation
    | KeyExchange
    | Nonce
    | Notify
    | VendorId
    | CertificateRequest
    | Encrypted
    | UnknownPayload
    | V1SecurityAssociation
    | V1KeyExchange
    | V1Identification
    | V1Hash
    | V1Signature
    | V1Certificate
    | V1Notification
    | V1NatDiscovery
)


# -- encoding ----------------------------------------------------------------------------


def _encode_v2_sa(payload: SecurityAssociation) -> bytes:
    out = Writer()
    for index, proposal in enumerate(payload.proposals):
        body = Writer().u8(proposal.proposal_num).u8(proposal.protocol_id)
        body.u8(len(proposal.spi)).u8(len(proposal.transforms)).raw(proposal.spi)
        for position, transform in enumerate(proposal.transforms):
            inner = Writer().u8(transform.transform_type).u8(0).u16(transform.transform_id)
            _encode_attributes(inner, transform.attributes)
            last = position == len(proposal.transforms) - 1
            _substructure(body, last, _MORE_TRANSFORMS, inner.getvalue())
        _substructure(out, index == len(payload.proposals) - 1, _MORE_PROPOSALS, body.getvalue())
    return out.getvalue()


def _encode_v1_sa(payload: V1SecurityAssociation) -> bytes:
    out = Writer().u32(payload.doi).u32(payload.situation)
    for index, proposal in enumerate(payload.proposals):
        body = Writer().u8(proposal.proposal_number).u8(proposal.protocol_id)
        body.u8(len(proposal.spi)).u8(len(proposal.transforms)).raw(proposal.spi)
        for position, transform in enumerate(proposal.transforms):
            inner = Writer().u8(transform.transform_number).u8(transform.transform_id).u16(0)
            _encode_attributes(inner, transform.sa_attributes)
            last = position == len(proposal.transforms) - 1
            _substructure(body, last, _MORE_TRANSFORMS, inner.getvalue())
        _substructure(out, index == len(payload.proposals) - 1, _MORE_PROPOSALS, body.getvalue())
    return out.getvalue()


def encode_body(payload: Payload) -> bytes:
    """The payload's body, without its generic header."""
    match payload:
        case SecurityAssociation():
            return _encode_v2_sa(payload)
        case V1SecurityAssociation():
            return _encode_v1_sa(payload)
        case KeyExchange():
            return (
                Writer().u16(payload.dh_group_num).u16(0).raw(payload.key_exchange_data).getvalue()
            )
        case Nonce():
            return payload.nonce_data
        case Notify():
            writer = Writer().u8(payload.protocol_id).u8(len(payload.spi))
            writer.u16(payload.notify_message_type).raw(payload.spi).raw(payload.notification_data)
            return writer.getvalue()
        case VendorId():
            return payload.vendor_id
        case CertificateRequest():
            return bytes([payload.cert_encoding]) + payload.certification_authority
        case Encrypted():
            return payload.body
        case UnknownPayload():
            return payload.body
        case V1KeyExchange():
            return payload.key_exchange_data
        case V1Identification():
            writer = Writer().u8(payload.id_type).u8(payload.protocol_id).u16(payload.port)
            return writer.raw(payload.identification_data).getvalue()
        case V1Hash():
            return payload.hash_data
        case V1Signature():
            return payload.signature_data
        case V1Certificate():
            return bytes([payload.cert_encoding]) + payload.certificate_data
        case V1Notification():
            writer = Writer().u32(payload.doi).u8(payload.protocol_id).u8(len(payload.spi))
            writer.u16(payload.notify_message_type).raw(payload.spi)
            return writer.raw(payload.notification_data).getvalue()
        case V1NatDiscovery():
            return payload.hash_of_address_and_port
    raise TypeError(f"not an IKE payload: {payload!r}")


_V2_TYPES: dict[type, int] = {
    SecurityAssociation: V2Payload.SA,
    KeyExchange: V2Payload.KE,
    Nonce: V2Payload.NONCE,
    Notify: V2Payload.NOTIFY,
    VendorId: V2Payload.VENDOR_ID,
    CertificateRequest: V2Payload.CERTREQ,
}
_V1_TYPES: dict[type, int] = {
    V1SecurityAssociation: V1Payload.SA,
    V1KeyExchange: V1Payload.KE,
    V1Identification: V1Payload.ID,
    V1Hash: V1Payload.HASH,
    V1Signature: V1Payload.SIG,
    V1Certificate: V1Payload.CERT,
    V1Notification: V1Payload.NOTIFICATION,
    V1NatDiscovery: V1Payload.NAT_D,
    Nonce: V1Payload.NONCE,
    VendorId: V1Payload.VENDOR_ID,
}


def payload_type(payload: Payload, major_version: int) -> int:
    """The payload type number of `payload` in IKE major version 1 or 2."""
    if isinstance(payload, UnknownPayload | Encrypted):
        return payload.payload_type
    table = _V1_TYPES if major_version == 1 else _V2_TYPES
    found = table.get(type(payload))
    if found is None:
        raise TypeError(f"{type(payload).__name__} has no IKEv{major_version} payload type")
    return found


# -- decoding ----------------------------------------------------------------------------

# Payloads whose whole body is one opaque field.
_V2_OPAQUE: dict[int, Callable[[bytes], Payload]] = {
    V2Payload.NONCE: Nonce,
    V2Payload.VENDOR_ID: VendorId,
}
_V1_OPAQUE: dict[int, Callable[[bytes], Payload]] = {
    V1Payload.KE: V1KeyExchange,
    V1Payload.HASH: V1Hash,
    V1Payload.SIG: V1Signature,
    V1Payload.NONCE: Nonce,
    V1Payload.VENDOR_ID: VendorId,
    V1Payload.NAT_D: V1NatDiscovery,
}


def _decode_v2_sa(reader: Reader) -> SecurityAssociation:
    proposals: list[Proposal] = []
    for body in _substructures(reader, _MORE_PROPOSALS, MAX_PROPOSALS, "sa.proposal"):
        proposal_num = body.u8("proposal.proposal_num")
        protocol_id = body.u8("proposal.protocol_id")
        spi_size = body.u8("proposal.spi_size")
        count = body.u8("proposal.num_transforms")
        spi = body.bytes(spi_size, "proposal.spi")
        transforms: list[Transform] = []
        if count:
            for inner in _substructures(body, _MORE_TRANSFORMS, MAX_TRANSFORMS, "transform"):
                kind = inner.u8("transform.transform_type")
                inner.u8("transform.reserved")
                code = inner.u16("transform.transform_id")
                transforms.append(Transform(kind, code, _decode_attributes(inner, "transform")))
        body.expect_end("proposal")
        if len(transforms) != count:
            raise DecodeError(
                PROTOCOL,
                "proposal.num_transforms",
                reader.offset,
                f"says {count}, {len(transforms)} present",
            )
        proposals.append(Proposal(proposal_num, protocol_id, spi, tuple(transforms)))
    return SecurityAssociation(tuple(proposals))


def _decode_v1_sa(reader: Reader) -> V1SecurityAssociation:
    doi = reader.u32("sa.doi")
    situation = reader.u32("sa.situation")
    proposals: list[V1Proposal] = []
    if not reader.at_end():
        for body in _substructures(reader, _MORE_PROPOSALS, MAX_PROPOSALS, "sa.proposal"):
            number = body.u8("proposal.proposal_number")
            protocol_id = body.u8("proposal.protocol_id")
            spi_size = body.u8("proposal.spi_size")
            count = body.u8("proposal.number_of_transforms")
            spi = body.bytes(spi_size, "proposal.spi")
            transforms: list[V1Transform] = []
            if count:
                for inner in _substructures(body, _MORE_TRANSFORMS, MAX_TRANSFORMS, "transform"):
                    transform_number = inner.u8("transform.transform_number")
                    transform_id = inner.u8("transform.transform_id")
                    inner.u16("transform.reserved2")
                    attributes = _decode_attributes(inner, "transform.sa_attributes")
                    transforms.append(V1Transform(transform_number, transform_id, attributes))
            body.expect_end("proposal")
            if len(transforms) != count:
                raise DecodeError(
                    PROTOCOL,
                    "proposal.number_of_transforms",
                    reader.offset,
                    f"says {count}, {len(transforms)} present",
                )
            proposals.append(V1Proposal(number, protocol_id, spi, tuple(transforms)))
    return V1SecurityAssociation(doi, situation, tuple(proposals))


def decode_v2_body(kind: int, critical: bool, body: bytes) -> Payload:
    reader = Reader(body, PROTOCOL)
    payload: Payload
    if kind in _V2_OPAQUE:
        return _V2_OPAQUE[kind](body)
    if kind == V2Payload.SA:
        payload = _decode_v2_sa(reader)
    elif kind == V2Payload.KE:
        group = reader.u16("ke.dh_group_num")
        reader.u16("ke.reserved")
        payload = KeyExchange(group, reader.bytes(reader.remaining(), "ke.key_exchange_data"))
    elif kind == V2Payload.NOTIFY:
        protocol_id = reader.u8("notify.protocol_id")
        spi_size = reader.u8("notify.spi_size")
        message_type = reader.u16("notify.notify_message_type")
        spi = reader.bytes(spi_size, "notify.spi")
        data = reader.bytes(reader.remaining(), "notify.notification_data")
        payload = Notify(protocol_id, spi, message_type, data)
    elif kind == V2Payload.CERTREQ:
        encoding = reader.u8("certreq.cert_encoding")
        payload = CertificateRequest(encoding, reader.bytes(reader.remaining(), "certreq.ca"))
    else:
        return UnknownPayload(kind, critical, body)
    reader.expect_end(f"payload {kind}")
    return payload


def decode_v1_body(kind: int, body: bytes) -> Payload:
    reader = Reader(body, PROTOCOL)
    payload: Payload
    if kind in _V1_OPAQUE:
        return _V1_OPAQUE[kind](body)
    if kind == V1Payload.SA:
        payload = _decode_v1_sa(reader)
    elif kind == V1Payload.ID:
        id_type = reader.u8("id.id_type")
        protocol_id = reader.u8("id.protocol_id")
        port = reader.u16("id.port")
        data = reader.bytes(reader.remaining(), "id.identification_data")
        payload = V1Identification(id_type, protocol_id, port, data)
    elif kind == V1Payload.CERT:
        encoding = reader.u8("cert.cert_encoding")
        payload = V1Certificate(encoding, reader.bytes(reader.remaining(), "cert.data"))
    elif kind == V1Payload.NOTIFICATION:
        doi = reader.u32("notification.doi")
        protocol_id = reader.u8("notification.protocol_id")
        spi_size = reader.u8("notification.spi_size")
        message_type = reader.u16("notification.notify_message_type")
        spi = reader.bytes(spi_size, "notification.spi")
        data = reader.bytes(reader.remaining(), "notification.notification_data")
        payload = V1Notification(doi, protocol_id, spi, message_type, data)
    else:
        return UnknownPayload(kind, False, body)
    reader.expect_end(f"payload {kind}")
    return payload
