"""The first message of each exchange a probe starts, and what the responder's answer says.

- IKEv2 IKE_SA_INIT (RFC 7296 1.2, 2.6, 2.10, 2.23; RFC 7383; RFC 7427; RFC 9242;
  RFC 9370): `sa_init_request` builds the request (SA, KE, Ni, NAT detection, the
  capability notifies, a cookie when one was asked for); `read_sa_init_response`
  says which proposal the responder chose, or why not (NO_PROPOSAL_CHOSEN,
  INVALID_KE_PAYLOAD and the group it wants, COOKIE).
- IKEv1 Main Mode message 1 and Aggressive Mode message 1 (RFC 2409 5):
  `main_mode_request`, `aggressive_mode_request`; `read_v1_response` gives the
  transform the responder picked, its notification, and in Aggressive Mode
  whether it sent its HASH_R, which is keyed with the pre-shared key and so
  lets anyone who captured it guess the key offline.

Nothing goes further: IKE_AUTH and Main Mode messages 3-6 need the peer's
trust, and what they carry (ESP/AH proposals, identities) stays unseen.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from protoaudit.errors import DecodeError, ProtocolViolation
from protoaudit.proto.ike.constants import (
    IPSEC_DOI,
    KEY_IKE,
    LIFE_TYPE_SECONDS,
    PROTOCOL,
    SIT_IDENTITY_ONLY,
    V2_KEY_LENGTH_ATTRIBUTE,
    ExchangeType,
    ProtocolId,
    V1Attribute,
    V1Flag,
    V2Flag,
    V2Notify,
)
from protoaudit.proto.ike.message import (
    Message,
    decode_message,
    encode_message,
    strip_non_esp_marker,
)
from protoaudit.proto.ike.payloads import (
    Attribute,
    CertificateRequest,
    KeyExchange,
    Nonce,
    Notify,
    Payload,
    Proposal,
    SecurityAssociation,
    Transform,
    V1Certificate,
    V1Hash,
    V1Identification,
    V1KeyExchange,
    V1Notification,
    V1Proposal,
    V1SecurityAssociation,
    V1Signature,
    V1Transform,
    VendorId,
)
from protoaudit.registry import ike as registry

ZERO_SPI = bytes(8)
V2_ERROR_LIMIT = 16384  # RFC 7296 3.10.1: notify types below it are errors
SIGNATURE_HASHES = (1, 2, 3, 4, 5)  # RFC 7427 / IANA: SHA1, SHA2-256/384/512, Identity
DEFAULT_LIFETIME = 28800  # seconds, the value ike-scan and most initiators send


def nat_detection_hash(spi_i: bytes, spi_r: bytes, address: str, port: int) -> bytes:
    """SHA-1(SPIi | SPIr | IP | port), the NAT_DETECTION_*_IP data (RFC 7296 2.23)."""
    packed = ipaddress.ip_address(address).packed
    return hashlib.sha1(spi_i + spi_r + packed + port.to_bytes(2, "big")).digest()  # noqa: S324


# -- IKEv2 ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Offer:
    """What one IKE_SA_INIT offers, as (ID, key length or None) for ENCR and IDs for the rest."""

    encryption: tuple[tuple[int, int | None], ...]
    prf: tuple[int, ...]
    integrity: tuple[int, ...]
    groups: tuple[int, ...]
    # RFC 9370: transform type (6-12) -> key exchange method IDs (0 is NONE, "optional").
    additional: tuple[tuple[int, tuple[int, ...]], ...] = ()
    # Send each proposal twice, with the additional key exchanges and without them: a
    # responder that predates RFC 9370 finds unknown transform types and refuses the whole
    # proposal (RFC 7296 3.3.6; strongSwan 5.9 does), so the copy without is what it answers.
    also_without_additional: bool = False


def _encryption_transform(code: int, key_length: int | None) -> Transform:
    attributes = () if key_length is None else (Attribute(V2_KEY_LENGTH_ATTRIBUTE, key_length),)
    return Transform(registry.ENCRYPTION, code, attributes)


def proposals_for(offer: Offer) -> tuple[Proposal, ...]:
    """One proposal for the AEAD ciphers (no INTEG) and one for the rest, numbered from 1.

    RFC 7296 3.3: a proposal with a combined-mode cipher must not carry integrity
    transforms, and one with only classic ciphers needs them; a proposal with no cipher
    left is not sent. With `also_without_additional`, each proposal that has additional
    key exchanges is followed by the same one without them (RFC 9370 2.2.2).
    """
    aead = [e for e in offer.encryption if registry.transform_id(registry.ENCRYPTION, e[0]).aead]
    classic = [e for e in offer.encryption if e not in aead]
    common = [Transform(registry.PRF, code) for code in offer.prf]
    groups = [Transform(registry.KEY_EXCHANGE, code) for code in offer.groups]
    extra = [Transform(kind, code) for kind, codes in offer.additional for code in codes]
    bodies: list[list[Transform]] = []
    if aead:
        bodies.append([*(_encryption_transform(*entry) for entry in aead), *common, *groups])
    if classic and offer.integrity:
        ciphers = [_encryption_transform(*entry) for entry in classic]
        integrity = [Transform(registry.INTEGRITY, code) for code in offer.integrity]
        bodies.append([*ciphers, *common, *integrity, *groups])
    variants: list[tuple[Transform, ...]] = []
    for body in bodies:
        variants.append((*body, *extra))
        if extra and offer.also_without_additional:
            variants.append(tuple(body))
    return tuple(
        Proposal(number, ProtocolId.IKE, b"", transforms)
        for number, transforms in enumerate(variants, start=1)
    )


def sa_init_request(
    *,
    initiator_spi: bytes,
    proposals: tuple[Proposal, ...],
    dh_group_num: int,
    key_exchange_data: bytes,
    nonce: bytes,
    nat_source_hash: bytes | None = None,
    nat_destination_hash: bytes | None = None,
    cookie: bytes | None = None,
    capabilities: Iterable[int] = (
        V2Notify.IKEV2_FRAGMENTATION_SUPPORTED,
        V2Notify.REDIRECT_SUPPORTED,
    ),
    signature_hashes: tuple[int, ...] = SIGNATURE_HASHES,
    intermediate: bool = False,
    vendor_ids: tuple[bytes, ...] = (),
) -> bytes:
    payloads: list[Payload] = []
    if cookie is not None:  # RFC 7296 2.6: the cookie comes first
        payloads.append(Notify(0, b"", V2Notify.COOKIE, cookie))
    payloads += [
        SecurityAssociation(proposals),
        KeyExchange(dh_group_num, key_exchange_data),
        Nonce(nonce),
    ]
    if nat_source_hash is not None:
        payloads.append(Notify(0, b"", V2Notify.NAT_DETECTION_SOURCE_IP, nat_source_hash))
    if nat_destination_hash is not None:
        payloads.append(Notify(0, b"", V2Notify.NAT_DETECTION_DESTINATION_IP, nat_destination_hash))
    payloads += [Notify(0, b"", code, b"") for code in capabilities]
    if signature_hashes:
        data = b"".join(code.to_bytes(2, "big") for code in signature_hashes)
        payloads.append(Notify(0, b"", V2Notify.SIGNATURE_HASH_ALGORITHMS, data))
    if intermediate:
        payloads.append(Notify(0, b"", V2Notify.INTERMEDIATE_EXCHANGE_SUPPORTED, b""))
    payloads += [VendorId(value) for value in vendor_ids]
    return encode_message(
        initiator_spi=initiator_spi,
        responder_spi=ZERO_SPI,
        major_version=2,
        exchange_type=ExchangeType.IKE_SA_INIT,
        flags=V2Flag.INITIATOR,
        message_id=0,
        payloads=tuple(payloads),
    )


@dataclass(frozen=True, slots=True)
class SaInitResponse:
    message: Message
    chosen: Proposal | None
    error: int | None  # the first error notify type, if any
    cookie: bytes | None
    requested_group: int | None  # INVALID_KE_PAYLOAD: the group the responder wants
    responder_group: int | None  # the group of the responder's own KE payload
    notifies: tuple[Notify, ...]
    vendor_ids: tuple[bytes, ...]
    nonce_length: int | None
    certificate_requests: tuple[int, ...]  # cert encodings asked for

    def notify(self, code: int) -> Notify | None:
        return next((n for n in self.notifies if n.notify_message_type == code), None)


def u16_list(data: bytes, field: str) -> tuple[int, ...]:
    """A notify's data as 16-bit numbers (SIGNATURE_HASH_ALGORITHMS, INVALID_KE_PAYLOAD)."""
    if len(data) % 2:
        raise DecodeError(PROTOCOL, field, 0, f"{len(data)} bytes is not a list of 16-bit values")
    return tuple(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))


