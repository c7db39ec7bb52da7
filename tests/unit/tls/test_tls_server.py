"""Server messages: captured openssl replies decode to known fields and encode back the same."""

from __future__ import annotations

import contextlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
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
from protoaudit.proto.tls import ffdhe
from protoaudit.proto.tls.constants import ContentType, HandshakeType, ProtocolVersion
from protoaudit.proto.tls.records import Record, encode_handshake, encode_sslv2_record
from protoaudit.proto.tls.server import (
    HELLO_RETRY_REQUEST_RANDOM,
    Alert,
    Certificate,
    Certificate13,
    CertificateEntry,
    KeyShareEntry,
    ServerDHParams,
    ServerECDHParams,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
    ServerRSAParams,
    parse_alert,
    parse_server_key_exchange,
)
from protoaudit.proto.tls.sslv2 import (
    SSLv2Error,
    SSLv2ServerHello,
    parse_sslv2_error,
    parse_sslv2_server_hello,
)
from protoaudit.registry import tls as registry

CLIENT_RANDOM = bytes(range(32))
SESSION_ID = bytes(range(0xA0, 0xC0))


def handshake_messages(name: str, piece: int | None = None) -> list[tuple[int, bytes]]:
    return messages_of(records_of(load_hex(name), piece))


def first_server_hello(name: str) -> tuple[bytes, ServerHello]:
    msg_type, body = handshake_messages(name)[0]
    assert msg_type == HandshakeType.SERVER_HELLO
    return body, ServerHello.decode(body)


# TLS 1.3 ServerHello from openssl s_server


def test_tls13_server_hello_fields() -> None:
    _, hello = first_server_hello("server_tls13.hex")
    assert hello.legacy_version == 0x0303
    assert hello.legacy_session_id == SESSION_ID  # echoed (RFC 8446 4.1.3)
    assert hello.cipher_suite == suite_code("TLS_AES_128_GCM_SHA256")
    assert hello.legacy_compression_method == 0
    assert not hello.is_hello_retry_request
    assert hello.selected_version == ProtocolVersion.TLS1_3
    assert hello.key_share_group == group_code("x25519")
    assert hello.key_share is not None
    assert len(hello.key_share.key_exchange) == 32
    assert hello.downgrade_sentinel is None
    assert [t for t, _ in hello.extensions] == [
        extension_code("supported_versions"),
        extension_code("key_share"),
    ]


def test_tls13_reply_continues_with_encrypted_records() -> None:
    records = records_of(load_hex("server_tls13.hex"))
    types = [r.content_type for r in records if isinstance(r, Record)]
    assert types[0] == ContentType.HANDSHAKE
    assert ContentType.APPLICATION_DATA in types[1:]


@pytest.mark.parametrize("name", ["server_tls13.hex", "server_tls12_ecdhe.hex"])
def test_server_hello_three_ways_and_back(name: str) -> None:
    body, whole = first_server_hello(name)
    assert ServerHello.decode(handshake_messages(name, 1)[0][1]) == whole
    assert whole.encode() == encode_handshake(HandshakeType.SERVER_HELLO, body)
    with pytest.raises(DecodeError):
        ServerHello.decode(body + b"\x00")


# TLS 1.2 ECDHE flight from openssl s_server


