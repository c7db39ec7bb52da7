"""What the line-based STARTTLS dialogs share: bounded lines, coded replies, failure phrases.

`LineBuffer` cuts the server's bytes into lines (CRLF, or a bare LF as real
clients tolerate) and refuses, before keeping anything, a line longer than
MAX_LINE, ended or not, and a dialog longer than MAX_DIALOG_BYTES: a 1 MB
greeting fails at once. `CodedReplies` joins numeric replies in SMTP style
(every line `250-…`, the last `250 …`, one code: RFC 5321 4.2.1) or FTP style
(`211-…`, free text, `211 End`: RFC 959 4.2); `DotTerminated` reads the
POP3/NNTP list ended by "." (RFC 1939 3, RFC 3977 3.1.1). Both stop at
MAX_REPLY_LINES, so endless continuation lines end the dialog.

The dialogs themselves are built on `LineDialog` (line_dialog.py), which
feeds these pieces and keeps the transcript (transcript.py). Server text
stays bytes or latin-1, which never fails to decode nor hides a byte;
reports sanitise it. Failure strings start with the phrases below.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from protoaudit.errors import DecodeError
from protoaudit.proto.starttls.base import MAX_DIALOG_BYTES, MAX_LINE, MAX_REPLY_LINES
from protoaudit.sanitize import ELLIPSIS, quote_bytes

SHOWN_LENGTH = 200  # how much of a reply a failure string quotes

NOT_OFFERED = "STARTTLS not offered"
REFUSED = "STARTTLS refused"  # then ": " and the server's reply
BYTES_AFTER_READY = "server sent bytes after agreeing to STARTTLS"
CLOSED = "connection closed by the server"  # then " while waiting for …"
# SASL mechanisms that carry the password itself: readable to whoever listens before TLS.
PLAINTEXT_MECHANISMS = ("PLAIN", "LOGIN")


def strip_line_end(raw: bytes) -> bytes:
    """A line without its CRLF or bare LF."""
    raw = raw.removesuffix(b"\n")
    return raw.removesuffix(b"\r")


def line_text(raw: bytes) -> str:
    """A line as text: line end removed, decoded latin-1."""
    return strip_line_end(raw).decode("latin-1")


def clip(text: str) -> str:
    """`text` with each run of white space made one space, at most SHOWN_LENGTH long."""
    text = " ".join(text.split())
    return text if len(text) <= SHOWN_LENGTH else text[: SHOWN_LENGTH - 1] + ELLIPSIS


def refusal(step: str, reply: str, *, negative: bool) -> str:
    """The failure for a reply that does not let the dialog go on past `step`."""
    if negative:
        return f"{step} refused: {clip(reply)}"
    return f"unexpected {step} reply: {clip(reply)}"


def plaintext_mechanisms(mechanisms: Iterable[str]) -> tuple[str, ...]:
    """The PLAINTEXT_MECHANISMS among `mechanisms`, upper case, in the server's order."""
    found = (mechanism.upper() for mechanism in mechanisms)
    return tuple(dict.fromkeys(m for m in found if m in PLAINTEXT_MECHANISMS))


def malformed(protocol: str, what: str, line: bytes) -> DecodeError:
    reason = f"not a valid {protocol.upper()} {what}: {quote_bytes(line)}"
    return DecodeError(protocol, what, 0, reason)


def too_many(protocol: str, where: str) -> DecodeError:
    """More than MAX_REPLY_LINES lines `where` ("in one reply", "before the reply" …)."""
    return DecodeError(protocol, "lines", 0, f"more than {MAX_REPLY_LINES} lines {where}")


