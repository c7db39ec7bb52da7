"""Telnet, rlogin, rsh and rexec: confirm the service from what it sends, not from its port.

- telnet: connect and listen; telnetd opens with option negotiation (IAC DO
  TERMINAL-TYPE …) before any text.
- rlogin, rsh: send the protocol's start-up for a user that does not exist
  and read the status byte: 0 (going on) or 1 and an error line are both the
  protocol talking. rlogind and rshd trust only clients on a reserved source
  port (512-1023), so as root the probe binds one; otherwise rshd closes
  silently and that is said, not guessed.
- rexec: a user name longer than rexecd's buffer gets "\\1username too long",
  which confirms rexecd without sending a password (a wrong password gets no
  answer at all).

Each is one blocking connection in a worker thread (a reserved source port
needs bind before connect), inside the host's concurrency slot, with the read
timeout on every read and a byte bound on what is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import time
from collections.abc import Callable

from protoaudit.errors import DecodeError
from protoaudit.observations import ConnectionFailure, Observation, PlaintextLoginService
from protoaudit.probes.context import ProbeContext
from protoaudit.proto.remote_login import (
    parse_remote_reply,
    parse_telnet,
    rexec_request,
    rlogin_request,
    rsh_request,
)

LOCAL_USER = "protoaudit"
REMOTE_USER = "pa-nosuchuser"
MAX_READ = 4096
QUOTED = 64  # bytes of an unrecognised answer quoted in the failure
RESERVED_PORTS = range(1023, 511, -1)
_SOURCE_PORT_BUSY = (errno.EADDRINUSE, errno.EADDRNOTAVAIL)

_REQUESTS = {
    "rlogin": lambda: rlogin_request(LOCAL_USER, REMOTE_USER, "xterm/38400"),
    "rsh": lambda: rsh_request(LOCAL_USER, REMOTE_USER, "true"),
    "rexec": lambda: rexec_request("u" * 300, "x", "true"),
}


def _connect(address: str, port: int, timeout: float, *, reserved: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    if not reserved:
        return socket.create_connection((address, port), timeout=timeout)
    deadline = time.monotonic() + timeout
    for local in RESERVED_PORTS:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", local))  # noqa: S104
        except OSError:
            sock.close()
            continue  # another program's port
        try:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            sock.connect((address, port))
        except OSError as error:
            sock.close()
            # Only a source port still tied to this peer (TIME_WAIT) is worth another
            # try; a refusal or a timeout is the server's answer, and trying the next
            # of 512 ports on a server that stopped accepting would take 512 timeouts.
            if error.errno in _SOURCE_PORT_BUSY and time.monotonic() < deadline:
                continue
            raise
        return sock
    raise OSError("no reserved source port free")


def _read(sock: socket.socket, timeout: float, done: Callable[[bytes], bool]) -> bytes:
    """What the server sends until `done` says enough, it closes, or `timeout` passes."""
    data = b""
    deadline = time.monotonic() + timeout
    with contextlib.suppress(TimeoutError, OSError):
        while len(data) < MAX_READ and not done(data):
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(MAX_READ)
            if not chunk:
                break
            data += chunk
    return data[:MAX_READ]


def _status_line(data: bytes) -> bool:
    """A status byte 0 (nothing more is owed), or 1 and its whole error line."""
    return data[:1] == b"\0" or b"\n" in data


def _telnet(address: str, port: int, timeout: float) -> Observation:
    with _connect(address, port, timeout, reserved=False) as sock:
        data = _read(sock, timeout, lambda seen: parse_telnet(seen).negotiates)
    greeting = parse_telnet(data)
    if greeting.negotiates:
        return PlaintextLoginService(
            "telnet", f"telnet option negotiation ({greeting.describe()[:200]})", _quote(data)
        )
    return _unconfirmed("telnet", data)


def _r_service(protocol: str, address: str, port: int, timeout: float) -> Observation:
    # rexec takes any source port; rlogind and rshd want a reserved one, which needs root.
    reserved = protocol != "rexec" and os.geteuid() == 0
    with _connect(address, port, timeout, reserved=reserved) as sock:
        sock.sendall(_REQUESTS[protocol]())
        data = _read(sock, timeout, _status_line)
    try:
        reply = parse_remote_reply(data, protocol=protocol)
    except DecodeError:
        reply = None
    if reply is None:
        if not data and not reserved and protocol != "rexec":
            return ConnectionFailure(
                "remote-login",
                "not-confirmed",
                f"{protocol}: closed without a word; its daemon answers only a reserved "
                "source port, which needs root",
            )
        return _unconfirmed(protocol, data)
    said = "0 (accepted, going on)" if reply.accepted else f"1, {reply.message[:120]!r}"
    source = "a reserved source port" if reserved else "an unprivileged source port"
    return PlaintextLoginService(
        protocol, f"{protocol} status byte {said} to a start-up from {source}", _quote(data)
    )


def _unconfirmed(protocol: str, data: bytes) -> ConnectionFailure:
    # The bytes' repr escapes every control byte, and QUOTED bytes keep it short
    # (at most four characters a byte) whatever the server floods.
    what = "sent nothing"
    if data:
        more = "\u2026" if len(data) > QUOTED else ""
        what = f"sent {data[:QUOTED]!r}{more}"
    return ConnectionFailure("remote-login", "not-confirmed", f"{protocol}: the server {what}")


def _quote(data: bytes) -> str:
    return data[:200].decode("latin-1")


def confirm_blocking(protocol: str, address: str, port: int, timeout: float) -> Observation:
    try:
        if protocol == "telnet":
            return _telnet(address, port, timeout)
        return _r_service(protocol, address, port, timeout)
    except OSError as error:
        kind = "connect"
        if isinstance(error, ConnectionRefusedError):
            kind = "refused"
        elif isinstance(error, TimeoutError):
            kind = "timeout"
        return ConnectionFailure("connect", kind, f"{protocol}: {error}"[:300])


async def run_remote_login_probe(
    context: ProbeContext, protocol: str, sink: list[Observation]
) -> None:
    async with context.limiter.slot(context.address):
        sink.append(
            await asyncio.to_thread(
                confirm_blocking, protocol, context.address, context.port, context.timeouts.read
            )
        )
