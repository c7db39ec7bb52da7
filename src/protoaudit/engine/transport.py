"""TCP connections where every step has a deadline and every read a byte limit.

Failures come out as one exception type, TransportError, whose `kind` a report
can show ("refused", "timeout", "reset", "closed", "unreachable", "too-large").
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
from dataclasses import dataclass

from protoaudit.errors import TransportError

READ_CHUNK = 65536


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float = 5.0
    read: float = 5.0


def _kind_of(error: OSError) -> str:
    if isinstance(error, ConnectionRefusedError):
        return TransportError.REFUSED
    if isinstance(error, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return TransportError.RESET
    if isinstance(error, socket.gaierror):
        return TransportError.RESOLVE
    if error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
        return TransportError.UNREACHABLE
    if error.errno == errno.ETIMEDOUT:
        return TransportError.TIMEOUT
    return TransportError.RESET


def _reason(error: OSError) -> str:
    """The system's words for the error: asyncio's "Connect call failed (...)" hides them."""
    if error.errno:
        return os.strerror(error.errno)
    return str(error) or type(error).__name__


class Connection:
    """One TCP stream. `receive` returns b"" never: a close raises TransportError(CLOSED)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        timeouts: Timeouts,
        max_bytes: int,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._timeouts = timeouts
        self._budget = max_bytes

    async def send(self, data: bytes) -> None:
        try:
            self._writer.write(data)
            async with asyncio.timeout(self._timeouts.read):
                await self._writer.drain()
        except TimeoutError as error:
            raise TransportError(TransportError.TIMEOUT, "send stalled") from error
        except OSError as error:
            raise TransportError(_kind_of(error), _reason(error)) from error

    async def receive(self) -> bytes:
        if self._budget <= 0:
            raise TransportError(TransportError.TOO_LARGE, "peer sent more than the byte limit")
        try:
            async with asyncio.timeout(self._timeouts.read):
                data = await self._reader.read(min(READ_CHUNK, self._budget))
        except TimeoutError as error:
            raise TransportError(
                TransportError.TIMEOUT, f"no data within {self._timeouts.read:g}s"
            ) from error
        except OSError as error:
            raise TransportError(_kind_of(error), _reason(error)) from error
        if not data:
            raise TransportError(TransportError.CLOSED, "peer closed the connection")
        self._budget -= len(data)
        return data

    def close(self) -> None:
        # An abort, not a graceful close: scans never wait for a peer's FIN.
        transport = self._writer.transport
        if not transport.is_closing():
            transport.abort()

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, *_: object) -> None:
        self.close()


async def connect(
    address: str, port: int, *, timeouts: Timeouts, max_bytes: int = 1 << 20
) -> Connection:
    try:
        async with asyncio.timeout(timeouts.connect):
            reader, writer = await asyncio.open_connection(address, port, limit=READ_CHUNK)
    except TimeoutError as error:
        raise TransportError(
            TransportError.TIMEOUT, f"connect to {address}:{port} took over {timeouts.connect:g}s"
        ) from error
    except OSError as error:
        raise TransportError(_kind_of(error), f"{address}:{port}: {_reason(error)}") from error
    return Connection(reader, writer, timeouts, max_bytes)


async def resolve(
    host: str, port: int, *, family: int = socket.AF_UNSPEC, timeout: float = 5.0
) -> list[str]:
    """Every address of host, IPv4 and IPv6 as asked, in the resolver's order, no duplicates."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            infos = await loop.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM)
    except TimeoutError as error:
        raise TransportError(
            TransportError.RESOLVE, f"{host}: resolving took over {timeout:g}s"
        ) from error
    except OSError as error:
        raise TransportError(
            TransportError.RESOLVE, f"{host}: {error.strerror or error}"
        ) from error
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise TransportError(TransportError.RESOLVE, f"{host}: no address")
    return addresses