def test_tls12_flight_fields() -> None:
    messages = handshake_messages("server_tls12_ecdhe.hex")
    assert [t for t, _ in messages] == [2, 11, 12, 14]
    (_, hello_body), (_, cert_body), (_, ske_body), (_, done_body) = messages

    hello = ServerHello.decode(hello_body)
    assert hello.selected_version == ProtocolVersion.TLS1_2
    assert hello.cipher_suite == suite_code("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")
    # The server also speaks TLS 1.3, so its random says it was asked for less.
    assert hello.downgrade_sentinel == ProtocolVersion.TLS1_2
    assert hello.key_share_group is None
    assert [registry.extension(t).name for t, _ in hello.extensions] == [
        "renegotiation_info",
        "ec_point_formats",
        "extended_master_secret",
    ]

    certificate = Certificate.decode(cert_body)
    [der] = certificate.certificate_list
    leaf = x509.load_der_x509_certificate(der)
    assert leaf.subject.rfc4514_string() == "CN=test"

    ske = parse_server_key_exchange(ske_body, key_exchange="ECDHE", version=hello.selected_version)
    assert ske.group == group_code("secp256r1")
    assert ske.dh_prime_bits is None
    assert ske.signature_scheme == scheme_code("ecdsa_secp256r1_sha256")
    assert isinstance(ske.params, ServerECDHParams)
    assert ske.params.public[0] == 4
    assert len(ske.params.public) == 65
    # The parse is right if the server's signature verifies over what RFC 8422 5.4 says it signs.
    assert ske.signature is not None
    signed = CLIENT_RANDOM + hello.random + ske_body[: 4 + len(ske.params.public)]
    public_key = leaf.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(ske.signature, signed, ec.ECDSA(hashes.SHA256()))

    assert ServerHelloDone.decode(done_body) == ServerHelloDone()

    # Each encodes back to the bytes the server sent.
    assert certificate.encode() == encode_handshake(11, cert_body)
    assert ske.encode() == encode_handshake(12, ske_body)
    assert ServerHelloDone().encode() == encode_handshake(14, done_body)


def test_tls12_flight_byte_by_byte_and_trailing() -> None:
    whole = handshake_messages("server_tls12_ecdhe.hex")
    assert handshake_messages("server_tls12_ecdhe.hex", 1) == whole
    _, cert_body = whole[1]
    _, ske_body = whole[2]
    with pytest.raises(DecodeError):
        Certificate.decode(cert_body + b"\x00")
    with pytest.raises(DecodeError):
        ServerKeyExchange.decode(ske_body + b"\x00", key_exchange="ECDHE", version=0x0303)
    with pytest.raises(DecodeError):
        ServerHelloDone.decode(b"\x00")


# Alerts


def test_captured_alert() -> None:
    [record] = records_of(load_hex("server_alert.hex"))
    assert isinstance(record, Record)
    assert record.content_type == ContentType.ALERT
    alert = parse_alert(record.fragment)
    assert alert == Alert(level=2, description=40)
    assert alert.is_fatal
    assert registry.alert(alert.description).name == "handshake_failure"
    assert alert.encode() == record.fragment


@pytest.mark.parametrize("fragment", [b"", b"\x02", b"\x02\x28\x00", b"\x02\x28\x02\x28"])
def test_alert_must_be_two_bytes(fragment: bytes) -> None:
    with pytest.raises(DecodeError):
        parse_alert(fragment)


# HelloRetryRequest and ServerHello extension rules


def hello_retry_request(extensions: tuple[tuple[int, bytes], ...]) -> ServerHello:
    return ServerHello(0x0303, HELLO_RETRY_REQUEST_RANDOM, b"", 0x1301, 0, extensions)


def test_hello_retry_request_names_only_a_group() -> None:
    message = hello_retry_request(
        (
            (extension_code("supported_versions"), bytes.fromhex("0304")),
            (extension_code("key_share"), group_code("secp384r1").to_bytes(2, "big")),
        )
    )
    decoded = ServerHello.decode(message.encode()[4:])
    assert decoded == message
    assert decoded.is_hello_retry_request
    assert decoded.selected_version == 0x0304
    assert decoded.key_share_group == group_code("secp384r1")
    assert decoded.key_share is None


def test_hello_retry_request_random_is_rfc_8446_value() -> None:
    assert HELLO_RETRY_REQUEST_RANDOM.hex().upper() == (
        "CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C"
    )


def test_key_share_entry_in_a_hello_retry_request_is_refused() -> None:
    entry = bytes.fromhex("001d 0002 0102")
    message = hello_retry_request(((extension_code("key_share"), entry),))
    with pytest.raises(DecodeError):
        ServerHello.decode(message.encode()[4:])


def test_server_hello_key_share_entry() -> None:
    entry = bytes.fromhex("0017 0003 040506")
    message = ServerHello(
        0x0303, bytes(32), b"", 0x1302, 0, ((extension_code("key_share"), entry),)
    )
    decoded = ServerHello.decode(message.encode()[4:])
    assert decoded.key_share == KeyShareEntry(0x0017, bytes.fromhex("040506"))
    assert decoded.key_share_group == 0x0017


