"""The structure of ISAKMP/IKE messages: payload types, exchange types, flags, protocol IDs.

Algorithm IDs, attribute values, notify names and vendor IDs come from
`protoaudit.registry.ike`; the few notify and attribute numbers that the
state logic itself acts on (a cookie, a group the responder wants, a key
length) are named here, as message numbers are for SSH.
"""

from __future__ import annotations

from enum import IntEnum

PROTOCOL = "ike"
HEADER_LENGTH = 28
GENERIC_HEADER_LENGTH = 4
IKE_PORT = 500
NAT_T_PORT = 4500
SPI_LENGTH = 8
# RFC 3948 2.2: on the NAT-T port an IKE message follows four zero bytes (where an ESP
# packet has its non-zero SPI); RFC 3948 2.3: a datagram of one 0xFF byte is a keepalive.
NON_ESP_MARKER = bytes(4)
NAT_KEEPALIVE = b"\xff"

# Bounds on what a decoder accepts: far above what any responder sends to one probe, far
# below what could make a scan slow. A datagram is at most 64 KiB anyway.
MAX_MESSAGE_LENGTH = 65535
MAX_PAYLOADS = 64
MAX_PROPOSALS = 64
MAX_TRANSFORMS = 256  # per proposal: IKEv1 counts them in one byte, IKEv2 too
MAX_ATTRIBUTES = 32  # per transform


class V2Payload(IntEnum):
    """IKEv2 payload types (RFC 7296 3.2, RFC 7383 2.5)."""

    NONE = 0
    SA = 33
    KE = 34
    IDI = 35
    IDR = 36
    CERT = 37
    CERTREQ = 38
    AUTH = 39
    NONCE = 40
    NOTIFY = 41
    DELETE = 42
    VENDOR_ID = 43
    TSI = 44
    TSR = 45
    SK = 46
    CP = 47
    EAP = 48
    SKF = 53


class V1Payload(IntEnum):
    """IKEv1 (ISAKMP) payload types (RFC 2408 3.1, RFC 3947 3.1, RFC 3947 5.2)."""

    NONE = 0
    SA = 1
    PROPOSAL = 2
    TRANSFORM = 3
    KE = 4
    ID = 5
    CERT = 6
    CERTREQ = 7
    HASH = 8
    SIG = 9
    NONCE = 10
    NOTIFICATION = 11
    DELETE = 12
    VENDOR_ID = 13
    NAT_D = 20
    NAT_OA = 21


class ExchangeType(IntEnum):
    """ISAKMP exchange types of both versions (RFC 2408 3.1, RFC 2409 5, RFC 7296 3.1)."""

    BASE = 1
    IDENTITY_PROTECTION = 2  # IKEv1 Main Mode
    AUTHENTICATION_ONLY = 3
    AGGRESSIVE = 4  # IKEv1 Aggressive Mode
    INFORMATIONAL_V1 = 5
    TRANSACTION = 6  # IKEv1 Mode Config / XAUTH
    QUICK_MODE = 32
    NEW_GROUP_MODE = 33
    IKE_SA_INIT = 34
    IKE_AUTH = 35
    CREATE_CHILD_SA = 36
    INFORMATIONAL = 37
    IKE_SESSION_RESUME = 38
    IKE_INTERMEDIATE = 43
    IKE_FOLLOWUP_KE = 44


class V2Flag(IntEnum):
    """IKEv2 header flags (RFC 7296 3.1)."""

    INITIATOR = 0x08
    VERSION = 0x10
    RESPONSE = 0x20


class V1Flag(IntEnum):
    """IKEv1 header flags (RFC 2408 3.1)."""

    ENCRYPTION = 0x01
    COMMIT = 0x02
    AUTHENTICATION_ONLY = 0x04


class ProtocolId(IntEnum):
    """Security protocol IDs of proposals and notifies (RFC 7296 3.3.1, RFC 2407 4.4.1)."""

    NONE = 0
    IKE = 1  # IKEv2 IKE; IKEv1 PROTO_ISAKMP
    AH = 2
    ESP = 3


class V2Notify(IntEnum):
    """The IKEv2 notify types the IKE_SA_INIT logic acts on (RFC 7296 3.10.1)."""

    INVALID_MAJOR_VERSION = 5
    INVALID_SYNTAX = 7
    NO_PROPOSAL_CHOSEN = 14
    INVALID_KE_PAYLOAD = 17
    NAT_DETECTION_SOURCE_IP = 16388
    NAT_DETECTION_DESTINATION_IP = 16389
    COOKIE = 16390
    REDIRECT_SUPPORTED = 16406
    IKEV2_FRAGMENTATION_SUPPORTED = 16430
    SIGNATURE_HASH_ALGORITHMS = 16431
    INTERMEDIATE_EXCHANGE_SUPPORTED = 16438


class V1Notify(IntEnum):
    """The IKEv1 notify types the Main and Aggressive Mode logic acts on (RFC 2408 3.14.1)."""

    NO_PROPOSAL_CHOSEN = 14


class V1Attribute(IntEnum):
    """IKEv1 SA attribute classes the probe builds (RFC 2409 Appendix A)."""

    ENCRYPTION_ALGORITHM = 1
    HASH_ALGORITHM = 2
    AUTHENTICATION_METHOD = 3
    GROUP_DESCRIPTION = 4
    LIFE_TYPE = 11
    LIFE_DURATION = 12
    KEY_LENGTH = 14


class IdType(IntEnum):
    """Identification types (RFC 2407 4.6.2.1, RFC 7296 3.5)."""

    IPV4_ADDR = 1
    FQDN = 2
    USER_FQDN = 3
    IPV6_ADDR = 5
    KEY_ID = 11


V2_KEY_LENGTH_ATTRIBUTE = 14  # RFC 7296 3.3.5, the only IKEv2 transform attribute
IPSEC_DOI = 1  # RFC 2407 4.2
SIT_IDENTITY_ONLY = 1  # RFC 2407 4.2
KEY_IKE = 1  # RFC 2407 4.4.2, the one IKEv1 transform ID for PROTO_ISAKMP
LIFE_TYPE_SECONDS = 1