def read_sa_init_response(message: Message) -> SaInitResponse:
    """What an IKE_SA_INIT response says; ProtocolViolation if it is not one, or breaks 7296."""
    header = message.header
    if header.major_version != 2 or header.exchange_type != ExchangeType.IKE_SA_INIT:
        raise ProtocolViolation(
            f"not an IKE_SA_INIT response: version {header.major_version}, "
            f"exchange {header.exchange_type}"
        )
    if not header.flags & V2Flag.RESPONSE:
        raise ProtocolViolation("the message is a request, not a response")
    notifies = tuple(p for p in message.payloads if isinstance(p, Notify))
    sas = [p for p in message.payloads if isinstance(p, SecurityAssociation)]
    errors = [n.notify_message_type for n in notifies if n.notify_message_type < V2_ERROR_LIMIT]
    chosen: Proposal | None = None
    if sas and not errors:
        if len(sas) != 1 or len(sas[0].proposals) != 1:
            raise ProtocolViolation("the responder's SA must hold exactly one proposal")
        chosen = sas[0].proposals[0]
    requested: int | None = None
    for notify in notifies:
        if notify.notify_message_type == V2Notify.INVALID_KE_PAYLOAD:
            values = u16_list(notify.notification_data, "INVALID_KE_PAYLOAD")
            if len(values) != 1:
                raise ProtocolViolation("INVALID_KE_PAYLOAD must carry one group number")
            requested = values[0]
    cookie = next(
        (n.notification_data for n in notifies if n.notify_message_type == V2Notify.COOKIE), None
    )
    key_exchanges = [p for p in message.payloads if isinstance(p, KeyExchange)]
    nonces = [p for p in message.payloads if isinstance(p, Nonce)]
    return SaInitResponse(
        message=message,
        chosen=chosen,
        error=errors[0] if errors else None,
        cookie=cookie,
        requested_group=requested,
        responder_group=key_exchanges[0].dh_group_num if key_exchanges else None,
        notifies=notifies,
        vendor_ids=tuple(p.vendor_id for p in message.payloads if isinstance(p, VendorId)),
        nonce_length=len(nonces[0].nonce_data) if nonces else None,
        certificate_requests=tuple(
            p.cert_encoding for p in message.payloads if isinstance(p, CertificateRequest)
        ),
    )


