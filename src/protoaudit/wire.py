"""Reader and Writer for the length-prefixed vectors that TLS, SSH and IKE use.

A Reader never reads past its buffer: every length taken from the wire is
checked against what is left before it is used, and `block()` returns a
sub-reader that must be consumed exactly (leftover bytes are an error).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from contextlib import contextmanager

from protoaudit.errors import DecodeError


class Reader:
    __slots__ = ("_buf", "_end", "_pos", "protocol")

    def __init__(
        self, data: builtins.bytes, protocol: str, *, start: int = 0, end: int | None = None
    ):
        self._buf = data
        self._pos = start
        self._end = len(data) if end is None else end
        self.protocol = protocol

    @property
    def offset(self) -> int:
        return self._pos

    def remaining(self) -> int:
        return self._end - self._pos

    def at_end(self) -> bool:
        return self._pos >= self._end

    def fail(self, field: str, reason: str) -> DecodeError:
        return DecodeError(self.protocol, field, self._pos, reason)

    def bytes(self, count: int, field: str) -> builtins.bytes:
        if count < 0 or count > self.remaining():
            raise self.fail(field, f"needs {count} bytes, {self.remaining()} left")
        start = self._pos
        self._pos += count
        return self._buf[start : self._pos]

    def uint(self, width: int, field: str) -> int:
        return int.from_bytes(self.bytes(width, field), "big")

    def u8(self, field: str) -> int:
        return self.uint(1, field)

    def u16(self, field: str) -> int:
        return self.uint(2, field)

    def u24(self, field: str) -> int:
        return self.uint(3, field)

    def u32(self, field: str) -> int:
        return self.uint(4, field)

    def vector(self, length_width: int, field: str) -> builtins.bytes:
        """A length-prefixed opaque vector, returned whole."""
        return self.bytes(self.uint(length_width, field + ".length"), field)

    @contextmanager
    def block(self, length_width: int, field: str) -> Iterator[Reader]:
        """A length-prefixed block read by a sub-reader that must consume it exactly."""
        length = self.uint(length_width, field + ".length")
        if length > self.remaining():
            raise self.fail(field, f"length {length} exceeds the {self.remaining()} bytes left")
        inner = Reader(self._buf, self.protocol, start=self._pos, end=self._pos + length)
        yield inner
        if not inner.at_end():
            raise inner.fail(field, f"{inner.remaining()} bytes left over")
        self._pos += length

    def uint_list(self, length_width: int, item_width: int, field: str) -> tuple[int, ...]:
        raw = self.vector(length_width, field)
        if len(raw) % item_width:
            raise self.fail(field, f"length {len(raw)} is not a multiple of {item_width}")
        return tuple(
            int.from_bytes(raw[i : i + item_width], "big") for i in range(0, len(raw), item_width)
        )

    def expect_end(self, field: str) -> None:
        if not self.at_end():
            raise self.fail(field, f"{self.remaining()} bytes left over")


class Writer:
    """Serialises what it is given, even a length that does not fit: probes craft odd messages."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def raw(self, data: bytes) -> Writer:
        self._parts.append(data)
        return self

    def uint(self, value: int, width: int) -> Writer:
        self._parts.append(value.to_bytes(width, "big"))
        return self

    def u8(self, value: int) -> Writer:
        return self.uint(value, 1)

    def u16(self, value: int) -> Writer:
        return self.uint(value, 2)

    def u24(self, value: int) -> Writer:
        return self.uint(value, 3)

    def u32(self, value: int) -> Writer:
        return self.uint(value, 4)

    def vector(self, data: bytes, length_width: int) -> Writer:
        self._parts.append(len(data).to_bytes(length_width, "big"))
        self._parts.append(data)
        return self

    def uint_list(
        self, values: tuple[int, ...] | list[int], item_width: int, length_width: int
    ) -> Writer:
        body = b"".join(v.to_bytes(item_width, "big") for v in values)
        return self.vector(body, length_width)

    def getvalue(self) -> bytes:
        return b"".join(self._parts)
