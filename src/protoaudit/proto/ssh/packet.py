"""The binary packet protocol before NEWKEYS (RFC 4253 6): no cipher, no MAC.

    uint32    packet_length   (not counting itself or the MAC)
    byte      padding_length
    byte[n1]  payload         (n1 = packet_length - padding_length - 1)
    byte[n2]  random padding  (n2 = padding_length, at least 4)

With the "none" cipher the block size is 8, so packet_length + 4 is a
multiple of 8 (RFC 4253 6). `PacketReader` checks that, and refuses before
waiting for the body a packet_length over `max_packet_length` (35000 bytes:
what RFC 4253 6.1 requires every implementation to accept, and far more than
any key exchange message needs), a padding shorter than 4 bytes, and a packet
with no payload. After a `DecodeError` it stays failed: a stream that lost its
framing cannot be resynchronised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

from protoaudit.errors import DecodeError
from protoaudit.proto.ssh.constants import PROTOCOL

RandomSource = Callable[[int], bytes]

MAX_PACKET_LENGTH = 35000  # RFC 4253 6.1
BLOCK_SIZE = 8  # RFC 4253 6: at least 8, and the cipher block size once there is a cipher
MIN_PADDING_LENGTH = 4
MIN_PACKET_SIZE = 16  # RFC 4253 6, the uint32 length included
HEADER_LENGTH = 5  # packet_length and padding_length
DEFAULT_MAX_BUFFERED = 256 * 1024


def padding_length_for(payload_length: int, block_size: int = BLOCK_SIZE) -> int:
    """The least padding (4 bytes or more) that aligns the packet and reaches 16 bytes."""
    padding = block_size - (HEADER_LENGTH + payload_length) % block_size
    if padding < MIN_PADDING_LENGTH:
        padding += block_size
    while HEADER_LENGTH + payload_length + padding < MIN_PACKET_SIZE:
        padding += block_size
    return padding


def encode_packet(
    payload: bytes,
    rng: RandomSource,
    *,
    block_size: int = BLOCK_SIZE,
    padding_length: int | None = None,
) -> bytes:
    """One unencrypted packet; `padding_length` overrides the rule, for crafted packets."""
    if padding_length is None:
        padding_length = padding_length_for(len(payload), block_size)
    packet_length = 1 + len(payload) + padding_length
    return (
        packet_length.to_bytes(4, "big")
        + padding_length.to_bytes(1, "big")
        + payload
        + rng(padding_length)
    )


class PacketReader:
    """Accumulates bytes from the peer and hands back one payload at a time."""

    __slots__ = (
        "_block_size",
        "_buffer",
        "_failure",
        "_max_buffered",
        "_max_packet_length",
        "_stream_offset",
        "packets_received",
    )

    def __init__(
        self,
        *,
        max_packet_length: int = MAX_PACKET_LENGTH,
        block_size: int = BLOCK_SIZE,
        max_buffered: int = DEFAULT_MAX_BUFFERED,
        stream_offset: int = 0,
    ) -> None:
        self._buffer = bytearray()
        self._max_packet_length = max_packet_length
        self._block_size = block_size
        self._max_buffered = max_buffered
        self._stream_offset = stream_offset  # where the packets start, for error offsets
        self._failure: DecodeError | None = None
        self.packets_received = 0  # the next payload's sequence number (RFC 4253 6.4)

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        if self._failure is not None:
            raise self._failure
        total = len(self._buffer) + len(data)
        if total > self._max_buffered:
            self._fail(
                "buffer",
                len(self._buffer),
                f"{total} bytes buffered, the limit is {self._max_buffered}",
            )
        self._buffer += data

    def take_buffered(self) -> bytes:
        """What arrived after the last whole packet (bytes under new keys, after NEWKEYS)."""
        buffered = bytes(self._buffer)
        self._buffer.clear()
        return buffered

    def next_payload(self) -> bytes | None:
        """The next packet's payload, or None until the whole packet has arrived."""
        if self._failure is not None:
            raise self._failure
        if len(self._buffer) < HEADER_LENGTH:
            return None
        packet_length = int.from_bytes(self._buffer[:4], "big")
        padding_length = self._buffer[4]
        if packet_length > self._max_packet_length:
            reason = f"{packet_length} bytes, the limit is {self._max_packet_length}"
            self._fail("packet_length", 0, reason)
        if (packet_length + 4) % self._block_size:
            reason = f"{packet_length} + 4 is not a multiple of the block size {self._block_size}"
            self._fail("packet_length", 0, reason)
        if padding_length < MIN_PADDING_LENGTH:
            self._fail("padding_length", 4, f"{padding_length} bytes of padding, fewer than 4")
        if padding_length + 1 >= packet_length:
            reason = f"padding of {padding_length} leaves no payload in {packet_length} bytes"
            self._fail("padding_length", 4, reason)
        end = 4 + packet_length
        if len(self._buffer) < end:
            return None
        payload = bytes(self._buffer[HEADER_LENGTH : end - padding_length])
        del self._buffer[:end]
        self._stream_offset += end
        self.packets_received += 1
        return payload

    def _fail(self, field: str, relative_offset: int, reason: str) -> NoReturn:
        self._failure = DecodeError(PROTOCOL, field, self._stream_offset + relative_offset, reason)
        raise self._failure
