"""Packets under new keys (proto/ssh/protection.py): every cipher and MAC both ways.

A Sealer and an Opener made from the same direction's keys must agree, whole
and byte by byte; a flipped bit, a wrong sequence number or an oversized
length must raise DecodeError, never give a payload.
"""

from __future__ import annotations

import hashlib
import os

import pytest

from protoaudit.errors import DecodeError
from protoaudit.proto.ssh.protection import (
    CIPHERS,
    MACS,
    Opener,
    Sealer,
    derive_key,
    direction_keys,
)

SECRET = b"\x00\x00\x00\x20" + bytes(range(32))  # K as the exchange hash encodes it
EXCHANGE_HASH = hashlib.sha256(b"H").digest()
COMBINATIONS = [
    (cipher, None if CIPHERS[cipher].mode in ("gcm", "chacha") else mac)
    for cipher in CIPHERS
    for mac in MACS
    if CIPHERS[cipher].mode not in ("gcm", "chacha") or mac == next(iter(MACS))
]
PAYLOADS = [b"\x05" + b"\x00\x00\x00\x0cssh-userauth", b"\x02", bytes(range(256)) * 3]


def pair(cipher: str, mac: str | None) -> tuple[Sealer, Opener]:
    keys = direction_keys(
        "sha256", SECRET, EXCHANGE_HASH, cipher=cipher, mac=mac, client_to_server=False
    )
    return Sealer(keys, os.urandom), Opener(keys, first_sequence=3)


def test_key_derivation_follows_rfc_4253_7_2() -> None:
    # Given K, H and the session id, key "C" is HASH(K || H || "C" || session_id), extended
    first = hashlib.sha256(SECRET + EXCHANGE_HASH + b"C" + EXCHANGE_HASH).digest()
    second = hashlib.sha256(SECRET + EXCHANGE_HASH + first).digest()
    derived = derive_key("sha256", SECRET, EXCHANGE_HASH, "C", 64, session_id=EXCHANGE_HASH)
    assert derived == first + second


@pytest.mark.parametrize(("cipher", "mac"), COMBINATIONS)
def test_sealed_packets_open_whole_and_byte_by_byte(cipher: str, mac: str | None) -> None:
    sealer, opener = pair(cipher, mac)
    sealed = [sealer.seal(payload, 3 + index) for index, payload in enumerate(PAYLOADS)]

    opened: list[bytes] = []
    for byte in b"".join(sealed):
        opener.feed(bytes([byte]))
        while (payload := opener.next_payload()) is not None:
            opened.append(payload)

    assert opened == PAYLOADS
    assert opener.sequence == 3 + len(PAYLOADS)


@pytest.mark.parametrize(("cipher", "mac"), COMBINATIONS)
def test_a_flipped_bit_is_refused(cipher: str, mac: str | None) -> None:
    sealer, opener = pair(cipher, mac)
    sealed = bytearray(sealer.seal(PAYLOADS[0], 3))
    sealed[-1] ^= 1  # the MAC or tag, or the last byte of an unauthenticated cipher text

    opener.feed(bytes(sealed))
    with pytest.raises(DecodeError):
        opener.next_payload()


@pytest.mark.parametrize(("cipher", "mac"), COMBINATIONS)
def test_the_wrong_sequence_number_is_refused(cipher: str, mac: str | None) -> None:
    sealer, opener = pair(cipher, mac)
    opener.feed(sealer.seal(PAYLOADS[0], 4))  # the opener expects 3
    if CIPHERS[cipher].mode == "gcm":
        # GCM counts its own invocations; the sequence number is not in its nonce
        assert opener.next_payload() == PAYLOADS[0]
        return
    with pytest.raises(DecodeError):
        opener.next_payload()


@pytest.mark.parametrize("cipher", ["aes128-gcm@openssh.com", "aes128-ctr"])
def test_a_length_over_the_limit_is_refused_before_the_body(cipher: str) -> None:
    mac = None if cipher.endswith("gcm@openssh.com") else "hmac-sha2-256-etm@openssh.com"
    keys = direction_keys(
        "sha256", SECRET, EXCHANGE_HASH, cipher=cipher, mac=mac, client_to_server=False
    )
    opener = Opener(keys, first_sequence=0)
    opener.feed((1 << 31).to_bytes(4, "big") + bytes(12))  # length in clear with both
    with pytest.raises(DecodeError, match="packet_length"):
        opener.next_payload()


def test_the_buffer_is_bounded() -> None:
    keys = direction_keys(
        "sha256",
        SECRET,
        EXCHANGE_HASH,
        cipher="aes128-ctr",
        mac="hmac-sha1",
        client_to_server=False,
    )
    opener = Opener(keys, first_sequence=0, max_packet_length=1000)
    with pytest.raises(DecodeError, match="buffer"):
        opener.feed(bytes(4001))
