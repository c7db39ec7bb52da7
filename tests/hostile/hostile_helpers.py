"""Helpers for the hostile-peer tests: small servers on 127.0.0.1 that each misbehave in one way.

Each peer is an asyncio server in a thread of its own, so that the scanner
under test (in the test's own event loop, or a CLI subprocess) talks to it
over real sockets. A handler gets one connection's reader and writer; when it
returns, the connection is aborted. A client hanging up on a handler is
expected and ignored; any other exception in a handler is a bug in the test,
and fails it at teardown.

The peers speak just enough TLS to be wrong in the way they mean to be: they
read the ClientHello with protoaudit's own codec and build their replies with
its encoders.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import protoaudit
from protoaudit.observations import ConnectionFailure, Observation, ProbeFailure, TlsVersionSupport
from protoaudit.proto.tls.constants import AlertLevel, ContentType, HandshakeType, ProtocolVersion
from protoaudit.proto.tls.hello import ClientHello, Extension, extension, extension_code
from protoaudit.proto.tls.records import encode_handshake, encode_record
from protoaudit.proto.tls.server import Alert, ServerHello
from protoaudit.results import TargetResult
from protoaudit.wire import Reader

ROOT = Path(__file__).resolve().parents[2]

# Every audit here uses a short timeout; a stalled peer costs about this much.
TIMEOUT = 0.5

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

# The suites the well-behaved parts of our peers accept, in their order of preference.
ACCEPTED_SUITES = (0xC02F, 0xC030)  # TLS_ECDHE_RSA_WITH_AES_{128,256}_GCM_SHA*

# What OpenSSL insists on in a TLS 1.2 ServerHello (RFC 5746), empty: a first handshake.
RENEGOTIATION_INFO = (extension("renegotiation_info", b"\x00"),)

HANDSHAKE_FAILURE = 40
PROTOCOL_VERSION = 70
UNRECOGNIZED_NAME = 112


class ClientGaveUp(Exception):
    """The client sent an alert where a peer expected a ClientHello."""


@dataclass
class Peer:
    """One hostile server; `port` is valid once `start()` returned."""

    handler: Handler
    port: int = 0
    connections: int = 0
    errors: list[BaseException] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("hostile peer did not start")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
        # asyncio.run cancels the handlers still running when this returns.

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ClientGaveUp):
            pass  # the scanner hung up: what scanners do
        except Exception as error:  # noqa: BLE001 - reported at teardown, not lost
            self.errors.append(error)
        finally:
            writer.close()  # after what was written is flushed, unlike abort()


# ---------------------------------------------------------------- auditing


@dataclass(frozen=True)
class Audit:
    result: TargetResult
    elapsed: float  # wall-clock seconds, measured outside the scanner

    @property
    def observations(self) -> tuple[Observation, ...]:
        return self.result.observations

    def of(self, kind: type[Any]) -> list[Any]:
        return [o for o in self.observations if isinstance(o, kind)]

    @property
    def no_tls(self) -> ConnectionFailure:
        """The one "no TLS on this port" failure; fails the test when there is not exactly one."""
        failures = self.of(ConnectionFailure)
        assert len(failures) == 1, self.observations
        assert (failures[0].stage, failures[0].reason) == ("tls", "no-tls"), failures[0]
        return failures[0]  # type: ignore[no-any-return]

    def versions(self) -> dict[int, TlsVersionSupport]:
        return {o.version: o for o in self.of(TlsVersionSupport)}

    def supported(self) -> set[int]:
        return {o.version for o in self.of(TlsVersionSupport) if o.supported}

    def assert_no_internal_error(self) -> None:
        internal = [o for o in self.of(ProbeFailure) if o.reason == "internal-error"]
        assert not internal, internal


def audit(port: int, *, timeout: float = TIMEOUT) -> Audit:
    """Audit 127.0.0.1:port with the library API, as a user would."""
    started = time.monotonic()
    result = asyncio.run(protoaudit.audit(f"127.0.0.1:{port}", timeout=timeout))
    return Audit(result, time.monotonic() - started)


def stall_bound(timeout: float) -> float:
    """How long an audit of a peer that stalls somewhere may take: loose on purpose."""
    return 4 * timeout + 5


@dataclass(frozen=True)
class CliRun:
    returncode: int
    stdout: str
    stderr: str
    elapsed: float
    peak_rss_kib: int  # the process's maximum resident set size

    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.stdout)
        return document


def run_cli(*arguments: str, timeout: float = 60) -> CliRun:
    """`python -m protoaudit audit ARGUMENTS` from this checkout, its output and peak memory."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS")
    }
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    environment["COLUMNS"] = "200"
    started = time.monotonic()
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "protoaudit", "audit", *arguments],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=environment,
        )
        watchdog = threading.Timer(timeout, process.kill)
        watchdog.start()
        try:
            # wait4, not wait: it also tells the child's peak memory.
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            watchdog.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.monotonic() - started
        assert elapsed < timeout, f"the CLI was killed after {timeout}s"
        stdout.seek(0)
        stderr.seek(0)
        return CliRun(
            returncode=process.returncode,
            stdout=stdout.read().decode("utf-8", "surrogateescape"),
            stderr=stderr.read().decode("utf-8", "surrogateescape"),
            elapsed=elapsed,
            peak_rss_kib=usage.ru_maxrss,
        )


