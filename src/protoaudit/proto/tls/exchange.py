"""One probe connection's hello exchange, as a sans-I/O state machine.

The scanner sends one ClientHello (or SSL 2.0 CLIENT-HELLO) and reads the
server's clear-text answer up to a stop point, then hangs up:

- stop_after="server_hello": enough to learn the version, suite and group the
  server chose, or the alert it refused with.
- stop_after="server_hello_done": below TLS 1.3, read on through Certificate,
  CertificateStatus, ServerKeyExchange and CertificateRequest to
  ServerHelloDone (RFC 5246 7.3). In TLS 1.3 everything after ServerHello is
  encrypted (RFC 8446 2), so a TLS 1.3 ServerHello or a HelloRetryRequest
  ends the exchange whatever the stop point.

The driver calls `bytes_to_send()`, feeds what the socket gives to
`receive_data()` and drains `next_event()` until `finished`. Bad or
unexpected bytes never raise: they become one `Malformed` event and the
exchange stops reading. `_TRANSITIONS` below is the whole protocol: any
(state, incoming) pair missing from it is a violation by the server.

What it refuses besides, so that a hostile server can neither lie nor keep
the client reading:

- a ServerHello or HelloRetryRequest that picks a cipher suite or a version
  the ClientHello did not offer (RFC 5246 7.4.1.3, RFC 8446 4.1.3 and 4.2.1:
  the client must abort). Without supported_versions in the answer, any
  version up to the hello's legacy_version counts as offered, as version
  negotiation before TLS 1.3 had it (RFC 5246 E.1). A hello the exchange
  cannot decode (a probe's deliberately odd one, SSL 2.0) is not checked;
- more than MAX_IGNORED_MESSAGES warning alerts and HelloRequests, which
  change nothing and could otherwise come forever (OpenSSL stops at five
  warnings as well);
- an empty handshake record (RFC 8446 5.1, RFC 5246 6.2.1: never sent).

The first bytes received are kept (`received_prefix`), so that a caller can
say what a server that does not speak TLS sent instead.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum, auto
from typing import Literal

from protoaudit.errors import DecodeError
from protoaudit.proto.tls.constants import (
    AlertLevel,
    ContentType,
    HandshakeType,
    ProtocolVersion,
    SSLv2MessageType,
    version_name,
)
from protoaudit.proto.tls.hello import ClientHello, extension_code
from protoaudit.proto.tls.records import (
    DEFAULT_MAX_BUFFERED,
    DEFAULT_MAX_HANDSHAKE_MESSAGE,
    HandshakeBuffer,
    Record,
    RecordBuffer,
    SSLv2Record,
)
from protoaudit.proto.tls.server import Certificate, ServerHello, ServerHelloDone, parse_alert
from protoaudit.proto.tls.sslv2 import (
    SSLv2ServerHello,
    parse_sslv2_error,
    parse_sslv2_server_hello,
)
from protoaudit.registry import tls as registry
from protoaudit.wire import Reader

PROTOCOL = "tls"
MAX_IGNORED_MESSAGES = 5  # warning alerts and HelloRequests, together
RECEIVED_PREFIX_LENGTH = 64
# DecodeError fields for a ServerHello that breaks the offer.
CIPHER_SUITE_FIELD = "server_hello.cipher_suite"
VERSION_FIELD = "server_hello.version"


class State(Enum):
    """Named after the last message received."""

    WAIT_SERVER_HELLO = auto()
    AFTER_SERVER_HELLO = auto()
    AFTER_CERTIFICATE = auto()
    AFTER_CERTIFICATE_STATUS = auto()
    AFTER_SERVER_KEY_EXCHANGE = auto()
    AFTER_CERTIFICATE_REQUEST = auto()
    DONE = auto()  # the stop point was reached
    CLOSED = auto()  # the server ended it: fatal alert, close_notify, SSL 2.0 ERROR
    FAILED = auto()  # malformed or unexpected input


class Incoming(Enum):
    """What arrived, as far as the state machine cares."""

    SERVER_HELLO = auto()  # TLS 1.2 or below
    SERVER_HELLO_TLS13 = auto()
    HELLO_RETRY_REQUEST = auto()
    CERTIFICATE = auto()
    CERTIFICATE_STATUS = auto()
    SERVER_KEY_EXCHANGE = auto()
    CERTIFICATE_REQUEST = auto()
    SERVER_HELLO_DONE = auto()
    HELLO_REQUEST = auto()
    WARNING_ALERT = auto()
    CLOSING_ALERT = auto()  # fatal, or close_notify
    SSLV2_SERVER_HELLO = auto()
    SSLV2_ERROR = auto()


_WAITING_STATES = (
    State.WAIT_SERVER_HELLO,
    State.AFTER_SERVER_HELLO,
    State.AFTER_CERTIFICATE,
    State.AFTER_CERTIFICATE_STATUS,
    State.AFTER_SERVER_KEY_EXCHANGE,
    State.AFTER_CERTIFICATE_REQUEST,
)
TERMINAL_STATES = frozenset({State.DONE, State.CLOSED, State.FAILED})

_TRANSITIONS: dict[tuple[State, Incoming], State] = {
    (State.WAIT_SERVER_HELLO, Incoming.SERVER_HELLO): State.AFTER_SERVER_HELLO,
    (State.WAIT_SERVER_HELLO, Incoming.SERVER_HELLO_TLS13): State.DONE,
    (State.WAIT_SERVER_HELLO, Incoming.HELLO_RETRY_REQUEST): State.DONE,
    (State.WAIT_SERVER_HELLO, Incoming.SSLV2_SERVER_HELLO): State.DONE,
    (State.WAIT_SERVER_HELLO, Incoming.SSLV2_ERROR): State.CLOSED,
    # Certificate is absent for anonymous and PSK suites (RFC 5246 7.4.2).
    (State.AFTER_SERVER_HELLO, Incoming.CERTIFICATE): State.AFTER_CERTIFICATE,
    (State.AFTER_SERVER_HELLO, Incoming.SERVER_KEY_EXCHANGE): State.AFTER_SERVER_KEY_EXCHANGE,
    (State.AFTER_SERVER_HELLO, Incoming.SERVER_HELLO_DONE): State.DONE,
    # CertificateStatus follows Certificate directly (RFC 6066 8).
    (State.AFTER_CERTIFICATE, Incoming.CERTIFICATE_STATUS): State.AFTER_CERTIFICATE_STATUS,
    (State.AFTER_CERTIFICATE, Incoming.SERVER_KEY_EXCHANGE): State.AFTER_SERVER_KEY_EXCHANGE,
    (State.AFTER_CERTIFICATE, Incoming.CERTIFICATE_REQUEST): State.AFTER_CERTIFICATE_REQUEST,
    (State.AFTER_CERTIFICATE, Incoming.SERVER_HELLO_DONE): State.DONE,
    (State.AFTER_CERTIFICATE_STATUS, Incoming.SERVER_KEY_EXCHANGE): (
        State.AFTER_SERVER_KEY_EXCHANGE
    ),
    (State.AFTER_CERTIFICATE_STATUS, Incoming.CERTIFICATE_REQUEST): (
        State.AFTER_CERTIFICATE_REQUEST
    ),
    (State.AFTER_CERTIFICATE_STATUS, Incoming.SERVER_HELLO_DONE): State.DONE,
    (State.AFTER_SERVER_KEY_EXCHANGE, Incoming.CERTIFICATE_REQUEST): (
        State.AFTER_CERTIFICATE_REQUEST
    ),
    (State.AFTER_SERVER_KEY_EXCHANGE, Incoming.SERVER_HELLO_DONE): State.DONE,
    (State.AFTER_CERTIFICATE_REQUEST, Incoming.SERVER_HELLO_DONE): State.DONE,
    # In every waiting state: a fatal alert or close_notify ends the exchange; a
    # warning (unrecognized_name before ServerHello, say) and a HelloRequest
    # (RFC 5246 7.4.1.1: ignored during a handshake) change nothing.
    **{(state, Incoming.CLOSING_ALERT): State.CLOSED for state in _WAITING_STATES},
    **{(state, Incoming.WARNING_ALERT): state for state in _WAITING_STATES},
    **{(state, Incoming.HELLO_REQUEST): state for state in _WAITING_STATES},
}

StopAfter = Literal["server_hello", "server_hello_done"]  # the values `stop_after` accepts

# The state that counts as the stop point, when it is not DONE by the table itself.
_STOP_STATES: dict[str, State] = {
    "server_hello": State.AFTER_SERVER_HELLO,
    "server_hello_done": State.DONE,
}


@dataclass(frozen=True, slots=True)
class ServerHelloReceived:
    server_hello: ServerHello


@dataclass(frozen=True, slots=True)
class HelloRetryRequestReceived:
    server_hello: ServerHello


@dataclass(frozen=True, slots=True)
class CertificateReceived:
    """DER certificates as sent, the server's own first."""

    certificates: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class CertificateStatusReceived:
    """A stapled OCSP response (RFC 6066 8), as the raw message body."""

    body: bytes


