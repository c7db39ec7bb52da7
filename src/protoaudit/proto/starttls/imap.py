"""IMAP STARTTLS (RFC 3501 6.2.1, RFC 9051 6.2.1, RFC 2595 3), sans-I/O.

    server  * OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready   greeting
    client  a1 CAPABILITY                      skipped when the greeting lists them
    server  * CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED / a1 OK …
    client  a2 STARTTLS                        a1 when CAPABILITY was skipped
    server  a2 OK Begin TLS negotiation now    READY: the next byte is our ClientHello

`_TRANSITIONS` is the whole protocol: a (state, OK|NO|BAD) pair missing from
it ends the dialog FAILED with the response quoted ("STARTTLS refused: a2 NO
…"). A greeting with its CAPABILITY response code saves a round trip (RFC
3501 7.1). A `* BYE` greeting is a refusal; a `* PREAUTH` greeting is a
failure too, since STARTTLS is only valid before authentication. A server
that does not list STARTTLS fails with NOT_OFFERED. After a refusal the
client says LOGOUT.

Refused besides: a greeting that is not untagged OK, PREAUTH or BYE; a
tagged response with another tag than the command's; a continuation request
(we send no literals); more than MAX_REPLY_LINES untagged lines for one
command; the other bounds of base.py. Untagged lines other than CAPABILITY
(alerts, OK with response codes) are allowed and ignored. LOGIN without
LOGINDISABLED, and AUTH=PLAIN or AUTH=LOGIN, before TLS are plaintext logins.
"""

from __future__ import annotations

from enum import Enum, auto

from protoaudit.errors import DecodeError
from protoaudit.proto.starttls.base import MAX_REPLY_LINES
from protoaudit.proto.starttls.line_dialog import LineDialog
from protoaudit.proto.starttls.lines import (
    NOT_OFFERED,
    clip,
    line_text,
    malformed,
    plaintext_mechanisms,
    refusal,
    strip_line_end,
    too_many,
)


class State(Enum):
    """Named after what the dialog waits for."""

    GREETING = auto()
    CAPABILITY = auto()
    STARTTLS = auto()
    READY = auto()


_TRANSITIONS: dict[tuple[State, str], State] = {
    (State.GREETING, "OK"): State.CAPABILITY,  # or STARTTLS when the greeting lists them
    (State.CAPABILITY, "OK"): State.STARTTLS,  # unless STARTTLS is not listed
    (State.STARTTLS, "OK"): State.READY,
}
_STEPS = {State.GREETING: "greeting", State.CAPABILITY: "CAPABILITY", State.STARTTLS: "STARTTLS"}
_GREETINGS = ("OK", "PREAUTH", "BYE")
_COMPLETIONS = ("OK", "NO", "BAD")
_CAPABILITY_CODE = "[CAPABILITY "


def _plaintext_logins(capabilities: tuple[str, ...]) -> tuple[str, ...]:
    upper = [capability.upper() for capability in capabilities]
    login = () if "LOGINDISABLED" in upper else ("LOGIN",)
    mechanisms = (c.removeprefix("AUTH=") for c in upper if c.startswith("AUTH="))
    return login + tuple(f"AUTH={m}" for m in plaintext_mechanisms(mechanisms))


class ImapStartTls(LineDialog):
    """IMAP's STARTTLS dialog.

    `tag_prefix` starts each command's tag (a1, a2 …); `ask_capabilities=False`
    sends STARTTLS right after the greeting, saving a round trip.
    """

    protocol = "imap"

    __slots__ = ("_ask", "_commands", "_state", "_tag", "_untagged")

    def __init__(self, *, tag_prefix: str = "a", ask_capabilities: bool = True) -> None:
        super().__init__()
        if not tag_prefix.isalpha() or not tag_prefix.isascii():
            raise ValueError(f"tag_prefix must be ASCII letters, not {tag_prefix!r}")
        self._ask = ask_capabilities
        self._tag = tag_prefix
        self._commands = 0
        self._untagged = 0
        self._state = State.GREETING

    @property
    def state(self) -> State:
        return self._state

    def _send_tagged(self, command: str) -> None:
        self._commands += 1
        self._untagged = 0
        self._send(f"{self._current_tag()} {command}")

    def _current_tag(self) -> str:
        return f"{self._tag}{self._commands}"

    def _quit_command(self) -> str:
        self._commands += 1
        return f"{self._current_tag()} LOGOUT"

    def _waiting_for(self) -> str:
        step = _STEPS[self._state]
        return "the greeting" if self._state is State.GREETING else f"the reply to {step}"

    def _on_line(self, raw: bytes) -> None:
        line = strip_line_end(raw)
        if self._state is State.GREETING:
            self._on_greeting(line)
            return
        if line.startswith(b"* "):
            self._untagged += 1
            if self._untagged > MAX_REPLY_LINES:
                raise too_many(self.protocol, "before the tagged response")
            text = line.decode("latin-1")
            if self._state is State.CAPABILITY and text[2:13].upper() == "CAPABILITY ":
                self._capabilities += tuple(text[13:].split())
            return
        tag, _, rest = line.partition(b" ")
        if tag == b"+":
            raise DecodeError(
                self.protocol, "response", 0, "a continuation request we did not ask for"
            )
        if tag.decode("latin-1") != self._current_tag():
            raise malformed(self.protocol, f"response to {self._current_tag()}", line)
        word = rest.split(b" ", 1)[0].upper().decode("latin-1")
        if word not in _COMPLETIONS:
            raise malformed(self.protocol, "response", line)
        self._advance(word, line_text(raw))

    def _on_greeting(self, line: bytes) -> None:
        text = line.decode("latin-1")
        self._banner.append(text)
        star, _, rest = text.partition(" ")
        word, _, greeting = rest.partition(" ")
        if star != "*" or word.upper() not in _GREETINGS:
            raise malformed(self.protocol, "greeting", line)
        if word.upper() == "PREAUTH":
            reason = f"greeting is PREAUTH, STARTTLS is only valid before login: {clip(text)}"
            self._fail(reason, quit_politely=True)
            return
        if greeting.upper().startswith(_CAPABILITY_CODE):
            self._capabilities = tuple(greeting[len(_CAPABILITY_CODE) :].split("]")[0].split())
        self._advance(word.upper(), text)

    def _advance(self, word: str, text: str) -> None:
        next_state = _TRANSITIONS.get((self._state, word))
        if next_state is None:
            step = _STEPS[self._state]
            self._fail(refusal(step, text, negative=word != "OK"), quit_politely=word != "BYE")
            return
        if next_state is State.CAPABILITY and (self._capabilities or not self._ask):
            next_state = State.STARTTLS
        if next_state is State.STARTTLS and self._capabilities:
            self._offered = "STARTTLS" in (c.upper() for c in self._capabilities)
            self._plaintext_auth = _plaintext_logins(self._capabilities)
            if not self._offered:
                self._fail(NOT_OFFERED, quit_politely=True)
                return
        self._state = next_state
        if next_state is State.READY:
            self._ready()
        else:
            self._send_tagged(_STEPS[next_state])
