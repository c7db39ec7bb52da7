"""TlsChannel over a socket pair, against Python's own TLS server in a thread (no mocks).

The server side is real TLS (ssl, a throwaway certificate); each test makes
it misbehave in one way the probes rely on the channel to survive: plaintext
before the ServerHello, silence, a flood over TLS.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pki_helpers import make_certificate, make_key, write_pem
from protoaudit.errors import TransportError
from protoaudit.probes.blocking_tls import TlsChannel, server_name_bytes

Server = Callable[[socket.socket], None]


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    directory: Path = tmp_path_factory.mktemp("blocking-tls")
    key = make_key()
    now = dt.datetime.now(dt.UTC)
    certificate = make_certificate(
        "localhost",
        key,
        not_before=now - dt.timedelta(days=1),
        not_after=now + dt.timedelta(days=1),
        san_dns=("localhost",),
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(write_pem(directory / "server.pem", certificate, key))
    return server


@pytest.fixture
def pair() -> Iterator[Callable[[Server], socket.socket]]:
    """The client end of a socket pair whose other end runs `server` in a thread."""
    threads: list[threading.Thread] = []
    sockets: list[socket.socket] = []

    def start(server: Server) -> socket.socket:
        client, peer = socket.socketpair()
        sockets.extend((client, peer))
        thread = threading.Thread(target=_quietly, args=(server, peer), daemon=True)
        thread.start()
        threads.append(thread)
        return client

    yield start
    for sock in sockets:
        sock.close()
    for thread in threads:
        thread.join(5)


def _quietly(server: Server, sock: socket.socket) -> None:
    with contextlib.suppress(OSError, ssl.SSLError):  # the client hung up: expected here
        server(sock)


def channel(sock: socket.socket, **options: object) -> TlsChannel:
    options.setdefault("timeout", 2.0)
    options.setdefault("deadline", time.monotonic() + 5)
    return TlsChannel(sock, server_name="localhost", **options)  # type: ignore[arg-type]


def test_a_handshake_and_an_exchange(
    pair: Callable[[Server], socket.socket], context: ssl.SSLContext
) -> None:
    def server(sock: socket.socket) -> None:
        with context.wrap_socket(sock, server_side=True) as tls:
            tls.sendall(tls.recv(100).upper())

    tls = channel(pair(server))
    tls.handshake()
    tls.send(b"hello\r\n")
    assert tls.receive() == b"HELLO\r\n"
    assert tls.version in (0x0303, 0x0304)
    assert tls.cipher_suite is not None
    tls.close()


def test_plaintext_before_the_server_hello_is_set_aside(
    pair: Callable[[Server], socket.socket], context: ssl.SSLContext
) -> None:
    # Given a server that answers something in clear, then does TLS properly
    def server(sock: socket.socket) -> None:
        sock.sendall(b"250 2.0.0 Ok\r\n250 again\r\n")
        with context.wrap_socket(sock, server_side=True) as tls:
            tls.sendall(b"over tls\r\n")

    tls = channel(pair(server), skip_plaintext=True)
    tls.handshake()
    assert tls.plaintext_before == b"250 2.0.0 Ok\r\n250 again\r\n"
    assert tls.receive() == b"over tls\r\n"


def test_without_skipping_plaintext_is_no_tls(
    pair: Callable[[Server], socket.socket], context: ssl.SSLContext
) -> None:
    def server(sock: socket.socket) -> None:
        sock.sendall(b"250 2.0.0 Ok\r\n")
        with context.wrap_socket(sock, server_side=True):
            pass

    tls = channel(pair(server))
    with pytest.raises(TransportError) as raised:
        tls.handshake()
    assert raised.value.kind == "no-tls"


def test_a_silent_server_costs_one_timeout(pair: Callable[[Server], socket.socket]) -> None:
    def server(sock: socket.socket) -> None:
        while sock.recv(65536):
            pass

    tls = channel(pair(server), timeout=0.2)
    started = time.monotonic()
    with pytest.raises(TransportError) as raised:
        tls.handshake()
    assert raised.value.kind == TransportError.TIMEOUT
    assert time.monotonic() - started < 1.5


def test_receive_until_gives_up_at_its_moment(
    pair: Callable[[Server], socket.socket], context: ssl.SSLContext
) -> None:
    def server(sock: socket.socket) -> None:
        with context.wrap_socket(sock, server_side=True) as tls:
            tls.recv(1)  # and then nothing, until the client goes

    tls = channel(pair(server))
    tls.handshake()
    started = time.monotonic()
    with pytest.raises(TransportError) as raised:
        tls.receive(until=time.monotonic() + 0.2)
    assert raised.value.kind == TransportError.TIMEOUT
    assert 0.15 < time.monotonic() - started < 1.5


def test_a_flood_over_tls_stops_at_the_byte_budget(
    pair: Callable[[Server], socket.socket], context: ssl.SSLContext
) -> None:
    def server(sock: socket.socket) -> None:
        with context.wrap_socket(sock, server_side=True) as tls:
            for _ in range(1000):
                tls.sendall(b"x" * 16384)

    tls = channel(pair(server), max_bytes=100_000)
    tls.handshake()
    received = 0

    def read_all() -> None:
        nonlocal received
        while chunk := tls.receive():
            received += len(chunk)

    with pytest.raises(TransportError) as raised:
        read_all()
    assert raised.value.kind == TransportError.TOO_LARGE
    assert received <= 100_000


def test_a_close_reads_as_the_end(
    pair: Callable[[Server], socket.socket], context: ssl.SSLContext
) -> None:
    def server(sock: socket.socket) -> None:
        with context.wrap_socket(sock, server_side=True) as tls:
            tls.sendall(b"bye\r\n")
            tls.unwrap()

    tls = channel(pair(server))
    tls.handshake()
    assert tls.receive() == b"bye\r\n"
    assert tls.receive() == b""


@pytest.mark.parametrize(
    ("name", "sent"),
    [
        ("example.com", b"example.com"),
        ("example.com.", b"example.com"),
        ("127.0.0.1", None),
        ("[::1]", None),
        ("", None),
        (None, None),
    ],
)
def test_sni_is_never_an_address(name: str | None, sent: bytes | None) -> None:
    assert server_name_bytes(name) == sent