@dataclass(frozen=True, slots=True)
class ServerKeyExchangeReceived:
    """The raw body: `ServerKeyExchange.decode` needs the suite's key exchange from the registry."""

    body: bytes


@dataclass(frozen=True, slots=True)
class CertificateRequestReceived:
    """The server asks for a client certificate; the raw message body."""

    body: bytes


@dataclass(frozen=True, slots=True)
class ServerHelloDoneReceived:
    pass


@dataclass(frozen=True, slots=True)
class AlertReceived:
    level: int
    description: int


@dataclass(frozen=True, slots=True)
class SSLv2ServerHelloReceived:
    server_hello: SSLv2ServerHello


@dataclass(frozen=True, slots=True)
class SSLv2ErrorReceived:
    error_code: int


@dataclass(frozen=True, slots=True)
class ExchangeDone:
    """The stop point was reached; the caller may close the connection."""


@dataclass(frozen=True, slots=True)
class Malformed:
    """The server sent bytes that break the format or the protocol; nothing more is read."""

    error: DecodeError


Event = (
    ServerHelloReceived
    | HelloRetryRequestReceived
    | CertificateReceived
    | CertificateStatusReceived
    | ServerKeyExchangeReceived
    | CertificateRequestReceived
    | ServerHelloDoneReceived
    | AlertReceived
    | SSLv2ServerHelloReceived
    | SSLv2ErrorReceived
    | ExchangeDone
    | Malformed
)

