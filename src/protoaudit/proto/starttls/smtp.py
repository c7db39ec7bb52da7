"""SMTP and LMTP STARTTLS (RFC 3207, RFC 5321, RFC 2033), sans-I/O.

    server  220 mx.example.com ESMTP                  greeting; may span lines (220-…)
    client  EHLO protoaudit.invalid                   LMTP: LHLO
    server  250-mx.example.com / 250-STARTTLS / 250 …  the capabilities, one per line
    client  STARTTLS
    server  220 2.0.0 Ready to start TLS              READY: the next byte is our ClientHello

`_TRANSITIONS` is the whole protocol: a (state, reply code) pair missing from
it ends the dialog FAILED with the reply quoted, "EHLO refused: 502 …" for a
4xx or 5xx, "unexpected EHLO reply: …" for anything else. There is no HELO
fallback: a server that refuses EHLO has no extensions, so no STARTTLS
(RFC 3207 4). A server that does not list STARTTLS fails with NOT_OFFERED.
After any such refusal the client says QUIT and nothing more (RFC 5321
4.1.1.10); after malformed input it says nothing.

Refused besides (lines.py): a line that does not start with a reply code, a
reply whose lines change code (RFC 5321 4.2.1), and every bound of base.py.
The outcome lists the EHLO keywords as sent and AUTH PLAIN or LOGIN when
advertised before TLS, where they would expose a password to a listener.
"""

from __future__ import annotations

from enum import Enum, auto

from protoaudit.proto.starttls.line_dialog import LineDialog
from protoaudit.proto.starttls.lines import (
    NOT_OFFERED,
    CodedReplies,
    line_text,
    plaintext_mechanisms,
    refusal,
)

DEFAULT_CLIENT_NAME = "protoaudit.invalid"  # RFC 6761: a name that resolves nowhere


class State(Enum):
    """Named after what the dialog waits for."""

    GREETING = auto()
    HELLO = auto()  # the reply to EHLO or LHLO
    STARTTLS = auto()
    READY = auto()


_TRANSITIONS: dict[tuple[State, int], State] = {
    (State.GREETING, 220): State.HELLO,
    (State.HELLO, 250): State.STARTTLS,  # unless the reply does not list STARTTLS
    (State.STARTTLS, 220): State.READY,
}


def _auth_mechanisms(capabilities: tuple[str, ...]) -> list[str]:
    """AUTH's mechanisms, also in the pre-RFC 2554 form `AUTH=LOGIN PLAIN` some servers send."""
    mechanisms: list[str] = []
    for capability in capabilities:
        words = capability.upper().split()
        if words and words[0] == "AUTH":
            mechanisms += words[1:]
        elif words and words[0].startswith("AUTH="):
            mechanisms += [words[0].removeprefix("AUTH="), *words[1:]]
    return mechanisms


def _domain(client_name: str) -> str:
    """`client_name` when it fits EHLO as one word; ValueError (our misuse) if not."""
    if not client_name or not all(33 <= ord(character) <= 126 for character in client_name):
        raise ValueError(f"client_name must be printable ASCII, not {client_name!r}")
    return client_name


class SmtpStartTls(LineDialog):
    """SMTP's STARTTLS dialog; `client_name` goes into EHLO (a domain or address literal)."""

    protocol = "smtp"
    _HELLO = "EHLO"

    __slots__ = ("_client_name", "_replies", "_state")

    def __init__(self, *, client_name: str = DEFAULT_CLIENT_NAME) -> None:
        super().__init__()
        self._client_name = _domain(client_name)
        self._replies = CodedReplies(self.protocol)
        self._state = State.GREETING

    @property
    def state(self) -> State:
        return self._state

    def _step(self) -> str:
        return {State.GREETING: "greeting", State.HELLO: self._HELLO}.get(self._state, "STARTTLS")

    def _waiting_for(self) -> str:
        return "the greeting" if self._state is State.GREETING else f"the reply to {self._step()}"

    def _on_line(self, raw: bytes) -> None:
        if self._state is State.GREETING:
            self._banner.append(line_text(raw))
        reply = self._replies.add(raw)
        if reply is None:
            return
        next_state = _TRANSITIONS.get((self._state, reply.code))
        if next_state is None:
            negative = reply.code >= 400
            self._fail(refusal(self._step(), reply.shown(), negative=negative), quit_politely=True)
            return
        if self._state is State.HELLO:
            self._capabilities = reply.lines[1:]  # the first line is the server's name
            keywords = {capability.upper().split(" ")[0] for capability in self._capabilities}
            self._offered = "STARTTLS" in keywords
            self._plaintext_auth = plaintext_mechanisms(_auth_mechanisms(self._capabilities))
            if not self._offered:
                self._fail(NOT_OFFERED, quit_politely=True)
                return
        self._state = next_state
        if next_state is State.HELLO:
            self._send(f"{self._HELLO} {self._client_name}")
        elif next_state is State.STARTTLS:
            self._send("STARTTLS")
        else:
            self._ready()


class LmtpStartTls(SmtpStartTls):
    """LMTP (RFC 2033): SMTP's dialog with LHLO for EHLO; STARTTLS as RFC 3207 has it."""

    protocol = "lmtp"
    _HELLO = "LHLO"

    __slots__ = ()
