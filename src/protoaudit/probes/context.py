"""What every probe of one target shares: where to connect, how long to wait, the limits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from protoaudit.engine.dialog import run_dialog
from protoaudit.engine.limits import Limiter
from protoaudit.engine.transport import Connection, Timeouts, connect
from protoaudit.errors import TransportError
from protoaudit.proto.starttls.base import Dialog

if TYPE_CHECKING:
    from protoaudit.probes.tls.exchange import HelloOutcome


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
    # The STARTTLS dialog every connection replays before its TLS hello; None: implicit TLS.
    dialog: Callable[[], Dialog] | None = None
    # What carries a TLS hello (record, stop_after) when it is not a TCP connection of
    # its own: OpenVPN's control channel. None: send_hello connects.
    tls_carrier: Callable[[bytes, str], Awaitable[HelloOutcome]] | None = None

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
                if self.dialog is not None:
                    await run_dialog(conn, self.dialog())
                yield conn