@pytest.mark.parametrize(
    "extensions",
    [
        ((43, bytes.fromhex("0304")), (43, bytes.fromhex("0304"))),  # duplicate
        ((43, bytes.fromhex("030400")),),  # supported_versions too long
        ((43, b""),),
        ((51, bytes.fromhex("001d 0000")),),  # empty key_exchange
        ((51, bytes.fromhex("001d 0005 01")),),
    ],
)
def test_bad_server_hello_extensions(extensions: tuple[tuple[int, bytes], ...]) -> None:
    assert extension_code("supported_versions") == 43
    assert extension_code("key_share") == 51
    message = ServerHello(0x0303, bytes(32), b"", 0x1301, 0, extensions)
    with pytest.raises(DecodeError):
        ServerHello.decode(message.encode()[4:])


def test_ssl3_server_hello_without_extensions() -> None:
    body = bytes.fromhex("0300") + bytes(32) + bytes.fromhex("00 000a 00")
    decoded = ServerHello.decode(body)
    assert decoded.extensions == ()
    assert decoded.selected_version == 0x0300
    assert decoded.encode()[4:] == body


def test_downgrade_sentinel_for_tls11_and_below() -> None:
    hello = ServerHello(0x0302, bytes(24) + b"DOWNGRD\x00", b"", 0x002F, 0)
    assert hello.downgrade_sentinel == ProtocolVersion.TLS1_1


# Certificate (TLS 1.3 shape)


def test_certificate13_round_trip_three_ways() -> None:
    message = Certificate13(
        b"",
        (
            CertificateEntry(b"\x30\x03\x02\x01\x01", ((5, b"\x01"),)),
            CertificateEntry(b"\x30\x00"),
        ),
    )
    encoded = message.encode()
    assert Certificate13.decode(encoded[4:]) == message
    assert message.certificates == (b"\x30\x03\x02\x01\x01", b"\x30\x00")
    [(_, body)] = messages_of([Record(22, 0x0303, encoded[i : i + 1]) for i in range(len(encoded))])
    assert Certificate13.decode(body) == message
    with pytest.raises(DecodeError):
        Certificate13.decode(encoded[4:] + b"\x00")


def test_empty_certificate_entry_is_refused() -> None:
    with pytest.raises(DecodeError):
        Certificate.decode(bytes.fromhex("000003 000000"))


# ServerKeyExchange shapes


def test_dhe_with_an_rfc7919_prime_names_its_group() -> None:
    prime = ffdhe.prime_for_name("ffdhe2048")
    params = ServerDHParams(prime.to_bytes(256, "big"), b"\x02", b"\x05" * 256)
    message = ServerKeyExchange(params, scheme_code("rsa_pss_rsae_sha256"), b"sig")
    decoded = ServerKeyExchange.decode(message.encode()[4:], key_exchange="DHE", version=0x0303)
    assert decoded == message
    assert decoded.group == group_code("ffdhe2048")
    assert decoded.dh_prime_bits == 2048


def test_dhe_with_a_custom_prime_has_no_group() -> None:
    params = ServerDHParams(b"\xff" * 128, b"\x02", b"\x05")
    message = ServerKeyExchange(params, None, b"sig")  # TLS 1.1: no algorithm field
    decoded = ServerKeyExchange.decode(message.encode()[4:], key_exchange="DHE", version=0x0302)
    assert decoded == message
    assert decoded.group is None
    assert decoded.dh_prime_bits == 1024
    assert decoded.signature_scheme is None


def test_anonymous_key_exchange_has_no_signature() -> None:
    params = ServerECDHParams(3, group_code("x25519"), b"\x01" * 32)
    body = ServerKeyExchange(params).encode()[4:]
    for anonymous in (None, True):
        decoded = ServerKeyExchange.decode(
            body, key_exchange="ECDHE", version=0x0303, anonymous=anonymous
        )
        assert decoded == ServerKeyExchange(params)
    with pytest.raises(DecodeError):
        ServerKeyExchange.decode(body, key_exchange="ECDHE", version=0x0303, anonymous=False)


