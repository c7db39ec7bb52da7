"""OpenVPN observations: who answers a hard reset, and the TLS behind the control channel.

Facts only. Opcodes, TLS versions and cipher suites stay ints (names from
the OpenVPN codec and the TLS registry when shown). That silence to an
unauthenticated reset is the tls-auth/tls-crypt "HMAC firewall", and that an
answer exposes the server, is policy's judgement (policy/openvpn_rules.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from protoaudit.observations import CertificateInfo, Observation

__all__ = ["OpenVpnReset", "OpenVpnTlsHandshake", "OpenVpnTlsVersion"]


@dataclass(frozen=True, slots=True)
class OpenVpnReset(Observation):
    """One unauthenticated hard reset (no tls-auth HMAC, no tls-crypt) and what came back."""

    kind: ClassVar[str] = "openvpn_reset"
    transport: str  # "udp" or "tcp"
    reset_opcode: int  # 7 P_CONTROL_HARD_RESET_CLIENT_V2, 10 ..._V3
    answered: bool  # a server reset came back: the server talks to anyone
    # "answered", "silent" (nothing within the deadline), "closed" (TCP: hung up),
    # "refused" (nothing listens), "malformed" (bytes that are not OpenVPN), "reset".
    outcome: str
    reply_opcode: int | None  # 8 P_CONTROL_HARD_RESET_SERVER_V2, 2 ..._V1
    server_session_id: str | None  # hex
    acknowledged_reset: bool  # the server's reset acknowledged ours (packet id 0)
    sent: int  # resets sent (over UDP a silent server gets a second one)
    detail: str


@dataclass(frozen=True, slots=True)
class OpenVpnTlsVersion(Observation):
    """One TLS version offered alone through the control channel, and the server's answer."""

    kind: ClassVar[str] = "openvpn_tls_version"
    transport: str
    version: int  # 0x0301 ... 0x0304
    supported: bool  # the ServerHello chose exactly this version
    cipher_suite: int | None  # the suite it chose, when it did
    detail: str  # "ServerHello (TLS_...)", "alert protocol_version", "timeout: ..."


@dataclass(frozen=True, slots=True)
class OpenVpnTlsHandshake(Observation):
    """A full TLS handshake (OpenSSL, nothing verified) through the control channel.

    It runs until the server's certificate chain is in hand; an OpenVPN server
    that requires a client certificate then refuses the probe, which has none.
    """

    kind: ClassVar[str] = "openvpn_tls_handshake"
    transport: str
    version: int | None  # negotiated, None when the handshake got no ServerHello
    cipher_suite: int | None  # None also when the registry does not know OpenSSL's name
    cipher_name: str  # OpenSSL's name, as OpenSSL gave it ("" when none)
    certificates: tuple[CertificateInfo, ...]  # as the server sent them, leaf first
    client_ca_names: tuple[str, ...]  # CAs the server named for client certificates
    # OpenSSL finished its side: in TLS 1.3 that is before the server has judged the
    # (empty) client certificate, in TLS 1.2 only when the server did not ask for one.
    completed: bool
    detail: str  # how it ended: "completed", "alert: ...", "timeout: ..."
