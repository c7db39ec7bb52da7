"""FTP around its TLS: a login in clear, anonymous login, PROT C, and a listing over TLS.

Theory of operation. Two connections, each in a worker thread, at once:

1. ftp:// only, in clear: the greeting, then `USER protoaudit-probe`. 331 or
   230 means the server would take a password before AUTH TLS; 530 or 534
   means it refuses (vsftpd with force_local_logins_ssl: "530 Non-anonymous
   sessions must use encryption."). The name is deliberately not
   "anonymous": vsftpd answers `USER anonymous` with 331 even where anonymous
   login is off and local logins need TLS, and an anonymous password is no
   secret anyway. Most servers answer USER the same for every name (so as not
   to tell which accounts exist). No password is sent; then QUIT.
2. Over TLS (the service's own AUTH TLS dialog, or TLS from the first byte
   for ftps://): FEAT (the capabilities after TLS), USER anonymous with PASS
   protoaudit@ (RFC 1635), PBSZ 0 and PROT C (RFC 2228, RFC 4217). When the
   anonymous login worked: NLST on a clear data channel, then PROT P and NLST
   again on a TLS data connection that offers the control connection's TLS
   session for resumption (vsftpd's require_ssl_reuse=YES, its default,
   insists), and the names listed are read.

PROT C answered 200 proves little on its own: vsftpd accepts it from anyone
and refuses the transfer itself ("522 Data connections must be encrypted").
So `clear_data` is True only when a transfer on a clear data channel was
accepted, False when PROT C or the transfer was refused, and None when there
was no login to try a transfer with.

Passive mode only (EPSV, then PASV), and the data connection always goes to
the control connection's own address, whatever host a 227 reply names: a
227 can name any host (the FTP bounce class of trouble, RFC 2577), and a
server must not be able to make the scanner connect elsewhere. A host named
that differs is recorded.

Each read has the probe's timeout, each connection a deadline, each channel
a byte budget; what fails is recorded in `notes` and as a ProbeFailure,
never raised.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from protoaudit.engine.dialog import run_dialog_blocking
from protoaudit.errors import DecodeError, TransportError
from protoaudit.observations import FtpFacts, Observation, ProbeFailure
from protoaudit.probes.blocking_tls import (
    TlsChannel,
    connect,
    exchange_plain,
    os_error,
)
from protoaudit.proto.starttls.after_tls import FtpCapabilities, FtpGreeting
from protoaudit.proto.starttls.base import Dialog, Status
from protoaudit.proto.starttls.ftp import FtpCommand, parse_epsv, parse_pasv
from protoaudit.proto.starttls.lines import CLOSED, Reply, clip

PROBE = "ftp"
PROBE_USER = "protoaudit-probe"  # never "anonymous" or "ftp": see the module docstring
ANONYMOUS_PASSWORD = "protoaudit@"  # noqa: S105 - what RFC 1635 asks of anonymous users
MAX_LISTING_BYTES = 65536  # what a data connection may send us
MAX_LISTED = 20  # names kept from a listing
# Replies to a transfer that say "not on this kind of data channel" (RFC 2228, RFC 4217).
DATA_REFUSED = frozenset({521, 522, 533, 534, 536})
SESSION_TIMEOUTS = 8  # the TLS conversation's deadline, in read timeouts
PLAIN_TIMEOUTS = 3

Connector = Callable[[], Dialog]


class _Stop(Exception):
    """The conversation cannot go on; `kind` and `detail` say why (internal to this module)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


@dataclass
class FtpSession:
    """What the conversation over TLS showed so far (filled as it goes)."""

    capabilities: tuple[str, ...] | None = None
    anonymous_login: bool | None = None
    anonymous_reply: str = ""
    prot_c_reply: str = ""
    clear_data: bool | None = None
    data_tls: bool | None = None
    data_version: int | None = None
    data_suite: int | None = None
    session_reused: bool | None = None
    listing: tuple[str, ...] = ()
    passive_host: str | None = None
    notes: list[str] = field(default_factory=list)
    failure: tuple[str, str] | None = None  # (reason, detail) when the conversation broke


