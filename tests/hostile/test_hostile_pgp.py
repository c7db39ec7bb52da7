"""Key files made to hurt: `protoaudit pgp` must answer with one line or a recorded fact.

The issue's list: truncated keys, random bytes, huge length headers, armor with a bad CRC,
a 50 MB file. Beside them: floods of packets that make Sequoia's parser superlinear, keys
with thousands of user IDs, subkeys or self-signatures, keys too large to verify, curve
points off the curve, user IDs full of terminal escapes or invalid UTF-8, compressed data
where a key should be, and junk appended to a good key. Each case must end in under a few
seconds as observations or PgpInputError (a ProtoauditError with a one-line message),
never another exception.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import random
import time
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from protoaudit.errors import ProtoauditError
from protoaudit.observations import Observation
from protoaudit.observations_pgp import PgpKey, PgpSource
from protoaudit.pgp.reader import MAX_INPUT_BYTES, MAX_PACKETS, PgpInputError
from protoaudit.pgp_command import audit_key_file
from protoaudit.policy.evaluate import merge
from protoaudit.policy.pgp_rules import PGP_RULES
from protoaudit.probes.openpgpkey import WkdResponse, fetch_wkd
from unit.pgp import pgp_builder as build
from unit.pgp.gpg_keys import NOW

Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter
Handler = Callable[[Reader, Writer], Awaitable[None]]

SECONDS = 5.0


def audit(data: bytes) -> list[Observation] | PgpInputError:
    """The observations, or the one-line error; the time bound and error type checked."""
    started = time.monotonic()
    result: list[Observation] | PgpInputError
    try:
        result = audit_key_file(data, now=NOW)
    except PgpInputError as error:
        result = error
    if isinstance(result, PgpInputError):
        assert "\n" not in str(result)
        assert len(str(result)) < 400
    elapsed = time.monotonic() - started
    assert elapsed < SECONDS, f"{elapsed:.1f} s"
    if not isinstance(result, PgpInputError):
        merge([finding for rule in PGP_RULES for finding in rule(result)])  # rules cope too
    return result


def a_key() -> bytes:
    return build.certificate(
        build.Key(), [b"Victim <victim@example.test>"], subkeys=[(build.Key(), 0x0C)]
    )


def keys_in(result: list[Observation] | PgpInputError) -> list[PgpKey]:
    assert not isinstance(result, PgpInputError), result
    return [item for item in result if isinstance(item, PgpKey)]


def source_of(result: list[Observation] | PgpInputError) -> PgpSource:
    assert not isinstance(result, PgpInputError), result
    source = result[0]
    assert isinstance(source, PgpSource)
    return source


# --- the list ---------------------------------------------------------------------


def test_every_truncation_of_a_key() -> None:
    data = a_key()
    for end in range(1, len(data)):
        result = audit(data[:end])
        if not isinstance(result, PgpInputError):  # cut between packets: a smaller key
            assert keys_in(result)


@pytest.mark.parametrize("seed", range(8))
def test_random_bytes(seed: int) -> None:
    generator = random.Random(seed)
    data = bytes(generator.getrandbits(8) for _ in range(generator.choice((1, 17, 400, 5000))))
    audit(data)


@pytest.mark.parametrize("seed", range(4))
def test_bit_flips_in_a_key(seed: int) -> None:
    generator = random.Random(seed)
    original = a_key()
    for _ in range(100):
        data = bytearray(original)
        for _ in range(generator.randint(1, 4)):
            data[generator.randrange(len(data))] = generator.getrandbits(8)
        audit(bytes(data))


@pytest.mark.parametrize(
    "header",
    [
        b"\xc6\xff\xff\xff\xff\xff",  # new format: a 4 GiB public key packet
        b"\x9a\xff\xff\xff\xff",  # legacy format, 4-octet length
        b"\x99\xff\xff",  # legacy format, 2-octet length past the end
        b"\xc6\xe0",  # a partial length in a key
        b"\x9b",  # legacy indeterminate length
    ],
)
def test_huge_or_forbidden_length_headers(header: bytes) -> None:
    assert isinstance(audit(header + a_key()), PgpInputError)


def test_length_fields_inside_packets() -> None:
    key = build.Key()
    body = key.body
    huge_mpi = body[:-34] + b"\xff\xff" + body[-32:]  # an MPI claiming 65535 bits
    assert isinstance(audit(build.packet(6, huge_mpi)), PgpInputError)
    oid_length = body[:6] + b"\xfe" + body[7:]  # the curve OID runs past the end
    assert isinstance(audit(build.packet(6, oid_length)), PgpInputError)
    signature = bytearray(build.sign(key, 0x1F, key.hashed_key()))
    signature[6:8] = b"\xff\xf0"  # hashed subpacket area longer than the packet
    result = audit(build.packet(6, body) + bytes(signature))
    assert source_of(result).notes == ("1 signature or subkey packets could not be read",)


def test_armor_with_a_bad_checksum_is_read_and_recorded() -> None:
    encoded = base64.b64encode(a_key())
    armored = (
        b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n"
        + encoded
        + b"\n=AAAA\n-----END PGP PUBLIC KEY BLOCK-----\n"
    )
    result = audit(armored)
    assert source_of(result).armor_checksum == "mismatch"
    assert keys_in(result)


def test_armor_whose_base64_is_garbage() -> None:
    armored = b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" + b"$%^&" * 1000 + b"\n"
    assert isinstance(audit(armored + b"-----END PGP PUBLIC KEY BLOCK-----\n"), PgpInputError)


def test_a_50_mb_file_is_refused_at_once() -> None:
    data = os.urandom(1024) * (50 * 1024)
    result = audit(data)
    assert isinstance(result, PgpInputError)
    assert "more than the" in str(result)


def test_a_key_file_at_the_size_bound_is_read() -> None:
    base = build.certificate(build.Key(), [b"a@example.test"])
    data = base + build.packet(13, b"u" * (MAX_INPUT_BYTES - len(base) - 6))
    assert len(data) == MAX_INPUT_BYTES
    (found,) = keys_in(audit(data))
    assert max(len(user_id.text) for user_id in found.user_ids) == 512
    assert isinstance(audit(data + b"\0"), PgpInputError)


def test_a_16_mb_armored_key_is_read_without_checksumming_it_all() -> None:
    base = build.certificate(build.Key(), [b"a@example.test"])
    encoded = base64.b64encode(base + build.packet(13, b"u" * 12_000_000))
    lines = b"\n".join(encoded[index : index + 64] for index in range(0, len(encoded), 64))
    armored = (
        b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n"
        + lines
        + b"\n=AAAA\n-----END PGP PUBLIC KEY BLOCK-----\n"
    )
    assert len(armored) <= MAX_INPUT_BYTES
    assert source_of(audit(armored)).armor_checksum == "unchecked"


# --- floods -------------------------------------------------------------------------------


def test_millions_of_empty_user_ids_never_reach_sequoia() -> None:
    # 8 million packets in 16 MB: Sequoia alone takes minutes; the packet bound first.
    data = a_key() + b"\xcd\x00" * ((MAX_INPUT_BYTES - 1000) // 2)
    result = audit(data)
    assert isinstance(result, PgpInputError)
    assert f"more than {MAX_PACKETS} packets" in str(result)


def test_thousands_of_user_ids() -> None:
    key = build.Key()
    user_ids = [f"user {index} <u{index}@example.test>".encode() for index in range(3000)]
    result = audit(build.certificate(key, user_ids))
    (found,) = keys_in(result)
    assert found.user_ids_total == 3000
    assert len(found.user_ids) == 32


def test_thousands_of_self_signatures_on_one_user_id() -> None:
    key = build.Key()
    text = b"Busy <busy@example.test>"
    one = build.sign(key, 0x13, key.hashed_key() + build.user_id_octets(text))
    data = build.packet(6, key.body) + build.packet(13, text) + one * 5000
    result = audit(data)
    (found,) = keys_in(result)
    assert found.signatures_unchecked == 5000 - 8
    assert any("not checked" in note for note in source_of(result).notes)


def test_thousands_of_subkeys() -> None:
    primary, subkey = build.Key(), build.Key()
    data = build.certificate(primary, [b"a@example.test"], subkeys=[(subkey, 0x0C)] * 3000)
    (found,) = keys_in(audit(data))
    assert found.subkeys_total == 3000
    assert len(found.subkeys) == 64


def test_thousands_of_certificates() -> None:
    one = build.packet(6, build.Key().body) + build.packet(13, b"x")
    source = source_of(audit(one * 8000))
    assert source.certificates == 8000
    assert source.certificates_read == 100


def test_huge_user_id_is_cut_and_bad_utf8_replaced() -> None:
    text = b"\xff\xfe" + "é".encode() * 600_000
    (found,) = keys_in(audit(build.certificate(build.Key(), [text])))
    assert len(found.user_ids[0].text) == 512
    assert found.user_ids[0].text.startswith("\ufffd\ufffd")


# --- keys that are hard to check ----------------------------------------------------------


def _rsa_key(bits: int, *, exponent: int = 65537, signatures: int = 1) -> bytes:
    """An RSA key with direct-key signatures whose hash prefix is right and RSA part wrong,
    so that checking each one costs a real RSA operation."""
    modulus = (1 << (bits - 1)) | 1
    body = b"\x04" + build.seconds(build.CREATED) + b"\x01"
    body += build.mpi(modulus.to_bytes(bits // 8, "big"))
    body += build.mpi(exponent.to_bytes((exponent.bit_length() + 7) // 8, "big"))
    data = build.packet(6, body)
    for index in range(signatures):
        hashed = build.subpacket(2, (int(build.CREATED.timestamp()) + index).to_bytes(4, "big"))
        prefix = bytes([4, 0x1F, 1, 8]) + len(hashed).to_bytes(2, "big") + hashed
        digest = hashlib.sha256(
            b"\x99" + len(body).to_bytes(2, "big") + body + prefix + b"\x04\xff"
            + len(prefix).to_bytes(4, "big")
        ).digest()  # fmt: skip
        value = (modulus - 2).to_bytes(bits // 8, "big")
        data += build.packet(2, prefix + b"\x00\x00" + digest[:2] + build.mpi(value))
    return data


def test_rsa_key_too_large_to_check() -> None:
    (found,) = keys_in(audit(_rsa_key(32768)))
    assert found.bits == 32768
    (signature,) = found.signatures
    assert signature.verified is None
    assert signature.problem == "32768-bit RSA: too large to check"


def test_rsa_exponent_too_large_to_check() -> None:
    (found,) = keys_in(audit(_rsa_key(3072, exponent=(1 << 3000) + 1)))
    assert found.signatures[0].problem == "a 3001-bit RSA exponent"


def test_keyring_of_large_rsa_keys_with_many_signatures() -> None:
    one = _rsa_key(16384, signatures=12)
    result = audit(one * 100)  # 1200 signatures; each check costs a 16384-bit RSA operation
    keys = keys_in(result)
    assert len(keys) == 100
    assert all(s.verified is False for s in keys[0].signatures[:8])
    assert sum(key.signatures_unchecked for key in keys) == 1200 - 500
    assert any("not checked" in note for note in source_of(result).notes)


def test_ecdsa_point_off_the_curve() -> None:
    oid = bytes.fromhex("2a8648ce3d030107")
    point = b"\x04" + b"\x01" * 64
    body = b"\x04" + build.seconds(build.CREATED) + b"\x13" + bytes([len(oid)]) + oid
    body += build.mpi(point)
    hashed = build.subpacket(2, build.seconds(build.CREATED))
    prefix = bytes([4, 0x1F, 19, 8]) + len(hashed).to_bytes(2, "big") + hashed
    digest = hashlib.sha256(
        b"\x99" + len(body).to_bytes(2, "big") + body + prefix + b"\x04\xff"
        + len(prefix).to_bytes(4, "big")
    ).digest()  # fmt: skip
    signature = prefix + b"\x00\x00" + digest[:2] + build.mpi(b"\x01" * 32) * 2
    (found,) = keys_in(audit(build.packet(6, body) + build.packet(2, signature)))
    (checked,) = found.signatures
    assert checked.verified is None
    assert "cryptography refused the key" in (checked.problem or "")


def test_unknown_algorithm_and_version() -> None:
    unknown = build.packet(6, b"\x04" + build.seconds(build.CREATED) + b"\x63" + b"material")
    (found,) = keys_in(audit(unknown + build.packet(13, b"u@example.test")))
    assert (found.algorithm, found.bits, found.binding) == (99, None, None)
    future = build.packet(6, b"\x07" + bytes(30))
    audit(future)  # Sequoia's verdict either way; never a traceback


def test_compressed_bomb_after_a_key() -> None:
    bomb = b"\x02" + zlib.compress(bytes(50 * 1024 * 1024), 9)  # 50 MB of zeros, ~50 KB
    result = audit(a_key() + build.packet(8, bomb))
    assert isinstance(result, PgpInputError)  # Sequoia: not a certificate; never inflated
    assert "non-Cert packets" in str(result)


def test_junk_signature_appended_to_a_good_key_does_not_hide_it() -> None:
    junk = build.packet(2, b"\x04\x13\x16\x08\xff\xff" + b"\x00" * 20)
    result = audit(a_key() + junk)
    (found,) = keys_in(result)
    assert found.binding is not None
    assert source_of(result).notes == ("1 signature or subkey packets could not be read",)


def test_marker_and_padding_packets_are_ignored() -> None:
    result = audit(build.packet(10, b"PGP") + a_key())
    assert keys_in(result)
    assert str(audit(build.packet(21, b"pad"))) == "holds no key packet"


@pytest.mark.parametrize(
    "make",
    [
        lambda: b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n" * 100_000,
        lambda: b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" + b"A" * 10_000_000,
        lambda: b"\n" * 10_000_000,
        lambda: b"-----BEGIN PGP MESSAGE-----\n\n" + base64.b64encode(a_key()),
    ],
)
def test_text_that_is_not_a_key(make: Callable[[], bytes]) -> None:
    result = audit(make())
    assert isinstance(result, PgpInputError)
    assert isinstance(result, ProtoauditError)


# --- what Sequoia cannot take, and what costs by size -----------------------------------


@pytest.mark.parametrize("tag", [6, 14, 5])
def test_a_v4_key_packet_too_long_to_fingerprint(
    tag: int, capfd: pytest.CaptureFixture[str]
) -> None:
    # A v4 key is hashed after a 2-octet length; Sequoia panics (a BaseException, with a
    # Rust backtrace on stderr) on a longer one, so our framing refuses it first.
    huge = build.packet(tag, b"\x04" + build.seconds(build.CREATED) + b"\x63" + bytes(70_000))
    data = huge + a_key() if tag != 14 else a_key() + huge
    result = audit(data)
    assert isinstance(result, PgpInputError)
    assert "at most 65535" in str(result)
    assert "panicked" not in capfd.readouterr().err


def test_hashing_megabytes_per_signature_is_charged_by_size() -> None:
    # Given a v6 primary key of an unknown algorithm and 900 kB, with 8 direct-key
    # signatures and 64 subkeys of 8 bindings each: 520 checks of 900 kB hashed each
    hashed = bytes([5, 2]) + build.seconds(build.CREATED)

    def signature(kind: int) -> bytes:
        body = bytes([6, kind, 99, 8]) + len(hashed).to_bytes(4, "big") + hashed + bytes(4)
        return build.packet(2, body + b"\x00\x00" + bytes([16]) + b"s" * 16 + b"signature")

    def v6_key(tag: int, material: bytes) -> bytes:
        body = b"\x06" + build.seconds(build.CREATED) + b"\x63" + len(material).to_bytes(4, "big")
        return build.packet(tag, body + material)

    subkey = v6_key(14, b"abcd") + signature(0x18) * 8
    data = v6_key(6, bytes(900_000)) + signature(0x1F) * 8 + subkey * 64
    # When it is read, Then each check costs 13 units of the 2000: at most 154 are made
    (found,) = keys_in(audit(data))
    assert found.signatures_unchecked >= 520 - 154


# --- a Web Key Directory that misbehaves --------------------------------------------------


def fetch(serve: Callable[[Handler], Any], handler: Handler, deadline: float) -> WkdResponse:
    """What fetch_wkd made of the handler's answer; it must end soon after its deadline."""
    url = f"http://127.0.0.1:{serve(handler).port}/.well-known/openpgpkey/hu/x"
    started = time.monotonic()
    response = asyncio.run(fetch_wkd(url, timeout=1.0, deadline=deadline))
    assert time.monotonic() - started < deadline + 1.0
    assert response.body is None
    assert response.error is not None
    assert "\x1b" not in response.error
    return response


NOT_HTTP = {
    "not a status line": b"garbage \x1b[2J\r\n\r\n",
    "too many headers": b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 200 + b"\r\n",
    "a header line too long": b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000 + b"\r\n\r\n",
    "a chunk that is not one": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "less than Content-Length": b"HTTP/1.1 200 OK\r\nContent-Length: 9000\r\n\r\n" + a_key(),
}


@pytest.mark.parametrize("reply", NOT_HTTP.values(), ids=list(NOT_HTTP))
def test_wkd_answers_that_are_not_whole_http(serve: Callable[[Handler], Any], reply: bytes) -> None:
    async def answer(reader: Reader, writer: Writer) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(reply)
        await writer.drain()

    fetch(serve, answer, deadline=5.0)


def test_wkd_server_that_trickles_its_headers(serve: Callable[[Handler], Any]) -> None:
    # Given a server that sends a byte every 0.1 s, well within the 1 s read timeout
    async def trickle(reader: Reader, writer: Writer) -> None:
        await reader.readuntil(b"\r\n\r\n")
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.1)

    # When fetched with a 1 s deadline, Then the fetch (and its worker thread) ends by then
    assert fetch(serve, trickle, deadline=1.0).error == "too slow: the deadline passed"
