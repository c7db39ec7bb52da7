"""Over TLS, once a line-based service has upgraded: its capabilities asked again. Sans-I/O.

After STARTTLS a client must forget what the server said in clear and ask
again (RFC 3207 4.2, RFC 2595 3.1, RFC 4642): someone on the path may
have edited the plaintext list, and servers list other things once the
channel is private (AUTH appears, STARTTLS goes). Each query sends the
protocol's capability command and reads its whole reply:

    SMTP  EHLO protoaudit.invalid   250-name / 250-KEYWORD … / 250 KEYWORD   (LMTP: LHLO)
    IMAP  c1 CAPABILITY             * CAPABILITY IMAP4rev1 … / c1 OK …
    POP3  CAPA                      +OK / TOP / USER / … / .
    FTP   FEAT                      211-Features: / AUTH TLS / … / 211 End
    NNTP  CAPABILITIES              101 … / VERSION 2 / READER / … / .

`FtpGreeting` reads the 220 that implicit FTPS sends over TLS before any
command (a 120 "ready in n minutes" is waited out).

A query has FtpCommand's shape: `bytes_to_send()`, `receive_data()`,
`connection_closed()`, and `status`, RUNNING until the reply is whole. READY
then holds `capabilities` as the server listed them (EHLO keywords without
the greeting line, IMAP tokens, POP3/NNTP/FEAT lines). A server that answers
the command negatively (502 to EHLO, -ERR to CAPA, 500 to FEAT) is READY
with no capabilities and `refusal` quoting it. FAILED means the reply broke
the protocol or one of base.py's bounds (through lines.py): `failure` says
how. Bytes after the reply fail the query as well: nothing asked for them.
"""

from __future__ import annotations

from collections.abc import Callable

from protoaudit.errors import DecodeError
from protoaudit.proto.starttls.base import MAX_REPLY_LINES, Status
from protoaudit.proto.starttls.lines import (
    CLOSED,
    CodedReplies,
    DotTerminated,
    LineBuffer,
    Reply,
    clip,
    malformed,
    split_code,
    strip_line_end,
    too_many,
)
from protoaudit.proto.starttls.smtp import DEFAULT_CLIENT_NAME

IMAP_TAG = "c1"  # a fresh connection's first tagged command after TLS


class LineQuery:
    """One command (or none: a greeting) and the reply to it; a subclass reads the lines."""

    protocol = "line"

    __slots__ = (
        "_capabilities",
        "_failure",
        "_lines",
        "_name",
        "_outgoing",
        "_refusal",
        "_reply",
        "_status",
    )

    def __init__(self, command: str | None, *, name: str | None = None) -> None:
        """`command` None: nothing to send, the server speaks first. `name`: the command's word."""
        if command is not None and not (
            command and all(32 <= ord(character) <= 126 for character in command)
        ):
            raise ValueError(f"command must be printable ASCII, not {command!r}")
        word = name or ("" if command is None else command.split()[0])
        self._name = "the greeting" if command is None else f"the reply to {word}"
        self._outgoing = b"" if command is None else command.encode("ascii") + b"\r\n"
        self._lines = LineBuffer(self.protocol)
        self._status = Status.RUNNING
        self._capabilities: tuple[str, ...] = ()
        self._reply: Reply | None = None
        self._refusal: str | None = None
        self._failure: str | None = None

    @property
    def status(self) -> Status:
        return self._status

    @property
    def capabilities(self) -> tuple[str, ...]:
        return self._capabilities

    @property
    def reply(self) -> Reply | None:
        """The final coded reply, for the queries that read one (FTP, SMTP)."""
        return self._reply

    @property
    def refusal(self) -> str | None:
        return self._refusal

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
            self._fail(f"server sent bytes after {self._name}")
            return
        try:
            self._lines.feed(data)
            while self._status is Status.RUNNING and (raw := self._lines.next_line()) is not None:
                self._on_line(strip_line_end(raw))
        except DecodeError as error:
            self._fail(error.reason)
        if self.status is Status.READY and self._lines.buffered:
            self._fail(f"server sent bytes after {self._name}")

    def connection_closed(self) -> None:
        if self._status is Status.RUNNING:
            self._fail(f"{CLOSED} while waiting for {self._name}")

    def _on_line(self, line: bytes) -> None:
        raise NotImplementedError

    def _done(self, capabilities: tuple[str, ...] = (), *, refusal: str | None = None) -> None:
        self._capabilities = capabilities
        self._refusal = None if refusal is None else clip(refusal)
        self._status = Status.READY

    def _fail(self, reason: str) -> None:
        self._status = Status.FAILED
        self._failure = reason
        self._lines.drain()


class SmtpCapabilities(LineQuery):
    """EHLO again (LHLO for LMTP); the keywords of its 250 reply."""

    protocol = "smtp"

    __slots__ = ("_replies",)

    def __init__(self, *, hello: str = "EHLO", client_name: str = DEFAULT_CLIENT_NAME) -> None:
        super().__init__(f"{hello} {client_name}")
        self._replies = CodedReplies(self.protocol)

    def _on_line(self, line: bytes) -> None:
        reply = self._replies.add(line)
        if reply is None:
            return
        self._reply = reply
        if reply.code == 250:
            self._done(reply.lines[1:])  # the first line is the server's name
        else:
            self._done(refusal=reply.shown())


