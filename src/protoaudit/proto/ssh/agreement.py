"""The client's half of each key agreement the key exchange can run, from caller-given rng.

Each method family fills the same three slots of the exchange (RFC 4253 8):
the client's public value (sent in the INIT message and hashed), the server's
public value (read from the REPLY and hashed) and the shared secret K as it
enters the exchange hash.

- diffie-hellman-group* (RFC 4253 8, RFC 8268) and group exchange (RFC 4419):
  mpint e, mpint f, K an mpint. f must lie in (1, p-1).
- ecdh-sha2-nistp* (RFC 5656 4): string Q_C, string Q_S, K the x coordinate
  as an mpint. Q_S must be a point on the curve.
- curve25519-sha256 (RFC 8731 3): 32-byte strings, K the X25519 output read
  as a big-endian integer, as an mpint. An all-zero K is refused (3.1).
- mlkem768x25519-sha256 (draft-ietf-sshm-mlkem-hybrid-kex): C_INIT is the
  ML-KEM-768 encapsulation key then the X25519 key; S_REPLY the ML-KEM
  ciphertext then the X25519 key; K = SHA-256(K_PQ || K_CL) as a string.

A bad server value raises `DecodeError`. Every private value comes from
`rng(count) -> bytes`, so a key exchange in a test is replayable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from protoaudit.errors import DecodeError
from protoaudit.proto.ssh.constants import PROTOCOL
from protoaudit.proto.ssh.encoding import mpint, read_mpint, read_string, string
from protoaudit.wire import Reader

RandomSource = Callable[[int], bytes]

DH_EXPONENT_BYTES = 64  # 512 bits, what OpenSSH draws for its strongest ciphers
X25519_LENGTH = 32
MLKEM768_ENCAPSULATION_KEY_LENGTH = 1184
MLKEM768_CIPHERTEXT_LENGTH = 1088
MLKEM_SEED_LENGTH = 64


class KeyAgreement:
    """One client key agreement: call `read_server_public` before `shared_secret`."""

    def client_public(self) -> bytes:
        """The client's value as encoded in the INIT message and the exchange hash."""
        raise NotImplementedError

    def read_server_public(self, reader: Reader, field: str) -> bytes:
        """Read and check the server's value; returns it as encoded in the exchange hash."""
        raise NotImplementedError

    def shared_secret(self) -> bytes:
        """K as encoded in the exchange hash."""
        raise NotImplementedError


class FiniteFieldAgreement(KeyAgreement):
    """Diffie-Hellman over a prime field, fixed group or negotiated (RFC 4419)."""

    def __init__(self, prime: int, generator: int, rng: RandomSource) -> None:
        self.prime = prime
        self.generator = generator
        # x in [2, p-2]; never 0 or 1, so e is never trivial.
        self._exponent = 2 + int.from_bytes(rng(DH_EXPONENT_BYTES), "big") % (prime - 3)
        self.e = pow(generator, self._exponent, prime)
        self._f: int | None = None

    def client_public(self) -> bytes:
        return mpint(self.e)

    def read_server_public(self, reader: Reader, field: str) -> bytes:
        start = reader.offset
        f = read_mpint(reader, field)
        if not 1 < f < self.prime - 1:
            # RFC 4253 8: f outside [2, p-2] would make K guessable.
            raise DecodeError(PROTOCOL, field, start, "f is not in the range (1, p-1)")
        self._f = f
        return mpint(f)

    def shared_secret(self) -> bytes:
        assert self._f is not None
        return mpint(pow(self._f, self._exponent, self.prime))


class EcdhAgreement(KeyAgreement):
    """ECDH on a NIST curve (RFC 5656 4)."""

    def __init__(self, curve: ec.EllipticCurve, rng: RandomSource) -> None:
        self._curve = curve
        self._private = _ec_private_key(curve, rng)
        self._server: ec.EllipticCurvePublicKey | None = None

    def client_public(self) -> bytes:
        point = self._private.public_key().public_bytes(
            Encoding.X962, PublicFormat.UncompressedPoint
        )
        return string(point)

    def read_server_public(self, reader: Reader, field: str) -> bytes:
        start = reader.offset
        point = read_string(reader, field)
        try:
            self._server = ec.EllipticCurvePublicKey.from_encoded_point(self._curve, point)
        except ValueError:
            reason = f"Q_S is not a point on {self._curve.name}"
            raise DecodeError(PROTOCOL, field, start, reason) from None
        return string(point)

    def shared_secret(self) -> bytes:
        assert self._server is not None
        secret = self._private.exchange(ec.ECDH(), self._server)
        return mpint(int.from_bytes(secret, "big"))


