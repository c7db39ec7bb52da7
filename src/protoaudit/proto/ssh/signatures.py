"""Signature blobs and their verification (RFC 4253 6.6, RFC 8332 3, RFC 5656 3.1.2,
RFC 8709 6).

    string    signature format ("rsa-sha2-256", "ssh-ed25519" ...)
    string    signature data

`verify_signature` answers one question: did this key sign these bytes with
a format that suits it? A format that does not fit the key, a signature of
the wrong shape and a key `cryptography` will not load (DSA with a p that is
not 1024-4096 bits, say) are all False, never an exception: a server's bad
signature is a fact to report. Security-key (sk-*) signatures carry flags
and a counter and are not host-key signatures: they are never verified here.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from protoaudit.errors import DecodeError
from protoaudit.proto.ssh.constants import PROTOCOL
from protoaudit.proto.ssh.encoding import read_positive_mpint, read_string, write_string
from protoaudit.proto.ssh.keys import (
    CURVES,
    DSA,
    ECDSA_PREFIX,
    ED448,
    ED25519,
    DsaKey,
    EcdsaKey,
    EdwardsKey,
    PublicKey,
    RsaKey,
    read_key_type,
)
from protoaudit.wire import Reader, Writer

# RFC 4253 6.6 and RFC 8332 3: the formats an RSA key may sign with.
RSA_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "ssh-rsa": hashes.SHA1,
    "rsa-sha2-256": hashes.SHA256,
    "rsa-sha2-512": hashes.SHA512,
}
# RFC 5656 6.2.1: the hash follows the curve size.
ECDSA_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "nistp256": hashes.SHA256,
    "nistp384": hashes.SHA384,
    "nistp521": hashes.SHA512,
}
DSA_SIGNATURE_LENGTH = 40  # r and s, 160 bits each (RFC 4253 6.6)
EDWARDS_SIGNATURE_LENGTHS = {"ed25519": 64, "ed448": 114}


@dataclass(frozen=True, slots=True)
class Signature:
    algorithm: str  # the signature format: "rsa-sha2-512", "ecdsa-sha2-nistp256" ...
    data: bytes

    def encode(self) -> bytes:
        writer = write_string(Writer(), self.algorithm.encode("ascii"))
        return write_string(writer, self.data).getvalue()


def decode_signature(blob: bytes, field_name: str = "signature") -> Signature:
    reader = Reader(blob, PROTOCOL)
    algorithm = read_key_type(reader, f"{field_name}.format")
    data = read_string(reader, f"{field_name}.data")
    reader.expect_end(field_name)
    return Signature(algorithm, data)


def signature_format_fits(key: PublicKey, algorithm: str) -> bool:
    """Whether a key of this type signs with this format."""
    material = key.material
    if isinstance(material, RsaKey):
        return algorithm in RSA_HASHES
    if isinstance(material, EcdsaKey):
        return material.application is None and algorithm == ECDSA_PREFIX + material.curve
    if isinstance(material, EdwardsKey) and material.application is not None:
        return False
    return key.key_type in (DSA, ED25519, ED448) and algorithm == key.key_type


def verify_signature(key: PublicKey, signature: Signature, data: bytes) -> bool:
    """True when `signature` is a valid signature by `key` over `data`."""
    if not signature_format_fits(key, signature.algorithm):
        return False
    try:
        _verify(key, signature, data)
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, DecodeError):
        return False
    return True


def _verify(key: PublicKey, signature: Signature, data: bytes) -> None:
    """Raise when the signature does not verify."""
    material = key.material
    if isinstance(material, RsaKey):
        _verify_rsa(material, signature, data)
    elif isinstance(material, DsaKey):
        _verify_dsa(material, signature.data, data)
    elif isinstance(material, EcdsaKey):
        _verify_ecdsa(material, signature.data, data)
    elif isinstance(material, EdwardsKey):
        _verify_edwards(material, signature.data, data)
    else:
        raise InvalidSignature


def _verify_rsa(material: RsaKey, signature: Signature, data: bytes) -> None:
    public = rsa.RSAPublicNumbers(material.e, material.n).public_key()
    modulus_length = (material.n.bit_length() + 7) // 8
    if len(signature.data) > modulus_length:
        raise InvalidSignature
    # Some signers drop leading zero bytes; OpenSSH pads them back (ssh-rsa.c), so do we.
    padded = signature.data.rjust(modulus_length, b"\0")
    public.verify(padded, data, padding.PKCS1v15(), RSA_HASHES[signature.algorithm]())


def _verify_dsa(material: DsaKey, signature: bytes, data: bytes) -> None:
    if len(signature) != DSA_SIGNATURE_LENGTH:
        raise InvalidSignature
    half = DSA_SIGNATURE_LENGTH // 2
    r = int.from_bytes(signature[:half], "big")
    s = int.from_bytes(signature[half:], "big")
    parameters = dsa.DSAParameterNumbers(material.p, material.q, material.g)
    public = dsa.DSAPublicNumbers(material.y, parameters).public_key()
    # ssh-dss is SHA-1 by definition (RFC 4253 6.6); checking it is the point.
    public.verify(encode_dss_signature(r, s), data, hashes.SHA1())  # noqa: S303


def _verify_ecdsa(material: EcdsaKey, signature: bytes, data: bytes) -> None:
    reader = Reader(signature, PROTOCOL)
    r = read_positive_mpint(reader, "signature.r")
    s = read_positive_mpint(reader, "signature.s")
    reader.expect_end("signature")
    curve = CURVES[material.curve][1]()
    public = ec.EllipticCurvePublicKey.from_encoded_point(curve, material.point)
    public.verify(encode_dss_signature(r, s), data, ec.ECDSA(ECDSA_HASHES[material.curve]()))


def _verify_edwards(material: EdwardsKey, signature: bytes, data: bytes) -> None:
    if len(signature) != EDWARDS_SIGNATURE_LENGTHS[material.curve]:
        raise InvalidSignature
    if material.curve == "ed25519":
        ed25519.Ed25519PublicKey.from_public_bytes(material.public).verify(signature, data)
    else:
        ed448.Ed448PublicKey.from_public_bytes(material.public).verify(signature, data)