def chosen_transforms(proposal: Proposal) -> dict[int, list[Transform]]:
    by_type: dict[int, list[Transform]] = {}
    for transform in proposal.transforms:
        by_type.setdefault(transform.transform_type, []).append(transform)
    return by_type


def chosen_additional(proposal: Proposal) -> tuple[tuple[int, int], ...]:
    """(transform type, method) of each additional key exchange chosen (RFC 9370 2.2.1).

    A responder that took NONE for a type may send that transform (ID 0) or leave the
    type out (strongSwan does); either way it is no additional exchange, and is left out.
    """
    kinds = registry.additional_key_exchange_types()
    return tuple(
        (t.transform_type, t.transform_id)
        for t in proposal.transforms
        if t.transform_type in kinds and t.transform_id != 0
    )


# -- IKEv1 ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class V1Suite:
    """One IKEv1 transform's choice: cipher (and key length), hash, auth method, group."""

    encryption: int
    key_length: int | None
    hash: int
    auth: int
    group: int


def v1_transform(number: int, suite: V1Suite, lifetime: int = DEFAULT_LIFETIME) -> V1Transform:
    attributes = [Attribute(V1Attribute.ENCRYPTION_ALGORITHM, suite.encryption)]
    if suite.key_length is not None:
        attributes.append(Attribute(V1Attribute.KEY_LENGTH, suite.key_length))
    attributes += [
        Attribute(V1Attribute.HASH_ALGORITHM, suite.hash),
        Attribute(V1Attribute.AUTHENTICATION_METHOD, suite.auth),
        Attribute(V1Attribute.GROUP_DESCRIPTION, suite.group),
        Attribute(V1Attribute.LIFE_TYPE, LIFE_TYPE_SECONDS),
        Attribute(V1Attribute.LIFE_DURATION, lifetime.to_bytes(4, "big")),
    ]
    return V1Transform(number, KEY_IKE, tuple(attributes))


def suite_of(transform: V1Transform) -> V1Suite | None:
    """The suite a transform names; None when one of the four attributes is missing."""
    values = [
        transform.attribute(V1Attribute.ENCRYPTION_ALGORITHM),
        transform.attribute(V1Attribute.HASH_ALGORITHM),
        transform.attribute(V1Attribute.AUTHENTICATION_METHOD),
        transform.attribute(V1Attribute.GROUP_DESCRIPTION),
    ]
    if any(value is None for value in values):
        return None
    encryption, hash_algorithm, auth, group = (int(value or 0) for value in values)
    return V1Suite(encryption, transform.key_length, hash_algorithm, auth, group)


def _v1_sa(suites: Sequence[V1Suite]) -> V1SecurityAssociation:
    transforms = tuple(v1_transform(index + 1, suite) for index, suite in enumerate(suites))
    proposal = V1Proposal(1, ProtocolId.IKE, b"", transforms)
    return V1SecurityAssociation(IPSEC_DOI, SIT_IDENTITY_ONLY, (proposal,))


