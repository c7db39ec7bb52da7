"""OpenPGP packets (RFC 9580 sections 4 and 5): framing, key packets, signature packets.

Only what a key audit reads: the packet headers of a transferable public (or secret) key,
the public part of key packets (version, creation time, algorithm, the key material's size
or curve, the fingerprint) and signature packets (the fields, the subpackets, and the raw
octets a verifier hashes). Secret key material is skipped, never interpreted.

Framing refuses what a key never contains: partial and indeterminate body lengths (only
data packets may use them, section 4.2.1.4), version 2-4 key packets over 65535 octets
(section 5.5.4.2), and more than `max_packets` packets. Every length is bounded by the
bytes left before it is used; a malformed packet raises only DecodeError. Unknown
algorithms and versions are not errors: their packets come back with what could be read
(the material's size unknown), so a key from the future survives into a report.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from protoaudit.errors import DecodeError
from protoaudit.proto.openpgp.names import curve, public_key_algorithm
from protoaudit.wire import Reader

__all__ = [
    "KeyPacket",
    "RawPacket",
    "SignaturePacket",
    "Subpacket",
    "fingerprint",
    "key_octets",
    "oid_text",
    "parse_key",
    "parse_signature",
    "split_packets",
]

PROTOCOL = "openpgp"

# Packet tags (RFC 9580 section 5, table 3)
SIGNATURE = 2
SECRET_KEY = 5
PUBLIC_KEY = 6
SECRET_SUBKEY = 7
MARKER = 10
TRUST = 12
USER_ID = 13
PUBLIC_SUBKEY = 14
USER_ATTRIBUTE = 17
PADDING = 21
KEY_TAGS = frozenset({SECRET_KEY, PUBLIC_KEY, SECRET_SUBKEY, PUBLIC_SUBKEY})
PRIMARY_TAGS = frozenset({SECRET_KEY, PUBLIC_KEY})
SECRET_TAGS = frozenset({SECRET_KEY, SECRET_SUBKEY})

# Signature subpacket types (section 5.2.3.7, table 5)
SIGNATURE_CREATION_TIME = 2
SIGNATURE_EXPIRATION_TIME = 3
KEY_EXPIRATION_TIME = 9
ISSUER_KEY_ID = 16
PRIMARY_USER_ID = 25
KEY_FLAGS = 27
REASON_FOR_REVOCATION = 29
ISSUER_FINGERPRINT = 33

MAX_MPI_BITS = 65536  # larger than any key worth auditing; sequoia accepts more, we do not
MAX_SUBPACKETS = 256
MAX_REASON_TEXT = 300


@dataclass(frozen=True, slots=True)
class RawPacket:
    tag: int
    offset: int  # of the packet header in the input
    body: bytes


@dataclass(frozen=True, slots=True)
class KeyPacket:
    tag: int
    version: int
    created: int  # seconds since the epoch, UTC
    algorithm: int
    bits: int | None  # modulus or prime size; a curve's size; None when unknown
    curve_oid: str | None  # dotted, for ECDSA, ECDH and EdDSALegacy
    public_body: bytes  # the public key packet's body: what fingerprints and signatures hash
    fingerprint: bytes  # b"" when the version has none we compute
    material: tuple[bytes, ...]  # MPIs (unsigned, big-endian) or native fields, in order
    secret: bool  # a secret key packet (its secret part is not read)

    @property
    def key_id(self) -> bytes:
        if self.version == 4:
            return self.fingerprint[-8:]
        return self.fingerprint[:8]


@dataclass(frozen=True, slots=True)
class Subpacket:
    type: int
    critical: bool
    body: bytes


def _seconds(value: bytes | None) -> int | None:
    """A time field (4 octets); None when absent or of another length."""
    return int.from_bytes(value, "big") if value is not None and len(value) == 4 else None


@dataclass(frozen=True, slots=True)
class SignaturePacket:
    version: int
    signature_type: int
    public_key_algorithm: int
    hash_algorithm: int
    hashed_octets: bytes  # what follows the signed data into the hash (section 5.2.4)
    hashed: tuple[Subpacket, ...]
    unhashed: tuple[Subpacket, ...]
    left16: bytes
    salt: bytes  # v6 only
    material: tuple[bytes, ...]  # MPIs for RSA, DSA, ECDSA, EdDSALegacy; one native field else
    created: int | None  # from the hashed area (or the v3 header)
    v3_issuer: bytes | None

    def hashed_value(self, kind: int) -> bytes | None:
        """The first hashed subpacket of `kind`, or None."""
        return next((item.body for item in self.hashed if item.type == kind), None)

    def _hashed_seconds(self, kind: int) -> int | None:
        return _seconds(self.hashed_value(kind))

    @property
    def key_expiration_seconds(self) -> int | None:
        """Seconds after the key's creation at which it expires; None (or 0) for never."""
        return self._hashed_seconds(KEY_EXPIRATION_TIME)

    @property
    def signature_expiration_seconds(self) -> int | None:
        return self._hashed_seconds(SIGNATURE_EXPIRATION_TIME)

    @property
    def key_flags(self) -> int | None:
        value = self.hashed_value(KEY_FLAGS)
        if value is None:
            return None
        return int.from_bytes(value[:4], "little")

    @property
    def primary_user_id(self) -> bool:
        value = self.hashed_value(PRIMARY_USER_ID)
        return value is not None and value[:1] not in (b"", b"\x00")

    @property
    def revocation_reason(self) -> tuple[int, str] | None:
        value = self.hashed_value(REASON_FOR_REVOCATION)
        if not value:
            return None
        text = value[1 : 1 + MAX_REASON_TEXT * 4].decode("utf-8", "replace")
        return value[0], text[:MAX_REASON_TEXT]

    @property
    def issuers(self) -> tuple[bytes, ...]:
        """Issuer fingerprints and key IDs this signature names, hashed or not."""
        found: list[bytes] = []
        if self.v3_issuer is not None:
            found.append(self.v3_issuer)
        for item in (*self.hashed, *self.unhashed):
            if item.type == ISSUER_FINGERPRINT and len(item.body) > 1:
                found.append(item.body[1:])
            elif item.type == ISSUER_KEY_ID and len(item.body) == 8:
                found.append(item.body)
        return tuple(found)


