"""OpenVPN's two carriers, one packet at a time: a connected UDP socket, or a TCP stream.

probes/openvpn.py speaks the control channel over either; here each packet is
sent and received with the context's deadlines and byte limit. Over UDP only
datagrams from the target are taken, at most MAX_QUEUED_DATAGRAMS queued; an
ICMP error becomes the TransportError it stands for. Over TCP, packets are
deframed (a 2-byte length each). The first bytes received are kept, to say
what a peer that is not an OpenVPN server sent.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

from protoaudit.engine.transport import Connection
from protoaudit.errors import TransportError
from protoaudit.probes.context import ProbeContext
from protoaudit.proto.openvpn.packets import StreamDeframer, frame

MAX_QUEUED_DATAGRAMS = 64
PREFIX_SHOWN = 48  # bytes of a non-OpenVPN answer quoted in a detail


class Link(Protocol):
    retransmits: bool
    received_prefix: bytes  # the first bytes received, for saying what a non-server sent

    async def send(self, packet: bytes) -> None: ...

    async def receive(self, timeout: float) -> bytes: ...


def os_error_kind(error: OSError) -> str:
    if isinstance(error, ConnectionRefusedError):
        return TransportError.REFUSED
    if isinstance(error, ConnectionResetError):
        return TransportError.RESET
    return TransportError.UNREACHABLE


class UdpLink(asyncio.DatagramProtocol):
    """A connected UDP socket: datagrams from the target only, queued and counted."""

    retransmits = True

    def __init__(self, budget: int) -> None:
        self._queue: deque[bytes] = deque()
        self._error: OSError | None = None
        self._wake = asyncio.Event()
        self._budget = budget
        self.transport: asyncio.DatagramTransport | None = None
        self.received_prefix = b""

    def datagram_received(self, data: bytes, _address: tuple[str | object, ...]) -> None:
        if not self.received_prefix:
            self.received_prefix = data[:PREFIX_SHOWN]
        self._budget -= len(data)
        if len(self._queue) < MAX_QUEUED_DATAGRAMS:  # beyond: dropped, as a busy kernel would
            self._queue.append(data)
        self._wake.set()

    def error_received(self, exc: Exception) -> None:
        if isinstance(exc, OSError):
            self._error = exc
        self._wake.set()

    async def send(self, packet: bytes) -> None:
        assert self.transport is not None
        if self._error is not None:
            raise TransportError(os_error_kind(self._error), os.strerror(self._error.errno or 0))
        self.transport.sendto(packet)

    async def receive(self, timeout: float) -> bytes:
        try:
            async with asyncio.timeout(max(timeout, 0)):
                while not self._queue:
                    if self._error is not None:
                        error = self._error
                        raise TransportError(os_error_kind(error), os.strerror(error.errno or 0))
                    self._wake.clear()
                    await self._wake.wait()
        except TimeoutError as error:
            raise TransportError(
                TransportError.TIMEOUT, f"no answer within {timeout:g}s"
            ) from error
        if self._budget < 0:
            raise TransportError(TransportError.TOO_LARGE, "peer sent more than the byte limit")
        return self._queue.popleft()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class TcpLink:
    retransmits = False

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._deframer = StreamDeframer()
        self.received_prefix = b""

    async def send(self, packet: bytes) -> None:
        await self._connection.send(frame(packet))

    async def receive(self, timeout: float) -> bytes:
        try:
            async with asyncio.timeout(max(timeout, 0)):
                while (packet := self._deframer.next_packet()) is None:
                    data = await self._connection.receive()
                    if len(self.received_prefix) < PREFIX_SHOWN:
                        self.received_prefix += data[: PREFIX_SHOWN - len(self.received_prefix)]
                    self._deframer.feed(data)
        except TimeoutError as error:
            raise TransportError(
                TransportError.TIMEOUT, f"no answer within {timeout:g}s"
            ) from error
        return packet


@asynccontextmanager
async def open_link(context: ProbeContext, transport: str) -> AsyncIterator[Link]:
    if transport == "tcp":
        async with context.connection() as connection:
            yield TcpLink(connection)
        return
    async with context.limiter.slot(context.address):
        loop = asyncio.get_running_loop()
        protocol = UdpLink(context.max_bytes)
        try:
            async with asyncio.timeout(context.timeouts.connect):
                protocol.transport, _ = await loop.create_datagram_endpoint(
                    lambda: protocol, remote_addr=(context.address, context.port)
                )
        except TimeoutError as error:
            raise TransportError(TransportError.TIMEOUT, "UDP socket setup stalled") from error
        except OSError as error:
            raise TransportError(os_error_kind(error), f"{context.address}: {error}") from error
        try:
            yield protocol
        finally:
            protocol.close()
