"""Transport messages a server may send at any time (RFC 4253 11): DISCONNECT,
IGNORE, UNIMPLEMENTED and DEBUG, each as a frozen dataclass with encode/decode.

Text fields are UTF-8 meant for people (RFC 4253 11.1, 11.3); bytes that are
not UTF-8 become U+FFFD rather than an error, since a server's words are worth
keeping even when badly encoded. Bytes after the last field are an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from protoaudit.errors import DecodeError
from protoaudit.proto.ssh.constants import PROTOCOL, MessageNumber
from protoaudit.proto.ssh.encoding import (
    read_boolean,
    read_string,
    read_text,
    write_boolean,
    write_string,
    write_text,
)
from protoaudit.registry import ssh as registry
from protoaudit.wire import Reader, Writer


def _reader(payload: bytes, expected: MessageNumber) -> Reader:
    reader = Reader(payload, PROTOCOL)
    field = f"{expected.name.lower()}.message_number"
    message_number = reader.u8(field)
    if message_number != expected:
        raise DecodeError(PROTOCOL, field, 0, f"message {message_number}, not {expected.name}")
    return reader


@dataclass(frozen=True, slots=True)
class Disconnect:
    reason_code: int
    description: str
    language_tag: str = ""

    @property
    def reason_name(self) -> str:
        return registry.disconnect_reason(self.reason_code).name

    def encode(self) -> bytes:
        writer = Writer().u8(MessageNumber.DISCONNECT).u32(self.reason_code)
        write_text(writer, self.description)
        return write_text(writer, self.language_tag).getvalue()

    @classmethod
    def decode(cls, payload: bytes) -> Disconnect:
        reader = _reader(payload, MessageNumber.DISCONNECT)
        reason_code = reader.u32("disconnect.reason_code")
        description = read_text(reader, "disconnect.description")
        language_tag = read_text(reader, "disconnect.language_tag")
        reader.expect_end("disconnect")
        return cls(reason_code, description, language_tag)


@dataclass(frozen=True, slots=True)
class Ignore:
    data: bytes

    def encode(self) -> bytes:
        return write_string(Writer().u8(MessageNumber.IGNORE), self.data).getvalue()

    @classmethod
    def decode(cls, payload: bytes) -> Ignore:
        reader = _reader(payload, MessageNumber.IGNORE)
        data = read_string(reader, "ignore.data")
        reader.expect_end("ignore")
        return cls(data)


@dataclass(frozen=True, slots=True)
class Unimplemented:
    sequence_number: int  # of the packet the server did not understand

    def encode(self) -> bytes:
        return Writer().u8(MessageNumber.UNIMPLEMENTED).u32(self.sequence_number).getvalue()

    @classmethod
    def decode(cls, payload: bytes) -> Unimplemented:
        reader = _reader(payload, MessageNumber.UNIMPLEMENTED)
        sequence_number = reader.u32("unimplemented.sequence_number")
        reader.expect_end("unimplemented")
        return cls(sequence_number)


@dataclass(frozen=True, slots=True)
class Debug:
    always_display: bool
    message: str
    language_tag: str = ""

    def encode(self) -> bytes:
        writer = write_boolean(Writer().u8(MessageNumber.DEBUG), self.always_display)
        write_text(writer, self.message)
        return write_text(writer, self.language_tag).getvalue()

    @classmethod
    def decode(cls, payload: bytes) -> Debug:
        reader = _reader(payload, MessageNumber.DEBUG)
        always_display = read_boolean(reader, "debug.always_display")
        message = read_text(reader, "debug.message")
        language_tag = read_text(reader, "debug.language_tag")
        reader.expect_end("debug")
        return cls(always_display, message, language_tag)
