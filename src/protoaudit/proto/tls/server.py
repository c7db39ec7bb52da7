"""Parsers for what a server sends in clear before it encrypts (or before a probe hangs up).

ServerHello and HelloRetryRequest (RFC 8446 4.1.3, RFC 5246 7.4.1.3), Alert
(RFC 8446 6), Certificate in both shapes (RFC 5246 7.4.2, RFC 8446 4.4.2),
ServerKeyExchange (RFC 8422 5.4, RFC 5246 7.4.3, RFC 4346 7.4.3 for export
RSA) and ServerHelloDone; the SSL 2.0 SERVER-HELLO and ERROR parsers live in
`sslv2` and are offered here too.
Decoders take a message body (the bytes after the handshake header), raise
only `DecodeError`, and reject leftover bytes. Each message also encodes, so
tests and lab responders can build a server's flight from the same types.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from protoaudit.errors import DecodeError
from protoaudit.proto.tls import ffdhe
from protoaudit.proto.tls.constants import (
    AlertLevel,
    ECCurveType,
    HandshakeType,
    ProtocolVersion,
)
from protoaudit.proto.tls.hello import (
    MAX_SESSION_ID_LENGTH,
    RANDOM_LENGTH,
    Extension,
    decode_extensions,
    encode_extensions,
    extension_code,
)
from protoaudit.proto.tls.records import encode_handshake
from protoaudit.proto.tls.sslv2 import (
    SSLv2Error,
    SSLv2ServerHello,
    parse_sslv2_error,
    parse_sslv2_server_hello,
)
from protoaudit.wire import Reader, Writer

PROTOCOL = "tls"

# RFC 8446 4.1.3: a HelloRetryRequest is a ServerHello whose random is SHA-256("HelloRetryRequest").
HELLO_RETRY_REQUEST_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()

# RFC 8446 4.1.3: a TLS 1.3 server negotiating an older version ends its random with these.
_DOWNGRADE_SENTINELS = {
    b"DOWNGRD\x01": ProtocolVersion.TLS1_2,
    b"DOWNGRD\x00": ProtocolVersion.TLS1_1,
}


@dataclass(frozen=True, slots=True)
class KeyShareEntry:
    """RFC 8446 4.2.8."""

    group: int
    key_exchange: bytes


@dataclass(frozen=True, slots=True)
class ServerHello:
    """ServerHello, or a HelloRetryRequest (the same message with a special random).

    Decoding refuses duplicate extensions (RFC 8446 4.2).
    """

    legacy_version: int
    random: bytes
    legacy_session_id: bytes
    cipher_suite: int
    legacy_compression_method: int
    extensions: tuple[Extension, ...] = ()

    def encode(self) -> bytes:
        """The Handshake message with its 4-byte header; an empty `extensions` omits the block."""
        writer = Writer().u16(self.legacy_version).raw(self.random)
        writer.vector(self.legacy_session_id, 1)
        writer.u16(self.cipher_suite).u8(self.legacy_compression_method)
        if self.extensions:
            writer.vector(encode_extensions(self.extensions), 2)
        return encode_handshake(HandshakeType.SERVER_HELLO, writer.getvalue())

    @classmethod
    def decode(cls, body: bytes) -> ServerHello:
        reader = Reader(body, PROTOCOL)
        legacy_version = reader.u16("server_hello.legacy_version")
        random = reader.bytes(RANDOM_LENGTH, "server_hello.random")
        legacy_session_id = reader.vector(1, "server_hello.legacy_session_id")
        if len(legacy_session_id) > MAX_SESSION_ID_LENGTH:
            raise reader.fail(
                "server_hello.legacy_session_id", f"{len(legacy_session_id)} bytes, at most 32"
            )
        cipher_suite = reader.u16("server_hello.cipher_suite")
        compression_method = reader.u8("server_hello.legacy_compression_method")
        extensions: tuple[Extension, ...] = ()
        extensions_offset = reader.offset
        if not reader.at_end():
            extensions = decode_extensions(reader, "server_hello.extensions")
        reader.expect_end("server_hello")
        seen: set[int] = set()
        for extension_type, _ in extensions:
            if extension_type in seen:
                raise DecodeError(
                    PROTOCOL,
                    "server_hello.extensions",
                    extensions_offset,
                    f"extension {extension_type} appears twice",
                )
            seen.add(extension_type)
        hello = cls(
            legacy_version=legacy_version,
            random=random,
            legacy_session_id=legacy_session_id,
            cipher_suite=cipher_suite,
            legacy_compression_method=compression_method,
            extensions=extensions,
        )
        # Parse the extensions the properties read, so they cannot fail later.
        hello._supported_version()
        hello._key_share()
        return hello

    def extension(self, extension_type: int) -> bytes | None:
        """The extension_data of the first extension of that type, or None."""
        for candidate, data in self.extensions:
            if candidate == extension_type:
                return data
        return None

    @property
    def is_hello_retry_request(self) -> bool:
        return self.random == HELLO_RETRY_REQUEST_RANDOM

    @property
    def selected_version(self) -> int:
        """supported_versions' selected_version when present (TLS 1.3), else legacy_version."""
        version = self._supported_version()
        return self.legacy_version if version is None else version

    @property
    def key_share_group(self) -> int | None:
        """key_share's group: all a HelloRetryRequest names, or the group of a ServerHello entry."""
        share = self._key_share()
        if isinstance(share, KeyShareEntry):
            return share.group
        return share

    @property
    def key_share(self) -> KeyShareEntry | None:
        """The server's KeyShareEntry (None in a HelloRetryRequest, which names only a group)."""
        share = self._key_share()
        return share if isinstance(share, KeyShareEntry) else None

    @property
    def downgrade_sentinel(self) -> int | None:
        """RFC 8446 4.1.3: the version a TLS 1.3 server says it fell back to, from its random."""
        return _DOWNGRADE_SENTINELS.get(self.random[-8:])

    def _supported_version(self) -> int | None:
        data = self.extension(extension_code("supported_versions"))
        if data is None:
            return None
        reader = Reader(data, PROTOCOL)
        version = reader.u16("server_hello.supported_versions.selected_version")
        reader.expect_end("server_hello.supported_versions")
        return version

    def _key_share(self) -> KeyShareEntry | int | None:
        data = self.extension(extension_code("key_share"))
        if data is None:
            return None
        reader = Reader(data, PROTOCOL)
        group = reader.u16("server_hello.key_share.group")
        if self.is_hello_retry_request:
            reader.expect_end("server_hello.key_share")
            return group
        key_exchange = reader.vector(2, "server_hello.key_share.key_exchange")
        if not key_exchange:
            raise reader.fail("server_hello.key_share.key_exchange", "empty")
        reader.expect_end("server_hello.key_share")
        return KeyShareEntry(group, key_exchange)


