"""Structural TLS and SSL constants that the IANA registry tables do not hold.

Cipher suites, groups, signature schemes, extensions and alert descriptions
come from `protoaudit.registry.tls` by name; what is here frames the bytes
around them: record content types (RFC 8446 B.1), handshake message types
(RFC 8446 B.3, RFC 5246 7.4, RFC 6066 8), protocol versions, the SSLv2
message types of the SSL 2.0 draft, and the small enumerations that live
inside extension bodies (RFC 8422 5.1.2, RFC 8446 4.2.9).
"""

from __future__ import annotations

from enum import IntEnum

# RFC 5246 6.2.1: a TLSPlaintext fragment is at most 2^14 bytes; a protected
# record may carry up to 2048 bytes of expansion on top of that.
MAX_FRAGMENT_LENGTH = 1 << 14
MAX_RECORD_LENGTH = MAX_FRAGMENT_LENGTH + 2048


class ContentType(IntEnum):
    CHANGE_CIPHER_SPEC = 20
    ALERT = 21
    HANDSHAKE = 22
    APPLICATION_DATA = 23
    HEARTBEAT = 24  # RFC 6520


class HandshakeType(IntEnum):
    HELLO_REQUEST = 0
    CLIENT_HELLO = 1
    SERVER_HELLO = 2
    HELLO_VERIFY_REQUEST = 3
    NEW_SESSION_TICKET = 4
    END_OF_EARLY_DATA = 5
    ENCRYPTED_EXTENSIONS = 8
    CERTIFICATE = 11
    SERVER_KEY_EXCHANGE = 12
    CERTIFICATE_REQUEST = 13
    SERVER_HELLO_DONE = 14
    CERTIFICATE_VERIFY = 15
    CLIENT_KEY_EXCHANGE = 16
    FINISHED = 20
    CERTIFICATE_URL = 21
    CERTIFICATE_STATUS = 22
    SUPPLEMENTAL_DATA = 23
    KEY_UPDATE = 24
    COMPRESSED_CERTIFICATE = 25
    MESSAGE_HASH = 254


class ProtocolVersion(IntEnum):
    SSL2 = 0x0002
    SSL3 = 0x0300
    TLS1_0 = 0x0301
    TLS1_1 = 0x0302
    TLS1_2 = 0x0303
    TLS1_3 = 0x0304


class AlertLevel(IntEnum):
    WARNING = 1
    FATAL = 2


class SSLv2MessageType(IntEnum):
    ERROR = 0
    CLIENT_HELLO = 1
    CLIENT_MASTER_KEY = 2
    CLIENT_FINISHED = 3
    SERVER_HELLO = 4
    SERVER_VERIFY = 5
    SERVER_FINISHED = 6
    REQUEST_CERTIFICATE = 7
    CLIENT_CERTIFICATE = 8


class SSLv2CertificateType(IntEnum):
    X509_CERTIFICATE = 1


class CompressionMethod(IntEnum):
    """RFC 5246 6.1 and RFC 3749; DEFLATE is what a CRIME check offers."""

    NULL = 0
    DEFLATE = 1


class ECPointFormat(IntEnum):
    """RFC 8422 5.1.2; only `UNCOMPRESSED` is still defined for use."""

    UNCOMPRESSED = 0
    ANSIX962_COMPRESSED_PRIME = 1
    ANSIX962_COMPRESSED_CHAR2 = 2


class ECCurveType(IntEnum):
    """RFC 8422 5.4: how ServerECDHParams names its curve."""

    EXPLICIT_PRIME = 1
    EXPLICIT_CHAR2 = 2
    NAMED_CURVE = 3


class PskKeyExchangeMode(IntEnum):
    PSK_KE = 0
    PSK_DHE_KE = 1


class NameType(IntEnum):
    """RFC 6066 3: the only server name type ever defined."""

    HOST_NAME = 0


_VERSION_NAMES: dict[int, str] = {
    ProtocolVersion.SSL2: "SSLv2",
    ProtocolVersion.SSL3: "SSLv3",
    ProtocolVersion.TLS1_0: "TLS 1.0",
    ProtocolVersion.TLS1_1: "TLS 1.1",
    ProtocolVersion.TLS1_2: "TLS 1.2",
    ProtocolVersion.TLS1_3: "TLS 1.3",
}

# RFC 8446 drafts announced themselves as 0x7f00 + draft number.
_TLS13_DRAFT_PREFIX = 0x7F00


def version_name(version: int) -> str:
    """A protocol version as people write it: "SSLv2", "TLS 1.2", "0x0a0a"."""
    name = _VERSION_NAMES.get(version)
    if name is not None:
        return name
    if version & 0xFF00 == _TLS13_DRAFT_PREFIX:
        return f"TLS 1.3 draft {version & 0xFF}"
    return f"0x{version:04x}"