def split_packets(data: bytes, *, max_packets: int) -> list[RawPacket]:
    """The packets of a key stream, in order; DecodeError for what a key never holds."""
    reader = Reader(data, PROTOCOL)
    packets: list[RawPacket] = []
    while not reader.at_end():
        offset = reader.offset
        if len(packets) >= max_packets:
            raise reader.fail("packets", f"more than {max_packets} packets")
        first = reader.u8("packet header")
        if not first & 0x80:
            raise DecodeError(PROTOCOL, "packet header", offset, f"0x{first:02x} is no header")
        if first & 0x40:  # OpenPGP (new) format
            tag = first & 0x3F
            octet = reader.u8("body length")
            if octet < 192:
                length = octet
            elif octet < 224:
                length = ((octet - 192) << 8) + reader.u8("body length") + 192
            elif octet == 255:
                length = reader.u32("body length")
            else:
                raise reader.fail("body length", "partial body length in a key stream")
        else:  # legacy format
            tag = (first >> 2) & 0x0F
            length_type = first & 0x03
            if length_type == 3:
                raise reader.fail("body length", "indeterminate length in a key stream")
            length = reader.uint(1 << length_type, "body length")
        if tag == 0:
            raise DecodeError(PROTOCOL, "packet tag", offset, "tag 0 is reserved")
        body = reader.bytes(length, f"packet {tag} body")
        # Section 5.5.4.2: a v4 key is hashed after a 2-octet length, so a longer one has no
        # fingerprint (and Sequoia panics on it rather than raising).
        if tag in KEY_TAGS and length > 0xFFFF and body[0] in (2, 3, 4):
            reason = f"a version {body[0]} key packet of {length} octets (at most 65535)"
            raise DecodeError(PROTOCOL, f"packet {tag} body", offset, reason)
        packets.append(RawPacket(tag, offset, body))
    return packets


def oid_text(oid: bytes) -> str:
    """A DER OID's content octets as dotted text (no tag or length octets)."""
    if not oid or oid[-1] & 0x80:
        raise DecodeError(PROTOCOL, "curve OID", 0, "truncated OID")
    arcs: list[int] = []
    value = 0
    for octet in oid:
        value = (value << 7) | (octet & 0x7F)
        if value.bit_length() > 64:
            raise DecodeError(PROTOCOL, "curve OID", 0, "arc too large")
        if not octet & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in (first, arcs[0] - 40 * first, *arcs[1:]))


