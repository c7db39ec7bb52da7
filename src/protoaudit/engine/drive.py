"""Drive a sans-I/O client machine over one connection until it is finished.

The SSH and SOCKS probes' machines (proto/ssh, proto/socks) share one shape:
bytes_to_send(), receive_data(), next_event(), finished. Events land in the
caller's list as they come, so what the server did say (its identification,
say) survives a TransportError raised later; at most `max_bytes` are fed in.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from protoaudit.engine.transport import Connection
from protoaudit.errors import TransportError

E_co = TypeVar("E_co", covariant=True)


class Machine(Protocol[E_co]):
    @property
    def finished(self) -> bool: ...

    def bytes_to_send(self) -> bytes: ...

    def receive_data(self, data: bytes) -> None: ...

    def next_event(self) -> E_co | None: ...


E = TypeVar("E")


async def drive(conn: Connection, machine: Machine[E], events: list[E], max_bytes: int) -> None:
    received = 0
    while True:
        outgoing = machine.bytes_to_send()
        if outgoing:
            await conn.send(outgoing)
        while (event := machine.next_event()) is not None:
            events.append(event)
        if machine.finished:
            return
        if received >= max_bytes:
            raise TransportError(TransportError.TOO_LARGE, "the server sent too much")
        data = await conn.receive()
        # Only what the budget allows is read; the rest counts, unread.
        machine.receive_data(data[: max_bytes - received])
        received += len(data)
