"""STARTTLS command injection (the CVE-2011-0411 class): a command pipelined after STARTTLS.

A server must start TLS with the first byte after its go-ahead and forget
whatever it read in clear (RFC 3207 4.2; RFC 2595 3.1: "A TLS negotiation
begins immediately after the CRLF"). A server that keeps plaintext it had
already buffered and runs it once TLS is up lets anyone on the path prepend
commands to a client's protected session: CVE-2011-0411 in Postfix, and the
same flaw in many SMTP, POP3, IMAP, NNTP and FTP servers found with it.

`InjectingDialog` wraps a protocol's own dialog (smtp.py, pop3.py …) and
changes one thing: the write that carries STARTTLS carries a second command
too, one every server refuses (an unknown verb), so that its answer cannot
be mistaken for the answer to the marker the probe sends over TLS once the
handshake is done, a command every server accepts:

                 STARTTLS write                          marker over TLS
    smtp, lmtp   STARTTLS\\r\\nXPROTOAUDIT\\r\\n            NOOP
    pop3         STLS\\r\\nXPROTOAUDIT\\r\\n                CAPA
    imap         a2 STARTTLS\\r\\na3 NOOP\\r\\n             a4 NOOP   (tags tell them apart)
    ftp          AUTH TLS\\r\\nXPROTOAUDIT\\r\\n            NOOP
    nntp         STARTTLS\\r\\nXPROTOAUDIT\\r\\n            DATE

A server answers in order, so `verdict` reads the first replies over TLS: the
marker's answer first means the injected command was never run (safe, in
one round trip, with no waiting); a refusal followed by another reply means
the server ran the plaintext it had buffered before the upgrade.

It hands the inner dialog the server's bytes one line at a time, so the
inner dialog stops at the go-ahead; what the server sent after it, in clear
and before any TLS, is kept in `after_ready` (at most MAX_AFTER_READY bytes)
instead of failing the dialog. A server that answers the injected command
there is sloppy but not vulnerable; one that answers it over TLS is.
Sans-I/O like every dialog: no sockets, no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from protoaudit.proto.starttls.base import Dialog, DialogOutcome, Status

MAX_AFTER_READY = 4096  # plaintext kept from after the go-ahead; the rest is counted
UNKNOWN_VERB = "XPROTOAUDIT"  # no server knows it: its answer is always a refusal
# A reply code, then a space or nothing: the last line of a (multi-line) reply.
_LAST_REPLY_LINE = re.compile(rb"[1-5][0-9][0-9]( )?")


@dataclass(frozen=True, slots=True)
class Injection:
    """How to recognise a protocol's STARTTLS line and what to send after it."""

    starttls: re.Pattern[bytes]  # the whole line as the dialog sends it
    command: str  # the injected command; IMAP's gets the next tag
    marker: str  # sent over TLS after the handshake; IMAP's gets the tag after that


_INJECTIONS: dict[str, Injection] = {
    "smtp": Injection(re.compile(rb"STARTTLS\r\n"), UNKNOWN_VERB, "NOOP"),
    "lmtp": Injection(re.compile(rb"STARTTLS\r\n"), UNKNOWN_VERB, "NOOP"),
    "pop3": Injection(re.compile(rb"STLS\r\n"), UNKNOWN_VERB, "CAPA"),
    "imap": Injection(re.compile(rb"([A-Za-z]+)(\d+) STARTTLS\r\n"), "NOOP", "NOOP"),
    "ftp": Injection(re.compile(rb"AUTH TLS\r\n"), UNKNOWN_VERB, "NOOP"),
    "nntp": Injection(re.compile(rb"STARTTLS\r\n"), UNKNOWN_VERB, "DATE"),
}
INJECTION_PROTOCOLS = frozenset(_INJECTIONS)