@dataclass
class _DataTls:
    """What the TLS handshake on a data connection showed."""

    version: int | None = None
    suite: int | None = None  # None: the registry does not know OpenSSL's name for it
    cipher_name: str = ""  # OpenSSL's
    reused: bool | None = None
    failure: str | None = None


@dataclass(frozen=True)
class PlaintextLogin:
    accepted: bool | None
    reply: str
    note: str | None = None
    failure: tuple[str, str] | None = None


# ---------------------------------------------------------------- in clear


def plaintext_login(address: str, port: int, *, timeout: float) -> PlaintextLogin:
    """USER (not anonymous) before AUTH TLS: would the server take a password in clear?"""
    deadline = time.monotonic() + PLAIN_TIMEOUTS * timeout
    try:
        sock = connect(address, port, timeout=timeout)
    except TransportError as error:
        return PlaintextLogin(None, "", failure=(error.kind, f"login in clear: {error.detail}"))
    with sock:
        try:
            greeting = FtpGreeting()
            exchange_plain(sock, greeting, timeout=timeout, deadline=deadline)
            if greeting.status is not Status.READY or greeting.refusal:
                why = greeting.failure or greeting.refusal
                return PlaintextLogin(None, "", note=f"login in clear not tried: greeting {why}")
            user = FtpCommand(f"USER {PROBE_USER}")
            exchange_plain(sock, user, timeout=timeout, deadline=deadline)
        except TransportError as error:
            return PlaintextLogin(None, "", failure=(error.kind, f"login in clear: {error.detail}"))
        reply = user.reply
        if user.status is not Status.READY or reply is None:
            return PlaintextLogin(None, "", note=f"login in clear: {user.failure}")
        with contextlib.suppress(OSError):  # it may have hung up after refusing: vsftpd does
            sock.sendall(b"QUIT\r\n")
    if 200 <= reply.code < 400:
        return PlaintextLogin(True, reply.shown())
    if reply.code >= 500:
        return PlaintextLogin(False, reply.shown())
    return PlaintextLogin(None, reply.shown(), note=f"USER in clear: {reply.shown()}")


# ---------------------------------------------------------------- over TLS


def tls_session(
    address: str,
    port: int,
    *,
    dialog: Connector | None,
    server_name: str | None,
    timeout: float,
) -> FtpSession:
    """The conversation over TLS: AUTH TLS (when `dialog`), FEAT, anonymous, PROT, listings."""
    deadline = time.monotonic() + SESSION_TIMEOUTS * timeout
    found = FtpSession()
    try:
        sock = connect(address, port, timeout=timeout)
    except TransportError as error:
        found.failure = (error.kind, error.detail)
        return found
    with sock:
        try:
            if dialog is not None:
                run_dialog_blocking(sock, dialog(), deadline=deadline)
            channel = TlsChannel(sock, server_name=server_name, timeout=timeout, deadline=deadline)
            channel.handshake()
            conversation = _Conversation(channel, found, address, server_name, timeout, deadline)
            try:
                conversation.run(implicit=dialog is None)
            finally:
                channel.close()
        except TransportError as error:
            found.failure = (error.kind, error.detail)
        except _Stop as stop:
            found.failure = (stop.kind, stop.detail)
        except OSError as error:
            failure = os_error(error, "control connection")
            found.failure = (failure.kind, failure.detail)
    return found


