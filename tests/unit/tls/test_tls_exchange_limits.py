"""HelloExchange against a server that lies or drags on: answers outside the offer, endless
ignorable messages, empty records; and what it keeps of a reply that is not TLS."""

from __future__ import annotations

import pytest
from tls_helpers import chunks

from protoaudit.proto.tls import exchange as codec
from protoaudit.proto.tls.constants import ContentType, HandshakeType, ProtocolVersion
from protoaudit.proto.tls.hello import build_client_hello, extension
from protoaudit.proto.tls.records import encode_handshake, encode_record
from protoaudit.proto.tls.server import HELLO_RETRY_REQUEST_RANDOM, Alert, ServerHello

TLS1_2, TLS1_3 = ProtocolVersion.TLS1_2, ProtocolVersion.TLS1_3
OFFERED = (0xC02F, 0xC030)


def hello_record(version: int, suites: tuple[int, ...] = OFFERED) -> bytes:
    return build_client_hello(version=version, cipher_suites=suites, random=bytes(32))


def answer(suite: int, version: int = TLS1_2, *, supported_version: int | None = None) -> bytes:
    extensions = (
        ()
        if supported_version is None
        else (extension("supported_versions", supported_version.to_bytes(2, "big")),)
    )
    hello = ServerHello(version, bytes(32), b"", suite, 0, extensions)
    return encode_record(ContentType.HANDSHAKE, TLS1_2, hello.encode())


def run(
    hello: bytes, data: bytes, piece: int | None = None
) -> tuple[list[codec.Event], codec.HelloExchange]:
    exchange = codec.HelloExchange(hello, stop_after="server_hello")
    events: list[codec.Event] = []
    for part in [data] if piece is None else chunks(data, piece):
        exchange.receive_data(part)
        while (event := exchange.next_event()) is not None:
            events.append(event)
    return events, exchange


def error_of(events: list[codec.Event]) -> tuple[str, str]:
    assert isinstance(events[-1], codec.Malformed), events
    return events[-1].error.field, events[-1].error.reason


# The answer is held against the offer.


@pytest.mark.parametrize("piece", [None, 1])
def test_an_offered_suite_and_version_pass(piece: int | None) -> None:
    events, exchange = run(hello_record(TLS1_2), answer(0xC030), piece)
    assert [type(e).__name__ for e in events] == ["ServerHelloReceived", "ExchangeDone"]
    assert exchange.state is codec.State.DONE


def test_a_suite_not_offered_is_refused() -> None:
    events, exchange = run(hello_record(TLS1_2), answer(0x009C))
    assert error_of(events) == (
        codec.CIPHER_SUITE_FIELD,
        "the server chose 0x009C, which was not offered",
    )
    assert exchange.state is codec.State.FAILED


def test_a_lower_version_is_negotiation_not_a_violation() -> None:
    events, _ = run(hello_record(TLS1_2), answer(0xC02F, ProtocolVersion.TLS1_0))
    assert isinstance(events[0], codec.ServerHelloReceived)


def test_a_higher_legacy_version_is_refused() -> None:
    events, _ = run(hello_record(ProtocolVersion.TLS1_1, (0xC013,)), answer(0xC013))
    assert error_of(events) == (
        codec.VERSION_FIELD,
        "the server chose TLS 1.2, which was not offered",
    )


def test_tls13_in_legacy_version_is_refused() -> None:
    # RFC 8446 4.1.3: TLS 1.3 is chosen with supported_versions, never in legacy_version.
    events, _ = run(hello_record(TLS1_3, (0x1301,)), answer(0x1301, TLS1_3))
    assert error_of(events)[0] == codec.VERSION_FIELD


def test_supported_versions_must_name_an_offered_version() -> None:
    tls13 = hello_record(TLS1_3, (0x1301,))
    events, _ = run(tls13, answer(0x1301, supported_version=TLS1_3))
    assert isinstance(events[0], codec.ServerHelloReceived)
    events, _ = run(tls13, answer(0x1301, supported_version=0x0305))
    assert error_of(events) == (
        codec.VERSION_FIELD,
        "the server chose 0x0305, which was not offered",
    )
    # A hello without supported_versions offered no TLS 1.3.
    events, _ = run(hello_record(TLS1_2), answer(0xC02F, supported_version=TLS1_3))
    assert error_of(events)[0] == codec.VERSION_FIELD


def test_a_hello_retry_request_is_held_against_the_offer_too() -> None:
    hrr = ServerHello(
        TLS1_2,
        HELLO_RETRY_REQUEST_RANDOM,
        b"",
        0x1302,
        0,
        (extension("supported_versions", TLS1_3.to_bytes(2, "big")),),
    )
    data = encode_record(ContentType.HANDSHAKE, TLS1_2, hrr.encode())
    events, _ = run(hello_record(TLS1_3, (0x1301,)), data)
    assert error_of(events)[0] == codec.CIPHER_SUITE_FIELD


def test_a_hello_that_does_not_decode_is_not_checked() -> None:
    # Probes may send deliberately odd hellos; the exchange then judges nothing.
    events, _ = run(b"not a client hello", answer(0x009C))
    assert isinstance(events[0], codec.ServerHelloReceived)


# Messages that change nothing are counted.


def warning() -> bytes:
    return encode_record(ContentType.ALERT, TLS1_2, Alert(1, 112).encode())


def hello_request() -> bytes:
    return encode_record(
        ContentType.HANDSHAKE, TLS1_2, encode_handshake(HandshakeType.HELLO_REQUEST, b"")
    )


def test_a_few_ignorable_messages_are_passed_over() -> None:
    data = (warning() + hello_request()) * 2 + warning() + answer(0xC02F)
    events, exchange = run(hello_record(TLS1_2), data)
    assert exchange.state is codec.State.DONE
    assert sum(isinstance(e, codec.AlertReceived) for e in events) == 3


@pytest.mark.parametrize("kind", [warning, hello_request])
def test_too_many_ignorable_messages_end_the_exchange(kind: object) -> None:
    data = kind() * (codec.MAX_IGNORED_MESSAGES + 1) + answer(0xC02F)  # type: ignore[operator]
    events, exchange = run(hello_record(TLS1_2), data)
    assert exchange.state is codec.State.FAILED
    assert "more than 5 warning alerts and HelloRequests" in error_of(events)[1]


def test_an_empty_handshake_record_is_refused() -> None:
    events, _ = run(hello_record(TLS1_2), encode_record(ContentType.HANDSHAKE, TLS1_2, b""))
    assert error_of(events) == ("record.length", "empty handshake record")


# What is kept of the reply.


def test_the_first_bytes_are_kept_and_framing_failure_is_told_apart() -> None:
    reply = b"HTTP/1.1 400 Bad Request\r\n" * 10
    events, exchange = run(hello_record(TLS1_2), reply)
    assert error_of(events) == ("record.type", "unknown content type 72")
    assert exchange.received_prefix == reply[: codec.RECEIVED_PREFIX_LENGTH]
    assert exchange.records_received == 0


def test_the_first_bytes_are_kept_across_pieces() -> None:
    partial = b"\x16\x03\x03\x3e\x80" + bytes(range(100))  # 16000 bytes announced
    events, exchange = run(hello_record(TLS1_2), partial, piece=3)
    assert events == []
    assert exchange.received_prefix == partial[: codec.RECEIVED_PREFIX_LENGTH]
    assert exchange.records_received == 0
    _, exchange = run(hello_record(TLS1_2), answer(0xC02F) + b"\xff" * 100)
    assert exchange.records_received == 1
