"""STARTTLS command injection (the CVE-2011-0411 class): a command pipelined after STARTTLS.

A server must start TLS with the first byte after its go-ahead and forget
whatever it read in clear (RFC 3207 4.2; RFC 2595 3.1: "A TLS negotiation
begins immediately after the CRLF"). A server that keeps plaintext it had
already buffered and runs it once TLS is up lets anyone on the path prepend
commands to a client's protected session: CVE-2011-0411 in Postfix, and the
same flaw in many SMTP, POP3, IMAP, NNTP and FTP servers found with it.

`InjectingDialog` wraps a protocol's own dialog (smtp.py, pop3.py …) and
changes one thing: the write that carries STARTTLS carries a harmless
second command too.

    smtp, lmtp   STARTTLS\\r\\nNOOP\\r\\n
    pop3         STLS\\r\\nCAPA\\r\\n
    imap         a2 STARTTLS\\r\\na3 NOOP\\r\\n        the tag after the dialog's own
    ftp          AUTH TLS\\r\\nNOOP\\r\\n
    nntp         STARTTLS\\r\\nDATE\\r\\n

It hands the inner dialog the server's bytes one line at a time, so the
inner dialog stops at the go-ahead; what the server sent after it, in clear
and before any TLS, is kept in `after_ready` (at most MAX_AFTER_READY bytes)
instead of failing the dialog. A server that answers the injected command
there is sloppy but not vulnerable; one that answers it over TLS is. That
judgement needs the handshake, so it is the probe's (probes/starttls.py);
`answers` tells it whether what came over TLS is shaped like a reply.
Sans-I/O like every dialog: no sockets, no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from protoaudit.proto.starttls.base import Dialog, DialogOutcome, Status

MAX_AFTER_READY = 4096  # plaintext kept from after the go-ahead; the rest is counted


@dataclass(frozen=True, slots=True)
class Injection:
    """How to recognise a protocol's STARTTLS line and what to send after it."""

    starttls: re.Pattern[bytes]  # the whole line as the dialog sends it
    command: str  # the injected command; IMAP's gets the next tag


_INJECTIONS: dict[str, Injection] = {
    "smtp": Injection(re.compile(rb"STARTTLS\r\n"), "NOOP"),
    "lmtp": Injection(re.compile(rb"STARTTLS\r\n"), "NOOP"),
    "pop3": Injection(re.compile(rb"STLS\r\n"), "CAPA"),
    "imap": Injection(re.compile(rb"([A-Za-z]+)(\d+) STARTTLS\r\n"), "NOOP"),
    "ftp": Injection(re.compile(rb"AUTH TLS\r\n"), "NOOP"),
    "nntp": Injection(re.compile(rb"STARTTLS\r\n"), "DATE"),
}
INJECTION_PROTOCOLS = frozenset(_INJECTIONS)


class InjectingDialog:
    """`inner`, with a command pipelined after its STARTTLS; see the module docstring."""

    __slots__ = ("_after_ready", "_dropped", "_injected", "_injection", "_inner", "protocol")

    def __init__(self, inner: Dialog) -> None:
        try:
            self._injection = _INJECTIONS[inner.protocol]
        except KeyError:
            raise ValueError(f"no STARTTLS injection for {inner.protocol!r}") from None
        self._inner = inner
        self.protocol = inner.protocol
        self._injected: str | None = None
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
        command = self._injection.command
        if match.groups():  # IMAP: the tag after STARTTLS's own
            prefix, number = match.group(1).decode("ascii"), int(match.group(2))
            command = f"{prefix}{number + 1} {command}"
        self._injected = command
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


def answers(protocol: str, injected: str, data: bytes) -> bool:
    """Whether `data` (from the server, over TLS) holds a reply to the `injected` command.

    A whole line shaped like the protocol's replies: a reply code (SMTP, LMTP,
    FTP, NNTP), +OK or -ERR (POP3), or a response tagged with the injected
    command's tag (IMAP). Bytes of another shape are not an answer: a server
    that floods, or sends something unasked, is odd but proves no injection.
    """
    lines = [line.rstrip(b"\r") for line in data.split(b"\n")[:-1]]  # whole lines only
    if protocol == "imap":
        tag = injected.split(" ", 1)[0].encode("ascii") + b" "
        return any(line.startswith(tag) for line in lines)
    if not lines:
        return False
    first = lines[0]
    if protocol == "pop3":
        return first.upper().startswith((b"+OK", b"-ERR"))
    return len(first) >= 3 and first[:3].isdigit() and first[:1] in b"12345"


__all__ = ["INJECTION_PROTOCOLS", "MAX_AFTER_READY", "InjectingDialog", "answers"]