@dataclass
class _Conversation:
    """One control connection over TLS and what it found; `run` goes through the steps."""

    channel: TlsChannel
    found: FtpSession
    address: str  # the control connection's: the only address a data connection goes to
    server_name: str | None
    timeout: float
    deadline: float

    def run(self, *, implicit: bool) -> None:
        found = self.found
        if implicit:
            greeting = FtpGreeting()
            self.channel.exchange(greeting)
            if greeting.status is not Status.READY or greeting.refusal:
                why = greeting.failure or greeting.refusal
                raise _Stop("protocol", f"greeting over TLS: {why}")
        features = FtpCapabilities()
        self.channel.exchange(features)
        if features.status is not Status.READY:
            raise _Stop("protocol", f"FEAT: {features.failure}")
        found.capabilities = features.capabilities
        logged_in = self._anonymous_login()
        self._command("PBSZ 0")
        prot_c = self._command("PROT C")
        found.prot_c_reply = prot_c.shown()
        if prot_c.code >= 500:
            found.clear_data = False
        elif prot_c.code >= 400:
            found.notes.append(f"PROT C: {prot_c.shown()}")
        elif not logged_in:
            found.notes.append(
                f"PROT C was accepted as a command ({prot_c.shown()}), but a transfer needs a "
                "login: whether the server would send data in clear was not tried (vsftpd, for "
                "one, refuses only at the transfer)"
            )
        else:
            self._clear_transfer()
        if logged_in:
            self._protected_transfer()
        else:
            found.notes.append("no listing over a TLS data channel: no anonymous login")
        self.channel.send(b"QUIT\r\n")

    def _command(self, text: str) -> Reply:
        command = FtpCommand(text)
        self.channel.exchange(command)
        if command.status is not Status.READY or command.reply is None:
            reason = command.failure or "no reply"
            kind = TransportError.CLOSED if reason.startswith(CLOSED) else "protocol"
            raise _Stop(kind, f"{text.split(maxsplit=1)[0]}: {reason}")
        return command.reply

    def _anonymous_login(self) -> bool:
        reply = self._command("USER anonymous")
        if reply.code in (331, 332):
            reply = self._command(f"PASS {ANONYMOUS_PASSWORD}")
        self.found.anonymous_reply = reply.shown()
        self.found.anonymous_login = 200 <= reply.code < 300
        return self.found.anonymous_login

    def _passive_port(self) -> int | None:
        """The data port from EPSV, else PASV; None (with a note) when neither works."""
        epsv = self._command("EPSV")
        try:
            if epsv.code == 229:
                return parse_epsv(epsv)
            pasv = self._command("PASV")
            if pasv.code != 227:
                self.found.notes.append(
                    f"no passive mode: EPSV {epsv.shown()}; PASV {pasv.shown()}"
                )
                return None
            host, port = parse_pasv(pasv)
        except DecodeError as error:
            self.found.notes.append(f"passive mode: {error.reason}")
            return None
        if host != self.address:
            self.found.passive_host = host  # never connected to: see the module docstring
        return port

    def _transfer(
        self, read: Callable[[socket.socket], bytes]
    ) -> tuple[Reply, bytes | None] | None:
        """NLST on a fresh passive data connection: (the final reply, what `read` got).

        None when there is no data connection; the data is None when the server
        refused before sending (no 1xx reply).
        """
        port = self._passive_port()
        if port is None:
            return None
        try:
            data_sock = connect(self.address, port, timeout=self.timeout)
        except TransportError as error:
            self.found.notes.append(f"data connection: {error.detail}")
            return None
        with data_sock:
            command = FtpCommand("NLST")
            self.channel.send(command.bytes_to_send())
            while command.status is Status.RUNNING and not command.preliminary:
                data = self.channel.receive()
                if data:
                    command.receive_data(data)
                else:
                    command.connection_closed()
            payload = read(data_sock) if command.preliminary else None
        self.channel.exchange(command)  # the final reply, which follows the data
        if command.status is not Status.READY or command.reply is None:
            raise _Stop("protocol", f"NLST: {command.failure or 'no reply'}")
        return command.reply, payload

    def _read_clear(self, sock: socket.socket) -> bytes:
        received = bytearray()
        while len(received) < MAX_LISTING_BYTES:
            sock.settimeout(max(0.001, min(self.timeout, self.deadline - time.monotonic())))
            try:
                data = sock.recv(MAX_LISTING_BYTES - len(received))
            except OSError as error:
                raise os_error(error, "data connection") from error
            if not data:
                break
            received += data
        return bytes(received)

    def _clear_transfer(self) -> None:
        result = self._transfer(self._read_clear)
        if result is None:
            return
        reply, payload = result
        found = self.found
        if payload is not None:
            found.clear_data = True
            found.notes.append(
                f"NLST after PROT C was answered in clear ({len(payload)} bytes), "
                f"then {reply.shown()}"
            )
        elif reply.code in DATA_REFUSED:
            found.clear_data = False
            found.notes.append(f"NLST after PROT C was refused: {reply.shown()}")
        else:
            found.notes.append(f"NLST after PROT C: {reply.shown()}")

    def _protected_transfer(self) -> None:
        found = self.found
        prot_p = self._command("PROT P")
        if prot_p.code != 200:
            found.data_tls = False
            found.notes.append(f"PROT P refused: {prot_p.shown()}")
            return
        data_channel = _DataTls()
        result = self._transfer(lambda sock: self._read_tls(sock, data_channel))
        if result is None:
            return
        reply, payload = result
        if payload is None:
            found.data_tls = False
            found.notes.append(f"NLST after PROT P was refused: {reply.shown()}")
            return
        if data_channel.failure is not None:
            found.data_tls = False
            found.notes.append(
                f"data connection TLS handshake failed: {data_channel.failure}; {reply.shown()}"
            )
            return
        found.data_tls = True
        found.data_version = data_channel.version
        found.data_suite = data_channel.suite
        if data_channel.suite is None:
            found.notes.append(
                f"the registry has no code for the data channel's suite {data_channel.cipher_name}"
            )
        found.session_reused = data_channel.reused
        names = payload.decode("latin-1").splitlines()
        found.listing = tuple(clip(name) for name in names if name.strip())[:MAX_LISTED]

    def _read_tls(self, sock: socket.socket, seen: _DataTls) -> bytes:
        data = TlsChannel(
            sock,
            server_name=self.server_name,
            timeout=self.timeout,
            deadline=self.deadline,
            max_bytes=2 * MAX_LISTING_BYTES,  # the listing and its TLS framing
            resume=self.channel,
        )
        try:
            data.handshake()
        except TransportError as error:
            seen.failure = error.detail
            return b""
        seen.version = data.version
        seen.suite = data.cipher_suite
        seen.cipher_name = data.cipher_name
        seen.reused = data.session_reused
        received = bytearray()
        try:
            while len(received) < MAX_LISTING_BYTES and (chunk := data.receive()):
                received += chunk
        finally:
            data.close()
        return bytes(received)


