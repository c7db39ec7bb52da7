"""SOCKS observations: what a SOCKS 4/5 server did when offered methods, a fake pair, a CONNECT.

Facts only. Method codes and reply codes stay ints (names from
`protoaudit.proto.socks.constants` when shown). Whether accepting NO
AUTHENTICATION REQUIRED makes an open proxy, or RFC 1929 a risk, is
policy's question (policy/socks_rules.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from protoaudit.observations import Observation

__all__ = [
    "Socks4Detection",
    "SocksConnect",
    "SocksMethodOffer",
    "SocksMethods",
    "SocksUsernamePassword",
]


@dataclass(frozen=True, slots=True)
class SocksMethodOffer:
    """One method selection request (RFC 1928 3) and the server's choice."""

    offered: tuple[int, ...]  # in the order sent
    selected: int | None  # 0xFF: none acceptable; None: no valid answer (see detail)
    detail: str  # what happened, in words; quotes the server when it was not SOCKS 5


@dataclass(frozen=True, slots=True)
class SocksMethods(Observation):
    """Every method offered alone, then all together in both orders, on separate connections."""

    kind: ClassVar[str] = "socks_methods"
    offers: tuple[SocksMethodOffer, ...]
    accepted: tuple[int, ...]  # the methods the server chose when offered alone
    preferred: int | None  # its choice when offered all, in our order (None: no answer)
    preferred_reversed: int | None  # ... in the reverse order: a server preference shows here


@dataclass(frozen=True, slots=True)
class SocksUsernamePassword(Observation):
    """The RFC 1929 subnegotiation, tried with an obviously fake pair (never real credentials).

    RFC 1929 sends the user name and password in the clear: `cleartext` is
    always True, stated so that a report can say so without knowing the RFC.
    """

    kind: ClassVar[str] = "socks_username_password"
    username: str  # the fake user name sent
    answered: bool  # an RFC 1929 reply came back
    reply_version: int | None
    status: int | None  # 0: the server accepted the fake pair
    fake_pair_accepted: bool
    cleartext: bool
    detail: str


@dataclass(frozen=True, slots=True)
class SocksConnect(Observation):
    """A CONNECT through the proxy, without authentication, to the target the user named."""

    kind: ClassVar[str] = "socks_connect"
    version: str  # "5", "4" or "4a"
    target_host: str
    target_port: int
    reply_code: int | None  # RFC 1928 REP, or SOCKS 4 CD; None: no reply
    succeeded: bool  # REP 0 / CD 90: the proxy connected to the target for us
    bound_address: str | None  # BND.ADDR, as sent
    bound_port: int | None
    detail: str


@dataclass(frozen=True, slots=True)
class Socks4Detection(Observation):
    """A SOCKS 4 request with a command code SOCKS 4 does not have, and what came back.

    It names 0.0.0.0 port 0, so it connects nowhere; a version-4 reply (any of
    CD 90-93) shows that the server speaks SOCKS 4, which has no
    authentication at all.
    """

    kind: ClassVar[str] = "socks4_detection"
    command: int  # the bogus command code sent
    speaks_socks4: bool
    reply_version: int | None
    reply_code: int | None
    detail: str
