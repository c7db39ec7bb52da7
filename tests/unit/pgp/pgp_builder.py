"""Small OpenPGP v4 keys built byte by byte, for tests that need one exact oddity.

Ed25519 (EdDSALegacy, algorithm 22) primary keys and subkeys from `cryptography`, user IDs,
and self-signatures with the hash, times, flags and reasons a test asks for. The hashing
here is written from RFC 9580 section 5.2.4 independently of protoaudit's own, so a key
built here checks protoaudit's verifier rather than agreeing with it by construction.
GnuPG-made keys (gpg_keys) cover the real-world shapes; these cover the hostile ones.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric import ed25519

ED25519_OID = bytes.fromhex("2b06010401da470f01")  # 1.3.6.1.4.1.11591.15.1
CREATED = datetime(2026, 1, 1, tzinfo=UTC)
HASHES = {2: "sha1", 8: "sha256", 10: "sha512", 1: "md5"}


def header(tag: int, length: int) -> bytes:
    """A new-format packet header (1, 2 or 5 length octets)."""
    if length < 192:
        return bytes([0xC0 | tag, length])
    if length < 8384:
        length -= 192
        return bytes([0xC0 | tag, (length >> 8) + 192, length & 0xFF])
    return bytes([0xC0 | tag, 0xFF]) + length.to_bytes(4, "big")


def packet(tag: int, body: bytes) -> bytes:
    return header(tag, len(body)) + body


def mpi(octets: bytes) -> bytes:
    value = int.from_bytes(octets, "big")
    return value.bit_length().to_bytes(2, "big") + octets.lstrip(b"\0")


def subpacket(kind: int, body: bytes, *, critical: bool = False) -> bytes:
    return bytes([len(body) + 1, kind | (0x80 if critical else 0)]) + body


def seconds(moment: datetime) -> bytes:
    return int(moment.timestamp()).to_bytes(4, "big")


@dataclass
class Key:
    private: ed25519.Ed25519PrivateKey = field(default_factory=ed25519.Ed25519PrivateKey.generate)
    created: datetime = CREATED

    @property
    def body(self) -> bytes:
        public = self.private.public_key().public_bytes_raw()
        return (
            b"\x04"
            + seconds(self.created)
            + b"\x16"
            + bytes([len(ED25519_OID)])
            + ED25519_OID
            + mpi(b"\x40" + public)
        )

    @property
    def fingerprint(self) -> bytes:
        body = self.body
        return hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).digest()

    def hashed_key(self) -> bytes:
        body = self.body
        return b"\x99" + len(body).to_bytes(2, "big") + body


def sign(
    signer: Key,
    signature_type: int,
    target: bytes,
    *,
    hash_number: int = 8,
    created: datetime = CREATED,
    extra: bytes = b"",
    corrupt: bool = False,
) -> bytes:
    """A v4 signature packet by `signer` over `target` (the hashed key/user ID octets)."""
    hashed = subpacket(2, seconds(created)) + subpacket(33, b"\x04" + signer.fingerprint) + extra
    prefix = bytes([4, signature_type, 22, hash_number]) + len(hashed).to_bytes(2, "big") + hashed
    trailer = b"\x04\xff" + len(prefix).to_bytes(4, "big")
    digest = hashlib.new(HASHES[hash_number], target + prefix + trailer).digest()
    raw = signer.private.sign(digest)
    if corrupt:
        raw = raw[:10] + bytes([raw[10] ^ 1]) + raw[11:]
    unhashed = subpacket(16, signer.fingerprint[-8:])
    body = (
        prefix
        + len(unhashed).to_bytes(2, "big")
        + unhashed
        + digest[:2]
        + mpi(raw[:32])
        + mpi(raw[32:])
    )
    return packet(2, body)


def user_id_octets(text: bytes) -> bytes:
    return b"\xb4" + len(text).to_bytes(4, "big") + text


def key_flags(flags: int) -> bytes:
    return subpacket(27, bytes([flags]))


def key_expiry(after: int) -> bytes:
    return subpacket(9, after.to_bytes(4, "big"))


def certificate(
    primary: Key,
    user_ids: list[bytes],
    *,
    flags: int = 0x03,
    hash_number: int = 8,
    expiry: int | None = None,
    subkeys: list[tuple[Key, int]] | None = None,
    corrupt_user_id: bool = False,
    revocation: bytes | None = None,
) -> bytes:
    """A transferable public key: primary, user IDs with their bindings, subkeys."""
    out = packet(6, primary.body)
    if revocation is not None:
        reason = subpacket(29, revocation)
        out += sign(primary, 0x20, primary.hashed_key(), extra=reason)
    extra = key_flags(flags) + (key_expiry(expiry) if expiry is not None else b"")
    for index, text in enumerate(user_ids):
        out += packet(13, text)
        primary_flag = subpacket(25, b"\x01") if index == 0 else b""
        out += sign(
            primary,
            0x13,
            primary.hashed_key() + user_id_octets(text),
            hash_number=hash_number,
            extra=extra + primary_flag,
            corrupt=corrupt_user_id,
        )
    for subkey, subkey_flags in subkeys or []:
        out += packet(14, subkey.body)
        out += sign(
            primary,
            0x18,
            primary.hashed_key() + subkey.hashed_key(),
            hash_number=hash_number,
            extra=key_flags(subkey_flags),
        )
    return out
