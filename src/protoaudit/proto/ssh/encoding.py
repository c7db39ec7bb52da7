"""The SSH data types (RFC 4251 5) on top of `protoaudit.wire`'s Reader and Writer.

Reading bounds what the wire may claim: an mpint longer than MAX_MPINT_BYTES,
a name-list with more than MAX_NAMES names or a name longer than
MAX_NAME_LENGTH is a `DecodeError` before anything is built from it. Writing
serialises what it is given, so that a probe can craft an odd message.
"""

from __future__ import annotations

from protoaudit.errors import DecodeError
from protoaudit.wire import Reader, Writer

# 16384-bit numbers plus a sign byte, as OpenSSH's SSHBUF_MAX_BIGNUM allows: room for
# any group-exchange modulus a server might send (RFC 4419 3 caps them at 8192 bits).
MAX_MPINT_BYTES = 2049
MAX_NAME_LENGTH = 64  # RFC 4251 6
MAX_NAMES = 128  # OpenSSH offers about twenty per list
_NAME_CHARACTERS = frozenset(range(0x21, 0x7F)) - {ord(",")}


def read_string(reader: Reader, field: str) -> bytes:
    """A uint32-length-prefixed byte string, bounded by what is left of the reader."""
    return reader.vector(4, field)


def read_text(reader: Reader, field: str) -> str:
    """A string meant for people (UTF-8, RFC 4253 11.1); bad bytes become U+FFFD."""
    return read_string(reader, field).decode("utf-8", "replace")


def read_boolean(reader: Reader, field: str) -> bool:
    """RFC 4251 5: any non-zero byte means TRUE."""
    return reader.u8(field) != 0


def read_uint64(reader: Reader, field: str) -> int:
    return reader.uint(8, field)


def read_mpint(reader: Reader, field: str, *, max_bytes: int = MAX_MPINT_BYTES) -> int:
    """A two's complement multiple precision integer (RFC 4251 5)."""
    length = reader.u32(field + ".length")
    if length > max_bytes:
        raise reader.fail(field, f"mpint of {length} bytes, the limit is {max_bytes}")
    return int.from_bytes(reader.bytes(length, field), "big", signed=True)


def read_positive_mpint(reader: Reader, field: str, *, max_bytes: int = MAX_MPINT_BYTES) -> int:
    start = reader.offset
    value = read_mpint(reader, field, max_bytes=max_bytes)
    if value <= 0:
        raise DecodeError(reader.protocol, field, start, f"must be positive, is {value}")
    return value


def check_name(name: bytes) -> str | None:
    """Why `name` is not a valid algorithm name (RFC 4251 6), or None when it is."""
    if not name:
        return "empty name"
    if len(name) > MAX_NAME_LENGTH:
        return f"name of {len(name)} characters, the limit is {MAX_NAME_LENGTH}"
    if not set(name) <= _NAME_CHARACTERS:
        return f"name {name[:MAX_NAME_LENGTH]!r} is not printable US-ASCII"
    return None


def read_name_list(reader: Reader, field: str, *, max_names: int = MAX_NAMES) -> tuple[str, ...]:
    """A comma-separated name-list (RFC 4251 5): printable US-ASCII, no empty names."""
    start = reader.offset
    raw = read_string(reader, field)
    if not raw:
        return ()
    parts = raw.split(b",")
    if len(parts) > max_names:
        reason = f"{len(parts)} names, the limit is {max_names}"
        raise DecodeError(reader.protocol, field, start, reason)
    for index, part in enumerate(parts):
        problem = check_name(part)
        if problem is not None:
            raise DecodeError(reader.protocol, f"{field}[{index}]", start, problem)
    return tuple(part.decode("ascii") for part in parts)


def mpint_bytes(value: int) -> bytes:
    """The minimal two's complement body of an mpint (0 is empty)."""
    if value == 0:
        return b""
    length = (value.bit_length() + 8) // 8  # room for the sign bit
    body = value.to_bytes(length, "big", signed=True)
    # to_bytes may leave one redundant sign byte; strip it while the sign survives.
    while len(body) > 1 and (
        (body[0] == 0 and body[1] < 0x80) or (body[0] == 0xFF and body[1] >= 0x80)
    ):
        body = body[1:]
    return body


def write_string(writer: Writer, data: bytes) -> Writer:
    return writer.vector(data, 4)


def write_text(writer: Writer, text: str) -> Writer:
    return writer.vector(text.encode("utf-8"), 4)


def write_boolean(writer: Writer, value: bool) -> Writer:
    return writer.u8(1 if value else 0)


def write_uint64(writer: Writer, value: int) -> Writer:
    return writer.uint(value, 8)


def write_mpint(writer: Writer, value: int) -> Writer:
    return writer.vector(mpint_bytes(value), 4)


def write_name_list(writer: Writer, names: tuple[str, ...] | list[str]) -> Writer:
    return writer.vector(",".join(names).encode("utf-8"), 4)


def string(data: bytes) -> bytes:
    """`data` as an SSH string, for building hashes."""
    return len(data).to_bytes(4, "big") + data


def mpint(value: int) -> bytes:
    body = mpint_bytes(value)
    return len(body).to_bytes(4, "big") + body
