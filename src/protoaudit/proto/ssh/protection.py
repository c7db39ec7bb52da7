"""Packets after NEWKEYS: key derivation, encryption and MAC (RFC 4253 6-7.2).

Just enough of the protected transport for a probe to ask one question after
the key exchange (which authentication methods a server offers): the ciphers
and MACs every server since OpenSSH 6.2 has, with nothing legacy.

- AES-CTR and AES-CBC with HMAC-SHA1/SHA2, the MAC over the plaintext packet
  (RFC 4253 6.4) or, for the "-etm@openssh.com" MACs, over the ciphertext with
  the length in clear (OpenSSH PROTOCOL 1.7);
- AES-GCM (RFC 5647 with OpenSSH's names: the length is in clear as the
  associated data);
- chacha20-poly1305@openssh.com (OpenSSH PROTOCOL.chacha20poly1305): the
  length under its own key, a Poly1305 key from the first keystream block.

`Sealer.seal` gives one protected packet; `Opener` takes bytes and gives
payloads, bounding the packet length before it waits for the body and raising
`DecodeError` on a bad MAC, tag or padding. Keys are derived from K (as the
exchange hash encodes it), H and the session id with the kex method's hash.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.poly1305 import Poly1305

from protoaudit.errors import DecodeError
from protoaudit.proto.ssh.constants import PROTOCOL
from protoaudit.proto.ssh.packet import MAX_PACKET_LENGTH, padding_length_for

RandomSource = Callable[[int], bytes]


@dataclass(frozen=True, slots=True)
class CipherSpec:
    mode: str  # "ctr", "cbc", "gcm", "chacha"
    key_length: int
    iv_length: int
    block_size: int


@dataclass(frozen=True, slots=True)
class MacSpec:
    hash_name: str
    key_length: int
    etm: bool


# Our preference, best first: what the probe's KEXINIT offers after NEWKEYS.
CIPHERS = {
    "aes128-gcm@openssh.com": CipherSpec("gcm", 16, 12, 16),
    "aes256-gcm@openssh.com": CipherSpec("gcm", 32, 12, 16),
    "chacha20-poly1305@openssh.com": CipherSpec("chacha", 64, 0, 8),
    "aes128-ctr": CipherSpec("ctr", 16, 16, 16),
    "aes192-ctr": CipherSpec("ctr", 24, 16, 16),
    "aes256-ctr": CipherSpec("ctr", 32, 16, 16),
    "aes128-cbc": CipherSpec("cbc", 16, 16, 16),
    "aes192-cbc": CipherSpec("cbc", 24, 16, 16),
    "aes256-cbc": CipherSpec("cbc", 32, 16, 16),
}
MACS = {
    "hmac-sha2-256-etm@openssh.com": MacSpec("sha256", 32, etm=True),
    "hmac-sha2-512-etm@openssh.com": MacSpec("sha512", 64, etm=True),
    "hmac-sha1-etm@openssh.com": MacSpec("sha1", 20, etm=True),
    "hmac-sha2-256": MacSpec("sha256", 32, etm=False),
    "hmac-sha2-512": MacSpec("sha512", 64, etm=False),
    "hmac-sha1": MacSpec("sha1", 20, etm=False),
}
TAG_LENGTH = 16  # GCM and Poly1305


def derive_key(
    hash_name: str,
    secret: bytes,
    exchange_hash: bytes,
    letter: str,
    length: int,
    *,
    session_id: bytes,
) -> bytes:
    """RFC 4253 7.2: HASH(K || H || letter || session_id), extended by HASH(K || H || so far)."""
    key = hashlib.new(hash_name, secret + exchange_hash + letter.encode() + session_id).digest()
    while len(key) < length:
        key += hashlib.new(hash_name, secret + exchange_hash + key).digest()
    return key[:length]


@dataclass(frozen=True, slots=True)
class DirectionKeys:
    cipher: str
    mac: str | None  # None with an AEAD cipher
    iv: bytes
    key: bytes
    mac_key: bytes


def direction_keys(
    hash_name: str,
    secret: bytes,
    exchange_hash: bytes,
    *,
    cipher: str,
    mac: str | None,
    client_to_server: bool,
) -> DirectionKeys:
    """The IV, cipher key and MAC key of one direction (the session id is H: first kex)."""
    spec = CIPHERS[cipher]
    letters = "ACE" if client_to_server else "BDF"
    mac_length = MACS[mac].key_length if mac is not None else 0

    def derive(letter: str, length: int) -> bytes:
        if length == 0:
            return b""
        return derive_key(
            hash_name, secret, exchange_hash, letter, length, session_id=exchange_hash
        )

    return DirectionKeys(
        cipher,
        mac,
        derive(letters[0], spec.iv_length),
        derive(letters[1], spec.key_length),
        derive(letters[2], mac_length),
    )


def _stream(spec: CipherSpec, keys: DirectionKeys, *, encrypt: bool) -> CipherContext | None:
    if spec.mode not in ("ctr", "cbc"):
        return None
    mode = modes.CTR(keys.iv) if spec.mode == "ctr" else modes.CBC(keys.iv)
    cipher = Cipher(algorithms.AES(keys.key), mode)
    return cipher.encryptor() if encrypt else cipher.decryptor()


def _chacha(key: bytes, counter: int, sequence: int, data: bytes) -> bytes:
    nonce = counter.to_bytes(8, "little") + sequence.to_bytes(8, "big")
    return Cipher(algorithms.ChaCha20(key, nonce), None).encryptor().update(data)


class _Protection:
    """What both directions share: the keys, the cipher state and the GCM counter."""

    def __init__(self, keys: DirectionKeys) -> None:
        self._spec = CIPHERS[keys.cipher]
        self._mac = MACS[keys.mac] if keys.mac is not None else None
        self._keys = keys
        self._gcm = AESGCM(keys.key) if self._spec.mode == "gcm" else None
        self._invocation = int.from_bytes(keys.iv[4:], "big") if self._gcm else 0

    @property
    def _length_in_clear(self) -> bool:
        return self._spec.mode in ("gcm", "chacha") or bool(self._mac and self._mac.etm)

    def _gcm_nonce(self) -> bytes:
        nonce = self._keys.iv[:4] + self._invocation.to_bytes(8, "big")
        self._invocation = (self._invocation + 1) % (1 << 64)
        return nonce

    def _mac_of(self, sequence: int, data: bytes) -> bytes:
        assert self._mac is not None
        message = sequence.to_bytes(4, "big") + data
        return hmac.new(self._keys.mac_key, message, self._mac.hash_name).digest()


class Sealer(_Protection):
    """Client-to-server packets."""

    def __init__(self, keys: DirectionKeys, rng: RandomSource) -> None:
        super().__init__(keys)
        self._rng = rng
        self._cipher = _stream(self._spec, keys, encrypt=True)

    def seal(self, payload: bytes, sequence: int) -> bytes:
        # With the length in clear, only what follows it is aligned to the block size.
        aligned = len(payload) - 4 if self._length_in_clear else len(payload)
        padding = padding_length_for(aligned, self._spec.block_size)
        body = bytes([padding]) + payload + self._rng(padding)
        length = len(body).to_bytes(4, "big")
        if self._spec.mode == "gcm":
            assert self._gcm is not None
            return length + self._gcm.encrypt(self._gcm_nonce(), body, length)
        if self._spec.mode == "chacha":
            main, header = self._keys.key[:32], self._keys.key[32:]
            sealed_length = _chacha(header, 0, sequence, length)
            poly_key = _chacha(main, 0, sequence, bytes(32))
            sealed = sealed_length + _chacha(main, 1, sequence, body)
            return sealed + Poly1305.generate_tag(poly_key, sealed)
        assert self._cipher is not None
        if self._mac is not None and self._mac.etm:
            sealed = length + self._cipher.update(body)
            return sealed + self._mac_of(sequence, sealed)
        packet = length + body
        mac = self._mac_of(sequence, packet) if self._mac is not None else b""
        return self._cipher.update(packet) + mac


class Opener(_Protection):
    """Server-to-client packets: feed bytes, take payloads."""

    def __init__(
        self,
        keys: DirectionKeys,
        *,
        first_sequence: int,
        max_packet_length: int = MAX_PACKET_LENGTH,
    ) -> None:
        super().__init__(keys)
        self._cipher = _stream(self._spec, keys, encrypt=False)
        self._buffer = bytearray()
        self._first_block = b""  # decrypted, when the length is not in clear
        self._max_packet_length = max_packet_length
        self.sequence = first_sequence

    def feed(self, data: bytes) -> None:
        if len(self._buffer) + len(data) > 4 * self._max_packet_length:
            self._fail("buffer", "more than four packets' worth buffered")
        self._buffer += data

    def next_payload(self) -> bytes | None:
        block = self._spec.block_size
        tag_length = TAG_LENGTH if self._spec.mode in ("gcm", "chacha") else 0
        mac_length = hashlib.new(self._mac.hash_name).digest_size if self._mac else 0
        if self._length_in_clear:
            if len(self._buffer) < 4:
                return None
            head = bytes(self._buffer[:4])
            if self._spec.mode == "chacha":
                head = _chacha(self._keys.key[32:], 0, self.sequence, head)
        else:
            if not self._first_block:
                if len(self._buffer) < block:
                    return None
                assert self._cipher is not None
                self._first_block = self._cipher.update(bytes(self._buffer[:block]))
            head = self._first_block[:4]
        length = int.from_bytes(head, "big")
        if length > self._max_packet_length or length < 5:
            self._fail("packet_length", f"{length} bytes, outside 5..{self._max_packet_length}")
        aligned = length if self._length_in_clear else length + 4
        if aligned % block:
            self._fail("packet_length", f"{length} is not aligned to the block size {block}")
        total = 4 + length + tag_length + mac_length
        if len(self._buffer) < total:
            return None
        packet = bytes(self._buffer[:total])
        del self._buffer[:total]
        body = self._open(packet, length, mac_length)
        self._first_block = b""
        self.sequence = (self.sequence + 1) % (1 << 32)
        padding = body[0]
        if padding < 4 or padding + 1 >= len(body):
            self._fail("padding_length", f"{padding} bytes of padding in a {len(body)}-byte body")
        return body[1 : len(body) - padding]

    def _open(self, packet: bytes, length: int, mac_length: int) -> bytes:
        sealed = packet[4 : 4 + length]
        if self._spec.mode == "gcm":
            assert self._gcm is not None
            try:
                return self._gcm.decrypt(self._gcm_nonce(), packet[4:], packet[:4])
            except Exception:  # noqa: BLE001 - cryptography's InvalidTag
                self._fail("tag", "the AES-GCM tag does not verify")
        if self._spec.mode == "chacha":
            main = self._keys.key[:32]
            poly_key = _chacha(main, 0, self.sequence, bytes(32))
            if not hmac.compare_digest(
                Poly1305.generate_tag(poly_key, packet[: 4 + length]), packet[4 + length :]
            ):
                self._fail("tag", "the Poly1305 tag does not verify")
            return _chacha(main, 1, self.sequence, sealed)
        assert self._cipher is not None
        mac = packet[4 + length :]
        if self._mac is not None and self._mac.etm:
            if not hmac.compare_digest(self._mac_of(self.sequence, packet[: 4 + length]), mac):
                self._fail("mac", "the MAC does not verify")
            return self._cipher.update(sealed)
        rest = self._cipher.update(packet[len(self._first_block) : 4 + length])
        plain = self._first_block + rest
        if self._mac is not None and not hmac.compare_digest(
            self._mac_of(self.sequence, plain), mac
        ):
            self._fail("mac", "the MAC does not verify")
        return plain[4:]

    def _fail(self, field: str, reason: str) -> NoReturn:
        raise DecodeError(PROTOCOL, f"protected.{field}", 0, reason)
