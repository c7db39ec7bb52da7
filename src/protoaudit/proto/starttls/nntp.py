"""NNTP STARTTLS (RFC 4642, RFC 3977 5.2 CAPABILITIES), sans-I/O.

    server  200 news.example.com InterNetNews NNRP server ready (posting ok)
    client  CAPABILITIES
    server  101 Capability list: / VERSION 2 / READER / STARTTLS / .
    client  STARTTLS
    server  382 Continue with TLS negotiation    READY: the next byte is our ClientHello

`_TRANSITIONS` is the whole protocol: a (state, reply code) pair missing from
it ends the dialog FAILED with the reply quoted ("STARTTLS refused: 580 …").
Servers older than RFC 3977 answer CAPABILITIES with 500: STARTTLS is tried
anyway and `starttls_offered` stays None; a list without STARTTLS fails with
NOT_OFFERED. After a refusal the client says QUIT.

NNTP replies are one line (RFC 3977 3.1); the capability list after 101 ends
with a lone ".". Refused besides: a line without a reply code where one is
due, a list longer than MAX_REPLY_LINES, the other bounds of base.py.
AUTHINFO USER (RFC 4643 2.3) and SASL PLAIN or LOGIN before TLS are
plaintext logins.
"""

from __future__ import annotations

from enum import Enum, auto

from protoaudit.proto.starttls.line_dialog import LineDialog
from protoaudit.proto.starttls.lines import (
    NOT_OFFERED,
    DotTerminated,
    line_text,
    plaintext_mechanisms,
    refusal,
    split_code,
    strip_line_end,
)


class State(Enum):
    """Named after what the dialog waits for."""

    GREETING = auto()
    CAPABILITIES = auto()  # the 101 line
    CAPABILITY_LIST = auto()  # the list after it, up to "."
    STARTTLS = auto()
    READY = auto()


_TRANSITIONS: dict[tuple[State, int], State] = {
    (State.GREETING, 200): State.CAPABILITIES,  # posting allowed; or STARTTLS when not asking
    (State.GREETING, 201): State.CAPABILITIES,  # posting prohibited
    (State.CAPABILITIES, 101): State.CAPABILITY_LIST,
    (State.CAPABILITIES, 500): State.STARTTLS,  # no CAPABILITIES before RFC 3977
    (State.STARTTLS, 382): State.READY,
}
_STEPS = {
    State.GREETING: "greeting",
    State.CAPABILITIES: "CAPABILITIES",
    State.STARTTLS: "STARTTLS",
}


def _plaintext_logins(capabilities: tuple[str, ...]) -> tuple[str, ...]:
    lines = [capability.upper().split() for capability in capabilities]
    authinfo = any(line[:1] == ["AUTHINFO"] and "USER" in line[1:] for line in lines)
    mechanisms = next((line[1:] for line in lines if line[:1] == ["SASL"]), [])
    return (("AUTHINFO USER",) if authinfo else ()) + plaintext_mechanisms(mechanisms)


class NntpStartTls(LineDialog):
    """NNTP's STARTTLS dialog; `ask_capabilities=False` skips CAPABILITIES, saving a round trip."""

    protocol = "nntp"

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
        return "the reply to STARTTLS" if self._state is State.STARTTLS else "the capabilities"

    def _on_line(self, raw: bytes) -> None:
        if self._state is State.CAPABILITY_LIST:
            capabilities = self._list.add(raw)
            if capabilities is not None:
                self._on_capabilities(capabilities)
            return
        if self._state is State.GREETING:
            self._banner.append(line_text(raw))
        code, _, _ = split_code(self.protocol, strip_line_end(raw))
        next_state = _TRANSITIONS.get((self._state, code))
        if next_state is None:
            step = _STEPS[self._state]
            self._fail(refusal(step, line_text(raw), negative=code >= 400), quit_politely=True)
            return
        if next_state is State.CAPABILITIES and not self._ask:
            next_state = State.STARTTLS
        self._state = next_state
        if next_state is State.CAPABILITIES:
            self._send("CAPABILITIES")
        elif next_state is State.STARTTLS:
            self._send("STARTTLS")
        elif next_state is State.READY:
            self._ready()

    def _on_capabilities(self, capabilities: tuple[str, ...]) -> None:
        self._capabilities = capabilities
        self._offered = any(c.upper().split()[:1] == ["STARTTLS"] for c in capabilities)
        self._plaintext_auth = _plaintext_logins(capabilities)
        if not self._offered:
            self._fail(NOT_OFFERED, quit_politely=True)
            return
        self._state = State.STARTTLS
        self._send("STARTTLS")
