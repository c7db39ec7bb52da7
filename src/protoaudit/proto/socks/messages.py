"""SOCKS 5 messages (RFC 1928) and the username/password subnegotiation (RFC 1929).

Each message is a frozen dataclass with the RFC's field names. `encode()`
serialises what it is given (a probe may craft an odd one); `decode(data)`
takes exactly one message and refuses leftover bytes. For a stream, each
server message also has `needed(prefix)`: how many bytes the whole message
takes, or None while even that cannot be told, so a reader waits for exactly
one message and no more. Every length is bounded by its one-byte field.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from protoaudit.errors import DecodeError
from protoaudit.proto.socks.constants import (
    PROTOCOL,
    SOCKS5_VERSION,
    USERNAME_PASSWORD_VERSION,
    AddressType,
)
from protoaudit.sanitize import for_terminal
from protoaudit.wire import Reader, Writer

MAX_FIELD_LENGTH = 255  # every variable field has a one-byte length


@dataclass(frozen=True, slots=True)
class MethodSelectionRequest:
    """RFC 1928 3: VER, NMETHODS, METHODS."""

    methods: tuple[int, ...]
    ver: int = SOCKS5_VERSION

    def encode(self) -> bytes:
        return Writer().u8(self.ver).uint_list(self.methods, 1, 1).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> MethodSelectionRequest:
        reader = Reader(data, PROTOCOL)
        ver = reader.u8("ver")
        methods = reader.uint_list(1, 1, "methods")
        if not methods:
            raise reader.fail("nmethods", "no method offered")
        reader.expect_end("method_selection_request")
        return cls(methods, ver)


@dataclass(frozen=True, slots=True)
class MethodSelectionReply:
    """RFC 1928 3: VER, METHOD (0xFF: no acceptable methods)."""

    method: int
    ver: int = SOCKS5_VERSION
    LENGTH = 2

    def encode(self) -> bytes:
        return bytes([self.ver, self.method])

    @classmethod
    def decode(cls, data: bytes) -> MethodSelectionReply:
        reader = Reader(data, PROTOCOL)
        ver = reader.u8("ver")
        method = reader.u8("method")
        reader.expect_end("method_selection_reply")
        return cls(method, ver)


@dataclass(frozen=True, slots=True)
class UsernamePasswordRequest:
    """RFC 1929 2: VER (1), ULEN, UNAME, PLEN, PASSWD. Sent in the clear, always."""

    uname: bytes
    passwd: bytes
    ver: int = USERNAME_PASSWORD_VERSION

    def encode(self) -> bytes:
        return Writer().u8(self.ver).vector(self.uname, 1).vector(self.passwd, 1).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> UsernamePasswordRequest:
        reader = Reader(data, PROTOCOL)
        ver = reader.u8("ver")
        uname = reader.vector(1, "uname")
        passwd = reader.vector(1, "passwd")
        reader.expect_end("username_password_request")
        return cls(uname, passwd, ver)


@dataclass(frozen=True, slots=True)
class UsernamePasswordReply:
    """RFC 1929 2: VER, STATUS (0 is success, anything else a failure)."""

    status: int
    ver: int = USERNAME_PASSWORD_VERSION
    LENGTH = 2

    def encode(self) -> bytes:
        return bytes([self.ver, self.status])

    @classmethod
    def decode(cls, data: bytes) -> UsernamePasswordReply:
        reader = Reader(data, PROTOCOL)
        ver = reader.u8("ver")
        status = reader.u8("status")
        reader.expect_end("username_password_reply")
        return cls(status, ver)


def address_fields(host: str) -> tuple[int, bytes]:
    """(ATYP, raw address) for an IPv4 or IPv6 literal, else a domain name (at most 255 bytes)."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        name = host.rstrip(".").encode("idna")
        if not name or len(name) > MAX_FIELD_LENGTH:
            raise ValueError(f"{host!r}: a SOCKS domain name is 1 to 255 bytes") from None
        return AddressType.DOMAINNAME, name
    if address.version == 4:
        return AddressType.IPV4, address.packed
    return AddressType.IPV6, address.packed


def address_text(atyp: int, raw: bytes) -> str:
    """The address as a person reads it; a domain name with non-ASCII and controls escaped."""
    if atyp == AddressType.IPV4 and len(raw) == 4:
        return str(ipaddress.IPv4Address(raw))
    if atyp == AddressType.IPV6 and len(raw) == 16:
        return str(ipaddress.IPv6Address(raw))
    # Each byte becomes at most four characters (\x1b), so the limit never cuts.
    return for_terminal(raw.decode("ascii", "backslashreplace"), 4 * MAX_FIELD_LENGTH)