class InjectingDialog:
    """`inner`, with a command pipelined after its STARTTLS; see the module docstring."""

    __slots__ = (
        "_after_ready",
        "_dropped",
        "_injected",
        "_injection",
        "_inner",
        "_marker",
        "protocol",
    )

    def __init__(self, inner: Dialog) -> None:
        try:
            self._injection = _INJECTIONS[inner.protocol]
        except KeyError:
            raise ValueError(f"no STARTTLS injection for {inner.protocol!r}") from None
        self._inner = inner
        self.protocol = inner.protocol
        self._injected: str | None = None
        self._marker: str | None = None
        self._after_ready = bytearray()
        self._dropped = 0

    @property
    def status(self) -> Status:
        return self._inner.status

    @property
    def outcome(self) -> DialogOutcome:
        return self._inner.outcome

    @property
    def injected(self) -> str | None:
        """The command sent after STARTTLS (with its IMAP tag); None until it was sent."""
        return self._injected

    @property
    def marker(self) -> str | None:
        """The command to send over TLS once it is up (with its IMAP tag); None until injected."""
        return self._marker

    @property
    def after_ready(self) -> bytes:
        """What the server sent after its go-ahead, before TLS (at most MAX_AFTER_READY)."""
        return bytes(self._after_ready)

    @property
    def after_ready_dropped(self) -> int:
        """Bytes after the go-ahead beyond MAX_AFTER_READY, counted and not kept."""
        return self._dropped

    def bytes_to_send(self) -> bytes:
        outgoing = self._inner.bytes_to_send()
        if self._injected is not None:
            return outgoing
        match = self._injection.starttls.search(outgoing)
        if match is None or match.end() != len(outgoing):
            return outgoing
        command, marker = self._injection.command, self._injection.marker
        if match.groups():  # IMAP: the tags after STARTTLS's own
            prefix, number = match.group(1).decode("ascii"), int(match.group(2))
            command = f"{prefix}{number + 1} {command}"
            marker = f"{prefix}{number + 2} {marker}"
        self._injected, self._marker = command, marker
        return outgoing + command.encode("ascii") + b"\r\n"

    def receive_data(self, data: bytes) -> None:
        start = 0
        while start < len(data) and self._inner.status is Status.RUNNING:
            end = data.find(b"\n", start)
            end = len(data) if end < 0 else end + 1
            self._inner.receive_data(data[start:end])
            start = end
        if start < len(data) and self._inner.status is Status.READY:
            self._keep(data[start:])

    def connection_closed(self) -> None:
        self._inner.connection_closed()

    def _keep(self, data: bytes) -> None:
        room = MAX_AFTER_READY - len(self._after_ready)
        self._after_ready += data[:room]
        self._dropped += max(0, len(data) - room)


def verdict(protocol: str, injected: str, marker: str, data: bytes) -> bool | None:
    """What the replies over TLS so far say: True vulnerable, False safe, None not yet.

    Replies come in order. IMAP's are told apart by tag: the injected
    command's first means it ran. Elsewhere the injected command is one every
    server refuses and the marker one it accepts: a first reply that accepts
    answers the marker (safe); a refusal followed by a second reply means the
    refusal answered the injected command (vulnerable). A refusal alone is
    undecided (the marker itself may be refused): the caller waits briefly for
    a second reply. Bytes that are not shaped like replies are skipped; a
    flood of them decides nothing.
    """
    if protocol == "imap":
        tags = {_tag(injected): True, _tag(marker): False}
        for line in _lines(data):
            found = tags.get(line.split(b" ", 1)[0])
            if found is not None:
                return found
        return None
    replies = reply_kinds(protocol, data)
    if not replies:
        return None
    if replies[0]:
        return False
    return True if len(replies) > 1 else None


def _tag(command: str) -> bytes:
    return command.split(" ", 1)[0].encode("ascii")


def _lines(data: bytes) -> list[bytes]:
    return [line.rstrip(b"\r") for line in data.split(b"\n")[:-1]]  # whole lines only


def reply_kinds(protocol: str, data: bytes) -> list[bool]:
    """Whether each complete reply in `data` accepted (True) or refused (False); not IMAP."""
    kinds: list[bool] = []
    for line in _lines(data):
        if protocol == "pop3":
            if line.upper().startswith((b"+OK", b"-ERR")):
                kinds.append(line[:1] == b"+")
        elif _LAST_REPLY_LINE.fullmatch(line[:4]):
            kinds.append(line[:1] in b"123")
    return kinds


__all__ = [
    "INJECTION_PROTOCOLS",
    "MAX_AFTER_READY",
    "UNKNOWN_VERB",
    "InjectingDialog",
    "reply_kinds",
    "verdict",
]