@dataclass(frozen=True, slots=True)
class Alert:
    """RFC 8446 6: `description` is a code point of the registry's alert table."""

    level: int
    description: int

    @property
    def is_fatal(self) -> bool:
        return self.level == AlertLevel.FATAL

    def encode(self) -> bytes:
        """The alert record's fragment (two bytes)."""
        return bytes((self.level, self.description))


def parse_alert(fragment: bytes) -> Alert:
    """One alert from an alert record's fragment; anything but exactly two bytes is refused."""
    reader = Reader(fragment, PROTOCOL)
    level = reader.u8("alert.level")
    description = reader.u8("alert.description")
    reader.expect_end("alert")
    return Alert(level, description)


def _certificate_data(reader: Reader, field: str) -> bytes:
    data = reader.vector(3, field)
    if not data:
        raise reader.fail(field, "empty certificate")
    return data


@dataclass(frozen=True, slots=True)
class Certificate:
    """Certificate up to TLS 1.2 (RFC 5246 7.4.2): DER certificates, the server's own first."""

    certificate_list: tuple[bytes, ...]

    def encode(self) -> bytes:
        entries = Writer()
        for certificate in self.certificate_list:
            entries.vector(certificate, 3)
        return encode_handshake(
            HandshakeType.CERTIFICATE, Writer().vector(entries.getvalue(), 3).getvalue()
        )

    @classmethod
    def decode(cls, body: bytes) -> Certificate:
        reader = Reader(body, PROTOCOL)
        certificates: list[bytes] = []
        with reader.block(3, "certificate.certificate_list") as entries:
            while not entries.at_end():
                certificates.append(_certificate_data(entries, "certificate.cert"))
        reader.expect_end("certificate")
        return cls(tuple(certificates))


@dataclass(frozen=True, slots=True)
class CertificateEntry:
    """RFC 8446 4.4.2, X.509 form."""

    cert_data: bytes
    extensions: tuple[Extension, ...] = ()