def _write_address(writer: Writer, atyp: int, raw: bytes) -> None:
    writer.u8(atyp)
    if atyp == AddressType.DOMAINNAME:
        writer.vector(raw, 1)
    else:
        writer.raw(raw)


def _read_address(reader: Reader, field: str) -> tuple[int, bytes]:
    atyp = reader.u8(field + ".atyp")
    if atyp == AddressType.IPV4:
        return atyp, reader.bytes(4, field + ".addr")
    if atyp == AddressType.IPV6:
        return atyp, reader.bytes(16, field + ".addr")
    if atyp == AddressType.DOMAINNAME:
        name = reader.vector(1, field + ".addr")
        if not name:
            raise reader.fail(field + ".addr", "an empty domain name")
        return atyp, name
    raise DecodeError(PROTOCOL, field + ".atyp", reader.offset - 1, f"unknown address type {atyp}")


def _address_length(prefix: bytes, at: int) -> int | None:
    """Bytes the address starting at `at` (its ATYP) takes, port excluded; None: not yet known."""
    if len(prefix) <= at:
        return None
    atyp = prefix[at]
    if atyp == AddressType.IPV4:
        return 1 + 4
    if atyp == AddressType.IPV6:
        return 1 + 16
    if atyp == AddressType.DOMAINNAME:
        return None if len(prefix) <= at + 1 else 2 + prefix[at + 1]
    raise DecodeError(PROTOCOL, "atyp", at, f"unknown address type {atyp}")


@dataclass(frozen=True, slots=True)
class Request:
    """RFC 1928 4: VER, CMD, RSV, ATYP, DST.ADDR, DST.PORT."""

    cmd: int
    atyp: int
    dst_addr: bytes  # 4 or 16 bytes, or the domain name without its length
    dst_port: int
    ver: int = SOCKS5_VERSION
    rsv: int = 0

    @classmethod
    def to(cls, cmd: int, host: str, port: int) -> Request:
        atyp, raw = address_fields(host)
        return cls(cmd, atyp, raw, port)

    def encode(self) -> bytes:
        writer = Writer().u8(self.ver).u8(self.cmd).u8(self.rsv)
        _write_address(writer, self.atyp, self.dst_addr)
        return writer.u16(self.dst_port).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> Request:
        reader = Reader(data, PROTOCOL)
        ver = reader.u8("ver")
        cmd = reader.u8("cmd")
        rsv = reader.u8("rsv")
        atyp, raw = _read_address(reader, "dst")
        port = reader.u16("dst.port")
        reader.expect_end("request")
        return cls(cmd, atyp, raw, port, ver, rsv)


@dataclass(frozen=True, slots=True)
class Reply:
    """RFC 1928 6: VER, REP, RSV, ATYP, BND.ADDR, BND.PORT."""

    rep: int
    atyp: int
    bnd_addr: bytes
    bnd_port: int
    ver: int = SOCKS5_VERSION
    rsv: int = 0

    @property
    def bound_address(self) -> str:
        return address_text(self.atyp, self.bnd_addr)

    def encode(self) -> bytes:
        writer = Writer().u8(self.ver).u8(self.rep).u8(self.rsv)
        _write_address(writer, self.atyp, self.bnd_addr)
        return writer.u16(self.bnd_port).getvalue()

    @staticmethod
    def needed(prefix: bytes) -> int | None:
        """The reply's whole length once its ATYP (and a name's length) has arrived."""
        address = _address_length(prefix, 3)
        return None if address is None else 3 + address + 2

    @classmethod
    def decode(cls, data: bytes) -> Reply:
        reader = Reader(data, PROTOCOL)
        ver = reader.u8("ver")
        rep = reader.u8("rep")
        rsv = reader.u8("rsv")
        atyp, raw = _read_address(reader, "bnd")
        port = reader.u16("bnd.port")
        reader.expect_end("reply")
        return cls(rep, atyp, raw, port, ver, rsv)


__all__ = [
    "MAX_FIELD_LENGTH",
    "MethodSelectionReply",
    "MethodSelectionRequest",
    "Reply",
    "Request",
    "UsernamePasswordReply",
    "UsernamePasswordRequest",
    "address_fields",
    "address_text",
]
