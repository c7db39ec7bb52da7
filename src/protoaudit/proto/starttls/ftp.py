"""FTP AUTH TLS (RFC 4217, RFC 2389 FEAT, RFC 959), sans-I/O.

    server  220-Welcome / 220 (vsFTPd 3.0.3)      greeting; may span lines (RFC 959 4.2)
    client  FEAT
    server  211-Features: / AUTH TLS / PBSZ / PROT / 211 End
    client  AUTH TLS
    server  234 Proceed with negotiation.         READY: the next byte is our ClientHello

`_TRANSITIONS` is the whole protocol: a (state, reply code) pair missing from
it ends the dialog FAILED with the reply quoted: "STARTTLS refused: 534 …"
for a 4xx or 5xx to AUTH TLS, "unexpected STARTTLS reply: 334 …" for the
334 of RFC 2228's security data exchange that old AUTH SSL servers answer,
which is not the TLS handshake RFC 4217 starts with 234. A 120 greeting
("ready in nnn minutes") is waited out. FEAT is an extension: 500 or 502 to
it means no FEAT, AUTH TLS is tried anyway and `starttls_offered` stays None;
a FEAT list without AUTH TLS fails with NOT_OFFERED. After a refusal the
client says QUIT. Whether USER is accepted before AUTH TLS is not asked
here: `plaintext_auth_offered` stays empty, a probe can try with FtpCommand.

After TLS the caller protects the data channel with PBSZ 0 and PROT P
(RFC 4217 9): `FtpCommand` sends one command and reads its reply over the
TLS connection, and `parse_pasv` / `parse_epsv` read the data port from a
227 or 229 reply. The host in a 227 reply is the server's word only: a
client should connect to the control connection's address instead, since a
227 can name any host (the FTP bounce class of trouble).
"""

from __future__ import annotations

import re
from enum import Enum, auto

from protoaudit.errors import DecodeError
from protoaudit.proto.starttls.base import Status
from protoaudit.proto.starttls.line_dialog import LineDialog
from protoaudit.proto.starttls.lines import (
    CLOSED,
    NOT_OFFERED,
    CodedReplies,
    LineBuffer,
    Reply,
    line_text,
    refusal,
)

PROTOCOL = "ftp"


class State(Enum):
    """Named after what the dialog waits for."""

    GREETING = auto()
    FEAT = auto()
    AUTH = auto()  # the reply to AUTH TLS
    READY = auto()


_TRANSITIONS: dict[tuple[State, int], State] = {
    (State.GREETING, 120): State.GREETING,  # the 220 follows when the server is ready
    (State.GREETING, 220): State.FEAT,  # or AUTH, when not asking for features
    (State.FEAT, 211): State.AUTH,  # unless the list lacks AUTH TLS
    (State.FEAT, 500): State.AUTH,  # no FEAT at all
    (State.FEAT, 502): State.AUTH,
    (State.AUTH, 234): State.READY,
}
_STEPS = {State.GREETING: "greeting", State.FEAT: "FEAT", State.AUTH: "STARTTLS"}


def _offers_auth_tls(features: tuple[str, ...]) -> bool:
    """Whether FEAT lists AUTH with TLS among its arguments (`AUTH TLS`, `AUTH TLS;SSL`)."""
    for feature in features:
        name, _, arguments = feature.strip().upper().partition(" ")
        if name == "AUTH" and "TLS" in arguments.replace(";", " ").split():
            return True
    return False


class FtpStartTls(LineDialog):
    """FTP's AUTH TLS dialog; `ask_capabilities=False` skips FEAT, saving a round trip."""

    protocol = PROTOCOL

    __slots__ = ("_ask", "_replies", "_state")

    def __init__(self, *, ask_capabilities: bool = True) -> None:
        super().__init__()
        self._ask = ask_capabilities
        self._replies = CodedReplies(self.protocol, ftp=True)
        self._state = State.GREETING

    @property
    def state(self) -> State:
        return self._state

    def _waiting_for(self) -> str:
        step = "AUTH TLS" if self._state is State.AUTH else _STEPS[self._state]
        return "the greeting" if self._state is State.GREETING else f"the reply to {step}"

    def _on_line(self, raw: bytes) -> None:
        if self._state is State.GREETING:
            self._banner.append(line_text(raw))
        reply = self._replies.add(raw)
        if reply is None:
            return
        next_state = _TRANSITIONS.get((self._state, reply.code))
        if next_state is None:
            negative = reply.code >= 400
            step = _STEPS[self._state]
            self._fail(refusal(step, reply.shown(), negative=negative), quit_politely=True)
            return
        if self._state is State.FEAT and reply.code == 211:
            self._capabilities = tuple(line.strip() for line in reply.lines[1:-1])
            self._offered = _offers_auth_tls(self._capabilities)
            if not self._offered:
                self._fail(NOT_OFFERED, quit_politely=True)
                return
        if next_state is State.FEAT and not self._ask:
            next_state = State.AUTH
        if next_state is not self._state:
            self._state = next_state
            if next_state is State.READY:
                self._ready()
            else:
                self._send("FEAT" if next_state is State.FEAT else "AUTH TLS")