@dataclass(frozen=True, slots=True)
class Certificate13:
    """Certificate in TLS 1.3 (RFC 8446 4.4.2): a request context and entries with extensions."""

    certificate_request_context: bytes
    certificate_list: tuple[CertificateEntry, ...]

    @property
    def certificates(self) -> tuple[bytes, ...]:
        return tuple(entry.cert_data for entry in self.certificate_list)

    def encode(self) -> bytes:
        entries = Writer()
        for entry in self.certificate_list:
            entries.vector(entry.cert_data, 3)
            entries.vector(encode_extensions(entry.extensions), 2)
        body = (
            Writer()
            .vector(self.certificate_request_context, 1)
            .vector(entries.getvalue(), 3)
            .getvalue()
        )
        return encode_handshake(HandshakeType.CERTIFICATE, body)

    @classmethod
    def decode(cls, body: bytes) -> Certificate13:
        reader = Reader(body, PROTOCOL)
        context = reader.vector(1, "certificate.certificate_request_context")
        entries: list[CertificateEntry] = []
        with reader.block(3, "certificate.certificate_list") as block:
            while not block.at_end():
                cert_data = _certificate_data(block, "certificate.cert_data")
                extensions = decode_extensions(block, "certificate.extensions")
                entries.append(CertificateEntry(cert_data, extensions))
        reader.expect_end("certificate")
        return cls(context, tuple(entries))


@dataclass(frozen=True, slots=True)
class ServerECDHParams:
    """RFC 8422 5.4, named curves only: `public` is the encoded ECPoint."""

    curve_type: int
    named_curve: int
    public: bytes


@dataclass(frozen=True, slots=True)
class ServerDHParams:
    """RFC 5246 7.4.3: big-endian integers as sent."""

    dh_p: bytes
    dh_g: bytes
    dh_Ys: bytes  # the RFC's spelling


@dataclass(frozen=True, slots=True)
class ServerRSAParams:
    """RFC 4346 7.4.3: the temporary RSA key of an export cipher suite."""

    rsa_modulus: bytes
    rsa_exponent: bytes


KeyExchangeParams = ServerECDHParams | ServerDHParams | ServerRSAParams

# The registry's key_exchange column (anonymous suites are "DHE"/"ECDHE" with
# authentication "anon"), mapped to the params their ServerKeyExchange carries
# and whether a psk_identity_hint comes first (RFC 4279 2, RFC 5489 2).
_SHAPES: dict[str, tuple[type[KeyExchangeParams], bool]] = {
    "ECDHE": (ServerECDHParams, False),
    "DHE": (ServerDHParams, False),
    "RSA": (ServerRSAParams, False),
    "RSA_EXPORT": (ServerRSAParams, False),
    "DHE_PSK": (ServerDHParams, True),
    "ECDHE_PSK": (ServerECDHParams, True),
}


def _nonempty_vector(reader: Reader, field: str) -> bytes:
    data = reader.vector(2, field)
    if not data:
        raise reader.fail(field, "empty")
    return data


def _decode_params(reader: Reader, params_type: type[KeyExchangeParams]) -> KeyExchangeParams:
    if params_type is ServerECDHParams:
        curve_type = reader.u8("server_key_exchange.curve_type")
        if curve_type != ECCurveType.NAMED_CURVE:
            raise reader.fail(
                "server_key_exchange.curve_type", f"curve type {curve_type} is not parsed"
            )
        named_curve = reader.u16("server_key_exchange.named_curve")
        public = reader.vector(1, "server_key_exchange.public")
        if not public:
            raise reader.fail("server_key_exchange.public", "empty")
        return ServerECDHParams(curve_type, named_curve, public)
    if params_type is ServerDHParams:
        return ServerDHParams(
            dh_p=_nonempty_vector(reader, "server_key_exchange.dh_p"),
            dh_g=_nonempty_vector(reader, "server_key_exchange.dh_g"),
            dh_Ys=_nonempty_vector(reader, "server_key_exchange.dh_Ys"),
        )
    return ServerRSAParams(
        rsa_modulus=_nonempty_vector(reader, "server_key_exchange.rsa_modulus"),
        rsa_exponent=_nonempty_vector(reader, "server_key_exchange.rsa_exponent"),
    )


def _encode_params(writer: Writer, params: KeyExchangeParams) -> None:
    if isinstance(params, ServerECDHParams):
        writer.u8(params.curve_type).u16(params.named_curve).vector(params.public, 1)
    elif isinstance(params, ServerDHParams):
        writer.vector(params.dh_p, 2).vector(params.dh_g, 2).vector(params.dh_Ys, 2)
    else:
        writer.vector(params.rsa_modulus, 2).vector(params.rsa_exponent, 2)


