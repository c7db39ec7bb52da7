"""Checking a key's self-signatures (RFC 9580 section 5.2.4), with no policy in the way.

An audit must read a 1024-bit RSA key or a SHA-1 binding signature to say that it is
weak, so nothing here refuses an algorithm for being old: a signature either verifies,
does not, or cannot be checked (an algorithm `cryptography` does not implement, such as
the post-quantum ones, RIPEMD-160 or Elgamal signatures; a key too large to be worth the
time). Which of those a fact depends on is the caller's business.

What is hashed: the salt (v6), the primary key, then the user ID, user attribute or subkey
the signature binds, then the signature's own hashed octets and a trailer. Key packets are
hashed with a prefix that depends on the key's version (0x99 and a 2-octet length for v4,
0x9B and a 4-octet length for v6).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from protoaudit.proto.openpgp.names import curve, hash_algorithm, public_key_algorithm
from protoaudit.proto.openpgp.packets import KeyPacket, SignaturePacket, key_octets
from protoaudit.sanitize import for_terminal

__all__ = ["Verdict", "hashed_data", "verify"]

MAX_CHECKED_BITS = 16384  # RSA moduli and DSA primes beyond this are not worth the time
MAX_RSA_EXPONENT_BITS = 64  # OpenSSL's own limit for moduli over 3072 bits

_HASHES: dict[int, tuple[str, Callable[[], hashes.HashAlgorithm]]] = {
    1: ("md5", hashes.MD5),
    2: ("sha1", hashes.SHA1),
    8: ("sha256", hashes.SHA256),
    9: ("sha384", hashes.SHA384),
    10: ("sha512", hashes.SHA512),
    11: ("sha224", hashes.SHA224),
    12: ("sha3_256", hashes.SHA3_256),
    14: ("sha3_512", hashes.SHA3_512),
}
_EC_CURVES: dict[str, Callable[[], ec.EllipticCurve]] = {
    "1.2.840.10045.3.1.7": ec.SECP256R1,
    "1.3.132.0.34": ec.SECP384R1,
    "1.3.132.0.35": ec.SECP521R1,
    "1.3.36.3.3.2.8.1.1.7": ec.BrainpoolP256R1,
    "1.3.36.3.3.2.8.1.1.11": ec.BrainpoolP384R1,
    "1.3.36.3.3.2.8.1.1.13": ec.BrainpoolP512R1,
    "1.3.132.0.10": ec.SECP256K1,
}
ED25519_LEGACY = "1.3.6.1.4.1.11591.15.1"
USER_ID_PREFIX = b"\xb4"
USER_ATTRIBUTE_PREFIX = b"\xd1"


@dataclass(frozen=True, slots=True)
class Verdict:
    valid: bool | None  # None: could not be checked
    problem: str | None  # why not valid, or why not checked

    @staticmethod
    def unchecked(reason: str) -> Verdict:
        return Verdict(None, reason)


VALID = Verdict(True, None)


def hashed_data(
    signature: SignaturePacket,
    primary: KeyPacket,
    *,
    user_id: bytes | None = None,
    user_attribute: bytes | None = None,
    subkey: KeyPacket | None = None,
) -> bytes | None:
    """Everything the signature's hash covers, in order; None for a version we cannot hash."""
    parts = [signature.salt, key_octets(primary.version, primary.public_body)]
    if subkey is not None:
        parts.append(key_octets(subkey.version, subkey.public_body))
    for prefix, component in ((USER_ID_PREFIX, user_id), (USER_ATTRIBUTE_PREFIX, user_attribute)):
        if component is None:
            continue
        if signature.version in (2, 3):
            parts.append(component)
        else:
            parts += [prefix, len(component).to_bytes(4, "big"), component]
    parts.append(signature.hashed_octets)
    length = len(signature.hashed_octets)
    if signature.version == 4:
        parts.append(b"\x04\xff" + length.to_bytes(4, "big"))
    elif signature.version == 6:
        parts.append(b"\x06\xff" + length.to_bytes(4, "big"))
    elif signature.version not in (2, 3):
        return None  # LibrePGP v5 signatures: not implemented
    return b"".join(parts)


def _integer(octets: bytes) -> int:
    return int.from_bytes(octets, "big")


