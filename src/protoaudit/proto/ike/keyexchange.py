"""Initiator public values for the key exchange methods a probe can offer in a KE payload.

A responder that picks a proposal computes the shared secret from our KE
payload before it answers, and may check it (range, subgroup, point on the
curve): the value must be real. The private value comes from the caller
(`secret`), so that a test is reproducible; nothing here draws randomness.

- MODP groups 1, 2, 5 and 14-18 (RFC 2409 6.1-6.2, RFC 3526): generator 2 and
  primes from the RFCs' formula p = 2^b - 2^(b-64) - 1 + 2^64 * (floor(2^(b-130) pi) + X).
- ECP groups 19-21, 25, 26 (RFC 5903 7: x | y, no point format octet) and
  brainpool 28-30 (RFC 6954), through `cryptography`.
- Curve25519 and Curve448 (RFC 8031 2): the u-coordinate.

Groups 22-24 (RFC 5114), brainpoolP224r1, EC2N, GOST and ML-KEM are not
generated: a probe learns whether a responder takes them from
INVALID_KE_PAYLOAD without ever sending a value for them.
"""

from __future__ import annotations

from functools import cache

from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519

# (bits, X) of the RFC formula, by IKE group number.
_MODP: dict[int, tuple[int, int]] = {
    1: (768, 149686),  # RFC 2409 6.1, the First Oakley Group
    2: (1024, 129093),  # RFC 2409 6.2
    5: (1536, 741804),  # RFC 3526 2
    14: (2048, 124476),  # RFC 3526 3
    15: (3072, 1690314),  # RFC 3526 4
    16: (4096, 240904),  # RFC 3526 5
    17: (6144, 929484),  # RFC 3526 6
    18: (8192, 4743158),  # RFC 3526 7
}
_CURVES: dict[int, type[ec.EllipticCurve]] = {
    19: ec.SECP256R1,
    20: ec.SECP384R1,
    21: ec.SECP521R1,
    25: ec.SECP192R1,
    26: ec.SECP224R1,
    28: ec.BrainpoolP256R1,
    29: ec.BrainpoolP384R1,
    30: ec.BrainpoolP512R1,
}
CURVE25519 = 31
CURVE448 = 32
SECRET_LENGTH = 56  # enough for every method here (Curve448 takes 56 bytes)
GENERATOR = 2


def _arctan_inverse(x: int, scale: int) -> int:
    """arctan(1/x) * 2^scale, from the Gregory series."""
    power = (1 << scale) // x
    total, divisor, sign, x_squared = power, 1, 1, x * x
    while power:
        power //= x_squared
        divisor += 2
        sign = -sign
        total += sign * (power // divisor)
    return total


@cache
def modp_prime(group: int) -> int:
    """The prime of MODP group `group` (KeyError for any other number)."""
    bits, offset = _MODP[group]
    guard = 64
    scale = bits - 130 + guard
    pi = (16 * _arctan_inverse(5, scale) - 4 * _arctan_inverse(239, scale)) >> guard
    return (1 << bits) - (1 << (bits - 64)) - 1 + ((pi + offset) << 64)


def can_generate(group: int) -> bool:
    return group in _MODP or group in _CURVES or group in (CURVE25519, CURVE448)


def generated_groups() -> tuple[int, ...]:
    return (*_MODP, *_CURVES, CURVE25519, CURVE448)


def public_value(group: int, secret: bytes) -> bytes:
    """Our Key Exchange Data for `group` from `secret`; KeyError for a group not made here."""
    if len(secret) < SECRET_LENGTH:
        raise ValueError(f"secret must be {SECRET_LENGTH} bytes, got {len(secret)}")
    if group in _MODP:
        bits = _MODP[group][0]
        # A 256-bit exponent (at least 2): far beyond what any of these groups can protect.
        exponent = int.from_bytes(secret[:32], "big") | (1 << 255)
        return pow(GENERATOR, exponent, modp_prime(group)).to_bytes(bits // 8, "big")
    if group in _CURVES:
        curve = _CURVES[group]()
        # 20 bytes (+1) stays below every curve's order, the smallest being 192 bits.
        private = ec.derive_private_key(int.from_bytes(secret[:20], "big") + 1, curve)
        numbers = private.public_key().public_numbers()
        size = (curve.key_size + 7) // 8
        return numbers.x.to_bytes(size, "big") + numbers.y.to_bytes(size, "big")
    if group == CURVE25519:
        key25519 = x25519.X25519PrivateKey.from_private_bytes(secret[:32])
        return key25519.public_key().public_bytes_raw()
    if group == CURVE448:
        key448 = x448.X448PrivateKey.from_private_bytes(secret[:56])
        return key448.public_key().public_bytes_raw()
    raise KeyError(group)