@dataclass(frozen=True, slots=True)
class ServerKeyExchange:
    """ServerKeyExchange with its params and, unless the suite is anonymous, its signature.

    `algorithm` is the SignatureAndHashAlgorithm that TLS 1.2 puts before the
    signature (the same code points as SignatureScheme); None before TLS 1.2.
    `signature` is None for anonymous and PSK suites; `psk_identity_hint` is
    None unless the suite is DHE_PSK or ECDHE_PSK.
    """

    params: KeyExchangeParams
    algorithm: int | None = None
    signature: bytes | None = None
    psk_identity_hint: bytes | None = None

    @property
    def group(self) -> int | None:
        """The named curve, or the RFC 7919 group whose prime the server sent; None otherwise."""
        if isinstance(self.params, ServerECDHParams):
            return self.params.named_curve
        if isinstance(self.params, ServerDHParams):
            return ffdhe.group_for_prime(int.from_bytes(self.params.dh_p, "big"))
        return None

    @property
    def dh_prime_bits(self) -> int | None:
        if isinstance(self.params, ServerDHParams):
            return int.from_bytes(self.params.dh_p, "big").bit_length()
        return None

    @property
    def signature_scheme(self) -> int | None:
        return self.algorithm

    def encode(self) -> bytes:
        writer = Writer()
        if self.psk_identity_hint is not None:
            writer.vector(self.psk_identity_hint, 2)
        _encode_params(writer, self.params)
        if self.algorithm is not None:
            writer.u16(self.algorithm)
        if self.signature is not None:
            writer.vector(self.signature, 2)
        return encode_handshake(HandshakeType.SERVER_KEY_EXCHANGE, writer.getvalue())

    @classmethod
    def decode(
        cls, body: bytes, *, key_exchange: str, version: int, anonymous: bool | None = None
    ) -> ServerKeyExchange:
        """Parse a body for a suite whose key exchange is `key_exchange` ("ECDHE", "DHE" …).

        The message does not say its own shape: the caller knows it from the
        negotiated cipher suite (the registry's key_exchange) and the version
        (ServerHello). A key exchange without a ServerKeyExchange of this
        kind is the caller's mistake and raises ValueError. `anonymous=None`
        tells a signed message from an unsigned one by what follows the
        params: nothing at all can only be an anonymous suite's.
        """
        shape = _SHAPES.get(key_exchange.upper())
        if shape is None:
            raise ValueError(f"no ServerKeyExchange shape for key exchange {key_exchange!r}")
        params_type, has_hint = shape
        reader = Reader(body, PROTOCOL)
        hint = reader.vector(2, "server_key_exchange.psk_identity_hint") if has_hint else None
        params = _decode_params(reader, params_type)
        algorithm: int | None = None
        signature: bytes | None = None
        if anonymous is None:
            anonymous = reader.at_end()
        if not (anonymous or has_hint):
            if version >= ProtocolVersion.TLS1_2:
                algorithm = reader.u16("server_key_exchange.algorithm")
            signature = reader.vector(2, "server_key_exchange.signature")
        reader.expect_end("server_key_exchange")
        return cls(params, algorithm, signature, hint)


def parse_server_key_exchange(
    body: bytes, *, key_exchange: str, version: int, anonymous: bool | None = None
) -> ServerKeyExchange:
    """`ServerKeyExchange.decode`, as a function beside the other parsers."""
    return ServerKeyExchange.decode(
        body, key_exchange=key_exchange, version=version, anonymous=anonymous
    )


@dataclass(frozen=True, slots=True)
class ServerHelloDone:
    """RFC 5246 7.4.5: an empty message."""

    def encode(self) -> bytes:
        return encode_handshake(HandshakeType.SERVER_HELLO_DONE, b"")

    @classmethod
    def decode(cls, body: bytes) -> ServerHelloDone:
        Reader(body, PROTOCOL).expect_end("server_hello_done")
        return cls()


__all__ = [
    "HELLO_RETRY_REQUEST_RANDOM",
    "Alert",
    "Certificate",
    "Certificate13",
    "CertificateEntry",
    "KeyExchangeParams",
    "KeyShareEntry",
    "SSLv2Error",
    "SSLv2ServerHello",
    "ServerDHParams",
    "ServerECDHParams",
    "ServerHello",
    "ServerHelloDone",
    "ServerKeyExchange",
    "ServerRSAParams",
    "parse_alert",
    "parse_server_key_exchange",
    "parse_sslv2_error",
    "parse_sslv2_server_hello",
]