class X25519Agreement(KeyAgreement):
    """curve25519-sha256 (RFC 8731)."""

    def __init__(self, rng: RandomSource) -> None:
        self._private = x25519.X25519PrivateKey.from_private_bytes(rng(X25519_LENGTH))
        self._secret: bytes | None = None

    def client_public(self) -> bytes:
        return string(self._private.public_key().public_bytes_raw())

    def read_server_public(self, reader: Reader, field: str) -> bytes:
        start = reader.offset
        public = read_string(reader, field)
        self._secret = _x25519_exchange(self._private, public, field, start)
        return string(public)

    def shared_secret(self) -> bytes:
        assert self._secret is not None
        return mpint(int.from_bytes(self._secret, "big"))


class MlKemX25519Agreement(KeyAgreement):
    """mlkem768x25519-sha256 (draft-ietf-sshm-mlkem-hybrid-kex)."""

    def __init__(self, rng: RandomSource) -> None:
        self._kem = mlkem.MLKEM768PrivateKey.from_seed_bytes(rng(MLKEM_SEED_LENGTH))
        self._x25519 = x25519.X25519PrivateKey.from_private_bytes(rng(X25519_LENGTH))
        self._secret: bytes | None = None

    def client_public(self) -> bytes:
        kem_public = self._kem.public_key().public_bytes_raw()
        return string(kem_public + self._x25519.public_key().public_bytes_raw())

    def read_server_public(self, reader: Reader, field: str) -> bytes:
        start = reader.offset
        reply = read_string(reader, field)
        expected = MLKEM768_CIPHERTEXT_LENGTH + X25519_LENGTH
        if len(reply) != expected:
            reason = f"S_REPLY of {len(reply)} bytes, not {expected}"
            raise DecodeError(PROTOCOL, field, start, reason)
        ciphertext = reply[:MLKEM768_CIPHERTEXT_LENGTH]
        classical = _x25519_exchange(self._x25519, reply[MLKEM768_CIPHERTEXT_LENGTH:], field, start)
        try:
            post_quantum = self._kem.decapsulate(ciphertext)
        except ValueError:
            raise DecodeError(PROTOCOL, field, start, "ML-KEM ciphertext refused") from None
        self._secret = hashlib.sha256(post_quantum + classical).digest()
        return string(reply)

    def shared_secret(self) -> bytes:
        assert self._secret is not None
        return string(self._secret)


def mlkem_available() -> bool:
    """Whether the installed cryptography (and its OpenSSL) can do ML-KEM-768."""
    try:
        mlkem.MLKEM768PrivateKey.from_seed_bytes(bytes(MLKEM_SEED_LENGTH))
    except UnsupportedAlgorithm:
        return False
    return True


def _x25519_exchange(
    private: x25519.X25519PrivateKey, public: bytes, field: str, start: int
) -> bytes:
    if len(public) != X25519_LENGTH:
        reason = f"X25519 key of {len(public)} bytes, not {X25519_LENGTH}"
        raise DecodeError(PROTOCOL, field, start, reason)
    try:
        secret = private.exchange(x25519.X25519PublicKey.from_public_bytes(public))
    except ValueError:
        secret = bytes(X25519_LENGTH)  # cryptography refuses a low-order point the same way
    if secret == bytes(X25519_LENGTH):
        # RFC 8731 3.1: an all-zero shared secret means a low-order point; abort.
        raise DecodeError(PROTOCOL, field, start, "X25519 shared secret is all zero")
    return secret


def _ec_private_key(curve: ec.EllipticCurve, rng: RandomSource) -> ec.EllipticCurvePrivateKey:
    """A private key whose scalar is drawn from rng, again if it is zero or too large."""
    scalar_bits = curve.key_size
    scalar_bytes = (scalar_bits + 7) // 8
    while True:
        scalar = int.from_bytes(rng(scalar_bytes), "big") >> (scalar_bytes * 8 - scalar_bits)
        if scalar == 0:
            continue
        try:
            return ec.derive_private_key(scalar, curve)
        except ValueError:
            continue
