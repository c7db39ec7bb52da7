"""SSL 2.0 hello messages (the SSL 2.0 draft of 1995, "Protocol Messages").

A scanner only says CLIENT-HELLO and reads the answer: SERVER-HELLO (with the
server's certificate and the cipher kinds it shares with us) or ERROR. An
SSL 2.0 record's payload is `message` here, msg_type first; the two-byte
record header is `records.encode_sslv2_record` / `records.SSLv2Record`.
Cipher kinds are 3-byte code points of the registry's SSL 2.0 entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from protoaudit.errors import DecodeError
from protoaudit.proto.tls.constants import ProtocolVersion, SSLv2MessageType
from protoaudit.proto.tls.records import encode_sslv2_record
from protoaudit.wire import Reader, Writer

PROTOCOL = "sslv2"


@dataclass(frozen=True, slots=True)
class SSLv2ClientHello:
    """SSL 2.0 CLIENT-HELLO (SSL 2.0 draft, "Client Only Protocol Messages")."""

    version: int
    cipher_specs: tuple[int, ...]
    session_id: bytes
    challenge: bytes

    def encode(self) -> bytes:
        """The message, msg_type first, without the record header."""
        specs = b"".join(kind.to_bytes(3, "big") for kind in self.cipher_specs)
        return (
            Writer()
            .u8(SSLv2MessageType.CLIENT_HELLO)
            .u16(self.version)
            .u16(len(specs))
            .u16(len(self.session_id))
            .u16(len(self.challenge))
            .raw(specs)
            .raw(self.session_id)
            .raw(self.challenge)
            .getvalue()
        )

    @classmethod
    def decode(cls, message: bytes) -> SSLv2ClientHello:
        reader = Reader(message, PROTOCOL)
        msg_type = reader.u8("client_hello.msg_type")
        if msg_type != SSLv2MessageType.CLIENT_HELLO:
            raise DecodeError(PROTOCOL, "client_hello.msg_type", 0, f"message type {msg_type}")
        version = reader.u16("client_hello.version")
        specs_length = reader.u16("client_hello.cipher_specs_length")
        session_id_length = reader.u16("client_hello.session_id_length")
        challenge_length = reader.u16("client_hello.challenge_length")
        if specs_length % 3:
            raise reader.fail("client_hello.cipher_specs", f"{specs_length} is not a multiple of 3")
        specs = reader.bytes(specs_length, "client_hello.cipher_specs")
        session_id = reader.bytes(session_id_length, "client_hello.session_id")
        challenge = reader.bytes(challenge_length, "client_hello.challenge")
        reader.expect_end("client_hello")
        return cls(
            version=version,
            cipher_specs=split_cipher_kinds(specs),
            session_id=session_id,
            challenge=challenge,
        )


def split_cipher_kinds(specs: bytes) -> tuple[int, ...]:
    """SSL 2.0 CIPHER-SPECS-DATA as 3-byte CIPHER-KIND values; the caller checks the length."""
    return tuple(int.from_bytes(specs[i : i + 3], "big") for i in range(0, len(specs), 3))


def build_sslv2_client_hello(cipher_kinds: Sequence[int], challenge: bytes) -> bytes:
    """An SSL 2.0 CLIENT-HELLO record (version 0x0002, no session id), ready for the socket.

    The draft wants a challenge of 16 to 32 bytes; servers check it, this does not.
    """
    hello = SSLv2ClientHello(
        version=ProtocolVersion.SSL2,
        cipher_specs=tuple(cipher_kinds),
        session_id=b"",
        challenge=challenge,
    )
    return encode_sslv2_record(hello.encode())


@dataclass(frozen=True, slots=True)
class SSLv2ServerHello:
    """SSL 2.0 SERVER-HELLO; `cipher_specs` are 3-byte CIPHER-KIND values."""

    session_id_hit: int
    certificate_type: int
    version: int
    certificate: bytes
    cipher_specs: tuple[int, ...]
    connection_id: bytes

    def encode(self) -> bytes:
        """The message, msg_type first, without the record header."""
        specs = b"".join(kind.to_bytes(3, "big") for kind in self.cipher_specs)
        return (
            Writer()
            .u8(SSLv2MessageType.SERVER_HELLO)
            .u8(self.session_id_hit)
            .u8(self.certificate_type)
            .u16(self.version)
            .u16(len(self.certificate))
            .u16(len(specs))
            .u16(len(self.connection_id))
            .raw(self.certificate)
            .raw(specs)
            .raw(self.connection_id)
            .getvalue()
        )


def _sslv2_message_type(reader: Reader, expected: SSLv2MessageType) -> None:
    msg_type = reader.u8("msg_type")
    if msg_type != expected:
        raise DecodeError(PROTOCOL, "msg_type", 0, f"message type {msg_type}, expected {expected}")


def parse_sslv2_server_hello(data: bytes) -> SSLv2ServerHello:
    """A SERVER-HELLO from an SSL 2.0 record's payload (msg_type first)."""
    reader = Reader(data, PROTOCOL)
    _sslv2_message_type(reader, SSLv2MessageType.SERVER_HELLO)
    session_id_hit = reader.u8("server_hello.session_id_hit")
    certificate_type = reader.u8("server_hello.certificate_type")
    version = reader.u16("server_hello.server_version")
    certificate_length = reader.u16("server_hello.certificate_length")
    specs_length = reader.u16("server_hello.cipher_specs_length")
    connection_id_length = reader.u16("server_hello.connection_id_length")
    if specs_length % 3:
        raise reader.fail("server_hello.cipher_specs", f"{specs_length} is not a multiple of 3")
    certificate = reader.bytes(certificate_length, "server_hello.certificate")
    specs = reader.bytes(specs_length, "server_hello.cipher_specs")
    connection_id = reader.bytes(connection_id_length, "server_hello.connection_id")
    reader.expect_end("server_hello")
    return SSLv2ServerHello(
        session_id_hit=session_id_hit,
        certificate_type=certificate_type,
        version=version,
        certificate=certificate,
        cipher_specs=split_cipher_kinds(specs),
        connection_id=connection_id,
    )


@dataclass(frozen=True, slots=True)
class SSLv2Error:
    """SSL 2.0 ERROR: 1 NO-CIPHER, 2 NO-CERTIFICATE, 4 BAD-CERTIFICATE, 6 UNSUPPORTED-CERT-TYPE."""

    error_code: int

    def encode(self) -> bytes:
        return Writer().u8(SSLv2MessageType.ERROR).u16(self.error_code).getvalue()


def parse_sslv2_error(data: bytes) -> SSLv2Error:
    """An ERROR message from an SSL 2.0 record's payload (msg_type first)."""
    reader = Reader(data, PROTOCOL)
    _sslv2_message_type(reader, SSLv2MessageType.ERROR)
    error_code = reader.u16("error.error_code")
    reader.expect_end("error")
    return SSLv2Error(error_code)
