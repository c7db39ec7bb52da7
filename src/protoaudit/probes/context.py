"""What every probe of one target shares: where to connect, how long to wait, the limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from protoaudit.engine.limits import Limiter
from protoaudit.engine.transport import Connection, Timeouts, connect
from protoaudit.errors import TransportError


@dataclass(frozen=True, slots=True)
class ProbeContext:
    host: str  # what the user named; checked against certificates
    address: str  # the IP address connected to
    port: int
    server_name: str | None  # SNI, None to send none
    timeouts: Timeouts
    limiter: Limiter
    ca_file: str | None
    now: datetime
    retries: int = 2
    max_bytes: int = 1 << 20

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A connection inside the host's concurrency slot, retried on transient faults only.

        A reset at connect can be a busy single-threaded server's full backlog; a
        refusal, a timeout or an unreachable network is an answer, and is not retried
        (the scan checked reachability once before any probe ran).
        """
        async with self.limiter.slot(self.address):
            for attempt in range(self.retries + 1):
                try:
                    conn = await connect(
                        self.address, self.port, timeouts=self.timeouts, max_bytes=self.max_bytes
                    )
                    break
                except TransportError as error:
                    if error.kind != TransportError.RESET or attempt == self.retries:
                        raise
            async with conn:
                yield conn
