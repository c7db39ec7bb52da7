"""One DNS exchange with one server: UDP first, TCP when truncated, every failure as data.

dnspython's `asyncquery.udp` and `asyncquery.tcp` do the I/O with a deadline each; this module
only decides what their outcome means. A datagram from another address is ignored (it could
be anyone's); one from the server that does not answer our question (another ID, another
name) is a `mismatched_response`, bytes that are no DNS message (garbage, a compression
pointer loop, a message cut short without TC) are `malformed`, TC=1 with no usable answer
over TCP is `truncated`. TCP's two-byte length bounds a response to 65535 bytes; UDP reads
at most one 65535-byte datagram. An outer `asyncio.wait_for` backs dnspython's deadline up,
so a stalled peer costs at most the timeout.

`loopback_only` refuses, without sending anything, every address outside 127.0.0.0/8 and
::1: the tests and the lab set it, so that a referral or a root hint cannot lead a test to
the Internet (LAB-NOTES: never query real root servers).
"""

from __future__ import annotations

import asyncio
import ipaddress
import struct
from dataclasses import dataclass

import dns.asyncbackend
import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.query

from protoaudit.proto.dnssec import reasons

__all__ = ["Exchange", "Server", "exchange", "is_loopback"]

_GRACE = 0.25  # seconds the outer guard adds to dnspython's own deadline


@dataclass(frozen=True, slots=True)
class Server:
    address: str  # an IP address literal
    port: int

    def __str__(self) -> str:
        if ":" in self.address:
            return f"[{self.address}]:{self.port}"
        return f"{self.address}:{self.port}"


@dataclass(frozen=True, slots=True)
class Exchange:
    server: Server
    response: dns.message.Message | None
    failure: str | None  # a reasons.* value when there is no response
    detail: str
    tcp: bool  # the response (or the failure) came over TCP


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _failure(error: BaseException) -> tuple[str, str]:
    text = f"{type(error).__name__}: {error}"[:200]
    if isinstance(error, dns.exception.Timeout | TimeoutError):
        return reasons.TIMEOUT, "no answer before the timeout"
    if isinstance(error, dns.query.BadResponse):
        return reasons.MISMATCHED_RESPONSE, "the response does not answer the question asked"
    if isinstance(error, EOFError):
        return reasons.MALFORMED, "the connection closed before a whole message came"
    if isinstance(error, ConnectionRefusedError | ConnectionResetError):
        return reasons.UNREACHABLE, text
    if isinstance(error, OSError):
        return reasons.UNREACHABLE, text
    return reasons.MALFORMED, text


# What dnspython and the socket layer raise on bad input or a failing peer.
_EXPECTED = (
    dns.exception.DNSException,
    TimeoutError,
    EOFError,
    OSError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    UnicodeError,
    struct.error,
)


async def exchange(
    query: dns.message.Message,
    server: Server,
    *,
    timeout: float,
    loopback_only: bool = False,
) -> Exchange:
    """Ask `server`; never raises for anything the network or the peer does."""
    if loopback_only and not is_loopback(server.address):
        return Exchange(server, None, reasons.NOT_ALLOWED, "not a loopback address", False)
    backend = dns.asyncbackend.get_backend("asyncio")
    try:
        response = await asyncio.wait_for(
            dns.asyncquery.udp(
                query,
                server.address,
                timeout=timeout,
                port=server.port,
                ignore_unexpected=True,
                backend=backend,
            ),
            timeout + _GRACE,
        )
    except _EXPECTED as error:
        reason, detail = _failure(error)
        return Exchange(server, None, reason, f"UDP: {detail}", False)
    if not response.flags & dns.flags.TC:
        return Exchange(server, response, None, "", False)
    try:
        response = await asyncio.wait_for(
            dns.asyncquery.tcp(
                query, server.address, timeout=timeout, port=server.port, backend=backend
            ),
            timeout + _GRACE,
        )
    except _EXPECTED as error:
        _, detail = _failure(error)
        return Exchange(server, None, reasons.TRUNCATED, f"TC=1 over UDP; TCP: {detail}", True)
    if response.flags & dns.flags.TC:
        return Exchange(server, None, reasons.TRUNCATED, "TC=1 over TCP as well", True)
    return Exchange(server, response, None, "", True)
