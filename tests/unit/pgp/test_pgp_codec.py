"""The sans-I/O OpenPGP pieces: armor, packet framing, key and signature packets, names.

Decoders are tried whole, with trailing bytes, and on arbitrary bytes (hypothesis): bad
input raises DecodeError and nothing else.
"""

from __future__ import annotations

import base64
import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protoaudit.errors import DecodeError
from protoaudit.proto.openpgp import names
from protoaudit.proto.openpgp.armor import crc24, dearmor, looks_armored
from protoaudit.proto.openpgp.packets import (
    oid_text,
    parse_key,
    parse_signature,
    split_packets,
)
from protoaudit.proto.openpgp.verify import hashed_data, verify
from unit.pgp import pgp_builder as build


def armor(data: bytes, *, label: str = "PUBLIC KEY BLOCK", checksum: bytes | None = None) -> bytes:
    lines = [f"-----BEGIN PGP {label}-----".encode(), b"Comment: made in a test", b""]
    encoded = base64.b64encode(data)
    lines += [encoded[index : index + 64] for index in range(0, len(encoded), 64)]
    crc = crc24(data).to_bytes(3, "big") if checksum is None else checksum
    lines.append(b"=" + base64.b64encode(crc))
    lines.append(f"-----END PGP {label}-----".encode())
    return b"\n".join(lines) + b"\n"


# --- armor --------------------------------------------------------------------------------


def test_crc24_known_value() -> None:
    assert crc24(b"") == 0xB704CE
    assert crc24(b"123456789") == 0x21CF02  # the CRC-24/OPENPGP check value


def test_dearmor_round_trip_with_headers_and_text_around() -> None:
    data = build.certificate(build.Key(), [b"a@example.test"])
    text = b"Hello,\r\nmy key:\r\n" + armor(data).replace(b"\n", b"\r\n") + b"\r\nBye\r\n"
    found = dearmor(text)
    assert (found.data, found.blocks, found.checksum) == (data, 1, "valid")


def test_several_blocks_are_joined() -> None:
    first = build.certificate(build.Key(), [b"a@example.test"])
    second = build.certificate(build.Key(), [b"b@example.test"])
    found = dearmor(armor(first) + b"\n" + armor(second, label="PRIVATE KEY BLOCK"))
    assert found.data == first + second
    assert found.labels == ("PUBLIC KEY BLOCK", "PRIVATE KEY BLOCK")


def test_checksum_verdicts() -> None:
    data = build.certificate(build.Key(), [b"a@example.test"])
    assert dearmor(armor(data, checksum=b"\0\0\0")).checksum == "mismatch"
    without = b"\n".join(line for line in armor(data).split(b"\n") if not line.startswith(b"="))
    assert dearmor(without).checksum == "absent"
    both = dearmor(armor(data) + armor(data, checksum=b"\1\2\3"))
    assert both.checksum == "mismatch"  # the worst block decides


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b"no armor here", "no armored key block"),
        (b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n", "no END line"),
        (
            b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PRIVATE KEY BLOCK-----\n",
            "does not match",
        ),
        (b"-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n", "SIGNATURE"),
        (
            b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!!\n-----END PGP PUBLIC KEY BLOCK-----",
            "base64",
        ),
        (
            b"-----BEGIN PGP PUBLIC KEY BLOCK-----junk\n\n-----END PGP PUBLIC KEY BLOCK-----",
            "after",
        ),
        (
            b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n=AAAA\nAAAA\n"
            b"-----END PGP PUBLIC KEY BLOCK-----",
            "after the checksum",
        ),
    ],
)
def test_broken_armor(text: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        dearmor(text)


def test_binary_is_not_armor_even_with_a_begin_line_inside() -> None:
    data = build.certificate(build.Key(), [b"-----BEGIN PGP PUBLIC KEY BLOCK-----"])
    assert not looks_armored(data)
    assert looks_armored(b"\xef\xbb\xbf" + armor(data))
    assert looks_armored(b"  \n" + armor(data))


# --- framing ------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [0, 191, 192, 8383, 8384, 70000])
def test_new_format_lengths(length: int) -> None:
    body = bytes(length)
    (found,) = split_packets(build.packet(13, body), max_packets=10)
    assert (found.tag, found.body) == (13, body)


@pytest.mark.parametrize(("length_type", "width"), [(0, 1), (1, 2), (2, 4)])
def test_legacy_format_lengths(length_type: int, width: int) -> None:
    body = b"user"
    data = bytes([0x80 | (13 << 2) | length_type]) + len(body).to_bytes(width, "big") + body
    (found,) = split_packets(data, max_packets=10)
    assert (found.tag, found.body) == (13, body)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (b"\x3f", "packet header"),  # top bit clear
        (bytes([0x80 | (13 << 2) | 3]) + b"abc", "indeterminate"),
        (b"\xcd\xe1abc", "partial"),
        (b"\xc0\x01a", "tag 0"),
        (b"\xcd\x05ab", "needs 5 bytes"),
        (b"\xcd\xff\xff\xff\xff\xf0", "needs"),
        (b"\xcd", "needs 1 bytes"),
    ],
)
def test_bad_framing(data: bytes, field: str) -> None:
    with pytest.raises(DecodeError, match=field):
        split_packets(data, max_packets=10)