class LineBuffer:
    """The server's bytes cut into lines (line ends kept), within the bounds."""

    __slots__ = ("_lines", "_partial", "_protocol", "_received")

    def __init__(self, protocol: str) -> None:
        self._protocol = protocol
        self._lines: deque[bytes] = deque()
        self._partial = bytearray()
        self._received = 0

    @property
    def buffered(self) -> int:
        """Bytes held: whole lines not yet taken, and the unfinished one."""
        return len(self._partial) + sum(len(line) for line in self._lines)

    def feed(self, data: bytes) -> None:
        """Take `data`; DecodeError when a bound is broken (nothing of `data` is kept then)."""
        offset = self._received
        self._received += len(data)
        if self._received > MAX_DIALOG_BYTES:
            raise self._error(offset, f"more than {MAX_DIALOG_BYTES} bytes before TLS")
        search_from = len(self._partial)  # the unfinished line has no LF
        self._partial += data
        start = 0
        end = self._partial.find(b"\n", search_from)
        while end >= 0:
            line = bytes(self._partial[start : end + 1])
            if len(strip_line_end(line)) > MAX_LINE:
                raise self._error(offset, f"a line longer than {MAX_LINE} bytes")
            self._lines.append(line)
            start = end + 1
            end = self._partial.find(b"\n", start)
        del self._partial[:start]
        if len(self._partial) > MAX_LINE + 1:  # + 1: a CR waiting for its LF
            raise self._error(offset, f"a line longer than {MAX_LINE} bytes")

    def next_line(self) -> bytes | None:
        return self._lines.popleft() if self._lines else None

    def drain(self) -> bytes:
        """Everything held, whole lines and the unfinished one, which is then forgotten."""
        held = b"".join(self._lines) + bytes(self._partial)
        self._lines.clear()
        self._partial.clear()
        return held

    def _error(self, offset: int, reason: str) -> DecodeError:
        self._partial.clear()
        return DecodeError(self._protocol, "line", offset, reason)


def split_code(protocol: str, line: bytes) -> tuple[int, bytes, str]:
    """A coded reply line as (code, separator, text): separator is b"-", b" " or b""."""
    code, separator = line[:3], line[3:4]
    if len(code) < 3 or not code.isdigit() or code[0] not in b"12345":
        raise malformed(protocol, "reply", line)
    if separator not in (b"", b"-", b" "):
        raise malformed(protocol, "reply", line)
    return int(code), separator, line[4:].decode("latin-1")


@dataclass(frozen=True, slots=True)
class Reply:
    """A numeric reply; `lines` are each line's text after the code and its separator."""

    code: int
    lines: tuple[str, ...]

    def shown(self) -> str:
        """The reply for a failure string: code and text on one line, clipped."""
        return clip(f"{self.code} {' '.join(self.lines)}")


class CodedReplies:
    """Joins lines into numeric replies, SMTP style or (`ftp=True`) FTP style."""

    __slots__ = ("_code", "_ftp", "_lines", "_protocol")

    def __init__(self, protocol: str, *, ftp: bool = False) -> None:
        self._protocol = protocol
        self._ftp = ftp
        self._code: int | None = None
        self._lines: list[str] = []

    def add(self, raw: bytes) -> Reply | None:
        """Take one line; the reply when it was the last of one, else None."""
        line = strip_line_end(raw)
        if self._code is None:
            code, separator, text = split_code(self._protocol, line)
            if separator != b"-":
                return Reply(code, (text,))
            self._code, self._lines = code, [text]
            return None
        if len(self._lines) >= MAX_REPLY_LINES:
            raise too_many(self._protocol, "in one reply")
        code_bytes = b"%d" % self._code
        if self._ftp:
            last = line[:3] == code_bytes and line[3:4] in (b"", b" ")
            if not last:
                self._lines.append(line.removeprefix(code_bytes + b"-").decode("latin-1"))
                return None
            text = line[4:].decode("latin-1")
        else:
            code, separator, text = split_code(self._protocol, line)
            if code != self._code:
                reason = f"a reply whose code changes from {self._code} to {code}"
                raise DecodeError(self._protocol, "reply", 0, reason)
            if separator == b"-":
                self._lines.append(text)
                return None
        reply = Reply(self._code, (*self._lines, text))
        self._code, self._lines = None, []
        return reply


class DotTerminated:
    """Lines up to a lone ".", dot-stuffing undone (RFC 1939 3, RFC 3977 3.1.1)."""

    __slots__ = ("_lines", "_protocol")

    def __init__(self, protocol: str) -> None:
        self._protocol = protocol
        self._lines: list[str] = []

    def add(self, raw: bytes) -> tuple[str, ...] | None:
        """Take one line; the whole list when it was the ".", else None."""
        line = strip_line_end(raw)
        if line == b".":
            lines, self._lines = tuple(self._lines), []
            return lines
        if len(self._lines) >= MAX_REPLY_LINES:
            raise too_many(self._protocol, "in one list")
        self._lines.append(line.removeprefix(b".").decode("latin-1"))
        return None