def test_export_rsa_and_psk_shapes() -> None:
    rsa = ServerKeyExchange(ServerRSAParams(b"\xc5" * 64, b"\x01\x00\x01"), None, b"s")
    assert (
        ServerKeyExchange.decode(rsa.encode()[4:], key_exchange="RSA_EXPORT", version=0x0301) == rsa
    )
    psk = ServerKeyExchange(
        ServerECDHParams(3, group_code("secp256r1"), b"\x04" + bytes(64)), psk_identity_hint=b"hint"
    )
    decoded = ServerKeyExchange.decode(psk.encode()[4:], key_exchange="ECDHE_PSK", version=0x0303)
    assert decoded == psk


def test_explicit_curves_and_unknown_key_exchanges() -> None:
    with pytest.raises(DecodeError):
        ServerKeyExchange.decode(bytes.fromhex("01 00"), key_exchange="ECDHE", version=0x0303)
    with pytest.raises(ValueError, match="no ServerKeyExchange shape"):
        ServerKeyExchange.decode(b"", key_exchange="KRB5", version=0x0303)


# SSL 2.0


def test_sslv2_server_hello_round_trip_three_ways() -> None:
    message = SSLv2ServerHello(0, 1, 0x0002, b"\x30\x82\x00\x00", (0x010080, 0x030080), b"c" * 16)
    encoded = message.encode()
    assert encoded[:11] == bytes.fromhex("04 00 01 0002 0004 0006 0010")
    assert parse_sslv2_server_hello(encoded) == message
    [record] = records_of(encode_sslv2_record(encoded), 1)
    assert parse_sslv2_server_hello(record.message) == message  # type: ignore[union-attr]
    with pytest.raises(DecodeError):
        parse_sslv2_server_hello(encoded + b"\x00")
    with pytest.raises(DecodeError):
        parse_sslv2_server_hello(SSLv2Error(1).encode())


def test_sslv2_error() -> None:
    assert parse_sslv2_error(bytes.fromhex("00 0001")) == SSLv2Error(1)
    assert SSLv2Error(1).encode() == bytes.fromhex("00 0001")
    with pytest.raises(DecodeError):
        parse_sslv2_error(bytes.fromhex("00 0001 00"))


# Properties


extension_types = st.integers(0, 0xFFFF).filter(lambda t: t not in (43, 51))
server_hellos = st.builds(
    ServerHello,
    legacy_version=st.integers(0, 0xFFFF),
    random=st.binary(min_size=32, max_size=32),
    legacy_session_id=st.binary(max_size=32),
    cipher_suite=st.integers(0, 0xFFFF),
    legacy_compression_method=st.integers(0, 255),
    extensions=st.dictionaries(extension_types, st.binary(max_size=40), max_size=8).map(
        lambda d: tuple(d.items())
    ),
)


@given(server_hellos)
def test_server_hello_round_trip(message: ServerHello) -> None:
    assert ServerHello.decode(message.encode()[4:]) == message


@given(
    st.builds(
        SSLv2ServerHello,
        session_id_hit=st.integers(0, 255),
        certificate_type=st.integers(0, 255),
        version=st.integers(0, 0xFFFF),
        certificate=st.binary(max_size=100),
        cipher_specs=st.lists(st.integers(0, 0xFFFFFF), max_size=10).map(tuple),
        connection_id=st.binary(max_size=32),
    )
)
def test_sslv2_server_hello_round_trip(message: SSLv2ServerHello) -> None:
    assert parse_sslv2_server_hello(message.encode()) == message


PARSERS = [
    ServerHello.decode,
    parse_alert,
    Certificate.decode,
    Certificate13.decode,
    ServerHelloDone.decode,
    parse_sslv2_server_hello,
    parse_sslv2_error,
    *(
        lambda data, kind=kind, version=version: ServerKeyExchange.decode(
            data, key_exchange=kind, version=version
        )
        for kind in ("ECDHE", "DHE", "RSA_EXPORT", "DHE_PSK", "ECDHE_PSK")
        for version in (0x0301, 0x0303)
    ),
]


@pytest.mark.parametrize("parse", PARSERS)
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_decode_error(parse: object, data: bytes) -> None:
    assert callable(parse)
    with contextlib.suppress(DecodeError):
        parse(data)
