"""MySQL and MariaDB: the greeting we read, and the SSLRequest we answer with."""

from __future__ import annotations

import pytest
from byte_dialog_helpers import chunks
from hypothesis import given, settings
from hypothesis import strategies as st

from protoaudit.errors import DecodeError
from protoaudit.proto.starttls.base import MAX_DIALOG_BYTES, Dialog, Status
from protoaudit.proto.starttls.mysql import (
    CLIENT_PLUGIN_AUTH,
    CLIENT_PROTOCOL_41,
    CLIENT_SECURE_CONNECTION,
    CLIENT_SSL,
    MAX_GREETING_LENGTH,
    SSL_REQUEST,
    ErrPacket,
    HandshakeV10,
    MysqlStartTls,
    capability_names,
    encode_packet,
    encode_ssl_request,
)

# Captured from MariaDB 10.11.19 (Debian 12) on loopback, started with
# --ssl-cert/--ssl-key: CLIENT_SSL set, CLIENT_MYSQL clear, MariaDB's extended
# capabilities (0x1d) in the last reserved bytes, latin1 (8) as charset.
MARIADB_10_11_SSL = bytes.fromhex(
    "640000000a352e352e352d31302e31312e31392d4d6172696144422d302b646562313275310003000000"
    "2875364d61217c6f00feff080200ff81150000000000001d0000003a6f44425f383a593129763d006d79"
    "73716c5f6e61746976655f70617373776f726400"
)
# The same server without a certificate, utf8mb4 (45): CLIENT_SSL clear (0xf7fe).
MARIADB_10_11_NO_SSL = bytes.fromhex(
    "640000000a352e352e352d31302e31312e31392d4d6172696144422d302b646562313275310003000000"
    "4f485b724a5b687b00fef72d0200ff81150000000000001d000000526834672e4d762f2568612b006d79"
    "73716c5f6e61746976655f70617373776f726400"
)
# MySQL 8.0.32's greeting as laid out byte by byte in a public protocol
# walk-through (connection id 8, utf8mb4_0900_ai_ci, caching_sha2_password);
# the same bytes as MySQL 8.0.42 greetings seen elsewhere but for the scramble.
MYSQL_8_PAYLOAD = (
    bytes.fromhex("0a")
    + b"8.0.32\x00"
    + bytes.fromhex("08000000 1c46194659764 04b 00 ffff ff 0200 ffdf 15".replace(" ", ""))
    + bytes(10)
    + bytes.fromhex("3f71347153455e5d227a323d00")
    + b"caching_sha2_password\x00"
)
MYSQL_8 = encode_packet(0, MYSQL_8_PAYLOAD)
# ERR packets sent instead of a greeting (no SQL state: the client's
# CLIENT_PROTOCOL_41 is not known yet), and one with it, as some servers do.
HOST_NOT_ALLOWED = encode_packet(
    0,
    bytes.fromhex("ff6a04") + b"Host '192.0.2.7' is not allowed to connect to this MariaDB server",
)
TOO_MANY = encode_packet(0, bytes.fromhex("ff1004") + b"#08004Too many connections")


def run(greeting: bytes, piece: int | None = None) -> MysqlStartTls:
    dialog = MysqlStartTls()
    assert dialog.bytes_to_send() == b""  # the server speaks first
    for chunk in chunks(greeting, piece):
        dialog.receive_data(chunk)
    return dialog


def test_the_ssl_request_is_byte_exact() -> None:
    assert (
        bytes.fromhex(
            "20000001"  # 32 bytes, sequence id 1
            "008a0000"  # CLIENT_PROTOCOL_41 | CLIENT_SSL | CLIENT_SECURE_CONNECTION
            "00000001"  # max packet size 16 MiB
            "21"  # utf8_general_ci
        )
        + bytes(23)
        == SSL_REQUEST
    )
    assert encode_ssl_request() == SSL_REQUEST
    custom = encode_ssl_request(
        capability_flags=0x0A8A08, max_packet_size=0xFFFFFF, character_set=0xE0
    )
    assert custom[4:13] == bytes.fromhex("088a0a00 ffffff00 e0")