def main_mode_request(
    *, initiator_cookie: bytes, suites: Sequence[V1Suite], vendor_ids: tuple[bytes, ...] = ()
) -> bytes:
    payloads: tuple[Payload, ...] = (_v1_sa(suites), *(VendorId(v) for v in vendor_ids))
    return encode_message(
        initiator_spi=initiator_cookie,
        responder_spi=ZERO_SPI,
        major_version=1,
        exchange_type=ExchangeType.IDENTITY_PROTECTION,
        flags=0,
        message_id=0,
        payloads=payloads,
    )


def aggressive_mode_request(
    *,
    initiator_cookie: bytes,
    suites: Sequence[V1Suite],
    key_exchange_data: bytes,
    nonce: bytes,
    id_type: int,
    identification: bytes,
    vendor_ids: tuple[bytes, ...] = (),
) -> bytes:
    payloads: tuple[Payload, ...] = (
        _v1_sa(suites),
        V1KeyExchange(key_exchange_data),
        Nonce(nonce),
        V1Identification(id_type, 0, 0, identification),
        *(VendorId(v) for v in vendor_ids),
    )
    return encode_message(
        initiator_spi=initiator_cookie,
        responder_spi=ZERO_SPI,
        major_version=1,
        exchange_type=ExchangeType.AGGRESSIVE,
        flags=0,
        message_id=0,
        payloads=payloads,
    )


@dataclass(frozen=True, slots=True)
class V1Response:
    message: Message
    exchange_type: int
    chosen: V1Suite | None
    chosen_transform: V1Transform | None
    notification: int | None  # the first notify message type
    vendor_ids: tuple[bytes, ...]
    encrypted: bool
    # Aggressive Mode: what the responder revealed before authenticating us.
    hash_length: int | None  # HASH_R, keyed with the PSK: crackable offline
    signature: bool
    certificates: int
    responder_id: V1Identification | None
    key_exchange_length: int | None


def read_v1_response(message: Message) -> V1Response:
    header = message.header
    if header.major_version != 1:
        raise ProtocolViolation(f"not an IKEv1 message: version {header.major_version}")
    chosen_transform: V1Transform | None = None
    for sa in message.payloads:
        if isinstance(sa, V1SecurityAssociation):
            transforms = [t for p in sa.proposals for t in p.transforms]
            if len(transforms) != 1:
                raise ProtocolViolation("the responder's SA must hold exactly one transform")
            chosen_transform = transforms[0]
    notifications = [p for p in message.payloads if isinstance(p, V1Notification)]
    hashes = [p for p in message.payloads if isinstance(p, V1Hash)]
    key_exchanges = [p for p in message.payloads if isinstance(p, V1KeyExchange)]
    identities = [p for p in message.payloads if isinstance(p, V1Identification)]
    return V1Response(
        message=message,
        exchange_type=header.exchange_type,
        chosen=suite_of(chosen_transform) if chosen_transform else None,
        chosen_transform=chosen_transform,
        notification=notifications[0].notify_message_type if notifications else None,
        vendor_ids=tuple(p.vendor_id for p in message.payloads if isinstance(p, VendorId)),
        encrypted=bool(header.flags & V1Flag.ENCRYPTION),
        hash_length=len(hashes[0].hash_data) if hashes else None,
        signature=any(isinstance(p, V1Signature) for p in message.payloads),
        certificates=sum(isinstance(p, V1Certificate) for p in message.payloads),
        responder_id=identities[0] if identities else None,
        key_exchange_length=len(key_exchanges[0].key_exchange_data) if key_exchanges else None,
    )


def decode_for(
    data: bytes, initiator_spi: bytes, *, non_esp_marker: bool = False
) -> Message | None:
    """The datagram as a message for the exchange whose SPI (cookie) is ours, else None.

    Raises DecodeError for malformed bytes; a well-formed message for someone else's
    exchange (a late answer to an earlier probe) is None, so the caller keeps waiting.
    With `non_esp_marker` (a datagram from the NAT-T port) the marker must lead and is
    dropped, offsets in errors count from the datagram's start, and a NAT-keepalive is
    None too.
    """
    if non_esp_marker:
        body = strip_non_esp_marker(data)
        if body is None:
            return None
        try:
            message = decode_message(body)
        except DecodeError as error:
            marker = len(data) - len(body)
            raise DecodeError(PROTOCOL, error.field, error.offset + marker, error.reason) from None
    else:
        message = decode_message(data)
    if message.header.initiator_spi != initiator_spi:
        return None
    return message
