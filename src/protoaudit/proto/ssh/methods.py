"""The key exchange methods and host-key algorithms this client can run.

A method's family decides its messages and its key agreement; its exchange
hash comes from the registry. sntrup761x25519-sha512 is not here: there is
no Streamlined NTRU Prime in `cryptography`. mlkem768x25519-sha256 is here
when the installed `cryptography` has ML-KEM-768.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from functools import cache

from cryptography.hazmat.primitives.asymmetric import ec

from protoaudit.proto.ssh import modp
from protoaudit.proto.ssh.agreement import (
    EcdhAgreement,
    FiniteFieldAgreement,
    KeyAgreement,
    MlKemX25519Agreement,
    RandomSource,
    X25519Agreement,
    mlkem_available,
)
from protoaudit.proto.ssh.signatures import ECDSA_HASHES, RSA_HASHES
from protoaudit.registry import ssh as registry


class Family(Enum):
    FIXED_GROUP = "dh"  # RFC 4253 8, RFC 8268
    GROUP_EXCHANGE = "gex"  # RFC 4419
    ECDH = "ecdh"  # RFC 5656 4
    CURVE25519 = "curve25519"  # RFC 8731
    MLKEM768_X25519 = "mlkem768x25519"  # draft-ietf-sshm-mlkem-hybrid-kex


@dataclass(frozen=True, slots=True)
class KexMethodSpec:
    name: str
    family: Family
    hash_name: str  # hashlib's name for the exchange hash
    group: int | None = None  # the MODP group number of a fixed-group method
    curve: type[ec.EllipticCurve] | None = None

    def hash(self, data: bytes) -> bytes:
        return hashlib.new(self.hash_name, data).digest()


_FIXED_GROUPS = {
    "diffie-hellman-group1-sha1": 1,
    "diffie-hellman-group14-sha1": 14,
    "diffie-hellman-group14-sha256": 14,
    "diffie-hellman-group15-sha512": 15,
    "diffie-hellman-group16-sha512": 16,
    "diffie-hellman-group17-sha512": 17,
    "diffie-hellman-group18-sha512": 18,
}
_GROUP_EXCHANGE = ("diffie-hellman-group-exchange-sha1", "diffie-hellman-group-exchange-sha256")
_ECDH_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "ecdh-sha2-nistp256": ec.SECP256R1,
    "ecdh-sha2-nistp384": ec.SECP384R1,
    "ecdh-sha2-nistp521": ec.SECP521R1,
}
_CURVE25519 = ("curve25519-sha256", "curve25519-sha256@libssh.org")
_MLKEM768_X25519 = ("mlkem768x25519-sha256",)
# Signature formats signatures.py verifies (what a supported host-key algorithm signs with).
_VERIFIED_FORMATS = frozenset(
    {*RSA_HASHES, "ssh-dss", "ssh-ed25519", "ssh-ed448"}
    | {f"ecdsa-sha2-{curve}" for curve in ECDSA_HASHES}
)


def _each_spec() -> Iterator[KexMethodSpec]:
    for name, group in _FIXED_GROUPS.items():
        yield KexMethodSpec(name, Family.FIXED_GROUP, _hash_name(name), group=group)
    for name in _GROUP_EXCHANGE:
        yield KexMethodSpec(name, Family.GROUP_EXCHANGE, _hash_name(name))
    for name, curve in _ECDH_CURVES.items():
        yield KexMethodSpec(name, Family.ECDH, _hash_name(name), curve=curve)
    for name in _CURVE25519:
        yield KexMethodSpec(name, Family.CURVE25519, _hash_name(name))
    if mlkem_available():
        for name in _MLKEM768_X25519:
            yield KexMethodSpec(name, Family.MLKEM768_X25519, _hash_name(name))


@cache
def _specs() -> dict[str, KexMethodSpec]:
    return {spec.name: spec for spec in _each_spec()}


def _hash_name(method: str) -> str:
    name = registry.kex_method(method).hash
    hashlib.new(name)  # a registry row without a usable hash is a bug here, not the peer's
    return name


def supported_kex_methods() -> tuple[str, ...]:
    return tuple(_specs())


def kex_method_spec(name: str) -> KexMethodSpec:
    """The method called `name`; ValueError when this client cannot run it."""
    spec = _specs().get(name)
    if spec is None:
        raise ValueError(f"key exchange method {name!r} is not implemented")
    return spec


@cache
def supported_host_key_algorithms() -> tuple[str, ...]:
    """Host-key algorithms whose key blob decodes and whose signature verifies here."""
    return tuple(
        name
        for name, algorithm in registry.host_key_algorithms().items()
        if algorithm.signature in _VERIFIED_FORMATS and algorithm.openssh != "removed"
    )


def start_agreement(
    spec: KexMethodSpec, rng: RandomSource, *, prime: int = 0, generator: int = 0
) -> KeyAgreement:
    """The client's key agreement; group exchange passes the server's prime and generator."""
    if spec.family is Family.FIXED_GROUP:
        assert spec.group is not None
        return FiniteFieldAgreement(modp.prime(spec.group), modp.GENERATOR, rng)
    if spec.family is Family.GROUP_EXCHANGE:
        return FiniteFieldAgreement(prime, generator, rng)
    if spec.family is Family.ECDH:
        assert spec.curve is not None
        return EcdhAgreement(spec.curve(), rng)
    if spec.family is Family.CURVE25519:
        return X25519Agreement(rng)
    return MlKemX25519Agreement(rng)
