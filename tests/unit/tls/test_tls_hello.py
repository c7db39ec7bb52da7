"""ClientHello and SSL 2.0 CLIENT-HELLO: golden bytes, extension bodies, round trips."""

from __future__ import annotations

import contextlib

import capture_fixtures
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tls_helpers import (
    extension_code,
    group_code,
    load_hex,
    messages_of,
    records_of,
    scheme_code,
    suite_code,
)

from protoaudit.errors import DecodeError
from protoaudit.proto.tls import hello
from protoaudit.proto.tls.constants import HandshakeType, ProtocolVersion
from protoaudit.proto.tls.hello import ClientHello, build_client_hello, build_sslv2_client_hello
from protoaudit.proto.tls.sslv2 import SSLv2ClientHello

RANDOM = bytes(range(32))


def only_message(record_bytes: bytes) -> ClientHello:
    [(msg_type, body)] = messages_of(records_of(record_bytes))
    assert msg_type == HandshakeType.CLIENT_HELLO
    return ClientHello.decode(body)


def test_tls13_client_hello_is_byte_for_byte_golden() -> None:
    # Given the same random, session id and seeded key share as the fixture capture
    built = capture_fixtures.tls13_client_hello()
    # Then the bytes are those that openssl s_server answered
    assert built == load_hex("client_hello_tls13.hex")


def test_tls13_client_hello_header_parts() -> None:
    built = capture_fixtures.tls13_client_hello()
    assert built[:3] == bytes.fromhex("160301")  # handshake record, legacy_record_version TLS 1.0
    assert int.from_bytes(built[3:5], "big") == len(built) - 5
    assert built[5] == HandshakeType.CLIENT_HELLO
    assert int.from_bytes(built[6:9], "big") == len(built) - 9
    assert built[9:11] == bytes.fromhex("0303")  # legacy_version TLS 1.2
    assert built[11:43] == RANDOM
    assert built[43] == 32
    assert built[44:76] == capture_fixtures.SESSION_ID
    assert built[76:84] == bytes.fromhex("0006 1301 1302 1303")
    assert built[84:86] == bytes.fromhex("0100")  # one compression method: null


def test_tls13_client_hello_decodes_to_known_fields() -> None:
    decoded = only_message(load_hex("client_hello_tls13.hex"))
    assert decoded.legacy_version == 0x0303
    assert decoded.random == RANDOM
    assert decoded.legacy_session_id == capture_fixtures.SESSION_ID
    assert decoded.cipher_suites == tuple(suite_code(n) for n in capture_fixtures.TLS13_SUITES)
    assert decoded.legacy_compression_methods == (0,)
    names = ["server_name", "supported_groups", "ec_point_formats", "signature_algorithms"]
    names += ["supported_versions", "key_share"]
    assert [t for t, _ in decoded.extensions] == [extension_code(n) for n in names]
    extensions = dict(decoded.extensions)
    assert extensions[extension_code("server_name")] == bytes.fromhex("0007 00 0004") + b"test"
    assert extensions[extension_code("supported_versions")] == bytes.fromhex("02 0304")
    key_share = extensions[extension_code("key_share")]
    assert key_share[:6] == bytes.fromhex("0024 001d 0020")
    assert len(key_share) == 2 + 4 + 32


@pytest.mark.parametrize("name", ["tls13", "tls12_ecdhe", "alert"])
def test_client_hello_fixtures_three_ways(name: str) -> None:
    data = load_hex(f"client_hello_{name}.hex")
    [(_, body)] = messages_of(records_of(data))
    whole = ClientHello.decode(body)
    # Byte by byte through RecordBuffer and HandshakeBuffer.
    [(_, body_again)] = messages_of(records_of(data, 1))
    assert ClientHello.decode(body_again) == whole
    # Encodes back to the same handshake message.
    assert whole.encode() == data[5:]
    # Trailing bytes after the message are an error, not ignored.
    with pytest.raises(DecodeError):
        ClientHello.decode(body + b"\x00")


def test_tls12_hello_has_legacy_version_and_no_supported_versions() -> None:
    built = build_client_hello(
        version=ProtocolVersion.TLS1_2,
        cipher_suites=[suite_code("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")],
        random=RANDOM,
        server_name="example.com.",
        groups=[group_code("x25519")],
    )
    assert built[:3] == bytes.fromhex("160301")
    decoded = only_message(built)
    assert decoded.legacy_version == 0x0303
    types = [t for t, _ in decoded.extensions]
    assert extension_code("supported_versions") not in types
    assert extension_code("key_share") not in types
    # RFC 6066: no trailing dot in the host name.
    assert dict(decoded.extensions)[extension_code("server_name")].endswith(b"example.com")


def test_ssl3_hello_uses_ssl3_record_version_and_no_extensions() -> None:
    built = build_client_hello(
        version=ProtocolVersion.SSL3,
        cipher_suites=[suite_code("TLS_RSA_WITH_AES_128_CBC_SHA")],
        random=RANDOM,
    )
    assert built[:3] == bytes.fromhex("160300")
    decoded = only_message(built)
    assert decoded.legacy_version == 0x0300
    assert decoded.extensions == ()
    assert built.endswith(bytes.fromhex("0002 002f 0100"))  # suites, compression, nothing more


