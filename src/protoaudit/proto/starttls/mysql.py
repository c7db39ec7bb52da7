"""MySQL and MariaDB: the greeting, CLIENT_SSL, and the SSLRequest packet.

The server speaks first, with its initial handshake packet (HandshakeV10 in
MySQL's "Client/Server Protocol" documentation, "Initial Handshake Packet" in
MariaDB's). Every packet is a 3-byte little-endian payload length, a sequence
id, and the payload. States:

    WAIT_GREETING --greeting with CLIENT_SSL--> READY (SSLRequest queued)
                  --greeting without it------> FAILED "server does not offer SSL"
                  --ERR packet, other bytes--> FAILED

READY comes as soon as the SSLRequest is queued: the engine sends what
`bytes_to_send()` returns after `receive_data()` (base.py's loop) and the
server's next bytes are TLS. The SSLRequest (sequence id 1) is the first 32
bytes of a HandshakeResponse41: capability flags, max packet size, character
set and 23 zero bytes.

What it refuses, each as FAILED with the reason:

- a greeting longer than MAX_GREETING_LENGTH, or split across packets
  (payload length 0xFFFFFF): a greeting is about a hundred bytes;
- a sequence id other than 0, a protocol version other than 10 (version 9
  predates SSL; 0xFF is an ERR packet, "Host is not allowed to connect" or
  "Too many connections", quoted in the failure);
- fields that run past the packet, or bytes after the greeting's last field;
- a server that offers SSL but only with the pre-4.1 protocol: its shorter
  SSL request is not spoken here;
- bytes after the greeting before the client answered: the server has
  nothing more to say until it reads our packet.

MySQL 5.5.7 to 5.5.9 left the NUL off auth_plugin_name, so the end of the
packet also ends that field, as libmysqlclient allows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from protoaudit.errors import DecodeError
from protoaudit.proto.starttls.base import DialogOutcome
from protoaudit.proto.starttls.byte_dialog import ByteDialog
from protoaudit.sanitize import quote_bytes

PROTOCOL = "mysql"
MAX_GREETING_LENGTH = 4096  # payload bytes; MySQL 8's greeting is 74, MariaDB 10.11's about 100
MAX_ERROR_SHOWN = 200
PACKET_HEADER_LENGTH = 4
PROTOCOL_VERSION = 10
ERR_HEADER = 0xFF

# Capability flags (MySQL include/mysql_com.h, MariaDB include/mysql_com.h).
CLIENT_LONG_PASSWORD = 1 << 0  # MariaDB: CLIENT_MYSQL, cleared by a MariaDB server
CLIENT_PROTOCOL_41 = 1 << 9
CLIENT_SSL = 1 << 11
CLIENT_SECURE_CONNECTION = 1 << 15
CLIENT_PLUGIN_AUTH = 1 << 19

_CAPABILITY_NAMES = {
    0: "CLIENT_LONG_PASSWORD",
    1: "CLIENT_FOUND_ROWS",
    2: "CLIENT_LONG_FLAG",
    3: "CLIENT_CONNECT_WITH_DB",
    4: "CLIENT_NO_SCHEMA",
    5: "CLIENT_COMPRESS",
    6: "CLIENT_ODBC",
    7: "CLIENT_LOCAL_FILES",
    8: "CLIENT_IGNORE_SPACE",
    9: "CLIENT_PROTOCOL_41",
    10: "CLIENT_INTERACTIVE",
    11: "CLIENT_SSL",
    12: "CLIENT_IGNORE_SIGPIPE",
    13: "CLIENT_TRANSACTIONS",
    14: "CLIENT_RESERVED",
    15: "CLIENT_SECURE_CONNECTION",
    16: "CLIENT_MULTI_STATEMENTS",
    17: "CLIENT_MULTI_RESULTS",
    18: "CLIENT_PS_MULTI_RESULTS",
    19: "CLIENT_PLUGIN_AUTH",
    20: "CLIENT_CONNECT_ATTRS",
    21: "CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA",
    22: "CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS",
    23: "CLIENT_SESSION_TRACK",
    24: "CLIENT_DEPRECATE_EOF",
    25: "CLIENT_OPTIONAL_RESULTSET_METADATA",
    26: "CLIENT_ZSTD_COMPRESSION_ALGORITHM",
    27: "CLIENT_QUERY_ATTRIBUTES",
    28: "MULTI_FACTOR_AUTHENTICATION",
    29: "CLIENT_CAPABILITY_EXTENSION",
    30: "CLIENT_SSL_VERIFY_SERVER_CERT",
    31: "CLIENT_REMEMBER_OPTIONS",
}
# Where MariaDB gave a bit another meaning, and its extended flags (bits 32..63,
# sent in the last four reserved bytes when CLIENT_MYSQL is clear).
_MARIADB_CAPABILITY_NAMES = {
    **_CAPABILITY_NAMES,
    0: "CLIENT_MYSQL",
    29: "CLIENT_PROGRESS_OBSOLETE",
    30: "CLIENT_SSL_VERIFY_SERVER_CERT_OBSOLETE",
    32: "MARIADB_CLIENT_PROGRESS",
    33: "MARIADB_CLIENT_COM_MULTI",
    34: "MARIADB_CLIENT_STMT_BULK_OPERATIONS",
    35: "MARIADB_CLIENT_EXTENDED_METADATA",
    36: "MARIADB_CLIENT_CACHE_METADATA",
    37: "MARIADB_CLIENT_BULK_UNIT_RESULTS",
}

# Authentication plugins that send the password itself; offered before TLS,
# the password crosses the network in clear.
PLAINTEXT_AUTH_PLUGINS = frozenset({b"mysql_clear_password", b"dialog"})

SSL_REQUEST_CAPABILITIES = CLIENT_SSL | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION
MAX_PACKET_SIZE = 1 << 24  # what libmysqlclient sends by default
# utf8_general_ci: every server since 4.1 knows it; nothing is said in it before TLS.
CHARACTER_SET = 33


def capability_names(flags: int, *, mariadb: bool = False) -> tuple[str, ...]:
    """Names of the set bits, lowest first; a bit without a name keeps its number."""
    table = _MARIADB_CAPABILITY_NAMES if mariadb else _CAPABILITY_NAMES
    prefix = "MARIADB_CLIENT_BIT_" if mariadb else "CLIENT_BIT_"
    return tuple(
        table.get(bit, f"{prefix}{bit}") for bit in range(flags.bit_length()) if flags >> bit & 1
    )


def encode_packet(sequence_id: int, payload: bytes) -> bytes:
    """A packet header and payload; a payload too long for one packet is the caller's to split."""
    return (len(payload) & 0xFFFFFF).to_bytes(3, "little") + bytes([sequence_id]) + payload


