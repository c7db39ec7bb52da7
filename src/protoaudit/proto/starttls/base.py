"""The shape every STARTTLS dialog has: bytes in, bytes out, until TLS may start.

A dialog is a small sans-I/O state machine (no sockets, no asyncio, no clock),
driven by the engine exactly like the TLS HelloExchange:

    dialog = SmtpStartTls(client_name="protoaudit.invalid")
    send(dialog.bytes_to_send())          # may be b"" (server speaks first)
    while dialog.status is Status.RUNNING:
        dialog.receive_data(recv())
        send(dialog.bytes_to_send())
    # Status.READY: the very next byte on the wire is the TLS ClientHello.
    # Status.FAILED: dialog.outcome.failure says why, in words.

Whatever the protocol, a dialog bounds what it buffers (a line, a reply of
many lines, a whole exchange) and never raises on the peer's bytes: a peer
that breaks the rules ends the dialog FAILED with the reason.

For the protocols that learn whether STARTTLS is offered only by asking for
it (LDAP, PostgreSQL), `DialogOutcome.starttls_offered` is True or False from
the server's answer, and None when no answer came: the server hung up first,
or sent something that is not one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

# A reply line longer than this is not a protocol we speak (RFC 5321 4.5.3.1.5
# allows 512 for SMTP; IMAP capability lines can be long, hence the margin).
MAX_LINE = 8192
# Everything a dialog may read before TLS starts: banners, capability lists.
MAX_DIALOG_BYTES = 65536
# Lines in one multi-line reply (SMTP 250-…, FTP 211-…, POP3 CAPA list).
MAX_REPLY_LINES = 200


class Status(enum.Enum):
    RUNNING = "running"
    READY = "ready"  # the server agreed; TLS starts with the next byte
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class DialogOutcome:
    """What the plaintext part of the conversation showed, for observations."""

    protocol: str  # "smtp", "imap" …
    banner: str = ""  # the greeting as received (decoded latin-1; sanitised by reports)
    capabilities_before: tuple[str, ...] = ()  # as the server listed them before TLS
    starttls_offered: bool | None = None  # None: not known (see the module docstring)
    plaintext_auth_offered: tuple[str, ...] = ()  # e.g. ("PLAIN", "LOGIN") or ("USER/PASS",)
    failure: str | None = None  # why the upgrade did not happen, when it did not
    transcript: tuple[tuple[str, bytes], ...] = field(default=())  # ("C"|"S", bytes), bounded


class Dialog(Protocol):
    """The interface the engine drives; see the module docstring."""

    protocol: str

    @property
    def status(self) -> Status: ...

    @property
    def outcome(self) -> DialogOutcome: ...

    def bytes_to_send(self) -> bytes: ...

    def receive_data(self, data: bytes) -> None: ...

    def connection_closed(self) -> None:
        """The peer closed (EOF): a RUNNING dialog becomes FAILED."""
        ...