def test_tls13_hello_lists_several_versions_and_an_empty_key_share() -> None:
    built = build_client_hello(
        version=ProtocolVersion.TLS1_3,
        cipher_suites=[suite_code("TLS_AES_128_GCM_SHA256")],
        random=RANDOM,
        supported_versions=[0x0304, 0x0303],
        groups=[group_code("secp384r1")],
    )
    extensions = dict(only_message(built).extensions)
    assert extensions[extension_code("supported_versions")] == bytes.fromhex("04 0304 0303")
    assert extensions[extension_code("key_share")] == bytes.fromhex("0000")


def test_extra_extensions_come_last_in_order() -> None:
    extra = [(0xFFFF, b"odd"), hello.extension("encrypt_then_mac", hello.encrypt_then_mac_body())]
    built = build_client_hello(
        version=ProtocolVersion.TLS1_2,
        cipher_suites=[0x002F],
        random=RANDOM,
        extra_extensions=extra,
    )
    assert only_message(built).extensions == (
        (0xFFFF, b"odd"),
        (extension_code("encrypt_then_mac"), b""),
    )


def test_extension_bodies() -> None:
    assert hello.server_name_body("a.b") == bytes.fromhex("0006 00 0003") + b"a.b"
    assert hello.supported_groups_body([group_code("x25519"), group_code("secp256r1")]) == (
        bytes.fromhex("0004 001d 0017")
    )
    assert hello.ec_point_formats_body() == bytes.fromhex("01 00")
    assert hello.signature_algorithms_body([scheme_code("rsa_pss_rsae_sha256")]) == (
        bytes.fromhex("0002 0804")
    )
    assert hello.supported_versions_body([0x0304]) == bytes.fromhex("02 0304")
    assert hello.key_share_body([(group_code("x25519"), b"\x01\x02")]) == (
        bytes.fromhex("0006 001d 0002 0102")
    )
    assert hello.key_share_body([]) == bytes.fromhex("0000")
    assert hello.psk_key_exchange_modes_body() == bytes.fromhex("01 01")
    assert hello.renegotiation_info_body() == bytes.fromhex("00")
    assert hello.extended_master_secret_body() == b""
    assert hello.encrypt_then_mac_body() == b""
    assert hello.session_ticket_body() == b""
    assert hello.alpn_body(["h2", b"http/1.1"]) == bytes.fromhex("000c 02") + b"h2\x08http/1.1"
    assert hello.extension("server_name", b"") == (0, b"")


def test_sslv2_client_hello_bytes() -> None:
    challenge = bytes(range(16))
    built = build_sslv2_client_hello([0x010080, 0x070040], challenge)
    expected_body = (
        bytes.fromhex("01 0002 0006 0000 0010") + bytes.fromhex("010080 070040") + challenge
    )
    assert built == (0x8000 | len(expected_body)).to_bytes(2, "big") + expected_body
    [record] = records_of(built)
    decoded = SSLv2ClientHello.decode(record.message)  # type: ignore[union-attr]
    assert decoded == SSLv2ClientHello(0x0002, (0x010080, 0x070040), b"", challenge)
    with pytest.raises(DecodeError):
        SSLv2ClientHello.decode(record.message + b"!")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (bytes.fromhex("0303") + RANDOM + bytes.fromhex("21") + bytes(33), "legacy_session_id"),
        (bytes.fromhex("0303") + RANDOM + bytes.fromhex("00 0000 0100"), "cipher_suites"),
        (
            bytes.fromhex("0303") + RANDOM + bytes.fromhex("00 0002 002f 00"),
            "legacy_compression_methods",
        ),
        (bytes.fromhex("0303") + RANDOM + bytes.fromhex("00 0003 002f00 0100"), "cipher_suites"),
        (
            bytes.fromhex("0303") + RANDOM + bytes.fromhex("00 0002 002f 0100 0005 0000 0002"),
            "extensions",
        ),
        (bytes.fromhex("0303") + RANDOM[:10], "random"),
    ],
)
def test_malformed_client_hellos(body: bytes, field: str) -> None:
    with pytest.raises(DecodeError) as caught:
        ClientHello.decode(body)
    assert caught.value.protocol == "tls"
    assert caught.value.field.startswith("client_hello." + field)


client_hellos = st.builds(
    ClientHello,
    legacy_version=st.integers(0, 0xFFFF),
    random=st.binary(min_size=32, max_size=32),
    legacy_session_id=st.binary(max_size=32),
    cipher_suites=st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=40).map(tuple),
    legacy_compression_methods=st.lists(st.integers(0, 255), min_size=1, max_size=4).map(tuple),
    extensions=st.lists(st.tuples(st.integers(0, 0xFFFF), st.binary(max_size=64)), max_size=12).map(
        tuple
    ),
)


@given(client_hellos)
def test_client_hello_round_trip(message: ClientHello) -> None:
    encoded = message.encode()
    assert encoded[0] == HandshakeType.CLIENT_HELLO
    assert int.from_bytes(encoded[1:4], "big") == len(encoded) - 4
    assert ClientHello.decode(encoded[4:]) == message


@given(st.binary(max_size=400))
def test_client_hello_decode_raises_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        ClientHello.decode(data)


@given(st.binary(max_size=200))
def test_sslv2_client_hello_decode_raises_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        SSLv2ClientHello.decode(data)
