"""PostgreSQL's SSLRequest (frontend/backend protocol 3, "SSL Session Encryption").

The client speaks first, with eight bytes: Int32 length 8, Int32 code
80877103 (1234 << 16 | 5679). The server answers with one byte:

    'S'  it will do TLS: the next bytes on the wire are our ClientHello  -> READY
    'N'  it will not ("server refuses SSL")                              -> FAILED
    'E'  an error message: only a server that predates SSL support       -> FAILED
         sends one (the protocol's documentation, 55.2.10), so the text
         is read, bounded, and quoted in the failure

Anything else is not PostgreSQL. An 'E' is read in either of its shapes: the
protocol 3 ErrorResponse ('E', Int32 length, fields of a type byte and a
NUL-terminated string, a final NUL) or the protocol 2 one ('E' and one
NUL-terminated string). A protocol 3 length begins with a zero byte for
any length we accept, and a protocol 2 message begins with text, so the
byte after 'E' tells them apart.

Bytes after the 'S' in what the server sent are refused: nothing may come
between 'S' and the handshake, and a client that kept them would take
plaintext an attacker injected as if it came over TLS. That is
CVE-2021-23222 (libpq; its server-side twin, the server buffering what
follows the SSLRequest, is CVE-2021-23214); PostgreSQL's own fix makes libpq
fail with "received unencrypted data after SSL response" in the same case.

PostgreSQL 17's direct TLS (sslnegotiation=direct: a ClientHello with ALPN
"postgresql" straight away, no SSLRequest) needs no dialog at all: the
engine's implicit-TLS path covers it.
"""

from __future__ import annotations

import enum

from protoaudit.proto.starttls.byte_dialog import ByteDialog
from protoaudit.sanitize import quote_bytes
from protoaudit.wire import Writer

PROTOCOL = "postgres"
SSL_REQUEST_CODE = 80877103  # 1234 << 16 | 5679
SSL_REQUEST = Writer().u32(8).u32(SSL_REQUEST_CODE).getvalue()
MAX_ERROR_LENGTH = 8192  # an ErrorResponse, whole; a real one is under 200 bytes
MAX_ERROR_SHOWN = 200  # characters of the error quoted in a failure

WILLING = ord("S")
UNWILLING = ord("N")
ERROR = ord("E")

# ErrorResponse field types shown in a failure (protocol 3, "Error and Notice Message Fields").
_SEVERITY = ord("S")
_SEVERITY_NON_LOCALIZED = ord("V")
_CODE = ord("C")
_MESSAGE = ord("M")


def encode_ssl_request(code: int = SSL_REQUEST_CODE, length: int = 8) -> bytes:
    return Writer().u32(length).u32(code).getvalue()


class _State(enum.Enum):
    """Where a running dialog is; READY and FAILED are its status (byte_dialog.py)."""

    WAIT_ANSWER = enum.auto()
    READ_ERROR = enum.auto()  # after 'E': the message, up to its end or the bound


def _shorten(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_ERROR_SHOWN else text[:MAX_ERROR_SHOWN] + "\u2026"


def _error_failure(text: str) -> str:
    return f"server sent an error instead of answering SSLRequest: {text}"


def parse_error_fields(body: bytes) -> dict[int, str] | None:
    """A protocol 3 ErrorResponse body (after the length): {field type: text}, None if malformed."""
    fields: dict[int, str] = {}
    position = 0
    while position < len(body):
        field_type = body[position]
        if field_type == 0:
            return fields if position == len(body) - 1 else None
        end = body.find(b"\x00", position + 1)
        if end < 0:
            return None
        fields[field_type] = body[position + 1 : end].decode("utf-8", "replace")
        position = end + 1
    return None  # no terminating zero byte


def describe_error_fields(fields: dict[int, str]) -> str:
    """`FATAL 08P01: unsupported frontend protocol`, from whichever fields are there."""
    severity = fields.get(_SEVERITY_NON_LOCALIZED) or fields.get(_SEVERITY, "")
    code = fields.get(_CODE, "")
    head = " ".join(part for part in (severity, code) if part)
    message = fields.get(_MESSAGE, "(no message)")
    return _shorten(f"{head}: {message}" if head else message)


class PostgresStartTls(ByteDialog):
    """The SSLRequest exchange; see the module docstring."""

    protocol = PROTOCOL

    __slots__ = ("_error", "_state")

    def __init__(self) -> None:
        super().__init__(SSL_REQUEST)
        self._state = _State.WAIT_ANSWER
        self._error = bytearray()  # the ErrorResponse after 'E', bounded by MAX_ERROR_LENGTH

    @property
    def buffered(self) -> int:
        return len(self._error)

    def _on_data(self, data: bytes) -> None:
        if self._state is _State.WAIT_ANSWER:
            if self._outgoing:
                # A PostgreSQL server never speaks first.
                self._fail(f"not PostgreSQL: the server spoke first ({quote_bytes(data)})")
                return
            answer, rest = data[0], data[1:]
            if answer == WILLING:
                self._offered = True
                if rest:
                    self._fail(
                        f"{len(rest)} bytes of unencrypted data after the server's 'S', "
                        f"before the TLS handshake ({quote_bytes(rest)}; CVE-2021-23222 class: "
                        f"a client that kept them would take injected plaintext as protected)"
                    )
                else:
                    self._ready()
            elif answer == UNWILLING:
                self._offered = False
                self._fail("server refuses SSL")
            elif answer == ERROR:
                self._offered = False
                self._state = _State.READ_ERROR
                self._read_error(rest)
            else:
                self._fail(
                    f"not a PostgreSQL answer to SSLRequest: {quote_bytes(data)} "
                    f"(expected 'S', 'N' or 'E')"
                )
            return
        self._read_error(data)

    def _closed_failure(self) -> str:
        if self._state is _State.WAIT_ANSWER:
            return "connection closed by the server before it answered SSLRequest"
        # A protocol 2 server closes right after its error; take what came.
        text = bytes(self._error).rstrip(b"\x00").decode("utf-8", "replace")
        return _error_failure(_shorten(text) or "(no message)")

    def _read_error(self, data: bytes) -> None:
        self._error += data[: MAX_ERROR_LENGTH + 1 - len(self._error)]
        error = bytes(self._error)
        if not error:
            return
        if error[0] == 0:  # protocol 3: Int32 length (counting itself), then the fields
            if len(error) < 4:
                return
            length = int.from_bytes(error[:4], "big")
            if not 5 <= length <= MAX_ERROR_LENGTH:
                self._fail(
                    f"ErrorResponse length {length} is out of bounds (5..{MAX_ERROR_LENGTH})"
                )
                return
            if len(error) < length:
                return
            fields = parse_error_fields(error[4:length])
            if fields is None:
                self._fail("malformed ErrorResponse in answer to SSLRequest")
            else:
                self._fail(_error_failure(describe_error_fields(fields)))
            return
        end = error.find(b"\x00")
        if end >= 0:
            self._fail(_error_failure(_shorten(error[:end].decode("utf-8", "replace"))))
        elif len(error) > MAX_ERROR_LENGTH:
            self._fail(f"error message after 'E' longer than {MAX_ERROR_LENGTH} bytes")

    def _fail(self, reason: str) -> None:
        super()._fail(reason)
        self._error.clear()


__all__ = [
    "MAX_ERROR_LENGTH",
    "SSL_REQUEST",
    "SSL_REQUEST_CODE",
    "PostgresStartTls",
    "describe_error_fields",
    "encode_ssl_request",
    "parse_error_fields",
]
