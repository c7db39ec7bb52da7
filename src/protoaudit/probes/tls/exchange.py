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


async def send_hello(
    context: ProbeContext, record: bytes, *, stop_after: str = "server_hello"
) -> HelloOutcome:
    """Open a connection, send `record`, read until the exchange is done or the peer gives up."""
    exchange = codec.HelloExchange(record, stop_after=stop_after)
    certificates: tuple[bytes, ...] = ()
    server_key_exchange: bytes | None = None
    server_hello: ServerHello | None = None
    alert: int | None = None
    sslv2_error: int | None = None
    try:
        async with context.connection() as conn:
            await conn.send(exchange.bytes_to_send())
            while True:
                event = exchange.next_event()
                if event is None:
                    if exchange.finished:  # the server closed it (alert, SSL 2.0 ERROR)
                        break
                    exchange.receive_data(await conn.receive())
                    continue
                match event:
                    case (
                        codec.ServerHelloReceived(server_hello=hello)
                        | codec.HelloRetryRequestReceived(server_hello=hello)
                    ):
                        server_hello = hello
                    case codec.CertificateReceived(certificates=chain):
                        certificates = chain
                    case codec.ServerKeyExchangeReceived(body=body):
                        server_key_exchange = body
                    case codec.SSLv2ServerHelloReceived(server_hello=sslv2):
                        return HelloOutcome(sslv2_hello=sslv2)
                    case codec.SSLv2ErrorReceived(error_code=code):
                        sslv2_error = code
                    case codec.AlertReceived(description=description):
                        # A warning changes nothing; a closing alert also finishes the exchange.
                        alert = description
                    case codec.Malformed(error=error):
                        return HelloOutcome(
                            server_hello=server_hello,
                            failure=_malformed(exchange, error),
                            malformed=error,
                        )
                    case codec.ExchangeDone():
                        break
    except TransportError as error:
        if server_hello is None:
            return HelloOutcome(failure=_cut_short(exchange, error))
    if server_hello is None:
        if exchange.state is codec.State.CLOSED and alert is not None:
            return HelloOutcome(alert=alert)
        if sslv2_error is not None:
            return HelloOutcome(failure=f"SSL 2.0 ERROR 0x{sslv2_error:04x}")
    return HelloOutcome(
        server_hello=server_hello,
        certificates=certificates,
        server_key_exchange=server_key_exchange,
    )
