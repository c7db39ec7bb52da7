"""The skeleton of LDAP's, PostgreSQL's, MySQL's and XMPP's dialogs: bytes framed their own way.

Where `LineDialog` cuts lines for its protocols, these four each frame the
server's bytes differently (a BER message, one answer byte, a length-prefixed
packet, an XML stream), so `ByteDialog` keeps only what they do alike: the
status, the failure, whether STARTTLS was offered, the transcript
(transcript.py), and the bytes we send, recorded as the engine takes them.
Its `receive_data` records the server's bytes and passes them to the
protocol's `_on_data` while the dialog runs, and ignores them once it is over;
`connection_closed` fails a running dialog with the protocol's
`_closed_failure`.

Bytes that come with the server's go-ahead (LDAP's response, PostgreSQL's
'S', XMPP's <proceed/>) fail the dialog: nothing may come between the
go-ahead and the TLS handshake, and a client that kept such bytes would take
plaintext an attacker injected as if it came over TLS (the response injection
class of CVE-2011-0411 and CVE-2021-23222). `bytes_after_go_ahead` words that
failure for LDAP and XMPP; PostgreSQL's names its own CVE. Once READY, a
dialog ignores what arrives: the engine has handed the connection to TLS.
"""

from __future__ import annotations

from protoaudit.proto.starttls.base import DialogOutcome, Status
from protoaudit.proto.starttls.transcript import Transcript


def bytes_after_go_ahead(count: int, go_ahead: str, shown: str = "") -> str:
    """The failure for `count` bytes after `go_ahead` ("<proceed/>" …), quoting `shown` if any."""
    quoted = f" ({shown})" if shown else ""
    return (
        f"{count} bytes after {go_ahead}, before the TLS handshake{quoted}: plaintext that "
        f"a client must not take as protected (response injection)"
    )


class ByteDialog:
    """The Dialog skeleton of a protocol that frames the server's bytes itself.

    A subclass sets `protocol`, passes what we say first (b"" when the server
    speaks first) to `__init__`, implements `_on_data` (the server's bytes,
    already in the transcript) and `_closed_failure` (why the dialog failed when
    the server hung up), sets `_outgoing` to what it says next, and calls
    `_ready` and `_fail`.
    """

    protocol: str

    __slots__ = ("_failure", "_offered", "_outgoing", "_status", "_transcript")

    def __init__(self, first: bytes = b"") -> None:
        self._outgoing = first
        self._status = Status.RUNNING
        self._failure: str | None = None
        self._offered: bool | None = None
        self._transcript = Transcript()

    @property
    def status(self) -> Status:
        return self._status

    @property
    def outcome(self) -> DialogOutcome:
        """Whether STARTTLS was offered and how the dialog ended; a greeting's details are extra."""
        return DialogOutcome(
            protocol=self.protocol,
            starttls_offered=self._offered,
            failure=self._failure,
            transcript=self._transcript.entries,
        )

    def bytes_to_send(self) -> bytes:
        """What was queued, once; recorded in the transcript as it is taken."""
        outgoing, self._outgoing = self._outgoing, b""
        self._transcript.add("C", outgoing)
        return outgoing

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the server; ignored once the dialog is over."""
        if self._status is not Status.RUNNING or not data:
            return
        self._transcript.add("S", data)
        self._on_data(data)

    def connection_closed(self) -> None:
        if self._status is Status.RUNNING:
            self._fail(self._closed_failure())

    def _on_data(self, data: bytes) -> None:
        raise NotImplementedError

    def _closed_failure(self) -> str:
        raise NotImplementedError

    def _ready(self) -> None:
        self._status = Status.READY

    def _fail(self, reason: str) -> None:
        self._status = Status.FAILED
        self._failure = reason
