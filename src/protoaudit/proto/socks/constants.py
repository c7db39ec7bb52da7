"""SOCKS code points: versions, methods, commands, address types, reply codes.

Method names are IANA's "SOCKS Methods" registry
(https://www.iana.org/assignments/socks-methods, as of 2024-05); the others
are RFC 1928 sections 4-6, RFC 1929 section 2 and the SOCKS 4 and 4A
protocol descriptions (Ying-Da Lee, NEC). protoaudit's registry/ holds the
large registries; these are a dozen numbers that only this codec uses.
"""

from __future__ import annotations

from enum import IntEnum

PROTOCOL = "socks"
SOCKS4_VERSION = 4
SOCKS5_VERSION = 5
USERNAME_PASSWORD_VERSION = 1  # RFC 1929 2: the subnegotiation's own version
SOCKS4_REPLY_VERSION = 0  # the SOCKS 4 reply's VN is 0, not 4


class Method(IntEnum):
    NO_AUTHENTICATION_REQUIRED = 0x00
    GSSAPI = 0x01
    USERNAME_PASSWORD = 0x02
    NO_ACCEPTABLE_METHODS = 0xFF


_METHOD_NAMES = {
    0x00: "NO AUTHENTICATION REQUIRED",
    0x01: "GSSAPI",
    0x02: "USERNAME/PASSWORD",
    0x03: "Challenge-Handshake Authentication Protocol",
    0x05: "Challenge-Response Authentication Method",
    0x06: "Secure Sockets Layer",
    0x07: "NDS Authentication",
    0x08: "Multi-Authentication Framework",
    0x09: "JSON Parameter Block",
    0xFF: "NO ACCEPTABLE METHODS",
}


def method_name(code: int) -> str:
    if code in _METHOD_NAMES:
        return _METHOD_NAMES[code]
    if 0x80 <= code <= 0xFE:
        return f"private method 0x{code:02X}"
    return f"unassigned 0x{code:02X}"


class Command(IntEnum):
    CONNECT = 1
    BIND = 2
    UDP_ASSOCIATE = 3  # SOCKS 5 only


class AddressType(IntEnum):
    IPV4 = 1
    DOMAINNAME = 3
    IPV6 = 4


_REPLY_NAMES = {
    0: "succeeded",
    1: "general SOCKS server failure",
    2: "connection not allowed by ruleset",
    3: "Network unreachable",
    4: "Host unreachable",
    5: "Connection refused",
    6: "TTL expired",
    7: "Command not supported",
    8: "Address type not supported",
}

SOCKS4_GRANTED = 90
_SOCKS4_REPLY_NAMES = {
    90: "request granted",
    91: "request rejected or failed",
    92: "rejected: the server cannot reach the client's identd",
    93: "rejected: identd and the client report different user-ids",
}


def reply_name(code: int) -> str:
    return _REPLY_NAMES.get(code, f"unassigned reply 0x{code:02X}")


def socks4_reply_name(code: int) -> str:
    return _SOCKS4_REPLY_NAMES.get(code, f"unknown reply {code}")


def is_socks4_reply_code(code: int) -> bool:
    return code in _SOCKS4_REPLY_NAMES
