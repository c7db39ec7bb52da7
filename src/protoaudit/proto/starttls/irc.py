"""IRC STARTTLS (the IRCv3 `tls` extension: numerics 670 and 691), sans-I/O.

    client  CAP LS 302 / STARTTLS                 sent together: IRC has no greeting
    server  :irc.example.net NOTICE * :*** Looking up your hostname...
    server  :irc.example.net CAP * LS :multi-prefix sasl=PLAIN tls
    server  :irc.example.net 670 * :STARTTLS successful, proceed with TLS handshake
                                                  READY: the next byte is our ClientHello

`_TRANSITIONS` is the whole protocol: 670 (RPL_STARTTLS) makes the dialog
READY; 691 (ERR_STARTTLS) is a refusal; 421 (ERR_UNKNOWNCOMMAND) naming
STARTTLS and 451 (ERR_NOTREGISTERED, what some servers say to a command they
do not know before registration) fail with NOT_OFFERED. After these the
client says QUIT; after an ERROR line nothing, the server has gone.

Before the answer a server may send NOTICE lines, PING (answered with PONG:
some servers drop a client that does not), the CAP LS reply (which says whether
`tls` is offered; without `cap_ls` `starttls_offered` stays None) and other
numerics: all taken and counted, and more than MAX_REPLY_LINES of them end
the dialog. A client that sent CAP LS must end capability negotiation with
CAP END after TLS, before registering (IRCv3 capability negotiation).
"""

from __future__ import annotations

from enum import Enum, auto

from protoaudit.proto.starttls.base import MAX_REPLY_LINES
from protoaudit.proto.starttls.line_dialog import LineDialog
from protoaudit.proto.starttls.lines import (
    NOT_OFFERED,
    clip,
    line_text,
    malformed,
    plaintext_mechanisms,
    refusal,
    too_many,
)


class State(Enum):
    STARTTLS = auto()  # the reply to STARTTLS (and, before it, the CAP LS reply)
    READY = auto()


_TRANSITIONS: dict[tuple[State, str], State] = {
    (State.STARTTLS, "670"): State.READY,
}
_REFUSED = "691"
_NOT_OFFERED = ("421", "451")


def _parse(line: str) -> tuple[str, list[str]]:
    """A message's command (upper case) and parameters: `[@tags] [:prefix] COMMAND params`."""
    text = line
    if text.startswith("@"):
        text = text.partition(" ")[2]
    if text.startswith(":"):
        text = text.partition(" ")[2]
    head, colon, trailing = text.partition(" :")
    words = head.split()
    if not words:
        raise malformed("irc", "message", line.encode("latin-1"))
    return words[0].upper(), words[1:] + ([trailing] if colon else [])


class IrcStartTls(LineDialog):
    """IRC's STARTTLS dialog; `cap_ls=False` sends STARTTLS alone, without CAP LS 302."""

    protocol = "irc"

    __slots__ = ("_cap_done", "_listed", "_seen", "_state")

    def __init__(self, *, cap_ls: bool = True) -> None:
        super().__init__()
        self._state = State.STARTTLS
        self._listed: list[str] = []
        self._cap_done = False
        self._seen = 0
        self._send(*(("CAP LS 302",) if cap_ls else ()), "STARTTLS")

    @property
    def state(self) -> State:
        return self._state

    def _waiting_for(self) -> str:
        return "the reply to STARTTLS"

    def _on_line(self, raw: bytes) -> None:
        self._seen += 1
        if self._seen > MAX_REPLY_LINES:
            raise too_many(self.protocol, "before the reply to STARTTLS")
        text = line_text(raw)
        if not text.strip(" "):  # RFC 1459 2.3.1: empty messages are ignored
            return
        if not self._banner:
            self._banner.append(text)
        command, params = _parse(text)
        next_state = _TRANSITIONS.get((self._state, command))
        if next_state is State.READY:
            self._state = next_state
            self._ready()
        elif command == _REFUSED:
            self._fail(refusal("STARTTLS", text, negative=True), quit_politely=True)
        elif command in _NOT_OFFERED and (command == "451" or params[1:2] == ["STARTTLS"]):
            self._fail(NOT_OFFERED, quit_politely=True)
        elif command == "ERROR":
            self._fail(f"server sent ERROR: {clip(text)}")
        elif command == "PING":
            self._send(f"PONG :{params[-1]}" if params else "PONG")
        elif command == "CAP" and params[1:2] == ["LS"] and not self._cap_done:
            self._on_cap_ls(params[2:])

    def _on_cap_ls(self, params: list[str]) -> None:
        """One CAP LS line: `* :caps` while more follow (CAP LS 302), `:caps` for the last."""
        more = len(params) > 1 and params[0] == "*"
        self._listed += params[-1].split() if params else []
        if more:
            return
        self._cap_done = True
        self._capabilities = tuple(self._listed)
        names = [capability.partition("=") for capability in self._capabilities]
        self._offered = any(name.lower() == "tls" for name, _, _ in names)
        sasl = next((value for name, _, value in names if name.lower() == "sasl"), "")
        self._plaintext_auth = plaintext_mechanisms(sasl.split(","))
