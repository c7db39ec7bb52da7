"""Client key shares (RFC 8446 4.2.8) that a real server accepts, from caller-given randomness.

A scanner that offers a group in key_share must send a value the server can
parse: a point on the curve, an ffdhe value in range, a well-formed ML-KEM
encapsulation key. A junk share gets an illegal_parameter alert, which would
read as "group not supported". No private key leaves this module: a probe
only needs to see which group the server picks, never to finish a handshake.

Every private value comes from `rng(count) -> bytes`, so the same rng gives
the same bytes and a handshake in a test is replayable:

- x25519 / x448: the private key is rng bytes (RFC 7748 clamps them).
- secp256r1 / secp384r1 / secp521r1: the scalar is rng bytes, drawn again
  in the rare case it is zero or not below the curve order.
- ffdhe*: the exponent comes from 512 rng bits, more than twice the
  security level of the largest group (RFC 7919 5.2); g^x mod p is computed
  with Python integers because cryptography deprecates finite-field DH.
- ML-KEM (FIPS 203): the 64-byte seed (d || z) comes from rng. If the
  installed cryptography lacks ML-KEM, a well-formed encapsulation key is
  packed from rng instead (see `_packed_encapsulation_key`).
  MLKEM512 always takes that path: cryptography offers only 768 and 1024.
- Hybrids (draft-ietf-tls-ecdhe-mlkem 3): X25519MLKEM768 puts the ML-KEM key
  first; SecP256r1MLKEM768 and SecP384r1MLKEM1024 put the EC point first.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x448, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from protoaudit.proto.tls import ffdhe
from protoaudit.registry import tls as registry

RandomSource = Callable[[int], bytes]

MLKEM_SEED_LENGTH = 64
MLKEM_Q = 3329
_MLKEM_POLYNOMIAL_COEFFICIENTS = 256
_MLKEM_RHO_LENGTH = 32
_FFDHE_EXPONENT_BYTES = 64


def _x25519(rng: RandomSource) -> bytes:
    return x25519.X25519PrivateKey.from_private_bytes(rng(32)).public_key().public_bytes_raw()


def _x448(rng: RandomSource) -> bytes:
    return x448.X448PrivateKey.from_private_bytes(rng(56)).public_key().public_bytes_raw()


def _ec_point(curve: ec.EllipticCurve, rng: RandomSource) -> bytes:
    """An uncompressed point (RFC 8446 4.2.8.2) for a scalar drawn from rng."""
    scalar_bits = curve.key_size
    scalar_bytes = (scalar_bits + 7) // 8
    while True:
        scalar = int.from_bytes(rng(scalar_bytes), "big") >> (scalar_bytes * 8 - scalar_bits)
        if scalar == 0:
            continue
        try:
            private_key = ec.derive_private_key(scalar, curve)
        except ValueError:
            continue  # not below the curve order: rejection sampling draws again
        return private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def _ffdhe(name: str, rng: RandomSource) -> bytes:
    prime = ffdhe.prime_for_name(name)
    # x in [2, (p-1)/2 - 1]: never 0 or 1, so g^x is never trivial.
    exponent = 2 + int.from_bytes(rng(_FFDHE_EXPONENT_BYTES), "big") % ((prime - 1) // 2 - 2)
    public = pow(ffdhe.GENERATOR, exponent, prime)
    # RFC 8446 4.2.8.1: left-padded with zeros to the size of p.
    return public.to_bytes((prime.bit_length() + 7) // 8, "big")


def _packed_encapsulation_key(rank: int, rng: RandomSource) -> bytes:
    """A well-formed ML-KEM encapsulation key without an ML-KEM implementation.

    FIPS 203 7.2 has the server check that every 12-bit coefficient of t-hat
    is below q; rho is any 32 bytes. Coefficients are drawn by rejection from
    12-bit rng values (as SampleNTT does), so the key passes that check. Its
    decapsulation key is unknown, which does not matter to a probe.
    """
    coefficients: list[int] = []
    needed = rank * _MLKEM_POLYNOMIAL_COEFFICIENTS
    while len(coefficients) < needed:
        chunk = rng(3)
        for value in (chunk[0] | (chunk[1] & 0x0F) << 8, chunk[1] >> 4 | chunk[2] << 4):
            if value < MLKEM_Q and len(coefficients) < needed:
                coefficients.append(value)
    packed = bytearray()
    for first, second in zip(coefficients[0::2], coefficients[1::2], strict=True):
        packed += bytes((first & 0xFF, first >> 8 | (second & 0x0F) << 4, second >> 4))
    return bytes(packed) + rng(_MLKEM_RHO_LENGTH)


def _mlkem768(rng: RandomSource) -> bytes:
    seed = rng(MLKEM_SEED_LENGTH)
    try:
        private_key = mlkem.MLKEM768PrivateKey.from_seed_bytes(seed)
    except UnsupportedAlgorithm:
        return _packed_encapsulation_key(3, rng)
    return private_key.public_key().public_bytes_raw()


def _mlkem1024(rng: RandomSource) -> bytes:
    seed = rng(MLKEM_SEED_LENGTH)
    try:
        private_key = mlkem.MLKEM1024PrivateKey.from_seed_bytes(seed)
    except UnsupportedAlgorithm:
        return _packed_encapsulation_key(4, rng)
    return private_key.public_key().public_bytes_raw()


def _builders() -> dict[str, Callable[[RandomSource], bytes]]:
    builders: dict[str, Callable[[RandomSource], bytes]] = {
        "x25519": _x25519,
        "x448": _x448,
        "secp256r1": lambda rng: _ec_point(ec.SECP256R1(), rng),
        "secp384r1": lambda rng: _ec_point(ec.SECP384R1(), rng),
        "secp521r1": lambda rng: _ec_point(ec.SECP521R1(), rng),
        "brainpoolP256r1tls13": lambda rng: _ec_point(ec.BrainpoolP256R1(), rng),
        "brainpoolP384r1tls13": lambda rng: _ec_point(ec.BrainpoolP384R1(), rng),
        "brainpoolP512r1tls13": lambda rng: _ec_point(ec.BrainpoolP512R1(), rng),
        "MLKEM512": partial(_packed_encapsulation_key, 2),  # cryptography has no ML-KEM-512
        "MLKEM768": _mlkem768,
        "MLKEM1024": _mlkem1024,
        "X25519MLKEM768": lambda rng: _mlkem768(rng) + _x25519(rng),
        "SecP256r1MLKEM768": lambda rng: _ec_point(ec.SECP256R1(), rng) + _mlkem768(rng),
        "SecP384r1MLKEM1024": lambda rng: _ec_point(ec.SECP384R1(), rng) + _mlkem1024(rng),
        # draft-tls-westerbaan-xyber768d00: X25519 first; a Kyber768 public key has
        # the same shape as an ML-KEM-768 one, and only the shape is checked.
        "X25519Kyber768Draft00": lambda rng: _x25519(rng) + _packed_encapsulation_key(3, rng),
    }
    for name in ffdhe.GROUP_NAMES:
        builders[name] = partial(_ffdhe, name)
    return builders


@cache
def _builders_by_code() -> dict[int, Callable[[RandomSource], bytes]]:
    by_code: dict[int, Callable[[RandomSource], bytes]] = {}
    for name, builder in _builders().items():
        try:
            by_code[registry.group_by_name(name).code] = builder
        except LookupError:
            continue  # a registry without this (draft) group: not offered
    return by_code


def supported_key_share_groups() -> frozenset[int]:
    """The group code points `make_key_share` can build a share for."""
    return frozenset(_builders_by_code())


def make_key_share(group: int, rng: RandomSource) -> bytes:
    """The key_exchange bytes of a client KeyShareEntry for `group`.

    Raises ValueError for a group without a builder: asking for one is the
    caller's mistake (check `supported_key_share_groups()` first).
    """
    builder = _builders_by_code().get(group)
    if builder is None:
        raise ValueError(f"no key share builder for group {group}")
    return builder(rng)
