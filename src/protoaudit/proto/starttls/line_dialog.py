"""The skeleton every line-based STARTTLS dialog (SMTP, POP3, IMAP, FTP, NNTP, Sieve, IRC) fills in.

`LineDialog` cuts the server's bytes into lines within base.py's bounds
(lines.py's LineBuffer), feeds each line to the protocol's `_on_line`, turns
a DecodeError into Status.FAILED with its reason, and keeps the transcript
(transcript.py). It fails a dialog that gets bytes after the server agreed
to TLS, whether they came with the go-ahead or after it, since they would be
read as the TLS handshake (the CVE-2011-0411 class of STARTTLS injection).
"""

from __future__ import annotations

from protoaudit.errors import DecodeError
from protoaudit.proto.starttls.base import DialogOutcome, Status
from protoaudit.proto.starttls.lines import BYTES_AFTER_READY, CLOSED, LineBuffer
from protoaudit.proto.starttls.transcript import Transcript


class LineDialog:
    """The Dialog skeleton of every line-based protocol; a subclass reads the lines.

    A subclass sets `protocol`, implements `_on_line` (one line, line end
    included, may raise DecodeError) and `_waiting_for` (for the failure when
    the server hangs up), and calls `_send`, `_ready` and `_fail`.
    """

    protocol = "line"

    __slots__ = (
        "_banner",
        "_capabilities",
        "_failure",
        "_lines",
        "_offered",
        "_outgoing",
        "_plaintext_auth",
        "_status",
        "_transcript",
    )

    def __init__(self) -> None:
        self._lines = LineBuffer(self.protocol)
        self._transcript = Transcript()
        self._outgoing = bytearray()
        self._status = Status.RUNNING
        self._failure: str | None = None
        self._banner: list[str] = []
        self._capabilities: tuple[str, ...] = ()
        self._offered: bool | None = None
        self._plaintext_auth: tuple[str, ...] = ()

    @property
    def status(self) -> Status:
        return self._status

    @property
    def outcome(self) -> DialogOutcome:
        return DialogOutcome(
            protocol=self.protocol,
            banner="\n".join(self._banner),
            capabilities_before=self._capabilities,
            starttls_offered=self._offered,
            plaintext_auth_offered=self._plaintext_auth,
            failure=self._failure,
            transcript=self._transcript.entries,
        )

    @property
    def buffered_bytes(self) -> int:
        """Server bytes held and not yet understood: at most MAX_LINE + 1 between calls."""
        return self._lines.buffered

    def bytes_to_send(self) -> bytes:
        outgoing = bytes(self._outgoing)
        self._outgoing.clear()
        return outgoing

    def receive_data(self, data: bytes) -> None:
        if self._status is Status.READY:
            if data:
                self._after_ready(data)
            return
        if self._status is Status.FAILED:
            return
        try:
            self._lines.feed(data)
            while self._status is Status.RUNNING:
                raw = self._lines.next_line()
                if raw is None:
                    break
                self._transcript.add("S", raw)
                self._on_line(raw)
        except DecodeError as error:
            self._fail(error.reason)
        self._check_nothing_follows()

    def connection_closed(self) -> None:
        if self._status is Status.RUNNING:
            self._fail(f"{CLOSED} while waiting for {self._waiting_for()}")

    def _on_line(self, raw: bytes) -> None:
        raise NotImplementedError

    def _waiting_for(self) -> str:
        raise NotImplementedError

    def _quit_command(self) -> str:
        """What a client says last when the server said no; IMAP and ManageSieve: LOGOUT."""
        return "QUIT"

    def _send(self, *commands: str) -> None:
        data = b"".join(command.encode("latin-1") + b"\r\n" for command in commands)
        self._transcript.add("C", data)
        self._outgoing += data

    def _ready(self) -> None:
        self._status = Status.READY

    def _fail(self, reason: str, *, quit_politely: bool = False) -> None:
        """End the dialog; `quit_politely` when the server was well-behaved and said no."""
        self._status = Status.FAILED
        self._failure = reason
        self._lines.drain()
        if quit_politely:
            self._send(self._quit_command())

    def _check_nothing_follows(self) -> None:
        """Lines that came with the server's go-ahead would be read as TLS: a failure."""
        if self._status is Status.READY and self._lines.buffered:
            self._after_ready(self._lines.drain())

    def _after_ready(self, data: bytes) -> None:
        self._transcript.add("S", data)
        self._fail(BYTES_AFTER_READY)