class LmtpCapabilities(SmtpCapabilities):
    protocol = "lmtp"

    __slots__ = ()

    def __init__(self, *, client_name: str = DEFAULT_CLIENT_NAME) -> None:
        super().__init__(hello="LHLO", client_name=client_name)


class ImapCapabilities(LineQuery):
    """CAPABILITY; the tokens of its untagged CAPABILITY responses."""

    protocol = "imap"

    __slots__ = ("_tag", "_tokens", "_untagged")

    def __init__(self, *, tag: str = IMAP_TAG) -> None:
        super().__init__(f"{tag} CAPABILITY", name="CAPABILITY")
        self._tag = tag.encode("ascii")
        self._tokens: list[str] = []
        self._untagged = 0

    def _on_line(self, line: bytes) -> None:
        if line.startswith(b"* "):
            self._untagged += 1
            if self._untagged > MAX_REPLY_LINES:
                raise too_many(self.protocol, "before the tagged response")
            text = line.decode("latin-1")
            if text[2:13].upper() == "CAPABILITY ":
                self._tokens += text[13:].split()
            return
        tag, _, rest = line.partition(b" ")
        if tag == b"+":
            raise DecodeError(
                self.protocol, "response", 0, "a continuation request we did not ask for"
            )
        if tag != self._tag:
            raise malformed(self.protocol, f"response to {self._tag.decode()}", line)
        word = rest.split(b" ", 1)[0].upper()
        if word == b"OK":
            self._done(tuple(self._tokens))
        elif word in (b"NO", b"BAD"):
            self._done(refusal=line.decode("latin-1"))
        else:
            raise malformed(self.protocol, "response", line)


class _StatusThenList(LineQuery):
    """A status line, then (when positive) a list up to a lone "." (POP3 CAPA, NNTP 101)."""

    __slots__ = ("_list",)

    def __init__(self, command: str) -> None:
        super().__init__(command)
        self._list: DotTerminated | None = None

    def _on_line(self, line: bytes) -> None:
        if self._list is not None:
            listed = self._list.add(line)
            if listed is not None:
                self._done(listed)
            return
        if self._positive(line):
            self._list = DotTerminated(self.protocol)
        else:
            self._done(refusal=line.decode("latin-1"))

    def _positive(self, line: bytes) -> bool:
        raise NotImplementedError


class Pop3Capabilities(_StatusThenList):
    """CAPA (RFC 2449); its lines."""

    protocol = "pop3"

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("CAPA")

    def _positive(self, line: bytes) -> bool:
        word = line.split(b" ", 1)[0].upper()
        if word not in (b"+OK", b"-ERR"):
            raise malformed(self.protocol, "reply", line)
        return word == b"+OK"


class NntpCapabilities(_StatusThenList):
    """CAPABILITIES (RFC 3977 5.2); its lines."""

    protocol = "nntp"

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("CAPABILITIES")

    def _positive(self, line: bytes) -> bool:
        code, _, _ = split_code(self.protocol, line)
        return code == 101


class _FtpReply(LineQuery):
    """One final FTP reply, 1xx replies before it skipped."""

    protocol = "ftp"

    __slots__ = ("_replies",)

    def __init__(self, command: str | None) -> None:
        super().__init__(command)
        self._replies = CodedReplies(self.protocol, ftp=True)

    def _on_line(self, line: bytes) -> None:
        reply = self._replies.add(line)
        if reply is None or reply.code < 200:
            return
        self._reply = reply
        self._on_reply(reply)

    def _on_reply(self, reply: Reply) -> None:
        raise NotImplementedError


class FtpCapabilities(_FtpReply):
    """FEAT (RFC 2389); the feature lines between 211- and 211 End."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("FEAT")

    def _on_reply(self, reply: Reply) -> None:
        if reply.code == 211:
            self._done(tuple(line.strip() for line in reply.lines[1:-1]))
        else:
            self._done(refusal=reply.shown())


class FtpGreeting(_FtpReply):
    """The greeting, sent unasked: READY with `reply`; a code other than 220 is a refusal."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(None)

    def _on_line(self, line: bytes) -> None:
        # 120 is "ready in nnn minutes": the 220 follows (RFC 959 4.2).
        reply = self._replies.add(line)
        if reply is None or reply.code == 120:
            return
        self._reply = reply
        self._on_reply(reply)

    def _on_reply(self, reply: Reply) -> None:
        self._done(refusal=None if reply.code == 220 else reply.shown())


_QUERIES: dict[str, Callable[[], LineQuery]] = {
    "smtp": SmtpCapabilities,
    "lmtp": LmtpCapabilities,
    "imap": ImapCapabilities,
    "pop3": Pop3Capabilities,
    "ftp": FtpCapabilities,
    "nntp": NntpCapabilities,
}
CAPABILITY_PROTOCOLS = frozenset(_QUERIES)


def capability_query(protocol: str) -> LineQuery | None:
    """A fresh capability query for `protocol`'s dialog name, None for one we cannot ask."""
    query = _QUERIES.get(protocol)
    return None if query is None else query()


__all__ = [
    "CAPABILITY_PROTOCOLS",
    "FtpCapabilities",
    "FtpGreeting",
    "ImapCapabilities",
    "LineQuery",
    "LmtpCapabilities",
    "NntpCapabilities",
    "Pop3Capabilities",
    "SmtpCapabilities",
    "capability_query",
]