def test_packet_bound() -> None:
    with pytest.raises(DecodeError, match="more than 3 packets"):
        split_packets(build.packet(13, b"x") * 4, max_packets=3)
    assert len(split_packets(build.packet(13, b"x") * 3, max_packets=3)) == 3


@given(st.binary(max_size=400))
@settings(max_examples=300, deadline=None)
def test_arbitrary_bytes_raise_only_decode_error(data: bytes) -> None:
    for decode in (
        lambda: split_packets(data, max_packets=50),
        lambda: parse_key(6, data),
        lambda: parse_key(5, data),
        lambda: parse_signature(data),
        lambda: dearmor(b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" + data),
    ):
        with contextlib.suppress(DecodeError):
            decode()


# --- key and signature packets ------------------------------------------------------------


def test_oid_text() -> None:
    assert oid_text(bytes.fromhex("2a8648ce3d030107")) == "1.2.840.10045.3.1.7"
    assert oid_text(build.ED25519_OID) == "1.3.6.1.4.1.11591.15.1"
    with pytest.raises(DecodeError):
        oid_text(b"\x2b\x86")


def test_key_packet_fields_and_fingerprint() -> None:
    key = build.Key()
    found = parse_key(6, key.body)
    assert (found.version, found.algorithm, found.bits) == (4, 22, 255)
    assert found.curve_oid == "1.3.6.1.4.1.11591.15.1"
    assert found.fingerprint == key.fingerprint
    assert found.key_id == key.fingerprint[-8:]
    with pytest.raises(DecodeError, match="trailing"):
        parse_key(6, key.body + b"\0")


def test_unknown_version_and_algorithm_survive() -> None:
    future = parse_key(6, b"\x07" + bytes(20))
    assert (future.version, future.fingerprint, future.bits) == (7, b"", None)
    unknown = parse_key(6, b"\x04\x00\x00\x00\x01\x63" + b"opaque material")
    assert (unknown.algorithm, unknown.bits, len(unknown.fingerprint)) == (99, None, 20)


def test_signature_round_trip_and_verification() -> None:
    primary = build.Key()
    text = b"Dana <dana@example.test>"
    target = primary.hashed_key() + build.user_id_octets(text)
    raw = build.sign(primary, 0x13, target, extra=build.key_flags(0x03) + build.key_expiry(60))
    (packet,) = split_packets(raw, max_packets=2)
    signature = parse_signature(packet.body)
    assert (signature.version, signature.signature_type, signature.hash_algorithm) == (4, 0x13, 8)
    assert (signature.key_flags, signature.key_expiration_seconds) == (3, 60)
    assert primary.fingerprint in signature.issuers
    key = parse_key(6, primary.body)
    assert verify(signature, key, hashed_data(signature, key, user_id=text)).valid is True
    other = verify(signature, key, hashed_data(signature, key, user_id=b"Eve"))
    assert other.valid is False
    with pytest.raises(DecodeError, match="trailing"):
        parse_signature(packet.body + b"\0")


def test_subpacket_bounds() -> None:
    primary = build.Key()
    too_many = b"".join(build.subpacket(20, b"") for _ in range(300))
    raw = build.sign(primary, 0x1F, primary.hashed_key(), extra=too_many)
    (packet,) = split_packets(raw, max_packets=2)
    with pytest.raises(DecodeError, match="more than 256 subpackets"):
        parse_signature(packet.body)


def test_names_never_raise() -> None:
    assert names.public_key_algorithm(22).name == "EdDSALegacy"
    assert names.public_key_algorithm(17).status == "deprecated"
    assert not names.public_key_algorithm(99).known
    assert names.hash_algorithm(2).name == "SHA-1"
    assert names.hash_algorithm(200).name == "UNKNOWN_200"
    assert names.curve("1.3.132.0.34").name == "NIST P-384"
    assert names.curve("1.2.3").name == "1.2.3"
    assert names.public_key_algorithm(35).name == "ML-KEM-768+X25519"
