"""Drive one sans-I/O HelloExchange over one connection and say what the server did."""

from __future__ import annotations

import os
from dataclasses import dataclass

from protoaudit.errors import TransportError
from protoaudit.probes.context import ProbeContext
from protoaudit.proto.tls import exchange as codec
from protoaudit.proto.tls.server import ServerHello, SSLv2ServerHello
from protoaudit.registry import tls as registry


@dataclass(frozen=True, slots=True)
class HelloOutcome:
    """What came back for one ClientHello. Exactly one of hello/alert/failure explains it."""

    server_hello: ServerHello | None = None  # a ServerHello or a HelloRetryRequest
    alert: int | None = None  # alert description
    certificates: tuple[bytes, ...] = ()
    server_key_exchange: bytes | None = None
    sslv2_hello: SSLv2ServerHello | None = None
    failure: str | None = None  # "closed", "timeout", "reset", "malformed: …"

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


async def send_hello(
    context: ProbeContext, record: bytes, *, stop_after: str = "server_hello"
) -> HelloOutcome:
    """Open a connection, send `record`, read until the exchange is done or the peer gives up."""
    exchange = codec.HelloExchange(record, stop_after=stop_after)
    certificates: tuple[bytes, ...] = ()
    server_key_exchange: bytes | None = None
    server_hello: ServerHello | None = None
    try:
        async with context.connection() as conn:
            await conn.send(exchange.bytes_to_send())
            while True:
                event = exchange.next_event()
                if event is None:
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
                    case codec.AlertReceived(description=description):
                        if server_hello is None:
                            return HelloOutcome(alert=description)
                        break
                    case codec.Malformed(error=error):
                        return HelloOutcome(
                            server_hello=server_hello, failure=f"malformed: {error}"
                        )
                    case codec.ExchangeDone():
                        break
    except TransportError as error:
        if server_hello is None:
            return HelloOutcome(failure=error.kind)
    return HelloOutcome(
        server_hello=server_hello,
        certificates=certificates,
        server_key_exchange=server_key_exchange,
    )
