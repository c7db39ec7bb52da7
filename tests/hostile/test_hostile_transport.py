"""Peers that misbehave at the connection level: refuse, stall, hang up, reset, flood.

Each one must end in a recorded observation, within a bound, with no traceback.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import Callable

import pytest
from hostile_helpers import (
    TIMEOUT,
    Handler,
    Peer,
    alert_record,
    assert_clean_exit,
    audit,
    handshake_record,
    read_client_hello,
    refuse,
    run_cli,
    send,
    stall_bound,
    stall_until_hangup,
    takes_tls12,
)

from protoaudit.observations import ConnectionFailure
from protoaudit.proto.tls.constants import AlertLevel, ContentType, HandshakeType, ProtocolVersion
from protoaudit.proto.tls.records import encode_handshake, encode_record

Serve = Callable[[Handler], Peer]

# A hostile peer must never make the scanner hang: fail fast if it does.
pytestmark = pytest.mark.timeout(30)


def test_nothing_listening_is_refused(free_port: int) -> None:
    result = audit(free_port)
    failures = result.of(ConnectionFailure)
    assert [(f.stage, f.reason) for f in failures] == [("connect", "refused")]
    assert result.result.grade is None
    assert result.elapsed < stall_bound(TIMEOUT)


def test_nothing_listening_from_the_cli(free_port: int) -> None:
    run = run_cli(f"127.0.0.1:{free_port}", "--json", "-", "--timeout", str(TIMEOUT))
    assert_clean_exit(run, codes=(0,))
    (target,) = run.json()["targets"]
    failures = [o for o in target["observations"] if o["kind"] == "connection_failure"]
    assert [(f["stage"], f["reason"]) for f in failures] == [("connect", "refused")]


async def _stall(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
    await stall_until_hangup(reader)


def test_stall_times_out_within_the_bound(serve: Serve) -> None:
    # Given a peer that accepts, reads the hello, and never says a word
    peer = serve(_stall)
    result = audit(peer.port)
    # Then every probe gives up after its read timeout, and the report says so
    assert result.elapsed < stall_bound(TIMEOUT)
    assert "no data within 0.5s" in result.no_tls.detail
    assert result.supported() == set()


@pytest.mark.slow
def test_stall_from_the_cli(serve: Serve) -> None:
    peer = serve(_stall)
    run = run_cli(f"127.0.0.1:{peer.port}", "--json", "-", "--timeout", str(TIMEOUT))
    assert_clean_exit(run, codes=(0,))
    (target,) = run.json()["targets"]
    (failure,) = [o for o in target["observations"] if o["kind"] == "connection_failure"]
    assert failure["reason"] == "no-tls"
    assert "no data within" in failure["detail"]
    assert target["duration_seconds"] < stall_bound(TIMEOUT)


async def _close_at_once(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


def test_close_at_once(serve: Serve) -> None:
    peer = serve(_close_at_once)
    result = audit(peer.port)
    result.assert_no_internal_error()
    # A close can surface as a reset when the hello arrives after the peer's close.
    detail = result.no_tls.detail
    assert "peer closed the connection" in detail or "Connection reset by peer" in detail
    assert result.elapsed < stall_bound(3.0)  # no hang; the detail above says how it stopped


async def _reset(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()  # with linger 0: a RST, not a FIN


def test_reset_at_once(serve: Serve) -> None:
    peer = serve(_reset)
    result = audit(peer.port)
    result.assert_no_internal_error()
    # The reset can beat the reachability check's connect, or come at the first read.
    (failure,) = result.of(ConnectionFailure)
    if failure.stage == "connect":
        assert failure.reason == "reset"
        assert failure.detail.startswith(f"127.0.0.1:{peer.port}: ")
    else:
        # The kernel's wording depends on whether the RST meets a send or a read
        # ("Connection reset by peer", "Connection lost"); the kind does not.
        assert result.no_tls.detail.startswith("reset: ")
        assert peer.connections >= 7  # the reachability check, then every version probe


async def _one_byte_records_forever(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """To the TLS 1.2 hello: a ServerHello of 200 KB (under the message limit) a byte a record.

    Each record is valid, and the message never ends before the client's byte limit:
    at six bytes on the wire per byte of message, it would take 1.2 MB.
    """
    if not takes_tls12(await read_client_hello(reader)):
        await refuse(writer)
        return
    header = bytes([HandshakeType.SERVER_HELLO]) + (200 * 1024).to_bytes(3, "big")
    await send(writer, b"".join(handshake_record(bytes([byte])) for byte in header))
    burst = handshake_record(b"\x03") * 16384
    while True:
        await send(writer, burst)


@pytest.mark.slow
def test_endless_valid_looking_stream_stops_at_the_byte_limit(serve: Serve) -> None:
    peer = serve(_one_byte_records_forever)
    result = audit(peer.port, timeout=2.0)
    result.assert_no_internal_error()
    assert "too-large: peer sent more than the byte limit" in result.no_tls.detail


@pytest.mark.slow
def test_endless_stream_keeps_memory_bounded(serve: Serve, free_port: int) -> None:
    # Given the CLI's peak memory for a target that costs nothing
    baseline = run_cli(f"127.0.0.1:{free_port}", "--json", "-", "--timeout", "2")
    # When it audits a server that streams forever
    peer = serve(_one_byte_records_forever)
    run = run_cli(f"127.0.0.1:{peer.port}", "--json", "-", "--timeout", "2")
    # Then it stops at the per-connection byte limit (1 MiB) and holds little more
    assert_clean_exit(run, codes=(0,))
    (target,) = run.json()["targets"]
    assert "byte limit" in json.dumps(target["observations"])
    growth_kib = run.peak_rss_kib - baseline.peak_rss_kib
    assert growth_kib < 32 * 1024, (baseline.peak_rss_kib, run.peak_rss_kib)


async def _hello_requests_forever(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    await read_client_hello(reader)
    hello_request = encode_handshake(HandshakeType.HELLO_REQUEST, b"")
    burst = handshake_record(hello_request * 4096)
    while True:
        await send(writer, burst)


def test_endless_hello_requests_end_the_exchange(serve: Serve) -> None:
    # Given a server that sends HelloRequest after HelloRequest, which a client passes over
    peer = serve(_hello_requests_forever)
    result = audit(peer.port, timeout=2.0)
    # Then the scanner stops counting them after a few instead of reading on
    result.assert_no_internal_error()
    assert "more than 5 warning alerts and HelloRequests" in result.no_tls.detail
    assert result.elapsed < stall_bound(3.0)  # no hang; the detail above says how it stopped


async def _warning_alerts_forever(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    await read_client_hello(reader)
    burst = alert_record(112, level=AlertLevel.WARNING) * 4096  # unrecognized_name, warning
    while True:
        await send(writer, burst)


def test_endless_warning_alerts_end_the_exchange(serve: Serve) -> None:
    peer = serve(_warning_alerts_forever)
    result = audit(peer.port, timeout=2.0)
    result.assert_no_internal_error()
    assert result.supported() == set()
    assert "more than 5 warning alerts" in result.no_tls.detail
    assert result.elapsed < stall_bound(3.0)  # no hang; the detail above says how it stopped


async def _ten_megabytes_of_framed_garbage(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    await read_client_hello(reader)
    junk = bytes((index * 151 + 7) % 256 for index in range(16384))
    record = encode_record(ContentType.HANDSHAKE, ProtocolVersion.TLS1_2, junk)
    for _ in range(10 * 64):  # 10 MiB
        await send(writer, record)


def test_ten_megabytes_of_garbage_in_tls_records(serve: Serve) -> None:
    peer = serve(_ten_megabytes_of_framed_garbage)
    result = audit(peer.port, timeout=2.0)
    result.assert_no_internal_error()
    assert result.supported() == set()
    # Its first four bytes make a handshake header (type 7) declaring about 10 MB: refused
    assert "message type 7 declares 10368460 bytes" in result.no_tls.detail
    assert result.elapsed < stall_bound(3.0)  # no hang; the detail above says how it stopped


def test_reset_from_the_cli(serve: Serve) -> None:
    peer = serve(_reset)
    run = run_cli(f"127.0.0.1:{peer.port}", "--timeout", str(TIMEOUT))
    assert_clean_exit(run, codes=(0,))
    assert "reset" in run.stdout
