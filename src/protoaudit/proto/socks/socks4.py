"""SOCKS 4 and 4A messages (Ying-Da Lee, "SOCKS: A protocol for TCP proxy across firewalls",
and "SOCKS 4A: A Simple Extension to SOCKS 4 Protocol").

    request: VN (4), CD, DSTPORT (2), DSTIP (4), USERID, NUL [, HOSTNAME, NUL for 4A]
    reply:   VN (0), CD (90..93), DSTPORT (2), DSTIP (4)

SOCKS 4A names the destination instead of giving its address: DSTIP is
0.0.0.x with x non-zero, and the host name follows the user id. There is no
authentication: USERID is a name the client states, not a credential.

The user id and host name are NUL-terminated strings with no length field;
`decode` bounds each to MAX_STRING_LENGTH bytes before looking for its NUL.
"""

from __future__ import annotations

from dataclasses import dataclass

from protoaudit.errors import DecodeError
from protoaudit.proto.socks.constants import (
    PROTOCOL,
    SOCKS4_GRANTED,
    SOCKS4_REPLY_VERSION,
    SOCKS4_VERSION,
    is_socks4_reply_code,
)
from protoaudit.wire import Reader, Writer

MAX_STRING_LENGTH = 255
REPLY_LENGTH = 8
SOCKS4A_ADDRESS = b"\x00\x00\x00\x01"  # 0.0.0.x, x != 0: "the name follows"


def _read_string(reader: Reader, data: bytes, field: str) -> bytes:
    start = reader.offset
    end = data.find(b"\x00", start, start + MAX_STRING_LENGTH + 1)
    if end < 0:
        reason = f"no NUL within {MAX_STRING_LENGTH} bytes"
        raise DecodeError(PROTOCOL, field, start, reason)
    value = reader.bytes(end - start, field)
    reader.u8(field + ".nul")
    return value


@dataclass(frozen=True, slots=True)
class Socks4Request:
    cd: int  # 1 CONNECT, 2 BIND; anything else is a bogus command a probe may send
    dstport: int
    dstip: bytes  # 4 bytes; SOCKS4A_ADDRESS with `hostname`
    userid: bytes = b""
    hostname: bytes | None = None  # SOCKS 4A
    vn: int = SOCKS4_VERSION

    def encode(self) -> bytes:
        writer = Writer().u8(self.vn).u8(self.cd).u16(self.dstport).raw(self.dstip)
        writer.raw(self.userid + b"\x00")
        if self.hostname is not None:
            writer.raw(self.hostname + b"\x00")
        return writer.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> Socks4Request:
        reader = Reader(data, PROTOCOL)
        vn = reader.u8("vn")
        cd = reader.u8("cd")
        dstport = reader.u16("dstport")
        dstip = reader.bytes(4, "dstip")
        userid = _read_string(reader, data, "userid")
        hostname = None
        if dstip[:3] == b"\x00\x00\x00" and dstip[3]:
            hostname = _read_string(reader, data, "hostname")
        reader.expect_end("socks4_request")
        return cls(cd, dstport, dstip, userid, hostname, vn)


@dataclass(frozen=True, slots=True)
class Socks4Reply:
    """VN is 0 in the protocol; some servers send 4, which is accepted and kept."""

    cd: int
    dstport: int = 0
    dstip: bytes = b"\x00\x00\x00\x00"
    vn: int = SOCKS4_REPLY_VERSION

    @property
    def granted(self) -> bool:
        return self.cd == SOCKS4_GRANTED

    def encode(self) -> bytes:
        return Writer().u8(self.vn).u8(self.cd).u16(self.dstport).raw(self.dstip).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> Socks4Reply:
        reader = Reader(data, PROTOCOL)
        vn = reader.u8("vn")
        if vn not in (SOCKS4_REPLY_VERSION, SOCKS4_VERSION):
            raise DecodeError(PROTOCOL, "vn", 0, f"reply version {vn}, not 0 (or 4)")
        cd = reader.u8("cd")
        if not is_socks4_reply_code(cd):
            raise DecodeError(PROTOCOL, "cd", 1, f"reply code {cd} is not 90 to 93")
        dstport = reader.u16("dstport")
        dstip = reader.bytes(4, "dstip")
        reader.expect_end("socks4_reply")
        return cls(cd, dstport, dstip, vn)


__all__ = ["MAX_STRING_LENGTH", "REPLY_LENGTH", "SOCKS4A_ADDRESS", "Socks4Reply", "Socks4Request"]