@pytest.mark.parametrize("piece", [None, 1, 9])
def test_mariadb_with_ssl(piece: int | None) -> None:
    dialog = run(MARIADB_10_11_SSL, piece)
    # READY with the SSLRequest queued: the engine sends it, then TLS starts.
    assert dialog.status is Status.READY
    assert dialog.bytes_to_send() == SSL_REQUEST
    assert dialog.bytes_to_send() == b""
    outcome = dialog.outcome
    assert outcome.protocol == "mysql"
    assert outcome.banner == "5.5.5-10.11.19-MariaDB-0+deb12u1"
    assert outcome.starttls_offered is True
    assert outcome.plaintext_auth_offered == ()
    assert outcome.failure is None
    assert outcome.capabilities_before == (
        "CLIENT_FOUND_ROWS",
        "CLIENT_LONG_FLAG",
        "CLIENT_CONNECT_WITH_DB",
        "CLIENT_NO_SCHEMA",
        "CLIENT_COMPRESS",
        "CLIENT_ODBC",
        "CLIENT_LOCAL_FILES",
        "CLIENT_IGNORE_SPACE",
        "CLIENT_PROTOCOL_41",
        "CLIENT_INTERACTIVE",
        "CLIENT_SSL",
        "CLIENT_IGNORE_SIGPIPE",
        "CLIENT_TRANSACTIONS",
        "CLIENT_RESERVED",
        "CLIENT_SECURE_CONNECTION",
        "CLIENT_MULTI_STATEMENTS",
        "CLIENT_MULTI_RESULTS",
        "CLIENT_PS_MULTI_RESULTS",
        "CLIENT_PLUGIN_AUTH",
        "CLIENT_CONNECT_ATTRS",
        "CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA",
        "CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS",
        "CLIENT_SESSION_TRACK",
        "CLIENT_DEPRECATE_EOF",
        "CLIENT_REMEMBER_OPTIONS",
        "MARIADB_CLIENT_PROGRESS",
        "MARIADB_CLIENT_STMT_BULK_OPERATIONS",
        "MARIADB_CLIENT_EXTENDED_METADATA",
        "MARIADB_CLIENT_CACHE_METADATA",
    )
    assert outcome.transcript == (("S", MARIADB_10_11_SSL), ("C", SSL_REQUEST))


def test_mariadb_without_ssl() -> None:
    dialog = run(MARIADB_10_11_NO_SSL)
    assert dialog.status is Status.FAILED
    assert dialog.outcome.failure == "server does not offer SSL"
    assert dialog.outcome.starttls_offered is False
    assert dialog.outcome.banner == "5.5.5-10.11.19-MariaDB-0+deb12u1"
    assert "CLIENT_SSL" not in dialog.outcome.capabilities_before
    assert dialog.bytes_to_send() == b""


@pytest.mark.parametrize("piece", [None, 1, 9])
def test_mysql_8(piece: int | None) -> None:
    dialog = run(MYSQL_8, piece)
    assert dialog.status is Status.READY
    assert dialog.bytes_to_send() == SSL_REQUEST
    assert dialog.outcome.banner == "8.0.32"
    names = dialog.outcome.capabilities_before
    assert names[0] == "CLIENT_LONG_PASSWORD"
    assert "CLIENT_SSL" in names
    assert "CLIENT_QUERY_ATTRIBUTES" in names
    assert "CLIENT_CAPABILITY_EXTENSION" not in names  # 0xdfff: bit 29 clear


def test_golden_greetings_decode_and_encode_back() -> None:
    greeting = HandshakeV10.decode(MYSQL_8_PAYLOAD)
    assert greeting == HandshakeV10(
        server_version=b"8.0.32",
        thread_id=8,
        auth_plugin_data_part_1=bytes.fromhex("1c46194659764 04b".replace(" ", "")),
        capability_flags_1=0xFFFF,
        character_set=255,
        status_flags=2,
        capability_flags_2=0xDFFF,
        auth_plugin_data_len=21,
        reserved=bytes(10),
        auth_plugin_data_part_2=bytes.fromhex("3f71347153455e5d227a323d00"),
        auth_plugin_name=b"caching_sha2_password",
    )
    assert greeting.encode() == MYSQL_8_PAYLOAD
    assert greeting.mariadb_capabilities is None
    mariadb = HandshakeV10.decode(MARIADB_10_11_SSL[4:])
    assert mariadb.is_mariadb_extended
    assert mariadb.mariadb_capabilities == 0x1D
    assert mariadb.capability_flags == 0x1D_81FF_FFFE
    assert mariadb.encode() == MARIADB_10_11_SSL[4:]


def test_err_packets_instead_of_a_greeting() -> None:
    dialog = run(HOST_NOT_ALLOWED)
    assert dialog.status is Status.FAILED
    assert dialog.outcome.failure == (
        "server sent error 1130: Host '192.0.2.7' is not allowed to connect to this MariaDB server"
    )
    assert run(TOO_MANY).outcome.failure == "server sent error 1040 (08004): Too many connections"
    assert ErrPacket.decode(TOO_MANY[4:]) == ErrPacket(1040, b"08004", b"Too many connections")


def test_trailing_bytes_after_the_greeting() -> None:
    dialog = run(MARIADB_10_11_SSL + b"\x01\x00\x00\x01\x00")
    assert dialog.status is Status.FAILED
    assert dialog.outcome.failure == (
        "5 bytes after the greeting, before the client answered: "
        "the server must wait for our packet"
    )
    assert dialog.bytes_to_send() == b""


def _greeting(
    capabilities: int, *, plugin: bytes | None = b"mysql_native_password\x00", part_2: int = 13
) -> bytes:
    payload = (
        b"\x0a5.7.44\x00"
        + bytes.fromhex("01000000 6161616161616161 00")
        + (capabilities & 0xFFFF).to_bytes(2, "little")
        + bytes.fromhex("21 0200")
        + (capabilities >> 16).to_bytes(2, "little")
        + bytes([21 if capabilities & CLIENT_PLUGIN_AUTH else 0])
        + bytes(10)
        + (b"b" * (part_2 - 1) + b"\x00" if capabilities & CLIENT_SECURE_CONNECTION else b"")
        + (plugin or b"")
    )
    return encode_packet(0, payload)