class FtpCommand:
    """One FTP command and its final reply (after any 1xx), e.g. PBSZ 0 and PROT P after TLS.

    READY means the final reply came; `reply` holds it whatever its code, and
    `preliminary` the 1xx replies before it. Bytes after the final reply fail.
    """

    protocol = PROTOCOL

    __slots__ = (
        "_command",
        "_failure",
        "_lines",
        "_outgoing",
        "_preliminary",
        "_replies",
        "_reply",
        "_status",
    )

    def __init__(self, command: str) -> None:
        if not command or not all(32 <= ord(character) <= 126 for character in command):
            raise ValueError(f"command must be printable ASCII, not {command!r}")
        self._command = command
        self._outgoing = command.encode("ascii") + b"\r\n"
        self._lines = LineBuffer(PROTOCOL)
        self._replies = CodedReplies(PROTOCOL, ftp=True)
        self._status = Status.RUNNING
        self._reply: Reply | None = None
        self._preliminary: list[Reply] = []
        self._failure: str | None = None

    @property
    def status(self) -> Status:
        return self._status

    @property
    def reply(self) -> Reply | None:
        return self._reply

    @property
    def preliminary(self) -> tuple[Reply, ...]:
        return tuple(self._preliminary)

    @property
    def failure(self) -> str | None:
        return self._failure

    def bytes_to_send(self) -> bytes:
        outgoing, self._outgoing = self._outgoing, b""
        return outgoing

    def receive_data(self, data: bytes) -> None:
        if self._status is Status.FAILED or not data:
            return
        if self._status is Status.READY:
            self._fail(f"server sent bytes after its reply to {self._command}")
            return
        try:
            self._lines.feed(data)
            while self._status is Status.RUNNING and (raw := self._lines.next_line()) is not None:
                reply = self._replies.add(raw)
                if reply is not None and reply.code < 200:
                    self._preliminary.append(reply)
                elif reply is not None:
                    self._reply, self._status = reply, Status.READY
        except DecodeError as error:
            self._fail(error.reason)
        if self._status is Status.READY and self._lines.buffered:
            self._fail(f"server sent bytes after its reply to {self._command}")

    def connection_closed(self) -> None:
        if self._status is Status.RUNNING:
            self._fail(f"{CLOSED} while waiting for the reply to {self._command}")

    def _fail(self, reason: str) -> None:
        self._status = Status.FAILED
        self._failure = reason
        self._lines.drain()


_PASV = re.compile(r"(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})")
_EPSV = re.compile(r"\(([!-~])\1\1(\d{1,5})\1\)")


def parse_pasv(reply: Reply) -> tuple[str, int]:
    """The (host, port) of a 227 reply: h1,h2,h3,h4,p1,p2 anywhere in it (RFC 1123 4.1.2.6)."""
    match = _PASV.search(" ".join(reply.lines)) if reply.code == 227 else None
    numbers = [int(number) for number in match.groups()] if match else []
    if not numbers or max(numbers) > 255:
        raise DecodeError(PROTOCOL, "pasv", 0, f"not a PASV reply: {reply.shown()}")
    return ".".join(str(number) for number in numbers[:4]), numbers[4] * 256 + numbers[5]


def parse_epsv(reply: Reply) -> int:
    """The port of a 229 reply: `(|||6446|)`, any printable delimiter (RFC 2428 3)."""
    match = _EPSV.search(" ".join(reply.lines)) if reply.code == 229 else None
    port = int(match.group(2)) if match else 0
    if not 0 < port <= 0xFFFF:
        raise DecodeError(PROTOCOL, "epsv", 0, f"not an EPSV reply: {reply.shown()}")
    return port


__all__ = ["FtpCommand", "FtpStartTls", "State", "parse_epsv", "parse_pasv"]
