"""ManageSieve STARTTLS (RFC 5804 1.7, 2.2), sans-I/O.

    server  "IMPLEMENTATION" "Dovecot Pigeonhole"   the greeting is the capability list …
    server  "SASL" "PLAIN" / "STARTTLS" / "VERSION" "1.0"
    server  OK "Dovecot ready."                     … ended by an OK response
    client  STARTTLS
    server  OK "Begin TLS negotiation now."         READY: the next byte is our ClientHello

`_TRANSITIONS` is the whole protocol: a (state, OK|NO|BYE) pair missing from
it ends the dialog FAILED with the response quoted ("STARTTLS refused: NO …").
A greeting without STARTTLS fails with NOT_OFFERED. After a refusal the
client says LOGOUT; after BYE nothing, the server has gone.

Capability lines are a quoted name and an optional quoted value. A value
sent as a literal (`{12}` then the bytes, RFC 5804 4) is taken to be the
next line: capability values hold no line breaks. Refused besides: a line
that is neither a capability nor OK, NO or BYE; more than MAX_REPLY_LINES
capabilities; the other bounds of base.py. SASL PLAIN or LOGIN before TLS
are plaintext logins.
"""

from __future__ import annotations

import re
from enum import Enum, auto

from protoaudit.proto.starttls.base import MAX_REPLY_LINES
from protoaudit.proto.starttls.line_dialog import LineDialog
from protoaudit.proto.starttls.lines import (
    NOT_OFFERED,
    line_text,
    malformed,
    plaintext_mechanisms,
    refusal,
    strip_line_end,
    too_many,
)


class State(Enum):
    """Named after what the dialog waits for."""

    GREETING = auto()  # capability lines, then OK
    STARTTLS = auto()
    READY = auto()


_TRANSITIONS: dict[tuple[State, str], State] = {
    (State.GREETING, "OK"): State.STARTTLS,  # unless STARTTLS is not listed
    (State.STARTTLS, "OK"): State.READY,
}
_STEPS = {State.GREETING: "greeting", State.STARTTLS: "STARTTLS"}
_RESPONSES = ("OK", "NO", "BYE")
_LITERAL = re.compile(r"\{\d{1,5}\+?\}$")


def _unquoted(line: str) -> list[str]:
    """The quoted strings of a line, escapes undone, an unclosed one dropped.

    One pass by hand: a regular expression for quoted strings with escapes
    backtracks quadratically on a hostile line of `\\"` pairs.
    """
    strings: list[str] = []
    current: list[str] | None = None
    escaped = False
    for character in line:
        if current is None:
            if character == '"':
                current = []
        elif escaped:
            current.append(character)
            escaped = False
        elif character == "\\":
            escaped = True
        elif character == '"':
            strings.append("".join(current))
            current = None
        else:
            current.append(character)
    return strings


class SieveStartTls(LineDialog):
    """ManageSieve's STARTTLS dialog; no options (the greeting lists the capabilities)."""

    protocol = "sieve"

    __slots__ = ("_listed", "_literal_name", "_state")

    def __init__(self) -> None:
        super().__init__()
        self._state = State.GREETING
        self._listed: list[str] = []
        self._literal_name: str | None = None  # a capability whose value is the next line

    @property
    def state(self) -> State:
        return self._state

    def _quit_command(self) -> str:
        return "LOGOUT"

    def _waiting_for(self) -> str:
        return "the greeting" if self._state is State.GREETING else "the reply to STARTTLS"

    def _on_line(self, raw: bytes) -> None:
        text = line_text(raw)
        if self._literal_name is not None:
            self._listed.append(f"{self._literal_name} {text}".strip())
            self._literal_name = None
            return
        if self._state is State.GREETING and text.startswith('"'):
            if len(self._listed) >= MAX_REPLY_LINES:
                raise too_many(self.protocol, "in the greeting")
            strings = _unquoted(text)
            if _LITERAL.search(text):
                self._literal_name = strings[0] if strings else ""
            else:
                self._listed.append(" ".join(string for string in strings if string))
            return
        word = text.split(" ", 1)[0].upper()
        if word not in _RESPONSES:
            raise malformed(self.protocol, "response", strip_line_end(raw))
        if self._state is State.GREETING:
            self._banner.append(text)
        next_state = _TRANSITIONS.get((self._state, word))
        if next_state is None:
            step = _STEPS[self._state]
            self._fail(refusal(step, text, negative=True), quit_politely=word != "BYE")
            return
        if self._state is State.GREETING:
            self._on_capabilities()
            if not self._offered:
                self._fail(NOT_OFFERED, quit_politely=True)
                return
        self._state = next_state
        if next_state is State.READY:
            self._ready()
        else:
            self._send("STARTTLS")

    def _on_capabilities(self) -> None:
        self._capabilities = tuple(self._listed)
        lines = [capability.upper().split() for capability in self._capabilities]
        self._offered = ["STARTTLS"] in lines
        mechanisms = next((line[1:] for line in lines if line[:1] == ["SASL"]), [])
        self._plaintext_auth = plaintext_mechanisms(mechanisms)
