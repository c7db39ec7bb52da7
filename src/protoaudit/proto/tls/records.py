"""The TLS record layer and handshake reassembly, as buffers fed with bytes.

`RecordBuffer` cuts a byte stream into records (RFC 8446 5.1, RFC 5246 6.2)
and refuses, with `DecodeError`, what no TLS server sends: an unknown content
type, a record longer than 2^14 + 2048 bytes, or more buffered bytes than the
caller allowed. The first record decides the framing: a first byte with its
high bit set is an SSL 2.0 two-byte header (SSL 2.0 draft, section 2.1), and
the stream is read in that framing from then on.

`HandshakeBuffer` joins handshake fragments that a server spread over several
records, and splits records that carry several messages, bounding each
message's declared length before waiting for its body.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import NoReturn

from protoaudit.errors import DecodeError
from protoaudit.proto.tls.constants import MAX_FRAGMENT_LENGTH, MAX_RECORD_LENGTH, ContentType
from protoaudit.wire import Writer

PROTOCOL = "tls"
RECORD_HEADER_LENGTH = 5
HANDSHAKE_HEADER_LENGTH = 4
SSLV2_LAST_MESSAGE_TYPE = 8  # SSL 2.0's REQUEST-CERTIFICATE … CLIENT-CERTIFICATE end at 8
SSLV2_HEADER_LENGTH = 2
DEFAULT_MAX_BUFFERED = 1 << 20
DEFAULT_MAX_HANDSHAKE_MESSAGE = 256 * 1024

_CONTENT_TYPES = frozenset(int(member) for member in ContentType)


@dataclass(frozen=True, slots=True)
class Record:
    """One TLSPlaintext record (RFC 8446 5.1): `version` is legacy_record_version."""

    content_type: int
    version: int
    fragment: bytes


@dataclass(frozen=True, slots=True)
class SSLv2Record:
    """One SSL 2.0 record with a two-byte header; `message` starts with its msg_type byte."""

    message: bytes


def encode_record(content_type: int, version: int, payload: bytes) -> bytes:
    """Frame `payload` as records of at most 2^14 bytes each; an empty payload makes one record."""
    writer = Writer()
    chunks = [
        payload[start : start + MAX_FRAGMENT_LENGTH]
        for start in range(0, len(payload), MAX_FRAGMENT_LENGTH)
    ] or [b""]
    for chunk in chunks:
        writer.u8(content_type).u16(version).vector(chunk, 2)
    return writer.getvalue()


def encode_handshake(msg_type: int, body: bytes) -> bytes:
    """A Handshake message (RFC 8446 4): msg_type, a 24-bit length, then the body."""
    return Writer().u8(msg_type).vector(body, 3).getvalue()


def encode_sslv2_record(message: bytes) -> bytes:
    """An SSL 2.0 record with the two-byte header (high bit set, 15-bit length), no padding."""
    return (0x8000 | len(message)).to_bytes(2, "big") + message


class _Framing(Enum):
    UNKNOWN = "unknown"
    TLS = "tls"
    SSLV2 = "sslv2"


class RecordBuffer:
    """Accumulates bytes from the peer and hands them back one record at a time.

    After a `DecodeError` the buffer stays failed and raises the same error
    again: a stream that lost its framing cannot be resynchronised.
    """

    __slots__ = ("_buffer", "_failure", "_framing", "_max_buffered", "_stream_offset")

    def __init__(self, *, max_buffered: int = DEFAULT_MAX_BUFFERED) -> None:
        self._buffer = bytearray()
        self._max_buffered = max_buffered
        self._stream_offset = 0
        self._framing = _Framing.UNKNOWN
        self._failure: DecodeError | None = None

    @property
    def buffered(self) -> int:
        """Bytes fed but not yet returned as a record."""
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        if self._failure is not None:
            raise self._failure
        if len(self._buffer) + len(data) > self._max_buffered:
            total = len(self._buffer) + len(data)
            reason = f"{total} bytes buffered, the limit is {self._max_buffered}"
            self._fail("buffer", len(self._buffer), reason)
        self._buffer += data

    def next_record(self) -> Record | SSLv2Record | None:
        """The next complete record, or None until more bytes arrive."""
        if self._failure is not None:
            raise self._failure
        if not self._buffer:
            return None
        if self._framing is _Framing.UNKNOWN:
            self._framing = _Framing.SSLV2 if self._buffer[0] & 0x80 else _Framing.TLS
        if self._framing is _Framing.SSLV2:
            return self._next_sslv2_record()
        return self._next_tls_record()

    def _next_tls_record(self) -> Record | None:
        content_type = self._buffer[0]
        if content_type not in _CONTENT_TYPES:
            self._fail("record.type", 0, f"unknown content type {content_type}")
        if len(self._buffer) < RECORD_HEADER_LENGTH:
            return None
        version = int.from_bytes(self._buffer[1:3], "big")
        length = int.from_bytes(self._buffer[3:5], "big")
        if length > MAX_RECORD_LENGTH:
            self._fail("record.length", 3, f"length {length} exceeds {MAX_RECORD_LENGTH}")
        end = RECORD_HEADER_LENGTH + length
        if len(self._buffer) < end:
            return None
        fragment = bytes(self._buffer[RECORD_HEADER_LENGTH:end])
        self._consume(end)
        return Record(content_type, version, fragment)

    def _next_sslv2_record(self) -> SSLv2Record | None:
        if not self._buffer[0] & 0x80:
            # Only the two-byte header is understood; the three-byte form
            # (padding for block ciphers) never carries a SERVER-HELLO.
            self._fail("sslv2.header", 0, "not a two-byte SSL 2.0 record header")
        if len(self._buffer) < SSLV2_HEADER_LENGTH:
            return None
        length = int.from_bytes(self._buffer[0:2], "big") & 0x7FFF
        if length == 0:
            self._fail("sslv2.length", 0, "empty SSL 2.0 record")
        # A message type SSL 2.0 has (0 ERROR … 8): telnet's IAC (0xff) and other
        # high-bit bytes fail here at once instead of waiting for 32 KiB.
        if len(self._buffer) > SSLV2_HEADER_LENGTH and self._buffer[2] > SSLV2_LAST_MESSAGE_TYPE:
            reason = f"message type {self._buffer[2]} is not an SSL 2.0 one"
            self._fail("sslv2.msg_type", 2, reason)
        end = SSLV2_HEADER_LENGTH + length
        if len(self._buffer) < end:
            return None
        message = bytes(self._buffer[SSLV2_HEADER_LENGTH:end])
        self._consume(end)
        return SSLv2Record(message)

    def _consume(self, count: int) -> None:
        del self._buffer[:count]
        self._stream_offset += count

    def _fail(self, field: str, relative_offset: int, reason: str) -> NoReturn:
        self._failure = DecodeError(PROTOCOL, field, self._stream_offset + relative_offset, reason)
        raise self._failure


class HandshakeBuffer:
    """Reassembles handshake messages (RFC 8446 5.1) from record fragments.

    `next_message()` returns `(msg_type, body)`; a declared length over
    `max_message_length` raises `DecodeError` as soon as the header is seen,
    so a peer cannot make the client wait for (or buffer) a huge message.
    """

    __slots__ = ("_buffer", "_failure", "_max_message_length", "_stream_offset")

    def __init__(self, *, max_message_length: int = DEFAULT_MAX_HANDSHAKE_MESSAGE) -> None:
        self._buffer = bytearray()
        self._max_message_length = max_message_length
        self._stream_offset = 0
        self._failure: DecodeError | None = None

    @property
    def pending(self) -> int:
        """Bytes of messages not yet returned (a partial message, or whole ones not pulled)."""
        return len(self._buffer)

    def feed(self, fragment: bytes) -> None:
        if self._failure is not None:
            raise self._failure
        self._buffer += fragment

    def next_message(self) -> tuple[int, bytes] | None:
        """The next complete message as (msg_type, body), or None until more fragments arrive."""
        if self._failure is not None:
            raise self._failure
        if len(self._buffer) < HANDSHAKE_HEADER_LENGTH:
            return None
        msg_type = self._buffer[0]
        length = int.from_bytes(self._buffer[1:4], "big")
        if length > self._max_message_length:
            self._failure = DecodeError(
                PROTOCOL,
                "handshake.length",
                self._stream_offset + 1,
                f"message type {msg_type} declares {length} bytes, "
                f"the limit is {self._max_message_length}",
            )
            raise self._failure
        end = HANDSHAKE_HEADER_LENGTH + length
        if len(self._buffer) < end:
            return None
        body = bytes(self._buffer[HANDSHAKE_HEADER_LENGTH:end])
        del self._buffer[:end]
        self._stream_offset += end
        return msg_type, body