def encode_ssl_request(
    *,
    capability_flags: int = SSL_REQUEST_CAPABILITIES,
    max_packet_size: int = MAX_PACKET_SIZE,
    character_set: int = CHARACTER_SET,
    sequence_id: int = 1,
) -> bytes:
    """Protocol::SSLRequest as one packet."""
    payload = (
        capability_flags.to_bytes(4, "little")
        + max_packet_size.to_bytes(4, "little")
        + bytes([character_set])
        + bytes(23)
    )
    return encode_packet(sequence_id, payload)


SSL_REQUEST = encode_ssl_request()


class _Fields:
    """Little-endian fields of one packet payload, bounded by the payload."""

    __slots__ = ("_data", "_position")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._position = 0

    def remaining(self) -> int:
        return len(self._data) - self._position

    def fail(self, field: str, reason: str) -> DecodeError:
        # Offsets count from the packet header, as a capture shows them.
        return DecodeError(PROTOCOL, field, PACKET_HEADER_LENGTH + self._position, reason)

    def take(self, count: int, field: str) -> bytes:
        if count > self.remaining():
            raise self.fail(field, f"needs {count} bytes, {self.remaining()} left")
        start = self._position
        self._position += count
        return self._data[start : self._position]

    def uint(self, width: int, field: str) -> int:
        return int.from_bytes(self.take(width, field), "little")

    def nul_string(self, field: str, *, end_may_terminate: bool = False) -> bytes:
        end = self._data.find(b"\x00", self._position)
        if end < 0:
            if not end_may_terminate:
                raise self.fail(field, "no terminating NUL")
            end = len(self._data)
        value = self._data[self._position : end]
        self._position = min(end + 1, len(self._data))
        return value