def assert_clean_exit(run: CliRun, codes: Sequence[int] = (0, 1)) -> None:
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode in codes, (run.returncode, run.stderr)


# ---------------------------------------------------------------- speaking (some) TLS


async def read_client_hello(reader: asyncio.StreamReader) -> ClientHello | None:
    """The client's first flight as a ClientHello; None for an SSL 2.0 CLIENT-HELLO."""
    header = await reader.readexactly(5)
    if header[0] & 0x80:  # SSL 2.0 two-byte header: the rest of the record, unread
        length = int.from_bytes(header[:2], "big") & 0x7FFF
        await reader.readexactly(length - 3)
        return None
    while header[0] == ContentType.CHANGE_CIPHER_SPEC:  # TLS 1.3 middlebox compatibility
        await reader.readexactly(int.from_bytes(header[3:5], "big"))
        header = await reader.readexactly(5)
    if header[0] == ContentType.ALERT:
        raise ClientGaveUp
    assert header[0] == ContentType.HANDSHAKE, header
    handshake = await reader.readexactly(int.from_bytes(header[3:5], "big"))
    while len(handshake) < 4 or len(handshake) < 4 + int.from_bytes(handshake[1:4], "big"):
        header = await reader.readexactly(5)
        handshake += await reader.readexactly(int.from_bytes(header[3:5], "big"))
    assert handshake[0] == HandshakeType.CLIENT_HELLO
    return ClientHello.decode(handshake[4 : 4 + int.from_bytes(handshake[1:4], "big")])


def offered_versions(hello: ClientHello) -> tuple[int, ...]:
    """supported_versions when the hello has it, else legacy_version alone."""
    for extension_type, data in hello.extensions:
        if extension_type == extension_code("supported_versions"):
            reader = Reader(data, "tls")
            return reader.uint_list(1, 2, "supported_versions")
    return (hello.legacy_version,)


def takes_tls12(hello: ClientHello | None) -> bool:
    """Whether a TLS 1.2-only server would answer this hello with a ServerHello.

    True for the scanner's TLS 1.2 hello and for a full client's (pyOpenSSL's
    TLS 1.3-and-below offer); false for the scanner's TLS 1.3-only and older hellos.
    """
    return hello is not None and ProtocolVersion.TLS1_2 in offered_versions(hello)


def choose_suite(hello: ClientHello) -> int | None:
    """What a server accepting ACCEPTED_SUITES, in its own order, would pick."""
    return next((suite for suite in ACCEPTED_SUITES if suite in hello.cipher_suites), None)


def server_hello(
    suite: int,
    *,
    version: int = ProtocolVersion.TLS1_2,
    extensions: tuple[Extension, ...] = (),
    random: bytes = bytes(range(32)),
    trailing: bytes = b"",
) -> bytes:
    """A ServerHello handshake message; `trailing` is appended inside its body."""
    message = ServerHello(version, random, b"", suite, 0, extensions).encode()
    return encode_handshake(HandshakeType.SERVER_HELLO, message[4:] + trailing)


def handshake_record(*messages: bytes) -> bytes:
    return encode_record(ContentType.HANDSHAKE, ProtocolVersion.TLS1_2, b"".join(messages))


def alert_record(description: int, level: int = AlertLevel.FATAL) -> bytes:
    return encode_record(
        ContentType.ALERT, ProtocolVersion.TLS1_2, Alert(level, description).encode()
    )


async def send(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)
    await writer.drain()


async def refuse(writer: asyncio.StreamWriter, description: int = PROTOCOL_VERSION) -> None:
    """What a server says to a hello it will not take: one fatal alert."""
    await send(writer, alert_record(description))


async def stall_until_hangup(reader: asyncio.StreamReader) -> None:
    """Keep the connection open, reading and discarding, until the client goes away."""
    while await reader.read(65536):
        pass


def is_safe_text(text: str) -> bool:
    """Printable ASCII only (and our ellipsis): nothing a terminal would act on."""
    return all(" " <= character <= "~" or character == "\u2026" for character in text)


Answer = Callable[[bytes], list[bytes]]  # a datagram received -> the datagrams sent back


class UdpPeer:
    """A UDP server on 127.0.0.1 in a thread: `answer(datagram)` gives what it sends back."""

    def __init__(self, answer: Answer) -> None:
        self._answer = answer
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.05)
        self.port: int = self._socket.getsockname()[1]
        self.received = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                datagram, sender = self._socket.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            self.received += 1
            for reply in self._answer(datagram):
                try:
                    self._socket.sendto(reply, sender)
                except OSError:
                    break

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._socket.close()