def _check(
    signature: SignaturePacket, signer: KeyPacket, digest: bytes, algorithm: hashes.HashAlgorithm
) -> Verdict:
    family = public_key_algorithm(signer.algorithm).family
    fields = signer.material
    sig = signature.material
    if family == "rsa" and len(fields) == 2 and len(sig) == 1:
        modulus, exponent = _integer(fields[0]), _integer(fields[1])
        if modulus.bit_length() > MAX_CHECKED_BITS:
            return Verdict.unchecked(f"{modulus.bit_length()}-bit RSA: too large to check")
        if exponent.bit_length() > MAX_RSA_EXPONENT_BITS:
            # Each verification would cost a private-key operation; no real key does this.
            return Verdict.unchecked(f"a {exponent.bit_length()}-bit RSA exponent")
        key = rsa.RSAPublicNumbers(exponent, modulus).public_key()
        size = (modulus.bit_length() + 7) // 8
        key.verify(sig[0].rjust(size, b"\0"), digest, padding.PKCS1v15(), Prehashed(algorithm))
        return VALID
    if family == "dsa" and len(fields) == 4 and len(sig) == 2:
        p, q, g, y = (_integer(item) for item in fields)
        if p.bit_length() > MAX_CHECKED_BITS:
            return Verdict.unchecked(f"{p.bit_length()}-bit DSA: too large to check")
        dsa_key = dsa.DSAPublicNumbers(y, dsa.DSAParameterNumbers(p, q, g)).public_key()
        encoded = encode_dss_signature(_integer(sig[0]), _integer(sig[1]))
        dsa_key.verify(encoded, digest, Prehashed(algorithm))
        return VALID
    if family == "ecdsa" and len(fields) == 1 and len(sig) == 2:
        make_curve = _EC_CURVES.get(signer.curve_oid or "")
        if make_curve is None:
            return Verdict.unchecked(f"ECDSA on {curve(signer.curve_oid or '?').name}")
        ec_key = ec.EllipticCurvePublicKey.from_encoded_point(make_curve(), fields[0])
        encoded = encode_dss_signature(_integer(sig[0]), _integer(sig[1]))
        ec_key.verify(encoded, digest, ec.ECDSA(Prehashed(algorithm)))
        return VALID
    if family == "eddsa_legacy" and len(fields) == 1 and len(sig) == 2:
        if signer.curve_oid != ED25519_LEGACY:
            return Verdict.unchecked(f"EdDSALegacy on {curve(signer.curve_oid or '?').name}")
        point = fields[0]
        if len(point) != 33 or point[0] != 0x40 or len(sig[0]) > 32 or len(sig[1]) > 32:
            return Verdict(False, "malformed Ed25519Legacy key or signature")
        ed_key = ed25519.Ed25519PublicKey.from_public_bytes(point[1:])
        ed_key.verify(sig[0].rjust(32, b"\0") + sig[1].rjust(32, b"\0"), digest)
        return VALID
    if family == "ed25519" and len(fields) == 1 and len(sig) == 1:
        ed25519.Ed25519PublicKey.from_public_bytes(fields[0]).verify(sig[0], digest)
        return VALID
    if family == "ed448" and len(fields) == 1 and len(sig) == 1:
        ed448.Ed448PublicKey.from_public_bytes(fields[0]).verify(sig[0], digest)
        return VALID
    name = public_key_algorithm(signer.algorithm).name
    return Verdict.unchecked(f"{name} signatures are not checked")


def verify(signature: SignaturePacket, signer: KeyPacket, data: bytes | None) -> Verdict:
    """Whether `signer` made `signature` over `data` (from `hashed_data`)."""
    if data is None:
        return Verdict.unchecked(f"version {signature.version} signatures are not checked")
    if signature.public_key_algorithm != signer.algorithm:
        return Verdict(False, "made with another algorithm than the key's")
    known = _HASHES.get(signature.hash_algorithm)
    if known is None:
        name = hash_algorithm(signature.hash_algorithm).name
        return Verdict.unchecked(f"{name} is not implemented")
    hash_name, make_hash = known
    digest = hashlib.new(hash_name, data, usedforsecurity=False).digest()
    if digest[:2] != signature.left16:
        return Verdict(False, "the hash does not match the signature's left 16 bits")
    try:
        return _check(signature, signer, digest, make_hash())
    except InvalidSignature:
        return Verdict(False, "the signature does not verify")
    except (ValueError, UnsupportedAlgorithm, OverflowError) as error:
        # cryptography refused the key itself (a point off the curve, odd parameters): the
        # signature may be fine for another implementation, so it is not called invalid.
        return Verdict.unchecked(f"cryptography refused the key: {for_terminal(str(error), 120)}")