# ---------------------------------------------------------------- the observation


def observe(
    session: FtpSession, login: PlaintextLogin | None, *, implicit: bool
) -> list[Observation]:
    """FtpFacts from what both connections showed, and a ProbeFailure for each that broke."""
    notes = list(session.notes)
    observations: list[Observation] = []
    if login is not None and login.note:
        notes.append(login.note)
    if login is not None and login.failure is not None:
        observations.append(ProbeFailure(PROBE, *login.failure))
    if session.failure is not None:
        reason, detail = session.failure
        notes.append(f"the conversation over TLS ended early: {detail}")
        observations.append(ProbeFailure(PROBE, reason, detail))
    facts = FtpFacts(
        implicit_tls=implicit,
        plaintext_login=None if login is None else login.accepted,
        plaintext_login_reply="" if login is None else login.reply,
        anonymous_login=session.anonymous_login,
        anonymous_login_reply=session.anonymous_reply,
        prot_c_reply=session.prot_c_reply,
        clear_data=session.clear_data,
        data_channel_tls=session.data_tls,
        data_tls_version=session.data_version,
        data_cipher_suite=session.data_suite,
        data_session_reused=session.session_reused,
        listing=session.listing,
        passive_host_named=session.passive_host,
        notes=tuple(notes),
    )
    return [facts, *observations]


__all__ = [
    "ANONYMOUS_PASSWORD",
    "PROBE",
    "PROBE_USER",
    "FtpSession",
    "PlaintextLogin",
    "observe",
    "plaintext_login",
    "tls_session",
]
