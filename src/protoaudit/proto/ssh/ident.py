"""The identification string exchange (RFC 4253 4.2).

A server sends "SSH-protoversion-softwareversion SP comments CR LF", and MAY
send other lines before it (the pre-banner). `parse_identification` is fed
the bytes received so far and returns the identification and the bytes after
it, or None while the line is incomplete. It refuses, with `DecodeError`:

- an identification line longer than `max_line_length` (255 bytes with CR LF,
  RFC 4253 4.2), waiting for no more once the limit has passed;
- more than `max_pre_banner_lines` lines, or more than `max_pre_banner_bytes`
  bytes, before it: a server that is not SSH could otherwise keep the client
  reading forever;
- control characters or invalid UTF-8 before the line ends: binary data is a
  TLS, HTTP/2 or other server, not an SSH banner;
- an "SSH-" line without a protocol version and a software version.

A bare LF ends a line as CR LF does: old servers send it, and OpenSSH accepts it.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field

from protoaudit.errors import DecodeError
from protoaudit.proto.ssh.constants import PROTOCOL

MAX_LINE_LENGTH = 255  # RFC 4253 4.2, CR LF included
MAX_PRE_BANNER_LINES = 16
MAX_PRE_BANNER_BYTES = 8192
KEPT_LINE_LENGTH = 128  # pre-banner lines are kept this long, for a report
_PREFIX = b"SSH-"
# Bytes banner text may hold: all but the C0 controls other than TAB and CR, and DEL.
_TEXT_BYTES = bytes(sorted(set(range(256)) - (set(range(0x20)) - {0x09, 0x0D}) - {0x7F}))


@dataclass(frozen=True, slots=True)
class Identification:
    protocol_version: str  # "2.0", "1.99" (SSH-1 and SSH-2), "1.5" (SSH-1 only) ...
    software: str  # "OpenSSH_9.2p1"
    comments: str | None  # "Debian-2+deb12u3"; None when the line has no space
    line: str  # the whole line without CR LF (bytes over 0x7F decoded as UTF-8)
    pre_banner: tuple[str, ...] = ()  # lines before it, each cut to KEPT_LINE_LENGTH
    raw: bytes = field(default=b"", repr=False)  # the line as sent, without CR LF: V_S

    @property
    def ssh2(self) -> bool:
        """The server speaks SSH-2: "2.0", or "1.99" for servers that also speak SSH-1."""
        return self.protocol_version in ("2.0", "1.99")


@dataclass(frozen=True, slots=True)
class IdentificationLimits:
    max_line_length: int = MAX_LINE_LENGTH
    max_pre_banner_lines: int = MAX_PRE_BANNER_LINES
    max_pre_banner_bytes: int = MAX_PRE_BANNER_BYTES
    kept_line_length: int = KEPT_LINE_LENGTH


DEFAULT_LIMITS = IdentificationLimits()


def identification_line(
    software: str, comments: str | None = None, *, protocol_version: str = "2.0"
) -> bytes:
    """Our own line, CR LF included. Serialised as given: a probe may send an odd one."""
    text = f"SSH-{protocol_version}-{software}"
    if comments is not None:
        text += f" {comments}"
    return text.encode("utf-8") + b"\r\n"


def decode_identification_line(raw: bytes, pre_banner: tuple[str, ...] = ()) -> Identification:
    """An identification line without its CR LF."""
    _check_text(raw, 0, "identification")
    if b"\r" in raw:
        raise DecodeError(PROTOCOL, "identification", raw.index(b"\r"), "CR inside the line")
    if not raw.startswith(_PREFIX):
        raise DecodeError(PROTOCOL, "identification", 0, "does not start with 'SSH-'")
    rest = raw[len(_PREFIX) :]
    version, dash, after = rest.partition(b"-")
    if not dash or not version or b" " in version:
        raise DecodeError(
            PROTOCOL, "identification", len(_PREFIX), "no protocol version followed by '-'"
        )
    software, space, comments = after.partition(b" ")
    if not software:
        raise DecodeError(
            PROTOCOL, "identification", len(_PREFIX) + len(version) + 1, "no software version"
        )
    return Identification(
        protocol_version=version.decode("utf-8", "replace"),
        software=software.decode("utf-8", "replace"),
        comments=comments.decode("utf-8", "replace") if space else None,
        line=raw.decode("utf-8", "replace"),
        pre_banner=pre_banner,
        raw=raw,
    )


def parse_identification(
    data: bytes, limits: IdentificationLimits = DEFAULT_LIMITS
) -> tuple[Identification, bytes] | None:
    """The identification in `data` and the bytes after it, or None until its line ends."""
    pre_banner: list[str] = []
    position = 0
    while True:
        newline = data.find(b"\n", position)
        line_end = len(data) if newline < 0 else newline
        line = data[position:line_end]
        # A partial line that may still become "SSH-..." is held to the identification's limit.
        identification = line.startswith(_PREFIX) or (newline < 0 and _PREFIX.startswith(line))
        if identification:
            length = line_end - position + 1  # with the LF, received or still due
            if length > limits.max_line_length:
                reason = f"identification line longer than {limits.max_line_length} bytes"
                raise DecodeError(PROTOCOL, "identification", position, reason)
            _check_text(line, position, "identification")
        else:
            if line_end + 1 > limits.max_pre_banner_bytes:
                reason = f"no 'SSH-' line within the first {limits.max_pre_banner_bytes} bytes"
                raise DecodeError(PROTOCOL, "pre_banner", position, reason)
            _check_text(line, position, "pre_banner", final=newline >= 0)
        if newline < 0:
            return None
        line = line.removesuffix(b"\r")
        if identification:
            found = decode_identification_line(line, tuple(pre_banner))
            return found, data[newline + 1 :]
        if len(pre_banner) >= limits.max_pre_banner_lines:
            reason = f"more than {limits.max_pre_banner_lines} lines before the identification"
            raise DecodeError(PROTOCOL, "pre_banner", position, reason)
        text = line.decode("utf-8")  # _check_text has proved it decodes
        pre_banner.append(text[: limits.kept_line_length])
        position = newline + 1


def _check_text(line: bytes, offset: int, field_name: str, *, final: bool = True) -> None:
    """Refuse binary data: control bytes, or (for pre-banner text) bytes that are not UTF-8."""
    # translate() and find() run in C: a server trickling a long pre-banner one byte at a
    # time makes this run once per byte over the line so far.
    binary = line.translate(None, _TEXT_BYTES)
    carriage_return = line.find(b"\r", 0, len(line) - 1)
    if binary or carriage_return >= 0:
        index = line.index(binary[:1]) if binary else carriage_return
        if binary and 0 <= carriage_return < index:
            index = carriage_return
        reason = f"binary data (byte 0x{line[index]:02x}), not an SSH identification"
        raise DecodeError(PROTOCOL, field_name, offset + index, reason)
    if field_name == "pre_banner":
        try:
            codecs.getincrementaldecoder("utf-8")().decode(line, final=final)
        except UnicodeDecodeError as error:
            reason = "bytes that are not UTF-8 text, not an SSH identification"
            raise DecodeError(PROTOCOL, field_name, offset + error.start, reason) from None