@dataclass(frozen=True, slots=True)
class HandshakeV10:
    """The server's initial handshake packet, with the documentation's field names.

    The fields after capability_flags_1 are None when the packet ends there (a
    server before 4.1 may); the packet's round trip is exact otherwise.
    """

    server_version: bytes
    thread_id: int
    auth_plugin_data_part_1: bytes
    capability_flags_1: int
    filler: int = 0
    character_set: int | None = None
    status_flags: int | None = None
    capability_flags_2: int | None = None
    auth_plugin_data_len: int | None = None
    reserved: bytes | None = None
    auth_plugin_data_part_2: bytes | None = None
    auth_plugin_name: bytes | None = None
    protocol_version: int = PROTOCOL_VERSION

    @property
    def capability_flags(self) -> int:
        """Both halves, and MariaDB's extended flags above bit 31 when it sent them."""
        flags = self.capability_flags_1 | (self.capability_flags_2 or 0) << 16
        return flags | (self.mariadb_capabilities or 0) << 32

    @property
    def mariadb_capabilities(self) -> int | None:
        """The last four reserved bytes, which MariaDB fills when it clears CLIENT_MYSQL."""
        if self.is_mariadb_extended and self.reserved is not None:
            return int.from_bytes(self.reserved[6:10], "little")
        return None

    @property
    def is_mariadb_extended(self) -> bool:
        return self.capability_flags_2 is not None and not self.capability_flags_1 & 1

    def capability_names(self) -> tuple[str, ...]:
        return capability_names(self.capability_flags, mariadb=self.is_mariadb_extended)

    @classmethod
    def decode(cls, payload: bytes) -> HandshakeV10:
        fields = _Fields(payload)
        protocol_version = fields.uint(1, "protocol_version")
        if protocol_version != PROTOCOL_VERSION:
            raise fields.fail("protocol_version", f"{protocol_version}, not {PROTOCOL_VERSION}")
        server_version = fields.nul_string("server_version")
        thread_id = fields.uint(4, "thread_id")
        part_1 = fields.take(8, "auth_plugin_data_part_1")
        filler = fields.uint(1, "filler")
        capability_flags_1 = fields.uint(2, "capability_flags_1")
        pre_41 = cls(  # the fields every greeting has; a server before 4.1 may stop here
            server_version=server_version,
            thread_id=thread_id,
            auth_plugin_data_part_1=part_1,
            capability_flags_1=capability_flags_1,
            filler=filler,
        )
        if not fields.remaining():
            return pre_41
        character_set = fields.uint(1, "character_set")
        status_flags = fields.uint(2, "status_flags")
        capability_flags_2 = fields.uint(2, "capability_flags_2")
        capabilities = capability_flags_1 | capability_flags_2 << 16
        auth_plugin_data_len = fields.uint(1, "auth_plugin_data_len")
        reserved = fields.take(10, "reserved")
        part_2: bytes | None = None
        if capabilities & CLIENT_SECURE_CONNECTION:
            part_2 = fields.take(max(13, auth_plugin_data_len - 8), "auth_plugin_data_part_2")
        plugin_name: bytes | None = None
        if capabilities & CLIENT_PLUGIN_AUTH:
            plugin_name = fields.nul_string("auth_plugin_name", end_may_terminate=True)
        if fields.remaining():
            raise fields.fail("greeting", f"{fields.remaining()} bytes after the last field")
        return replace(
            pre_41,
            character_set=character_set,
            status_flags=status_flags,
            capability_flags_2=capability_flags_2,
            auth_plugin_data_len=auth_plugin_data_len,
            reserved=reserved,
            auth_plugin_data_part_2=part_2,
            auth_plugin_name=plugin_name,
        )

    def encode(self) -> bytes:
        """The payload (no packet header)."""
        parts = [
            bytes([self.protocol_version]),
            self.server_version + b"\x00",
            self.thread_id.to_bytes(4, "little"),
            self.auth_plugin_data_part_1,
            bytes([self.filler]),
            self.capability_flags_1.to_bytes(2, "little"),
        ]
        if self.capability_flags_2 is not None:
            parts += [
                bytes([self.character_set or 0]),
                (self.status_flags or 0).to_bytes(2, "little"),
                self.capability_flags_2.to_bytes(2, "little"),
                bytes([self.auth_plugin_data_len or 0]),
                self.reserved if self.reserved is not None else bytes(10),
                self.auth_plugin_data_part_2 or b"",
            ]
            if self.auth_plugin_name is not None:
                parts.append(self.auth_plugin_name + b"\x00")
        return b"".join(parts)


@dataclass(frozen=True, slots=True)
class ErrPacket:
    """An ERR packet sent instead of a greeting."""

    error_code: int
    sql_state: bytes | None
    error_message: bytes

    @classmethod
    def decode(cls, payload: bytes) -> ErrPacket:
        fields = _Fields(payload)
        header = fields.uint(1, "header")
        if header != ERR_HEADER:
            raise fields.fail("header", f"0x{header:02x}, not an ERR packet")
        error_code = fields.uint(2, "error_code")
        rest = fields.take(fields.remaining(), "error_message")
        # Before the handshake the server does not know CLIENT_PROTOCOL_41 yet;
        # some send the '#' and SQL state anyway.
        if rest.startswith(b"#") and len(rest) >= 6:
            return cls(error_code, rest[1:6], rest[6:])
        return cls(error_code, None, rest)

    def describe(self) -> str:
        text = self.error_message.decode("utf-8", "replace").strip()
        if len(text) > MAX_ERROR_SHOWN:
            text = text[:MAX_ERROR_SHOWN] + "\u2026"
        state = f" ({self.sql_state.decode('ascii', 'replace')})" if self.sql_state else ""
        return f"error {self.error_code}{state}: {text}"


