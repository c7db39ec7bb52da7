"""POP3 STLS (RFC 2595 4, RFC 2449 CAPA, RFC 1939), sans-I/O.

    server  +OK Dovecot ready.                   greeting
    client  CAPA
    server  +OK / TOP / USER / SASL PLAIN / STLS / .   the capabilities, up to a lone "."
    client  STLS
    server  +OK Begin TLS negotiation            READY: the next byte is our ClientHello

`_TRANSITIONS` is the whole protocol: a (state, +OK or not) pair missing from
it ends the dialog FAILED with the reply quoted ("STARTTLS refused: -ERR …").
CAPA is an extension (RFC 2449): a server that answers it -ERR is asked STLS
anyway and `starttls_offered` stays None; one that lists capabilities without
STLS fails with NOT_OFFERED. After a refusal the client says QUIT.

Refused besides: a line that is neither +OK nor -ERR where a status is due,
a list longer than MAX_REPLY_LINES, and the other bounds of base.py. USER
(RFC 2449 6.8) and SASL PLAIN or LOGIN before TLS are plaintext logins.
"""

from __future__ import annotations

from enum import Enum, auto

from protoaudit.proto.starttls.line_dialog import LineDialog
from protoaudit.proto.starttls.lines import (
    NOT_OFFERED,
    DotTerminated,
    line_text,
    malformed,
    plaintext_mechanisms,
    refusal,
    strip_line_end,
)


class State(Enum):
    """Named after what the dialog waits for."""

    GREETING = auto()
    CAPA = auto()  # the status line of the reply to CAPA
    CAPA_LIST = auto()  # its lines, up to "."
    STLS = auto()
    READY = auto()


_TRANSITIONS: dict[tuple[State, bool], State] = {  # bool: the server said +OK
    (State.GREETING, True): State.CAPA,  # or STLS, when not asking for capabilities
    (State.CAPA, True): State.CAPA_LIST,
    (State.CAPA, False): State.STLS,  # no CAPA: STLS may still work
    (State.STLS, True): State.READY,
}
_STEPS = {State.GREETING: "greeting", State.CAPA: "CAPA", State.STLS: "STARTTLS"}


def _status(line: bytes) -> bool:
    """True for +OK, False for -ERR; anything else is not a POP3 reply."""
    word = line.split(b" ", 1)[0].upper()
    if word not in (b"+OK", b"-ERR"):
        raise malformed("pop3", "reply", line)
    return word == b"+OK"


class Pop3StartTls(LineDialog):
    """POP3's STLS dialog; `ask_capabilities=False` skips CAPA, saving a round trip."""

    protocol = "pop3"

    __slots__ = ("_ask", "_list", "_state")

    def __init__(self, *, ask_capabilities: bool = True) -> None:
        super().__init__()
        self._ask = ask_capabilities
        self._list = DotTerminated(self.protocol)
        self._state = State.GREETING

    @property
    def state(self) -> State:
        return self._state

    def _waiting_for(self) -> str:
        if self._state is State.GREETING:
            return "the greeting"
        return "the reply to STLS" if self._state is State.STLS else "the reply to CAPA"

    def _on_line(self, raw: bytes) -> None:
        if self._state is State.CAPA_LIST:
            capabilities = self._list.add(raw)
            if capabilities is not None:
                self._on_capabilities(capabilities)
            return
        if self._state is State.GREETING:
            self._banner.append(line_text(raw))
        positive = _status(strip_line_end(raw))
        next_state = _TRANSITIONS.get((self._state, positive))
        if next_state is None:
            step = _STEPS[self._state]
            self._fail(refusal(step, line_text(raw), negative=not positive), quit_politely=True)
            return
        if next_state is State.CAPA and not self._ask:
            next_state = State.STLS
        self._state = next_state
        if next_state is State.CAPA:
            self._send("CAPA")
        elif next_state is State.STLS:
            self._send("STLS")
        elif next_state is State.READY:
            self._ready()

    def _on_capabilities(self, capabilities: tuple[str, ...]) -> None:
        self._capabilities = capabilities
        words = [capability.upper().split() for capability in capabilities]
        self._offered = ["STLS"] in words
        mechanisms = next((line[1:] for line in words if line and line[0] == "SASL"), [])
        user = ("USER/PASS",) if ["USER"] in words else ()
        self._plaintext_auth = user + plaintext_mechanisms(mechanisms)
        if not self._offered:
            self._fail(NOT_OFFERED, quit_politely=True)
            return
        self._state = State.STLS
        self._send("STLS")
