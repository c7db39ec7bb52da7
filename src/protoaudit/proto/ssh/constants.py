"""SSH message numbers (RFC 4250 4.1, RFC 4419 5, RFC 5656 7.1, RFC 8308 2.3).

Only the structure around algorithm names lives here; the names themselves
and the disconnect reason codes come from `protoaudit.registry.ssh`.
"""

from __future__ import annotations

from enum import IntEnum


class MessageNumber(IntEnum):
    DISCONNECT = 1
    IGNORE = 2
    UNIMPLEMENTED = 3
    DEBUG = 4
    SERVICE_REQUEST = 5
    SERVICE_ACCEPT = 6
    EXT_INFO = 7
    NEWCOMPRESS = 8
    KEXINIT = 20
    NEWKEYS = 21
    # 30-49 belong to the key exchange method: the same number means different messages.
    KEXDH_INIT = 30  # also KEX_ECDH_INIT (RFC 5656) and the hybrid INIT messages
    KEXDH_REPLY = 31  # also KEX_ECDH_REPLY, and KEX_DH_GEX_GROUP in group exchange
    KEX_DH_GEX_INIT = 32
    KEX_DH_GEX_REPLY = 33
    KEX_DH_GEX_REQUEST = 34
    USERAUTH_REQUEST = 50
    USERAUTH_FAILURE = 51
    USERAUTH_SUCCESS = 52
    USERAUTH_BANNER = 53


KEX_ECDH_INIT = MessageNumber.KEXDH_INIT
KEX_ECDH_REPLY = MessageNumber.KEXDH_REPLY
KEX_DH_GEX_GROUP = MessageNumber.KEXDH_REPLY

PROTOCOL = "ssh"
