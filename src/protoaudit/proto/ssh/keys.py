"""Public key blobs (RFC 4253 6.6, RFC 5656 3.1, RFC 8709 4, OpenSSH PROTOCOL.u2f).

    ssh-rsa              mpint e, mpint n
    ssh-dss              mpint p, mpint q, mpint g, mpint y
    ecdsa-sha2-nistpN    string curve ("nistp256" ...), string Q (SEC1 point)
    ssh-ed25519          string key (32 bytes)
    ssh-ed448            string key (57 bytes)
    sk-ecdsa-sha2-nistp256@openssh.com   as ecdsa, then string application
    sk-ssh-ed25519@openssh.com           as ed25519, then string application

each after the string naming the type. `decode_public_key` parses a plain
key; a type it does not know survives as `UnknownKey` with its bytes.
Certificates (`certificates.py`) carry one of these bodies after a nonce.

Refused with `DecodeError`: a blob whose fields overrun it or leave bytes
over, an ECDSA curve name that disagrees with the type, a point that is not
on the curve, an Ed25519/Ed448 key of the wrong length, and RSA or DSA numbers
that are not positive.

`PublicKey.fingerprint_sha256` is OpenSSH's: "SHA256:" and the unpadded
base64 of SHA-256 over the plain key blob (for a certificate, over the key it
certifies, as `ssh-keygen -l` prints it).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from protoaudit.errors import DecodeError
from protoaudit.proto.ssh.constants import PROTOCOL
from protoaudit.proto.ssh.encoding import (
    check_name,
    read_positive_mpint,
    read_string,
    read_text,
    write_mpint,
    write_string,
    write_text,
)
from protoaudit.wire import Reader, Writer

RSA = "ssh-rsa"
DSA = "ssh-dss"
ED25519 = "ssh-ed25519"
ED448 = "ssh-ed448"
SK_ED25519 = "sk-ssh-ed25519@openssh.com"
SK_ECDSA = "sk-ecdsa-sha2-nistp256@openssh.com"
ECDSA_PREFIX = "ecdsa-sha2-"

# RFC 5656 10.1: the curves every implementation knows, with their bits and cryptography's class.
CURVES: dict[str, tuple[int, type[ec.EllipticCurve]]] = {
    "nistp256": (256, ec.SECP256R1),
    "nistp384": (384, ec.SECP384R1),
    "nistp521": (521, ec.SECP521R1),
}
EDWARDS_KEY_LENGTHS = {"ed25519": 32, "ed448": 57}
EDWARDS_BITS = {"ed25519": 256, "ed448": 456}  # RFC 8032: b = 256 and 456


@dataclass(frozen=True, slots=True)
class RsaKey:
    e: int
    n: int


@dataclass(frozen=True, slots=True)
class DsaKey:
    p: int
    q: int
    g: int
    y: int


@dataclass(frozen=True, slots=True)
class EcdsaKey:
    curve: str  # "nistp256", as the blob names it
    point: bytes  # SEC1 encoding, as sent
    application: str | None = None  # security keys (sk-*) only


@dataclass(frozen=True, slots=True)
class EdwardsKey:
    curve: str  # "ed25519" or "ed448"
    public: bytes
    application: str | None = None  # security keys (sk-*) only


@dataclass(frozen=True, slots=True)
class UnknownKey:
    """A key type this module cannot read: the bytes after the type string."""

    data: bytes


KeyMaterial = RsaKey | DsaKey | EcdsaKey | EdwardsKey | UnknownKey


@dataclass(frozen=True, slots=True)
class PublicKey:
    key_type: str  # the key's own type: "ssh-rsa", "ecdsa-sha2-nistp256", "ssh-ed25519" ...
    material: KeyMaterial
    blob: bytes = field(repr=False)  # the plain key blob the fingerprint is taken over

    @property
    def bits(self) -> int:
        """RSA modulus, DSA p, curve size; 256 for Ed25519, 456 for Ed448; 0 when unknown."""
        material = self.material
        if isinstance(material, RsaKey):
            return material.n.bit_length()
        if isinstance(material, DsaKey):
            return material.p.bit_length()
        if isinstance(material, EcdsaKey):
            return CURVES[material.curve][0]
        if isinstance(material, EdwardsKey):
            return EDWARDS_BITS[material.curve]
        return 0

    @property
    def fingerprint_sha256(self) -> str:
        return fingerprint_sha256(self.blob)


def fingerprint_sha256(blob: bytes) -> str:
    """OpenSSH's fingerprint format: "SHA256:" + base64 without padding."""
    digest = hashlib.sha256(blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def read_key_type(reader: Reader, field_name: str) -> str:
    start = reader.offset
    raw = read_string(reader, field_name)
    problem = check_name(raw)
    if problem is not None:
        raise DecodeError(PROTOCOL, field_name, start, problem)
    return raw.decode("ascii")


def read_material(key_type: str, reader: Reader, field_name: str) -> KeyMaterial:
    """The fields after the type string of a plain key of `key_type`."""
    if key_type == RSA:
        e = read_positive_mpint(reader, f"{field_name}.e")
        return RsaKey(e, read_positive_mpint(reader, f"{field_name}.n"))
    if key_type == DSA:
        p, q, g, y = (read_positive_mpint(reader, f"{field_name}.{name}") for name in "pqgy")
        return DsaKey(p, q, g, y)
    if key_type in (ED25519, ED448, SK_ED25519):
        curve = "ed448" if key_type == ED448 else "ed25519"
        public = _edwards_public(reader, curve, field_name)
        application = _application(reader, field_name) if key_type == SK_ED25519 else None
        return EdwardsKey(curve, public, application)
    curve_name = _ecdsa_curve(key_type)
    if curve_name is not None:
        start = reader.offset
        named = read_string(reader, f"{field_name}.curve")
        if named != curve_name.encode("ascii"):
            reason = f"curve {named[:16]!r} in a {key_type} key"
            raise DecodeError(PROTOCOL, f"{field_name}.curve", start, reason)
        point = _ec_point(reader, curve_name, field_name)
        application = _application(reader, field_name) if key_type == SK_ECDSA else None
        return EcdsaKey(curve_name, point, application)
    return UnknownKey(reader.bytes(reader.remaining(), f"{field_name}.data"))


def decode_public_key(blob: bytes, field_name: str = "public_key") -> PublicKey:
    """A plain public key blob (not a certificate: see certificates.decode_host_key)."""
    reader = Reader(blob, PROTOCOL)
    key_type = read_key_type(reader, f"{field_name}.type")
    material = read_material(key_type, reader, field_name)
    reader.expect_end(field_name)
    return PublicKey(key_type, material, blob)


def write_material(writer: Writer, material: KeyMaterial) -> Writer:
    if isinstance(material, RsaKey):
        return write_mpint(write_mpint(writer, material.e), material.n)
    if isinstance(material, DsaKey):
        for value in (material.p, material.q, material.g, material.y):
            write_mpint(writer, value)
        return writer
    if isinstance(material, EcdsaKey):
        write_string(writer, material.curve.encode("ascii"))
        write_string(writer, material.point)
    elif isinstance(material, EdwardsKey):
        write_string(writer, material.public)
    else:
        return writer.raw(material.data)
    if material.application is not None:
        write_text(writer, material.application)
    return writer


def encode_public_key(key_type: str, material: KeyMaterial) -> bytes:
    """The plain blob; the inverse of `decode_public_key` for well-formed keys."""
    writer = write_string(Writer(), key_type.encode("ascii"))
    return write_material(writer, material).getvalue()


def public_key(key_type: str, material: KeyMaterial) -> PublicKey:
    return PublicKey(key_type, material, encode_public_key(key_type, material))


def _ecdsa_curve(key_type: str) -> str | None:
    if key_type == SK_ECDSA:
        return "nistp256"
    if key_type.startswith(ECDSA_PREFIX):
        curve = key_type[len(ECDSA_PREFIX) :]
        if curve in CURVES:
            return curve
    return None  # ecdsa-sha2-<OID> curves (RFC 5656 6.1) stay unknown keys


def _ec_point(reader: Reader, curve: str, field_name: str) -> bytes:
    start = reader.offset
    point = read_string(reader, f"{field_name}.point")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(CURVES[curve][1](), point)
    except ValueError:
        raise DecodeError(
            PROTOCOL, f"{field_name}.point", start, f"not a point on {curve}"
        ) from None
    return point


def _edwards_public(reader: Reader, curve: str, field_name: str) -> bytes:
    start = reader.offset
    public = read_string(reader, f"{field_name}.key")
    expected = EDWARDS_KEY_LENGTHS[curve]
    if len(public) != expected:
        reason = f"{curve} key of {len(public)} bytes, not {expected}"
        raise DecodeError(PROTOCOL, f"{field_name}.key", start, reason)
    return public


def _application(reader: Reader, field_name: str) -> str:
    return read_text(reader, f"{field_name}.application")
