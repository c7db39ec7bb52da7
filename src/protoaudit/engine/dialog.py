"""Run a sans-I/O STARTTLS dialog over a connection: asyncio here, blocking for pyOpenSSL.

Both drivers do the same thing — send what the dialog wants, feed it what
arrives, until it is READY (the next byte is the TLS ClientHello) or FAILED —
and both bound the time: each read has the connection's deadline, and the
dialog itself bounds the bytes.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

from protoaudit.engine.transport import Connection
from protoaudit.errors import TransportError
from protoaudit.proto.starttls.base import Dialog, DialogOutcome, Status

STARTTLS = "starttls"  # the TransportError kind for a dialog that did not end in TLS


class StartTlsFailed(TransportError):
    """The plaintext dialog ended without the server agreeing to TLS."""

    def __init__(self, outcome: DialogOutcome) -> None:
        super().__init__(STARTTLS, outcome.failure or "the server did not agree to TLS")
        self.outcome = outcome


async def run_dialog(conn: Connection, dialog: Dialog) -> DialogOutcome:
    """Drive `dialog` to its end; raise StartTlsFailed unless TLS may start."""
    while True:
        outgoing = dialog.bytes_to_send()
        if outgoing:
            await conn.send(outgoing)
        if dialog.status is not Status.RUNNING:
            break
        try:
            data = await conn.receive()
        except TransportError as error:
            if error.kind != TransportError.CLOSED:
                raise
            dialog.connection_closed()
            continue
        dialog.receive_data(data)
    if dialog.status is Status.READY:
        return dialog.outcome
    raise StartTlsFailed(dialog.outcome)


def blocking_connector(
    make_dialog: Callable[[], Dialog],
) -> Callable[[str, int, float], socket.socket]:
    """A connect function for blocking clients (pyOpenSSL) that replays the dialog first."""

    def connect(host: str, port: int, timeout: float) -> socket.socket:
        sock = socket.create_connection((host, port), timeout=timeout)
        try:
            run_dialog_blocking(sock, make_dialog(), deadline=time.monotonic() + timeout)
        except BaseException:
            sock.close()
            raise
        sock.settimeout(timeout)
        return sock

    return connect


def run_dialog_blocking(sock: socket.socket, dialog: Dialog, *, deadline: float) -> DialogOutcome:
    """The same over a blocking socket (the pyOpenSSL worker thread); `deadline` is monotonic."""
    while True:
        outgoing = dialog.bytes_to_send()
        if outgoing:
            sock.sendall(outgoing)
        if dialog.status is not Status.RUNNING:
            break
        left = deadline - time.monotonic()
        if left <= 0:
            raise TransportError(TransportError.TIMEOUT, "STARTTLS dialog took too long")
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except TimeoutError as error:
            raise TransportError(TransportError.TIMEOUT, "no reply during STARTTLS") from error
        if not data:
            dialog.connection_closed()
            continue
        dialog.receive_data(data)
    if dialog.status is Status.READY:
        return dialog.outcome
    raise StartTlsFailed(dialog.outcome)