class MysqlStartTls(ByteDialog):
    """Greeting, CLIENT_SSL check and SSLRequest; see the module docstring.

    The keywords set the SSLRequest's fields; the defaults suit MySQL 4.1 and
    later and every MariaDB.
    """

    protocol = PROTOCOL

    __slots__ = (
        "_buffer",
        "_capability_flags",
        "_character_set",
        "_greeting",
        "_max_packet_size",
    )

    def __init__(
        self,
        *,
        capability_flags: int = SSL_REQUEST_CAPABILITIES,
        max_packet_size: int = MAX_PACKET_SIZE,
        character_set: int = CHARACTER_SET,
    ) -> None:
        super().__init__()  # the server speaks first
        self._capability_flags = capability_flags
        self._max_packet_size = max_packet_size
        self._character_set = character_set
        self._buffer = bytearray()
        self._greeting: HandshakeV10 | None = None

    @property
    def greeting(self) -> HandshakeV10 | None:
        return self._greeting

    @property
    def outcome(self) -> DialogOutcome:
        outcome = super().outcome
        greeting = self._greeting
        if greeting is None:
            return outcome
        plugin = greeting.auth_plugin_name
        return replace(
            outcome,
            banner=greeting.server_version.decode("latin-1"),
            capabilities_before=greeting.capability_names(),
            plaintext_auth_offered=(
                (plugin.decode("latin-1"),) if plugin in PLAINTEXT_AUTH_PLUGINS else ()
            ),
        )

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def _on_data(self, data: bytes) -> None:
        # Held only while incomplete, so never more than one bounded packet.
        self._buffer += data
        if len(self._buffer) < PACKET_HEADER_LENGTH:
            return
        length = int.from_bytes(self._buffer[:3], "little")
        sequence_id = self._buffer[3]
        if length > MAX_GREETING_LENGTH:
            self._fail(
                f"greeting packet of {length} bytes (at most {MAX_GREETING_LENGTH}): "
                f"not a MySQL server ({quote_bytes(bytes(self._buffer))})"
            )
            return
        if length == 0:
            self._fail("empty greeting packet")
            return
        total = PACKET_HEADER_LENGTH + length
        if len(self._buffer) < total:
            return
        payload = bytes(self._buffer[PACKET_HEADER_LENGTH:total])
        trailing = len(self._buffer) - total
        self._buffer.clear()
        if sequence_id != 0:
            self._fail(f"greeting packet with sequence id {sequence_id}, not 0")
            return
        self._on_greeting(payload, trailing)

    def _closed_failure(self) -> str:
        if self._buffer:
            return (
                f"connection closed by the server in the middle of its greeting "
                f"({len(self._buffer)} bytes received)"
            )
        return "connection closed by the server before its greeting"

    def _on_greeting(self, payload: bytes, trailing: int) -> None:
        first = payload[0]
        if first == ERR_HEADER:
            try:
                error = ErrPacket.decode(payload)
            except DecodeError as decode_error:
                self._fail(f"malformed ERR packet instead of a greeting: {decode_error}")
            else:
                self._fail(f"server sent {error.describe()}")
            return
        if first != PROTOCOL_VERSION:
            detail = " (MySQL before 3.21, no SSL)" if first == 9 else ""
            self._fail(
                f"greeting of protocol version {first}{detail}; only protocol 10 has SSLRequest"
            )
            return
        try:
            greeting = HandshakeV10.decode(payload)
        except DecodeError as error:
            self._fail(f"malformed greeting: {error}")
            return
        self._greeting = greeting
        flags = greeting.capability_flags
        self._offered = bool(flags & CLIENT_SSL)
        if trailing:
            self._fail(
                f"{trailing} bytes after the greeting, before the client answered: "
                f"the server must wait for our packet"
            )
        elif not flags & CLIENT_SSL:
            self._fail("server does not offer SSL")
        elif not flags & CLIENT_PROTOCOL_41:
            self._fail("server offers SSL only with the pre-4.1 protocol, which is not spoken here")
        else:
            self._outgoing = encode_ssl_request(
                capability_flags=self._capability_flags,
                max_packet_size=self._max_packet_size,
                character_set=self._character_set,
            )
            self._ready()

    def _fail(self, reason: str) -> None:
        super()._fail(reason)
        self._buffer.clear()


__all__ = [
    "CLIENT_PROTOCOL_41",
    "CLIENT_SECURE_CONNECTION",
    "CLIENT_SSL",
    "MAX_GREETING_LENGTH",
    "PLAINTEXT_AUTH_PLUGINS",
    "SSL_REQUEST",
    "SSL_REQUEST_CAPABILITIES",
    "ErrPacket",
    "HandshakeV10",
    "MysqlStartTls",
    "capability_names",
    "encode_packet",
    "encode_ssl_request",
]
