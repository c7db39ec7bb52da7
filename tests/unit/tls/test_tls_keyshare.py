"""Key shares: sizes, determinism, and values the real libraries accept."""

from __future__ import annotations

import subprocess
import warnings
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x448, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from tls_helpers import group_code, seeded_rng

from pki_helpers import OPENSSL
from protoaudit.proto.tls import ffdhe
from protoaudit.proto.tls.keyshare import (
    MLKEM_Q,
    _packed_encapsulation_key,
    make_key_share,
    supported_key_share_groups,
)

LENGTHS = {
    "x25519": 32,
    "x448": 56,
    "secp256r1": 65,
    "secp384r1": 97,
    "secp521r1": 133,
    "brainpoolP256r1tls13": 65,
    "brainpoolP384r1tls13": 97,
    "brainpoolP512r1tls13": 129,
    "ffdhe2048": 256,
    "ffdhe3072": 384,
    "ffdhe4096": 512,
    "ffdhe6144": 768,
    "ffdhe8192": 1024,
    "MLKEM512": 800,
    "MLKEM768": 1184,
    "MLKEM1024": 1568,
    "X25519MLKEM768": 1184 + 32,
    "SecP256r1MLKEM768": 65 + 1184,
    "SecP384r1MLKEM1024": 97 + 1568,
    "X25519Kyber768Draft00": 32 + 1184,
}


@pytest.mark.parametrize(("name", "length"), LENGTHS.items())
def test_share_length_and_determinism(name: str, length: int) -> None:
    group = group_code(name)
    share = make_key_share(group, seeded_rng(7))
    assert len(share) == length
    assert make_key_share(group, seeded_rng(7)) == share
    assert make_key_share(group, seeded_rng(8)) != share


def test_supported_groups_are_exactly_those_with_builders() -> None:
    assert supported_key_share_groups() == frozenset(group_code(name) for name in LENGTHS)


def test_unsupported_group_is_the_callers_mistake() -> None:
    with pytest.raises(ValueError, match="no key share builder"):
        make_key_share(group_code("secp224r1"), seeded_rng(1))


CURVES: dict[str, ec.EllipticCurve] = {
    "secp256r1": ec.SECP256R1(),
    "secp384r1": ec.SECP384R1(),
    "secp521r1": ec.SECP521R1(),
    "brainpoolP256r1tls13": ec.BrainpoolP256R1(),
    "brainpoolP384r1tls13": ec.BrainpoolP384R1(),
    "brainpoolP512r1tls13": ec.BrainpoolP512R1(),
}


@pytest.mark.parametrize("name", CURVES)
def test_ec_shares_are_points_on_the_curve(name: str) -> None:
    share = make_key_share(group_code(name), seeded_rng(3))
    assert share[0] == 4  # uncompressed
    ec.EllipticCurvePublicKey.from_encoded_point(CURVES[name], share)


def test_montgomery_shares_load() -> None:
    x25519.X25519PublicKey.from_public_bytes(make_key_share(group_code("x25519"), seeded_rng(3)))
    x448.X448PublicKey.from_public_bytes(make_key_share(group_code("x448"), seeded_rng(3)))


def test_hybrid_shares_are_in_draft_order() -> None:
    rng = seeded_rng(5)
    share = make_key_share(group_code("X25519MLKEM768"), rng)
    mlkem.MLKEM768PublicKey.from_public_bytes(share[:1184])
    x25519.X25519PublicKey.from_public_bytes(share[1184:])

    share = make_key_share(group_code("SecP256r1MLKEM768"), rng)
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), share[:65])
    mlkem.MLKEM768PublicKey.from_public_bytes(share[65:])

    share = make_key_share(group_code("SecP384r1MLKEM1024"), rng)
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP384R1(), share[:97])
    mlkem.MLKEM1024PublicKey.from_public_bytes(share[97:])

    share = make_key_share(group_code("X25519Kyber768Draft00"), rng)
    x25519.X25519PublicKey.from_public_bytes(share[:32])
    mlkem.MLKEM768PublicKey.from_public_bytes(share[32:])


def test_mlkem_share_is_the_seeded_key() -> None:
    # The seed is the first 64 rng bytes: the share is that key's encapsulation key.
    seed = seeded_rng(9)(64)
    expected = mlkem.MLKEM768PrivateKey.from_seed_bytes(seed).public_key().public_bytes_raw()
    assert make_key_share(group_code("MLKEM768"), seeded_rng(9)) == expected


@pytest.mark.parametrize(
    ("rank", "load"),
    [
        (3, mlkem.MLKEM768PublicKey.from_public_bytes),
        (4, mlkem.MLKEM1024PublicKey.from_public_bytes),
    ],
)
def test_packed_encapsulation_keys_pass_the_modulus_check(
    rank: int, load: Callable[[bytes], object]
) -> None:
    key = _packed_encapsulation_key(rank, seeded_rng(11))
    assert len(key) == rank * 384 + 32
    load(key)
    # The check is real: one coefficient equal to q is refused.
    broken = bytearray(key)
    broken[0] = MLKEM_Q & 0xFF
    broken[1] = (broken[1] & 0xF0) | MLKEM_Q >> 8
    with pytest.raises(ValueError):
        load(bytes(broken))


@pytest.mark.parametrize("name", ffdhe.GROUP_NAMES)
def test_ffdhe_shares_are_in_the_prime_order_subgroup(name: str) -> None:
    prime = ffdhe.prime_for_name(name)
    value = int.from_bytes(make_key_share(group_code(name), seeded_rng(4)), "big")
    assert 1 < value < prime - 1
    assert pow(value, (prime - 1) // 2, prime) == 1


def test_ec_scalar_out_of_range_is_drawn_again() -> None:
    # Given an rng whose first draw is all ones (above the P-256 order) and second is zero
    draws = [b"\xff" * 32, b"\x00" * 32, bytes(range(1, 33))]

    def rng(count: int) -> bytes:
        value = draws.pop(0)
        assert len(value) == count
        return value

    share = make_key_share(group_code("secp256r1"), rng)
    # Then the third draw is the private scalar
    private = ec.derive_private_key(int.from_bytes(bytes(range(1, 33)), "big"), ec.SECP256R1())
    assert share == private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


@pytest.mark.skipif(OPENSSL is None, reason="needs the openssl command")
@pytest.mark.parametrize("name", ffdhe.GROUP_NAMES)
def test_ffdhe_primes_match_openssl(name: str) -> None:
    assert OPENSSL is not None
    pem = subprocess.run(
        [OPENSSL, "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", f"group:{name}"],
        check=True,
        capture_output=True,
    ).stdout
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cryptography deprecates finite-field DH
        numbers = serialization.load_pem_parameters(pem).parameter_numbers()
    assert numbers.g == ffdhe.GENERATOR
    assert numbers.p == ffdhe.prime_for_name(name)
    assert ffdhe.prime(group_code(name)) == numbers.p
    assert ffdhe.group_for_prime(numbers.p) == group_code(name)
