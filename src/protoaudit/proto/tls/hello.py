"""The client's first flight: ClientHello (RFC 8446 4.1.2, RFC 5246 7.4.1.2).

The encoders serialise what they are given, so a probe can offer an unknown
extension, a suite the server should refuse or a version that does not
exist. The `*_body` helpers build well-formed extension_data for the
extensions a scanner sends; `extension(name, body)` pairs a body with its code
point from the registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from protoaudit.proto.tls.constants import (
    CompressionMethod,
    ContentType,
    ECPointFormat,
    HandshakeType,
    NameType,
    ProtocolVersion,
    PskKeyExchangeMode,
)
from protoaudit.proto.tls.records import encode_handshake, encode_record
from protoaudit.proto.tls.sslv2 import build_sslv2_client_hello
from protoaudit.registry import tls as registry
from protoaudit.wire import Reader, Writer

PROTOCOL = "tls"
RANDOM_LENGTH = 32
MAX_SESSION_ID_LENGTH = 32

Extension = tuple[int, bytes]


def extension_code(name: str) -> int:
    """The code point of the extension IANA calls `name`."""
    return registry.extension_by_name(name).code


def extension(name: str, body: bytes) -> Extension:
    """An `(extension_type, extension_data)` pair for ClientHello.extensions."""
    return (extension_code(name), body)


@dataclass(frozen=True, slots=True)
class ClientHello:
    """RFC 8446 4.1.2. An empty `extensions` omits the block, as SSL 3.0 clients did."""

    legacy_version: int
    random: bytes
    legacy_session_id: bytes
    cipher_suites: tuple[int, ...]
    legacy_compression_methods: tuple[int, ...]
    extensions: tuple[Extension, ...] = ()

    def encode(self) -> bytes:
        """The Handshake message, with its 4-byte header."""
        writer = Writer().u16(self.legacy_version).raw(self.random)
        writer.vector(self.legacy_session_id, 1)
        writer.uint_list(self.cipher_suites, 2, 2)
        writer.uint_list(self.legacy_compression_methods, 1, 1)
        if self.extensions:
            writer.vector(encode_extensions(self.extensions), 2)
        return encode_handshake(HandshakeType.CLIENT_HELLO, writer.getvalue())

    @classmethod
    def decode(cls, body: bytes) -> ClientHello:
        """Parse a ClientHello body (the bytes after the 4-byte handshake header)."""
        reader = Reader(body, PROTOCOL)
        legacy_version = reader.u16("client_hello.legacy_version")
        random = reader.bytes(RANDOM_LENGTH, "client_hello.random")
        legacy_session_id = reader.vector(1, "client_hello.legacy_session_id")
        if len(legacy_session_id) > MAX_SESSION_ID_LENGTH:
            raise reader.fail(
                "client_hello.legacy_session_id", f"{len(legacy_session_id)} bytes, at most 32"
            )
        cipher_suites = reader.uint_list(2, 2, "client_hello.cipher_suites")
        if not cipher_suites:
            raise reader.fail("client_hello.cipher_suites", "empty")
        compression_methods = reader.uint_list(1, 1, "client_hello.legacy_compression_methods")
        if not compression_methods:
            raise reader.fail("client_hello.legacy_compression_methods", "empty")
        extensions: tuple[Extension, ...] = ()
        if not reader.at_end():
            extensions = decode_extensions(reader, "client_hello.extensions")
        reader.expect_end("client_hello")
        return cls(
            legacy_version=legacy_version,
            random=random,
            legacy_session_id=legacy_session_id,
            cipher_suites=cipher_suites,
            legacy_compression_methods=compression_methods,
            extensions=extensions,
        )


def encode_extensions(extensions: Sequence[Extension]) -> bytes:
    """The concatenated Extension structs, without the block's own length."""
    writer = Writer()
    for extension_type, extension_data in extensions:
        writer.u16(extension_type).vector(extension_data, 2)
    return writer.getvalue()


def decode_extensions(reader: Reader, field: str) -> tuple[Extension, ...]:
    """A 2-byte-length block of extensions, in order, duplicates kept."""
    extensions: list[Extension] = []
    with reader.block(2, field) as block:
        while not block.at_end():
            extension_type = block.u16(field + ".extension_type")
            extensions.append((extension_type, block.vector(2, field + ".extension_data")))
    return tuple(extensions)


# Extension bodies (extension_data) for what a scanning client offers.


def server_name_body(host_name: str) -> bytes:
    """RFC 6066 3: one host_name, ASCII (an A-label), without a trailing dot."""
    name = host_name.removesuffix(".").encode("ascii")
    entry = Writer().u8(NameType.HOST_NAME).vector(name, 2).getvalue()
    return Writer().vector(entry, 2).getvalue()


def supported_groups_body(groups: Sequence[int]) -> bytes:
    """RFC 8446 4.2.7: NamedGroupList."""
    return Writer().uint_list(list(groups), 2, 2).getvalue()


def ec_point_formats_body(
    formats: Sequence[int] = (ECPointFormat.UNCOMPRESSED,),
) -> bytes:
    """RFC 8422 5.1.2: ECPointFormatList."""
    return Writer().uint_list(list(formats), 1, 1).getvalue()


