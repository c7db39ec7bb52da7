"""HelloExchange: captured flights, in-memory server flights, and hostile input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tls_helpers import chunks, group_code, load_hex

from protoaudit.errors import DecodeError
from protoaudit.proto.tls import exchange as codec
from protoaudit.proto.tls.constants import ContentType, HandshakeType
from protoaudit.proto.tls.records import encode_handshake, encode_record, encode_sslv2_record
from protoaudit.proto.tls.server import (
    HELLO_RETRY_REQUEST_RANDOM,
    Alert,
    Certificate,
    ServerECDHParams,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
)
from protoaudit.proto.tls.sslv2 import SSLv2Error, SSLv2ServerHello

HELLO = b"client hello record"
TLS12_HELLO = ServerHello(0x0303, bytes(32), b"", 0xC02B, 0)


def run(
    data: bytes, *, stop_after: str = "server_hello", piece: int | None = None
) -> tuple[list[codec.Event], codec.HelloExchange]:
    exchange = codec.HelloExchange(HELLO, stop_after=stop_after)
    events: list[codec.Event] = []
    for part in [data] if piece is None else chunks(data, piece):
        exchange.receive_data(part)
        while (event := exchange.next_event()) is not None:
            events.append(event)
    return events, exchange


def flight(*messages: bytes) -> bytes:
    return encode_record(ContentType.HANDSHAKE, 0x0303, b"".join(messages))


def alert(level: int, description: int) -> bytes:
    return encode_record(ContentType.ALERT, 0x0303, Alert(level, description).encode())


def kinds(events: list[codec.Event]) -> list[str]:
    return [type(event).__name__ for event in events]


def test_hello_is_sent_once() -> None:
    exchange = codec.HelloExchange(HELLO, stop_after="server_hello")
    assert exchange.bytes_to_send() == HELLO
    assert exchange.bytes_to_send() == b""
    assert exchange.next_event() is None
    assert exchange.state is codec.State.WAIT_SERVER_HELLO


def test_unknown_stop_point_is_the_callers_mistake() -> None:
    with pytest.raises(ValueError, match="stop_after"):
        codec.HelloExchange(HELLO, stop_after="certificate")


# Captured from openssl s_server: whole, byte by byte, and with bytes after the flight.


@pytest.mark.parametrize("piece", [None, 1, 5])
def test_captured_tls13_reply(piece: int | None) -> None:
    # The reply goes on with ChangeCipherSpec and encrypted records: they are not read.
    events, exchange = run(
        load_hex("server_tls13.hex"), stop_after="server_hello_done", piece=piece
    )
    assert kinds(events) == ["ServerHelloReceived", "ExchangeDone"]
    assert isinstance(events[0], codec.ServerHelloReceived)
    hello = events[0].server_hello
    assert hello.key_share_group == group_code("x25519")
    assert exchange.finished
    assert exchange.state is codec.State.DONE


@pytest.mark.parametrize("piece", [None, 1, 5])
@pytest.mark.parametrize("trailing", [b"", b"\x16\x03\x03", b"garbage after the flight"])
def test_captured_tls12_flight(piece: int | None, trailing: bytes) -> None:
    data = load_hex("server_tls12_ecdhe.hex") + trailing
    events, _ = run(data, stop_after="server_hello_done", piece=piece)
    assert kinds(events) == [
        "ServerHelloReceived",
        "CertificateReceived",
        "ServerKeyExchangeReceived",
        "ServerHelloDoneReceived",
        "ExchangeDone",
    ]
    certificates = events[1].certificates  # type: ignore[union-attr]
    assert len(certificates) == 1
    ske = ServerKeyExchange.decode(
        events[2].body,  # type: ignore[union-attr]
        key_exchange="ECDHE",
        version=0x0303,
    )
    assert ske.group == group_code("secp256r1")


def test_captured_tls12_flight_stopping_after_server_hello() -> None:
    events, exchange = run(load_hex("server_tls12_ecdhe.hex"), stop_after="server_hello")
    assert kinds(events) == ["ServerHelloReceived", "ExchangeDone"]
    assert exchange.finished


@pytest.mark.parametrize("piece", [None, 1])
def test_captured_alert(piece: int | None) -> None:
    events, exchange = run(load_hex("server_alert.hex") + b"\x00\x00", piece=piece)
    assert events == [codec.AlertReceived(level=2, description=40)]
    assert exchange.state is codec.State.CLOSED
    assert exchange.finished


# In-memory server flights.


def test_hello_retry_request_ends_the_exchange() -> None:
    hrr = ServerHello(
        0x0303,
        HELLO_RETRY_REQUEST_RANDOM,
        b"",
        0x1301,
        0,
        ((43, bytes.fromhex("0304")), (51, group_code("secp384r1").to_bytes(2, "big"))),
    )
    events, _ = run(flight(hrr.encode()), stop_after="server_hello_done")
    assert kinds(events) == ["HelloRetryRequestReceived", "ExchangeDone"]
    assert events[0].server_hello.key_share_group == group_code("secp384r1")  # type: ignore[union-attr]


def test_anonymous_flight_without_certificate() -> None:
    ske = ServerKeyExchange(ServerECDHParams(3, 29, b"\x09" * 32))
    data = flight(TLS12_HELLO.encode(), ske.encode(), ServerHelloDone().encode())
    events, _ = run(data, stop_after="server_hello_done")
    assert kinds(events) == [
        "ServerHelloReceived",
        "ServerKeyExchangeReceived",
        "ServerHelloDoneReceived",
        "ExchangeDone",
    ]


def test_stapled_status_and_certificate_request() -> None:
    data = flight(
        TLS12_HELLO.encode(),
        Certificate((b"\x30\x00",)).encode(),
        encode_handshake(HandshakeType.CERTIFICATE_STATUS, b"\x01\x00\x00\x01\x00"),
        encode_handshake(HandshakeType.SERVER_KEY_EXCHANGE, b"params"),
        encode_handshake(HandshakeType.CERTIFICATE_REQUEST, b"request"),
        ServerHelloDone().encode(),
    )
    events, _ = run(data, stop_after="server_hello_done", piece=3)
    assert kinds(events) == [
        "ServerHelloReceived",
        "CertificateReceived",
        "CertificateStatusReceived",
        "ServerKeyExchangeReceived",
        "CertificateRequestReceived",
        "ServerHelloDoneReceived",
        "ExchangeDone",
    ]


def test_warning_alert_before_server_hello_is_reported_and_passed_over() -> None:
    # Given a server that warns unrecognized_name (112) before its ServerHello
    data = alert(1, 112) + flight(TLS12_HELLO.encode())
    events, exchange = run(data)
    assert kinds(events) == ["AlertReceived", "ServerHelloReceived", "ExchangeDone"]
    assert exchange.state is codec.State.DONE


def test_close_notify_ends_the_exchange() -> None:
    events, exchange = run(alert(1, 0) + flight(TLS12_HELLO.encode()))
    assert events == [codec.AlertReceived(level=1, description=0)]
    assert exchange.state is codec.State.CLOSED


def test_hello_request_is_ignored() -> None:
    data = flight(encode_handshake(HandshakeType.HELLO_REQUEST, b""), TLS12_HELLO.encode())
    events, _ = run(data)
    assert kinds(events) == ["ServerHelloReceived", "ExchangeDone"]


def test_sslv2_server_hello_and_error() -> None:
    hello = SSLv2ServerHello(0, 1, 2, b"\x30\x00", (0x010080,), b"x" * 16)
    events, exchange = run(encode_sslv2_record(hello.encode()), piece=1)
    assert events == [codec.SSLv2ServerHelloReceived(hello), codec.ExchangeDone()]
    events, exchange = run(encode_sslv2_record(SSLv2Error(1).encode()))
    assert events == [codec.SSLv2ErrorReceived(1)]
    assert exchange.state is codec.State.CLOSED


# Malformed and unexpected input: one Malformed event, never an exception.


def malformed(data: bytes, **options: object) -> DecodeError:
    events, exchange = run(data, **options)  # type: ignore[arg-type]
    assert isinstance(events[-1], codec.Malformed)
    assert sum(isinstance(e, codec.Malformed) for e in events) == 1
    assert exchange.state is codec.State.FAILED
    exchange.receive_data(flight(TLS12_HELLO.encode()))
    assert exchange.next_event() is None  # nothing is read after a failure
    return events[-1].error


def test_not_tls_at_all() -> None:
    assert malformed(b"HTTP/1.1 400 Bad Request\r\n\r\n").field == "record.type"


def test_certificate_before_server_hello() -> None:
    error = malformed(flight(Certificate((b"\x30\x00",)).encode()))
    assert "CERTIFICATE" in error.reason


def test_application_data_before_server_hello() -> None:
    assert "APPLICATION_DATA" in malformed(encode_record(23, 0x0303, b"data")).reason


def test_second_server_hello() -> None:
    data = flight(TLS12_HELLO.encode(), TLS12_HELLO.encode())
    malformed(data, stop_after="server_hello_done")


def test_unknown_handshake_type() -> None:
    malformed(flight(encode_handshake(99, b"")))


def test_truncated_server_hello_body() -> None:
    assert malformed(flight(encode_handshake(2, b"\x03\x03"))).protocol == "tls"


def test_server_hello_done_with_a_body() -> None:
    data = flight(TLS12_HELLO.encode(), encode_handshake(14, b"x"))
    malformed(data, stop_after="server_hello_done")


def test_oversized_handshake_message() -> None:
    header = bytes([2]) + (300 * 1024).to_bytes(3, "big")
    assert malformed(flight(header)).field == "handshake.length"


def test_alert_of_the_wrong_size() -> None:
    malformed(encode_record(21, 0x0303, b"\x02"))


def test_client_message_in_sslv2_framing() -> None:
    malformed(encode_sslv2_record(b"\x01\x00\x02"))


def test_transition_table_shape() -> None:
    transitions = codec._TRANSITIONS
    for state, _ in transitions:
        assert state not in codec.TERMINAL_STATES
    waiting = {state for state, _ in transitions}
    for state in waiting:
        assert transitions[(state, codec.Incoming.CLOSING_ALERT)] is codec.State.CLOSED
        assert transitions[(state, codec.Incoming.WARNING_ALERT)] is state


# Properties


@given(
    st.binary(max_size=400),
    st.integers(1, 64),
    st.sampled_from(["server_hello", "server_hello_done"]),
)
def test_arbitrary_bytes_never_raise(data: bytes, piece: int, stop_after: str) -> None:
    events, exchange = run(data, stop_after=stop_after, piece=piece)
    assert sum(isinstance(e, codec.Malformed) for e in events) <= 1
    if any(isinstance(e, codec.Malformed) for e in events):
        assert isinstance(events[-1], codec.Malformed)
        assert exchange.finished


FLIGHTS = [
    load_hex(name) for name in ("server_tls13.hex", "server_tls12_ecdhe.hex", "server_alert.hex")
]


@given(
    st.sampled_from(FLIGHTS),
    st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), max_size=6),
    st.integers(0, 2000),
    st.integers(1, 300),
)
def test_mutated_captures_never_raise(
    data: bytes, changes: list[tuple[int, int]], cut: int, piece: int
) -> None:
    mutated = bytearray(data[: max(cut, 1)] if cut < len(data) else data)
    for position, value in changes:
        if position < len(mutated):
            mutated[position] = value
    events, exchange = run(bytes(mutated), stop_after="server_hello_done", piece=piece)
    if exchange.finished:
        return
    # Unfinished means waiting for more bytes: no Malformed was emitted.
    assert not any(isinstance(e, codec.Malformed) for e in events)