def _mpi(reader: Reader, field: str) -> bytes:
    bits = reader.u16(field + ".bits")
    if bits > MAX_MPI_BITS:
        raise reader.fail(field, f"{bits} bits")
    return reader.bytes((bits + 7) // 8, field)


def _oid(reader: Reader) -> str:
    length = reader.u8("curve OID length")
    if length in (0, 0xFF):
        raise reader.fail("curve OID", f"reserved OID length {length}")
    return oid_text(reader.bytes(length, "curve OID"))


_NATIVE_SIZES = {"x25519": (32, 255), "x448": (56, 448), "ed25519": (32, 255), "ed448": (57, 448)}


def _material(
    reader: Reader, algorithm: int
) -> tuple[tuple[bytes, ...], int | None, str | None] | None:
    """(fields, bits, curve OID) of the public key material; None for an unknown algorithm."""
    family = public_key_algorithm(algorithm).family
    if family == "rsa":
        modulus, exponent = _mpi(reader, "RSA n"), _mpi(reader, "RSA e")
        return (modulus, exponent), int.from_bytes(modulus, "big").bit_length(), None
    if family == "dsa":
        fields = tuple(_mpi(reader, f"DSA {name}") for name in "pqgy")
        return fields, int.from_bytes(fields[0], "big").bit_length(), None
    if family == "elgamal":
        fields = tuple(_mpi(reader, f"Elgamal {name}") for name in "pgy")
        return fields, int.from_bytes(fields[0], "big").bit_length(), None
    if family in ("ecdsa", "eddsa_legacy", "ecdh"):
        oid = _oid(reader)
        point = _mpi(reader, "EC point")
        if family == "ecdh":
            reader.vector(1, "ECDH KDF parameters")
        return (point,), None, oid
    if family in _NATIVE_SIZES:
        size, bits = _NATIVE_SIZES[family]
        return (reader.bytes(size, f"{family} public key"),), bits, None
    return None


def parse_key(tag: int, body: bytes) -> KeyPacket:
    """A key packet's public part; the secret part of a secret key packet is not read."""
    reader = Reader(body, PROTOCOL)
    version = reader.u8("key version")
    created = reader.u32("key creation time")
    if version in (2, 3):
        reader.u16("v3 validity days")
    algorithm = reader.u8("public key algorithm")
    secret = tag in SECRET_TAGS
    declared: int | None = None
    if version in (5, 6):
        declared = reader.u32("key material length")
        if declared > reader.remaining():
            raise reader.fail("key material", f"{declared} octets declared")
    elif version not in (2, 3, 4):
        # An unknown version: nothing after the header can be read with confidence.
        return KeyPacket(tag, version, created, algorithm, None, None, body, b"", (), secret)
    start = reader.offset
    material = _material(reader, algorithm)
    if declared is not None:
        if material is not None and reader.offset - start != declared:
            raise reader.fail("key material", "does not fill its declared length")
        public_end = start + declared
    elif material is not None:
        public_end = reader.offset
    elif not secret:
        public_end = len(body)  # an unknown v4 algorithm: the whole body is public
    else:
        return KeyPacket(tag, version, created, algorithm, None, None, b"", b"", (), secret)
    if not secret and public_end != len(body):
        raise DecodeError(PROTOCOL, "key material", public_end, "trailing octets")
    fields, bits, oid = material if material is not None else ((), None, None)
    if oid is not None:
        bits = curve(oid).bits
    public_body = body[:public_end]
    return KeyPacket(
        tag,
        version,
        created,
        algorithm,
        bits,
        oid,
        public_body,
        fingerprint(version, public_body),
        fields,
        secret,
    )


def key_octets(version: int, public_body: bytes) -> bytes:
    """Section 5.5.4: a key as fingerprints and signatures hash it (LibrePGP's v5 too)."""
    if version in (5, 6):
        prefix = b"\x9b" if version == 6 else b"\x9a"
        return prefix + len(public_body).to_bytes(4, "big") + public_body
    return b"\x99" + len(public_body).to_bytes(2, "big") + public_body


def fingerprint(version: int, public_body: bytes) -> bytes:
    """Section 5.5.4: SHA-1 for v4 keys, SHA-256 for v6 (and LibrePGP v5); b"" otherwise."""
    if version == 4:
        return hashlib.sha1(key_octets(version, public_body)).digest()  # noqa: S324 (the v4 fingerprint is SHA-1 by definition)
    if version in (5, 6):
        return hashlib.sha256(key_octets(version, public_body)).digest()
    return b""


def _subpackets(reader: Reader, width: int, field: str) -> tuple[tuple[Subpacket, ...], bytes]:
    length = reader.uint(width, field + " length")
    area = reader.bytes(length, field)
    inner = Reader(area, PROTOCOL)
    found: list[Subpacket] = []
    while not inner.at_end():
        if len(found) >= MAX_SUBPACKETS:
            raise inner.fail(field, f"more than {MAX_SUBPACKETS} subpackets")
        octet = inner.u8("subpacket length")
        if octet < 192:
            size = octet
        elif octet < 255:
            size = ((octet - 192) << 8) + inner.u8("subpacket length") + 192
        else:
            size = inner.u32("subpacket length")
        if size == 0:
            raise inner.fail("subpacket", "zero length")
        kind = inner.u8("subpacket type")
        found.append(Subpacket(kind & 0x7F, bool(kind & 0x80), inner.bytes(size - 1, "subpacket")))
    return tuple(found), area


def _signature_material(reader: Reader, algorithm: int) -> tuple[bytes, ...]:
    family = public_key_algorithm(algorithm).family
    if family == "rsa":
        return (_mpi(reader, "RSA signature"),)
    if family in ("dsa", "ecdsa", "eddsa_legacy", "elgamal"):
        return (_mpi(reader, "signature r"), _mpi(reader, "signature s"))
    # Native fields (Ed25519, Ed448, post-quantum) and unknown algorithms: kept whole.
    return (reader.bytes(reader.remaining(), "signature"),)


def parse_signature(body: bytes) -> SignaturePacket:
    """A signature packet (versions 3, 4, 5 and 6), with the octets its hash covers."""
    reader = Reader(body, PROTOCOL)
    version = reader.u8("signature version")
    if version in (2, 3):
        if reader.u8("v3 hashed length") != 5:
            raise reader.fail("v3 hashed length", "must be 5")
        hashed_start = reader.offset
        signature_type = reader.u8("signature type")
        created = reader.u32("signature creation time")
        hashed_octets = body[hashed_start : reader.offset]
        issuer = reader.bytes(8, "v3 issuer")
        algorithm = reader.u8("public key algorithm")
        hash_number = reader.u8("hash algorithm")
        left16 = reader.bytes(2, "left 16 bits")
        material = _signature_material(reader, algorithm)
        if not reader.at_end():
            raise reader.fail("signature", f"{reader.remaining()} trailing octets")
        return SignaturePacket(
            version, signature_type, algorithm, hash_number, hashed_octets, (), (),
            left16, b"", material, created, issuer,
        )  # fmt: skip
    if version not in (4, 5, 6):
        raise reader.fail("signature version", f"version {version} is unknown")
    signature_type = reader.u8("signature type")
    algorithm = reader.u8("public key algorithm")
    hash_number = reader.u8("hash algorithm")
    width = 4 if version == 6 else 2
    hashed, _ = _subpackets(reader, width, "hashed subpackets")
    hashed_octets = body[: reader.offset]
    unhashed, _ = _subpackets(reader, width, "unhashed subpackets")
    left16 = reader.bytes(2, "left 16 bits")
    salt = reader.vector(1, "salt") if version == 6 else b""
    material = _signature_material(reader, algorithm)
    if not reader.at_end():
        raise reader.fail("signature", f"{reader.remaining()} trailing octets")
    creation = next((item.body for item in hashed if item.type == SIGNATURE_CREATION_TIME), None)
    created_at = _seconds(creation)
    return SignaturePacket(
        version, signature_type, algorithm, hash_number, hashed_octets, hashed, unhashed,
        left16, salt, material, created_at, None,
    )  # fmt: skip