FULL = CLIENT_PROTOCOL_41 | CLIENT_SSL | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH


def test_plugin_name_without_its_nul_is_read() -> None:
    # MySQL 5.5.7 to 5.5.9 left the NUL off the plugin name.
    dialog = run(_greeting(FULL, plugin=b"mysql_native_password"))
    assert dialog.status is Status.READY
    assert dialog.greeting is not None
    assert dialog.greeting.auth_plugin_name == b"mysql_native_password"


def test_a_clear_password_plugin_is_plaintext_auth() -> None:
    dialog = run(_greeting(FULL, plugin=b"mysql_clear_password\x00"))
    assert dialog.outcome.plaintext_auth_offered == ("mysql_clear_password",)


def test_a_short_pre_4_1_greeting() -> None:
    payload = b"\x0a4.0.30\x00" + bytes.fromhex("01000000 6161616161616161 00 2c08")
    dialog = run(encode_packet(0, payload))
    assert dialog.outcome.failure == (
        "server offers SSL only with the pre-4.1 protocol, which is not spoken here"
    )
    assert dialog.greeting == HandshakeV10(
        server_version=b"4.0.30",
        thread_id=1,
        auth_plugin_data_part_1=b"a" * 8,
        capability_flags_1=0x082C,
    )


@pytest.mark.parametrize(
    ("data", "failure"),
    [
        (encode_packet(1, MYSQL_8_PAYLOAD), "greeting packet with sequence id 1, not 0"),
        (encode_packet(0, b"\x09" + MYSQL_8_PAYLOAD[1:]), "protocol version 9 (MySQL before 3.21"),
        (encode_packet(0, b"\x0b" + MYSQL_8_PAYLOAD[1:]), "protocol version 11;"),
        (encode_packet(0, b""), "empty greeting packet"),
        (encode_packet(0, MYSQL_8_PAYLOAD + b"x"), "1 bytes after the last field"),
        (encode_packet(0, MYSQL_8_PAYLOAD[:20]), "malformed greeting"),
        (encode_packet(0, b"\x0a8.0.32"), "server_version at offset 5: no terminating NUL"),
        (_greeting(FULL, part_2=5, plugin=None), "auth_plugin_data_part_2"),
        (encode_packet(0, b"\xff\x01"), "malformed ERR packet"),
        (b"SSH-2.0-OpenSSH_9.2p1\r\n", "not a MySQL server ('SSH-2.0-"),
        (b"\xff\xff\xff\x00", "greeting packet of 16777215 bytes"),
    ],
)
def test_broken_greetings(data: bytes, failure: str) -> None:
    dialog = run(data)
    assert dialog.status is Status.FAILED
    assert failure in (dialog.outcome.failure or "")


def test_decode_errors_name_the_field() -> None:
    with pytest.raises(DecodeError) as caught:
        HandshakeV10.decode(MYSQL_8_PAYLOAD[:14])
    assert caught.value.field == "auth_plugin_data_part_1"
    assert caught.value.protocol == "mysql"


def test_closed_connections() -> None:
    dialog = run(b"")
    dialog.connection_closed()
    assert dialog.outcome.failure == "connection closed by the server before its greeting"
    dialog = run(MYSQL_8[:10])
    dialog.connection_closed()
    assert dialog.outcome.failure == (
        "connection closed by the server in the middle of its greeting (10 bytes received)"
    )
    dialog = run(MYSQL_8)
    dialog.connection_closed()
    assert dialog.status is Status.READY


def test_unnamed_bits_keep_their_number() -> None:
    assert capability_names(1 << 40 | 1, mariadb=False) == ("CLIENT_LONG_PASSWORD", "CLIENT_BIT_40")
    assert capability_names(1 << 40 | 1 << 29, mariadb=True) == (
        "CLIENT_PROGRESS_OBSOLETE",
        "MARIADB_CLIENT_BIT_40",
    )


def test_it_is_a_dialog() -> None:
    dialog: Dialog = MysqlStartTls()
    assert dialog.protocol == "mysql"


@settings(max_examples=300)
@given(st.binary(max_size=6000), st.integers(1, 300))
def test_arbitrary_bytes_never_raise_and_stay_bounded(data: bytes, piece: int) -> None:
    dialog = MysqlStartTls()
    for chunk in chunks(data, piece):
        dialog.receive_data(chunk)
        assert dialog.buffered <= 4 + MAX_GREETING_LENGTH
    dialog.connection_closed()
    assert dialog.status is not Status.RUNNING
    assert sum(len(part) for _, part in dialog.outcome.transcript) <= MAX_DIALOG_BYTES


@given(st.binary(max_size=300))
def test_arbitrary_greeting_payloads_never_raise(payload: bytes) -> None:
    dialog = run(encode_packet(0, b"\x0a" + payload))
    assert dialog.status is not Status.RUNNING