_HANDSHAKE_KINDS: dict[int, Incoming] = {
    HandshakeType.HELLO_REQUEST: Incoming.HELLO_REQUEST,
    HandshakeType.CERTIFICATE: Incoming.CERTIFICATE,
    HandshakeType.CERTIFICATE_STATUS: Incoming.CERTIFICATE_STATUS,
    HandshakeType.SERVER_KEY_EXCHANGE: Incoming.SERVER_KEY_EXCHANGE,
    HandshakeType.CERTIFICATE_REQUEST: Incoming.CERTIFICATE_REQUEST,
    HandshakeType.SERVER_HELLO_DONE: Incoming.SERVER_HELLO_DONE,
}


def _is_close_notify(description: int) -> bool:
    return registry.alert(description).name == "close_notify"


def _offer_of(client_hello_record: bytes) -> ClientHello | None:
    """Our own ClientHello, to hold the answer against; None when it is not a plain one."""
    records = RecordBuffer()
    handshake = HandshakeBuffer()
    try:
        records.feed(client_hello_record)
        while (record := records.next_record()) is not None:
            if not isinstance(record, Record) or record.content_type != ContentType.HANDSHAKE:
                return None
            handshake.feed(record.fragment)
        message = handshake.next_message()
        if message is None or message[0] != HandshakeType.CLIENT_HELLO:
            return None
        return ClientHello.decode(message[1])
    except DecodeError:
        return None


def _offered_versions(offer: ClientHello) -> tuple[int, ...] | None:
    """The offer's supported_versions list, None when it has no such extension."""
    for extension_type, data in offer.extensions:
        if extension_type == extension_code("supported_versions"):
            try:
                return Reader(data, PROTOCOL).uint_list(1, 2, "supported_versions")
            except DecodeError:
                return ()
    return None


