"""Drive one sans-I/O HelloExchange over one connection and say what the server did."""

from __future__ import annotations

import os
from dataclasses import dataclass

from protoaudit.errors import DecodeError, TransportError
from protoaudit.probes.context import ProbeContext
from protoaudit.proto.tls import exchange as codec
from protoaudit.proto.tls.server import ServerHello, SSLv2ServerHello
from protoaudit.registry import tls as registry
from protoaudit.sanitize import quote_bytes


@dataclass(frozen=True, slots=True)
class HelloOutcome:
    """What came back for one ClientHello. Exactly one of hello/alert/failure explains it."""

    server_hello: ServerHello | None = None  # a ServerHello or a HelloRetryRequest
    alert: int | None = None  # alert description
    certificates: tuple[bytes, ...] = ()
    server_key_exchange: bytes | None = None
    sslv2_hello: SSLv2ServerHello | None = None
    # Why there is no (complete) answer, in words: "timeout: no data within 5s",
    # "server sent 'HTTP/1.1 400 Bad Request…' (not TLS: …)", "malformed: …".
    failure: str | None = None
    malformed: DecodeError | None = None  # the error, when the server's bytes broke the rules

    @property
    def summary(self) -> str:
        """A few words on what happened, for observations' detail fields."""
        if self.server_hello is not None:
            kind = (
                "HelloRetryRequest" if self.server_hello.is_hello_retry_request else "ServerHello"
            )
            return f"{kind} ({registry.cipher_suite(self.server_hello.cipher_suite).name})"
        if self.sslv2_hello is not None:
            return "SSLv2 SERVER-HELLO"
        if self.alert is not None:
            return f"alert {registry.alert(self.alert).name}"
        return self.failure or "no answer"


class Abandoned(Exception):
    """A probe cannot go on (its carrier gave up, the server lied): `reason`, and why.

    Enumerations end with a ProbeFailure of that reason rather than read the
    silence as a refusal.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def client_random() -> bytes:
    # Scans need no reproducible randomness; tests of the codec inject their own.
    return os.urandom(32)


def _shown(exchange: codec.HelloExchange) -> str:
    return f"server sent {quote_bytes(exchange.received_prefix)}"


def _malformed(exchange: codec.HelloExchange, error: DecodeError) -> str:
    if not exchange.records_received:
        # Not even the first record made sense: whatever it is, it is not TLS.
        return f"{_shown(exchange)} (not TLS: {error.reason})"
    return f"malformed: {error}"


def _cut_short(exchange: codec.HelloExchange, error: TransportError) -> str:
    words = f"{error.kind}: {error.detail}"
    if exchange.received_prefix and not exchange.records_received:
        return f"{words}; {_shown(exchange)}, not one whole record"
    return words


class HelloReader:
    """One hello exchange without I/O: bytes in, bytes out, a HelloOutcome at the end.

    send_hello drives it over a TCP connection; OpenVPN's probe drives it through
    its control channel (probes/openvpn.py).
    """

    def __init__(self, record: bytes, stop_after: str = "server_hello") -> None:
        self.exchange = codec.HelloExchange(record, stop_after=stop_after)
        self.server_hello: ServerHello | None = None
        self.certificates: tuple[bytes, ...] = ()
        self.server_key_exchange: bytes | None = None
        self.alert: int | None = None
        self.sslv2_error: int | None = None
        self.decided: HelloOutcome | None = None  # an answer that ends the exchange early
        self.finished = False

    @property
    def done(self) -> bool:
        return self.finished or self.decided is not None

    def outgoing(self) -> bytes:
        return self.exchange.bytes_to_send()

    def incoming(self, data: bytes) -> None:
        self.exchange.receive_data(data)
        while not self.done and (event := self.exchange.next_event()) is not None:
            self._take(event)
        # The server closed it (alert, SSL 2.0 ERROR): nothing more will come.
        self.finished = self.finished or self.exchange.finished

    def _take(self, event: codec.Event) -> None:
        match event:
            case (
                codec.ServerHelloReceived(server_hello=hello)
                | codec.HelloRetryRequestReceived(server_hello=hello)
            ):
                self.server_hello = hello
            case codec.CertificateReceived(certificates=chain):
                self.certificates = chain
            case codec.ServerKeyExchangeReceived(body=body):
                self.server_key_exchange = body
            case codec.SSLv2ServerHelloReceived(server_hello=sslv2):
                self.decided = HelloOutcome(sslv2_hello=sslv2)
            case codec.SSLv2ErrorReceived(error_code=code):
                self.sslv2_error = code
            case codec.AlertReceived(description=description):
                # A warning changes nothing; a closing alert also finishes the exchange.
                self.alert = description
            case codec.Malformed(error=error):
                self.decided = HelloOutcome(
                    server_hello=self.server_hello,
                    failure=_malformed(self.exchange, error),
                    malformed=error,
                )
            case codec.ExchangeDone():
                self.finished = True

    def outcome(self, error: TransportError | None = None) -> HelloOutcome:
        """What the exchange came to; `error`: why the carrier stopped before it was done."""
        if self.decided is not None:
            return self.decided
        if self.server_hello is None:
            if error is not None:
                return HelloOutcome(failure=_cut_short(self.exchange, error))
            if self.exchange.state is codec.State.CLOSED and self.alert is not None:
                return HelloOutcome(alert=self.alert)
            if self.sslv2_error is not None:
                return HelloOutcome(failure=f"SSL 2.0 ERROR 0x{self.sslv2_error:04x}")
        return HelloOutcome(
            server_hello=self.server_hello,
            certificates=self.certificates,
            server_key_exchange=self.server_key_exchange,
        )


async def send_hello(
    context: ProbeContext, record: bytes, *, stop_after: str = "server_hello"
) -> HelloOutcome:
    """Send `record` and read until the exchange is done or the peer gives up.

    Over a connection of its own, or through the context's tls_carrier when it has one.
    """
    if context.tls_carrier is not None:
        return await context.tls_carrier(record, stop_after)
    reader = HelloReader(record, stop_after)
    try:
        async with context.connection() as conn:
            await conn.send(reader.outgoing())
            while not reader.done:
                reader.incoming(await conn.receive())
    except TransportError as error:
        return reader.outcome(error)
    return reader.outcome()
