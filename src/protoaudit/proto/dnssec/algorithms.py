"""Which DNSKEY algorithms and DS digest types this validator can use, and key sizes.

An algorithm is supported when the registry lists it, RFC 8624 does not say validators MUST
NOT use it (RSAMD5, DSA, DSA-NSEC3-SHA1), and dnspython (with cryptography) can verify it. A
digest type is supported when the registry lists it, RFC 8624 does not forbid it for
validation, and dnspython can compute it. Both are asked of dnspython itself, once, so an
upgrade that adds an algorithm needs no change here. RFC 4035 5.2 and RFC 6840 5.2: a zone
whose DS records all name unsupported algorithms or digests is insecure, not bogus.
"""

from __future__ import annotations

import functools

import dns.dnssec
import dns.dnssecalgs
import dns.dnssectypes
import dns.exception
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from protoaudit.registry.dnssec import dnssec_algorithm, ds_digest_type

__all__ = ["algorithm_supported", "digest_supported", "key_bits"]

_FORBIDDEN = "MUST NOT"
# A syntactically valid key to ask dnspython's digest code with; its bytes do not matter.
_PROBE_KEY = dns.rdata.from_text(
    dns.rdataclass.IN, dns.rdatatype.DNSKEY, "257 3 15 " + "A" * 43 + "="
)
_CURVE_BITS = {
    "ECDSAP256SHA256": 256,
    "ECDSAP384SHA384": 384,
    "ED25519": 256,
    "ED448": 456,
}
_RSA_PREFIX = "RSA"


@functools.cache
def algorithm_supported(algorithm: int) -> bool:
    entry = dnssec_algorithm(algorithm)
    if not entry.known or not entry.zone_signing or entry.validation == _FORBIDDEN:
        return False
    try:
        dns.dnssecalgs.get_algorithm_cls(algorithm)
    except (dns.exception.UnsupportedAlgorithm, ValueError):
        return False
    return bool(getattr(dns.dnssec, "_have_pyca", True))


@functools.cache
def digest_supported(digest_type: int) -> bool:
    entry = ds_digest_type(digest_type)
    if not entry.known or entry.validation == _FORBIDDEN:
        return False
    try:
        dns.dnssec.make_ds(
            ".",
            _PROBE_KEY,
            dns.dnssectypes.DSDigest.make(digest_type),
            policy=dns.dnssec.allow_all_policy,
            validating=True,
        )
    except (dns.exception.DNSException, ValueError):
        return False
    return True


def key_bits(algorithm: int, key: bytes) -> int:
    """The key's size in bits: the RSA modulus (RFC 3110 2), DSA's P, the curve; 0: unknown."""
    mnemonic = dnssec_algorithm(algorithm).mnemonic
    if mnemonic in _CURVE_BITS:
        return _CURVE_BITS[mnemonic]
    if mnemonic.startswith("DSA") and key:
        return 512 + 64 * key[0] if key[0] <= 8 else 0  # T: the size of P (RFC 2536 2)
    if not mnemonic.startswith(_RSA_PREFIX) or not key:
        return 0
    exponent_length, offset = key[0], 1
    if exponent_length == 0:
        if len(key) < 3:
            return 0
        exponent_length, offset = int.from_bytes(key[1:3], "big"), 3
    modulus = key[offset + exponent_length :]
    return int.from_bytes(modulus, "big").bit_length() if modulus else 0