def signature_algorithms_body(schemes: Sequence[int]) -> bytes:
    """RFC 8446 4.2.3: SignatureSchemeList (RFC 5246 7.4.1.4.1 pairs share the encoding)."""
    return Writer().uint_list(list(schemes), 2, 2).getvalue()


def supported_versions_body(versions: Sequence[int]) -> bytes:
    """RFC 8446 4.2.1, the ClientHello form: a list with a 1-byte length."""
    return Writer().uint_list(list(versions), 2, 1).getvalue()


def key_share_body(entries: Sequence[tuple[int, bytes]]) -> bytes:
    """RFC 8446 4.2.8: KeyShareClientHello; an empty list asks for a HelloRetryRequest."""
    shares = Writer()
    for group, key_exchange in entries:
        shares.u16(group).vector(key_exchange, 2)
    return Writer().vector(shares.getvalue(), 2).getvalue()


def psk_key_exchange_modes_body(
    modes: Sequence[int] = (PskKeyExchangeMode.PSK_DHE_KE,),
) -> bytes:
    """RFC 8446 4.2.9: PskKeyExchangeModes."""
    return Writer().uint_list(list(modes), 1, 1).getvalue()


def renegotiation_info_body(renegotiated_connection: bytes = b"") -> bytes:
    """RFC 5746 3.2: empty on an initial handshake."""
    return Writer().vector(renegotiated_connection, 1).getvalue()


def extended_master_secret_body() -> bytes:
    """RFC 7627 5.1: the extension_data is empty."""
    return b""


def encrypt_then_mac_body() -> bytes:
    """RFC 7366 2: the extension_data is empty."""
    return b""


def session_ticket_body(ticket: bytes = b"") -> bytes:
    """RFC 5077 3.2: the ticket itself, empty to ask for a new one."""
    return ticket


def alpn_body(protocols: Sequence[bytes | str]) -> bytes:
    """RFC 7301 3.1: ProtocolNameList; names given as str are encoded as ASCII."""
    names = Writer()
    for protocol in protocols:
        raw = protocol.encode("ascii") if isinstance(protocol, str) else protocol
        names.vector(raw, 1)
    return Writer().vector(names.getvalue(), 2).getvalue()


def record_version_for(version: int) -> int:
    """legacy_record_version of a first flight: SSL 3.0 for SSL 3.0, else TLS 1.0 (RFC 8446 5.1)."""
    return ProtocolVersion.SSL3 if version == ProtocolVersion.SSL3 else ProtocolVersion.TLS1_0


def build_client_hello(
    *,
    version: int,
    cipher_suites: Sequence[int],
    random: bytes,
    session_id: bytes = b"",
    server_name: str | None = None,
    groups: Sequence[int] = (),
    key_shares: Sequence[tuple[int, bytes]] = (),
    signature_algorithms: Sequence[int] = (),
    supported_versions: Sequence[int] = (),
    compression_methods: Sequence[int] = (CompressionMethod.NULL,),
    extra_extensions: Sequence[Extension] = (),
) -> bytes:
    """A ClientHello framed as record bytes, ready for the socket.

    Below TLS 1.3 `legacy_version` is `version` and no supported_versions is
    sent unless `supported_versions` lists some. From TLS 1.3 on
    `legacy_version` is TLS 1.2 (RFC 8446 4.1.2), supported_versions lists
    `supported_versions` or else `version` alone, and key_share is always
    sent, empty when `key_shares` is, so that a server can answer with a
    HelloRetryRequest naming the group it wants.
    """
    is_tls13 = version >= ProtocolVersion.TLS1_3
    offered_versions = tuple(supported_versions) or ((version,) if is_tls13 else ())
    extensions: list[Extension] = []
    if server_name is not None:
        extensions.append(extension("server_name", server_name_body(server_name)))
    if groups:
        extensions.append(extension("supported_groups", supported_groups_body(groups)))
        extensions.append(extension("ec_point_formats", ec_point_formats_body()))
    if signature_algorithms:
        extensions.append(
            extension("signature_algorithms", signature_algorithms_body(signature_algorithms))
        )
    if offered_versions:
        extensions.append(
            extension("supported_versions", supported_versions_body(offered_versions))
        )
    if key_shares or is_tls13:
        extensions.append(extension("key_share", key_share_body(key_shares)))
    extensions.extend(extra_extensions)
    hello = ClientHello(
        legacy_version=ProtocolVersion.TLS1_2 if is_tls13 else version,
        random=random,
        legacy_session_id=session_id,
        cipher_suites=tuple(cipher_suites),
        legacy_compression_methods=tuple(compression_methods),
        extensions=tuple(extensions),
    )
    return encode_record(ContentType.HANDSHAKE, record_version_for(version), hello.encode())


__all__ = [
    "MAX_SESSION_ID_LENGTH",
    "RANDOM_LENGTH",
    "ClientHello",
    "Extension",
    "alpn_body",
    "build_client_hello",
    "build_sslv2_client_hello",  # from sslv2, offered beside the TLS builder
    "decode_extensions",
    "ec_point_formats_body",
    "encode_extensions",
    "encrypt_then_mac_body",
    "extended_master_secret_body",
    "extension",
    "extension_code",
    "key_share_body",
    "psk_key_exchange_modes_body",
    "record_version_for",
    "renegotiation_info_body",
    "server_name_body",
    "session_ticket_body",
    "signature_algorithms_body",
    "supported_groups_body",
    "supported_versions_body",
]