def _check_against_offer(offer: ClientHello, server_hello: ServerHello) -> None:
    """Raise DecodeError when the server picked a suite or a version that was not offered."""
    if server_hello.cipher_suite not in offer.cipher_suites:
        raise DecodeError(
            PROTOCOL,
            CIPHER_SUITE_FIELD,
            0,
            f"the server chose 0x{server_hello.cipher_suite:04X}, which was not offered",
        )
    chosen = server_hello.selected_version
    if server_hello.extension(extension_code("supported_versions")) is not None:
        offered = _offered_versions(offer) or ()
        acceptable = chosen in offered
    else:
        acceptable = chosen <= offer.legacy_version
    if not acceptable:
        raise DecodeError(
            PROTOCOL,
            VERSION_FIELD,
            0,
            f"the server chose {version_name(chosen)}, which was not offered",
        )


class HelloExchange:
    """Drives one hello exchange; see the module docstring for the protocol."""

    __slots__ = (
        "_events",
        "_handshake",
        "_hello",
        "_ignored",
        "_offer",
        "_prefix",
        "_records",
        "_records_received",
        "_state",
        "_stop_state",
    )

    def __init__(
        self,
        client_hello_record: bytes,
        *,
        stop_after: str,
        max_buffered: int = DEFAULT_MAX_BUFFERED,
        max_handshake_message: int = DEFAULT_MAX_HANDSHAKE_MESSAGE,
    ) -> None:
        if stop_after not in _STOP_STATES:
            choices = sorted(_STOP_STATES)
            raise ValueError(f"stop_after must be one of {choices}, not {stop_after!r}")
        self._hello = client_hello_record
        self._stop_state = _STOP_STATES[stop_after]
        self._records = RecordBuffer(max_buffered=max_buffered)
        self._handshake = HandshakeBuffer(max_message_length=max_handshake_message)
        self._events: deque[Event] = deque()
        self._state = State.WAIT_SERVER_HELLO
        self._offer = _offer_of(client_hello_record)
        self._prefix = b""
        self._records_received = 0
        self._ignored = 0

    @property
    def state(self) -> State:
        return self._state

    @property
    def finished(self) -> bool:
        """True once no more input will be read: stop point, server close, or malformed input."""
        return self._state in TERMINAL_STATES

    @property
    def received_prefix(self) -> bytes:
        """The first RECEIVED_PREFIX_LENGTH bytes the server sent (fewer if it sent fewer)."""
        return self._prefix

    @property
    def records_received(self) -> int:
        """Whole records cut from the stream so far: 0 means the framing never made sense."""
        return self._records_received

    def bytes_to_send(self) -> bytes:
        """The client hello the first time, then nothing."""
        hello, self._hello = self._hello, b""
        return hello

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the server; input after the exchange finished is ignored."""
        if self.finished:
            return
        if len(self._prefix) < RECEIVED_PREFIX_LENGTH:
            self._prefix += data[: RECEIVED_PREFIX_LENGTH - len(self._prefix)]
        try:
            self._records.feed(data)
            while not self.finished:
                record = self._records.next_record()
                if record is None:
                    break
                self._records_received += 1
                if isinstance(record, SSLv2Record):
                    self._on_sslv2_record(record)
                else:
                    self._on_record(record)
        except DecodeError as error:
            self._fail(error)

    def _on_record(self, record: Record) -> None:
        if record.content_type == ContentType.HANDSHAKE:
            if not record.fragment:
                raise DecodeError(PROTOCOL, "record.length", 0, "empty handshake record")
            self._handshake.feed(record.fragment)
            while not self.finished:
                message = self._handshake.next_message()
                if message is None:
                    break
                self._on_handshake(*message)
        elif record.content_type == ContentType.ALERT:
            alert = parse_alert(record.fragment)
            closing = alert.level == AlertLevel.FATAL or _is_close_notify(alert.description)
            self._advance(
                Incoming.CLOSING_ALERT if closing else Incoming.WARNING_ALERT,
                AlertReceived(alert.level, alert.description),
                field="alert",
            )
        else:
            raise DecodeError(
                PROTOCOL,
                "record.type",
                0,
                f"unexpected {ContentType(record.content_type).name} record "
                f"in state {self._state.name}",
            )

    def _on_handshake(self, msg_type: int, body: bytes) -> None:
        if msg_type == HandshakeType.SERVER_HELLO:
            server_hello = ServerHello.decode(body)
            if self._offer is not None:
                _check_against_offer(self._offer, server_hello)
            if server_hello.is_hello_retry_request:
                self._advance(
                    Incoming.HELLO_RETRY_REQUEST,
                    HelloRetryRequestReceived(server_hello),
                    field="server_hello",
                )
            elif server_hello.selected_version >= ProtocolVersion.TLS1_3:
                self._advance(
                    Incoming.SERVER_HELLO_TLS13,
                    ServerHelloReceived(server_hello),
                    field="server_hello",
                )
            else:
                self._advance(
                    Incoming.SERVER_HELLO, ServerHelloReceived(server_hello), field="server_hello"
                )
            return
        incoming = _HANDSHAKE_KINDS.get(msg_type)
        if incoming is None:
            raise DecodeError(
                PROTOCOL,
                "handshake.msg_type",
                0,
                f"unexpected handshake message {msg_type} in state {self._state.name}",
            )
        event: Event | None
        if incoming is Incoming.CERTIFICATE:
            event = CertificateReceived(Certificate.decode(body).certificate_list)
        elif incoming is Incoming.CERTIFICATE_STATUS:
            event = CertificateStatusReceived(body)
        elif incoming is Incoming.SERVER_KEY_EXCHANGE:
            event = ServerKeyExchangeReceived(body)
        elif incoming is Incoming.CERTIFICATE_REQUEST:
            event = CertificateRequestReceived(body)
        elif incoming is Incoming.SERVER_HELLO_DONE:
            ServerHelloDone.decode(body)
            event = ServerHelloDoneReceived()
        else:
            event = None  # HelloRequest: noted by nobody
        self._advance(incoming, event, field=f"handshake.{HandshakeType(msg_type).name.lower()}")

    def _on_sslv2_record(self, record: SSLv2Record) -> None:
        msg_type = record.message[0]
        if msg_type == SSLv2MessageType.SERVER_HELLO:
            self._advance(
                Incoming.SSLV2_SERVER_HELLO,
                SSLv2ServerHelloReceived(parse_sslv2_server_hello(record.message)),
                field="sslv2.server_hello",
            )
        elif msg_type == SSLv2MessageType.ERROR:
            self._advance(
                Incoming.SSLV2_ERROR,
                SSLv2ErrorReceived(parse_sslv2_error(record.message).error_code),
                field="sslv2.error",
            )
        else:
            raise DecodeError(
                "sslv2", "msg_type", 0, f"unexpected message type {msg_type} from a server"
            )

    def _advance(self, incoming: Incoming, event: Event | None, *, field: str) -> None:
        next_state = _TRANSITIONS.get((self._state, incoming))
        if next_state is None:
            raise DecodeError(
                PROTOCOL, field, 0, f"unexpected {incoming.name} in state {self._state.name}"
            )
        if incoming in (Incoming.WARNING_ALERT, Incoming.HELLO_REQUEST):
            self._ignored += 1
            if self._ignored > MAX_IGNORED_MESSAGES:
                raise DecodeError(
                    PROTOCOL,
                    field,
                    0,
                    f"more than {MAX_IGNORED_MESSAGES} warning alerts and HelloRequests",
                )
        if event is not None:
            self._events.append(event)
        if next_state is self._stop_state:
            next_state = State.DONE
        self._state = next_state
        if next_state is State.DONE:
            self._events.append(ExchangeDone())

    def _fail(self, error: DecodeError) -> None:
        self._state = State.FAILED
        self._events.append(Malformed(error))


__all__ = [
    "CIPHER_SUITE_FIELD",
    "MAX_IGNORED_MESSAGES",
    "TERMINAL_STATES",
    "VERSION_FIELD",
    "AlertReceived",
    "CertificateReceived",
    "CertificateRequestReceived",
    "CertificateStatusReceived",
    "Event",
    "ExchangeDone",
    "HelloExchange",
    "HelloRetryRequestReceived",
    "Incoming",
    "Malformed",
    "SSLv2ErrorReceived",
    "SSLv2ServerHelloReceived",
    "ServerHelloDoneReceived",
    "ServerHelloReceived",
    "ServerKeyExchangeReceived",
    "State",
    "StopAfter",
]
