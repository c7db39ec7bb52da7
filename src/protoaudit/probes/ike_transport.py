"""UDP for the IKE probe: one connected datagram socket, a deadline and retries per exchange.

Every exchange sends one datagram and waits for the answer to *that* exchange
(same initiator SPI); a datagram for another exchange (a late answer to an
earlier probe, or a responder's retransmission) is skipped, bytes that do not
decode end the exchange as `Malformed`. Each attempt waits `attempt_timeout`;
after `retries` resends the exchange is `Silent`. A budget bounds the packets
sent and the bytes received over the whole probe: past it, every exchange is
`Exhausted` at once. ICMP port unreachable (ConnectionRefusedError on a
connected socket) is `Refused`.

On the NAT-T port (`non_esp_marker`) every datagram sent carries the RFC 3948
non-ESP marker, every datagram received must (one without it is `Malformed`),
and a NAT-keepalive is skipped like an answer to another exchange.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from protoaudit.errors import DecodeError
from protoaudit.proto.ike.exchanges import decode_for
from protoaudit.proto.ike.message import Message, add_non_esp_marker

MAX_DATAGRAM = 65535
QUEUE_LIMIT = 64  # datagrams waiting to be read; more are dropped, as the kernel would


@dataclass(frozen=True, slots=True)
class Answered:
    message: Message
    seconds: float


@dataclass(frozen=True, slots=True)
class Silent:
    attempts: int


@dataclass(frozen=True, slots=True)
class Refused:
    detail: str


@dataclass(frozen=True, slots=True)
class Malformed:
    error: DecodeError
    data: bytes


@dataclass(frozen=True, slots=True)
class Exhausted:
    what: str


Outcome = Answered | Silent | Refused | Malformed | Exhausted


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | Exception] = asyncio.Queue(QUEUE_LIMIT)

    def datagram_received(self, data: bytes, addr: object) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(exc)


class IkeChannel:
    """One UDP socket connected to the responder, with the probe's packet and byte budgets."""

    def __init__(
        self,
        transport: asyncio.DatagramTransport,
        protocol: _Protocol,
        *,
        attempt_timeout: float,
        retries: int,
        max_packets: int,
        max_bytes: int,
        non_esp_marker: bool = False,
    ) -> None:
        self._transport = transport
        self._protocol = protocol
        self.non_esp_marker = non_esp_marker
        self.attempt_timeout = attempt_timeout
        self.retries = retries
        self.max_packets = max_packets
        self.max_bytes = max_bytes
        self.packets_sent = 0
        self.bytes_received = 0

    @classmethod
    async def open(
        cls,
        address: str,
        port: int,
        *,
        attempt_timeout: float,
        retries: int,
        max_packets: int,
        max_bytes: int,
        non_esp_marker: bool = False,
    ) -> IkeChannel:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            _Protocol, remote_addr=(address, port)
        )
        return cls(
            transport,
            protocol,
            attempt_timeout=attempt_timeout,
            retries=retries,
            max_packets=max_packets,
            max_bytes=max_bytes,
            non_esp_marker=non_esp_marker,
        )

    @property
    def local_address(self) -> tuple[str, int]:
        name = self._transport.get_extra_info("sockname")
        return str(name[0]), int(name[1])

    @property
    def remote_address(self) -> tuple[str, int]:
        name = self._transport.get_extra_info("peername")
        return str(name[0]), int(name[1])

    def close(self) -> None:
        self._transport.close()

    def _drain(self) -> None:
        """Forget what arrived between exchanges: answers to exchanges already given up."""
        while not self._protocol.queue.empty():
            self._protocol.queue.get_nowait()

    async def exchange(self, request: bytes, initiator_spi: bytes) -> Outcome:
        self._drain()
        if self.non_esp_marker:
            request = add_non_esp_marker(request)
        started = time.monotonic()
        for _ in range(self.retries + 1):
            if self.packets_sent >= self.max_packets:
                return Exhausted(f"the probe's budget of {self.max_packets} packets")
            self.packets_sent += 1
            self._transport.sendto(request)
            deadline = time.monotonic() + self.attempt_timeout
            while (left := deadline - time.monotonic()) > 0:
                try:
                    async with asyncio.timeout(left):
                        item = await self._protocol.queue.get()
                except TimeoutError:
                    break
                if isinstance(item, Exception):
                    if isinstance(item, ConnectionRefusedError):
                        return Refused("port unreachable")
                    continue
                self.bytes_received += len(item)
                if self.bytes_received > self.max_bytes:
                    return Exhausted(f"the probe's budget of {self.max_bytes} bytes received")
                try:
                    message = decode_for(item, initiator_spi, non_esp_marker=self.non_esp_marker)
                except DecodeError as error:
                    return Malformed(error, item)
                if message is not None:
                    return Answered(message, time.monotonic() - started)
        return Silent(self.retries + 1)
