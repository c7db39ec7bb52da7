"""A blocking TLS client over one socket, for probes that keep talking after the handshake.

Theory of operation. pyOpenSSL runs over memory BIOs here: this module moves
the bytes between the socket and OpenSSL itself. That buys three things a
socket-bound `SSL.Connection` (certificates.py) does not need but these
probes do:

- every wait has a deadline: each read at most `timeout`, the whole channel
  until `deadline` (time.monotonic()); a peer that stalls costs one of them;
- every byte the peer sends counts against `max_bytes`, so a flood over TLS
  ends the channel (TransportError "too-large") instead of filling memory;
- with `skip_plaintext`, lines that arrive before the first TLS record are
  set aside (`plaintext_before`, at most MAX_PLAINTEXT bytes) rather than fed
  to OpenSSL: the STARTTLS injection probe must see whether a server answered
  an injected command in clear right before its ServerHello.

As in certificates.py nothing is verified during the handshake (verify mode
NONE, security level 0): these probes look at what the server does over TLS,
the certificate probe judges the certificate. The session of another
channel (`resume`) can be offered for resumption, as an FTP client must on
the data connection of a server that insists on it (vsftpd's
require_ssl_reuse); OpenSSL resumes only within one context, so the new
channel shares that one's.

Everything here blocks: run it in a worker thread (asyncio.to_thread). It
raises only TransportError, whose kind is a TransportError constant or, for
TLS itself, "alert", "no-tls" or "handshake".
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import socket
import time
from typing import Any, Protocol

from OpenSSL import SSL

from protoaudit.errors import TransportError
from protoaudit.proto.starttls.base import Status
from protoaudit.registry import tls as registry

MAX_CHANNEL_BYTES = 1 << 20  # what one channel reads from its peer, TLS framing included
MAX_PLAINTEXT = 4096  # plaintext set aside before the first TLS record
READ_SIZE = 16384
_CIPHERS = b"ALL:eNULL:!aNULL:@SECLEVEL=0"
_TLS_FIRST_BYTES = (0x15, 0x16)  # alert, handshake: how a server's first TLS record starts
# OpenSSL's words when what came back is not TLS at all.
_NOT_TLS = ("wrong version number", "packet length too long", "unknown protocol", "http request")

NO_TLS = "no-tls"
ALERT = "alert"
HANDSHAKE = "handshake"


class Exchange(Protocol):
    """What `TlsChannel.exchange` drives: a sans-I/O command and its reply (FtpCommand …)."""

    @property
    def status(self) -> Status: ...

    def bytes_to_send(self) -> bytes: ...

    def receive_data(self, data: bytes) -> None: ...

    def connection_closed(self) -> None: ...


def server_name_bytes(server_name: str | None) -> bytes | None:
    """The SNI to send: never an IP literal (RFC 6066 3); None for none."""
    if not server_name:
        return None
    try:
        ipaddress.ip_address(server_name.strip("[]"))
    except ValueError:
        try:
            return server_name.rstrip(".").encode("idna")
        except UnicodeError:
            return None
    return None


def os_error(error: OSError, where: str) -> TransportError:
    """`error` as the TransportError a report can show."""
    detail = f"{where}: {error.strerror or error or type(error).__name__}"
    if isinstance(error, TimeoutError):
        return TransportError(TransportError.TIMEOUT, detail)
    if isinstance(error, ConnectionRefusedError):
        return TransportError(TransportError.REFUSED, detail)
    if error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
        return TransportError(TransportError.UNREACHABLE, detail)
    return TransportError(TransportError.RESET, detail)


def connect(address: str, port: int, *, timeout: float) -> socket.socket:
    """A TCP connection; TransportError when there is none."""
    try:
        return socket.create_connection((address, port), timeout=timeout)
    except OSError as error:
        raise os_error(error, f"connect to {address}:{port}") from error


def exchange_plain(
    sock: socket.socket,
    query: Exchange,
    *,
    timeout: float,
    deadline: float,
    max_bytes: int = MAX_CHANNEL_BYTES,
) -> None:
    """`TlsChannel.exchange` for a socket in clear: each read `timeout`, all until `deadline`."""
    while True:
        outgoing = query.bytes_to_send()
        try:
            if outgoing:
                sock.settimeout(max(0.001, min(timeout, deadline - time.monotonic())))
                sock.sendall(outgoing)
            if query.status is not Status.RUNNING:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise TransportError(TransportError.TIMEOUT, "the connection's deadline passed")
            sock.settimeout(min(timeout, left))
            data = sock.recv(READ_SIZE)
        except TimeoutError as error:
            raise TransportError(TransportError.TIMEOUT, f"no data within {timeout:g}s") from error
        except OSError as error:
            raise os_error(error, "read") from error
        max_bytes -= len(data)
        if max_bytes < 0:
            raise TransportError(TransportError.TOO_LARGE, "peer sent more than the byte limit")
        if data:
            query.receive_data(data)
        else:
            query.connection_closed()


def _tls_error(error: SSL.Error, where: str) -> TransportError:
    reasons: list[str] = []
    if error.args and isinstance(error.args[0], list):
        reasons = [str(entry[2]) for entry in error.args[0] if isinstance(entry, tuple)]
    detail = "; ".join(reason for reason in reasons if reason) or type(error).__name__
    lowered = detail.lower()
    if "alert" in lowered:
        kind = ALERT
    elif any(marker in lowered for marker in _NOT_TLS):
        kind = NO_TLS
    elif "unexpected eof" in lowered:
        kind = TransportError.CLOSED
    else:
        kind = HANDSHAKE
    return TransportError(kind, f"{where}: {detail}")


def _context() -> SSL.Context:
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_verify(SSL.VERIFY_NONE)
    # Explicit, so that a system-wide crypto policy cannot hide an old server.
    context.set_min_proto_version(SSL.TLS1_VERSION)
    context.set_cipher_list(_CIPHERS)
    # Keep sessions (TLS 1.3 tickets included) so that one can be offered again.
    context.set_session_cache_mode(SSL.SESS_CACHE_CLIENT)
    return context


class TlsChannel:
    """One TLS client connection over `sock` (which the caller owns and closes)."""

    def __init__(
        self,
        sock: socket.socket,
        *,
        server_name: str | None,
        timeout: float,
        deadline: float,
        max_bytes: int = MAX_CHANNEL_BYTES,
        resume: TlsChannel | None = None,
        skip_plaintext: bool = False,
    ) -> None:
        self._sock = sock
        self._timeout = timeout
        self._deadline = deadline
        self._budget = max_bytes
        self._skipping = skip_plaintext
        self._pending = bytearray()  # bytes held back while looking for the first record
        self._plaintext = bytearray()
        # OpenSSL resumes a session only within the context that made it.
        self._context: SSL.Context = _context() if resume is None else resume._context
        self._connection = SSL.Connection(self._context, None)
        self._connection.set_connect_state()
        sni = server_name_bytes(server_name)
        if sni is not None:
            self._connection.set_tlsext_host_name(sni)
        session = None if resume is None else resume.session
        if session is not None:
            self._connection.set_session(session)
        self.handshake_seconds = 0.0

    # ---------------------------------------------------------------- what it showed

    @property
    def plaintext_before(self) -> bytes:
        """Lines that came before the first TLS record (only with skip_plaintext)."""
        return bytes(self._plaintext)

    @property
    def version(self) -> int:
        return int(self._connection.get_protocol_version())

    @property
    def cipher_name(self) -> str:
        return str(self._connection.get_cipher_name() or "")

    @property
    def cipher_suite(self) -> int | None:
        """The IANA code of the suite chosen; None when the registry does not know the name."""
        try:
            code: int = registry.cipher_suite_by_name(self.cipher_name).code
        except KeyError:
            return None
        return code

    @property
    def session(self) -> Any:
        """The session to offer another channel for resumption (None if the server gave none)."""
        return self._connection.get_session()

    @property
    def session_reused(self) -> bool | None:
        """Whether the server resumed the session offered; None when pyOpenSSL cannot say.

        pyOpenSSL has no call for SSL_session_reused; this uses the binding its
        own module uses, as certificates.py does for signature algorithms.
        """
        try:
            from OpenSSL._util import lib  # noqa: PLC0415

            reused = lib.SSL_session_reused(self._connection._ssl)
        except (ImportError, AttributeError):
            return None
        return bool(reused)

    # ---------------------------------------------------------------- talking

    def handshake(self) -> None:
        started = time.monotonic()
        while True:
            try:
                self._connection.do_handshake()
                break
            except SSL.WantReadError:
                self._flush()
                if not self._pull(None):
                    raise TransportError(
                        TransportError.CLOSED, "peer closed the connection during the handshake"
                    ) from None
            except SSL.SysCallError as error:
                raise TransportError(
                    TransportError.CLOSED, f"handshake: peer closed the connection ({error})"
                ) from error
            except SSL.Error as error:
                raise _tls_error(error, "handshake") from error
        self._flush()
        self.handshake_seconds = time.monotonic() - started

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                sent = self._connection.send(view)
            except SSL.Error as error:
                raise _tls_error(error, "send") from error
            view = view[sent:]
            self._flush()

    def receive(self, *, until: float | None = None) -> bytes:
        """The next application data; b"" once the peer closed.

        TransportError(TIMEOUT) when nothing came by `until` (or the channel's deadline).
        """
        while True:
            try:
                data: bytes = self._connection.recv(READ_SIZE)
            except SSL.WantReadError:
                self._flush()  # e.g. a KeyUpdate answer
                if not self._pull(until):
                    return b""
                continue
            except (SSL.ZeroReturnError, SSL.SysCallError):
                return b""
            except SSL.Error as error:
                raise _tls_error(error, "read") from error
            return data

    def exchange(self, query: Exchange) -> None:
        """Send what `query` has to send and feed it the replies until it is not RUNNING."""
        while True:
            outgoing = query.bytes_to_send()
            if outgoing:
                self.send(outgoing)
            if query.status is not Status.RUNNING:
                return
            data = self.receive()
            if data:
                query.receive_data(data)
            else:
                query.connection_closed()

    def close(self) -> None:
        """Say close_notify (without waiting for the peer's); never raises."""
        with contextlib.suppress(SSL.Error, OSError, TransportError):
            self._connection.shutdown()
            self._flush()

    # ---------------------------------------------------------------- the socket side

    def _flush(self) -> None:
        """Send whatever OpenSSL has written for the peer."""
        while True:
            try:
                data = self._connection.bio_read(65536)
            except SSL.WantReadError:
                return
            self._sendall(data)

    def _sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            self._sock.settimeout(self._wait_for(None))
            try:
                sent = self._sock.send(view)
            except OSError as error:
                raise os_error(error, "send") from error
            view = view[sent:]

    def _wait_for(self, until: float | None) -> float:
        end = self._deadline if until is None else min(until, self._deadline)
        left = end - time.monotonic()
        if left <= 0:
            if until is not None and until < self._deadline:
                raise TransportError(TransportError.TIMEOUT, "nothing arrived in time")
            raise TransportError(TransportError.TIMEOUT, "the connection's deadline passed")
        return min(self._timeout, left)

    def _pull(self, until: float | None) -> bool:
        """Read from the socket into OpenSSL; False at EOF."""
        while True:
            wait = self._wait_for(until)
            self._sock.settimeout(wait)
            try:
                data = self._sock.recv(READ_SIZE)
            except TimeoutError as error:
                raise TransportError(
                    TransportError.TIMEOUT, f"no data within {wait:.3g}s"
                ) from error
            except OSError as error:
                raise os_error(error, "read") from error
            if not data:
                self._connection.bio_shutdown()
                return False
            self._budget -= len(data)
            if self._budget < 0:
                raise TransportError(TransportError.TOO_LARGE, "peer sent more than the byte limit")
            if self._skipping:
                data = self._skip_plaintext(data)
                if not data:
                    continue
            self._connection.bio_write(data)
            return True

    def _skip_plaintext(self, data: bytes) -> bytes:
        """Set aside whole lines until a TLS record starts; what is left is TLS (or hopeless)."""
        self._pending += data
        while self._pending and self._pending[0] not in _TLS_FIRST_BYTES:
            end = self._pending.find(b"\n")
            if end < 0 or len(self._plaintext) + end + 1 > MAX_PLAINTEXT:
                if len(self._pending) <= MAX_PLAINTEXT - len(self._plaintext):
                    return b""  # an unfinished line: wait for the rest of it
                break  # more than we keep: give it to OpenSSL, which will call it no TLS
            self._plaintext += self._pending[: end + 1]
            del self._pending[: end + 1]
        if not self._pending:
            return b""
        self._skipping = False
        rest, self._pending = bytes(self._pending), bytearray()
        return rest


__all__ = [
    "ALERT",
    "HANDSHAKE",
    "MAX_CHANNEL_BYTES",
    "MAX_PLAINTEXT",
    "NO_TLS",
    "Exchange",
    "TlsChannel",
    "connect",
    "exchange_plain",
    "os_error",
    "server_name_bytes",
]
