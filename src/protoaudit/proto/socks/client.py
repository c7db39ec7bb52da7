"""The client's side of one SOCKS exchange, as sans-I/O state machines.

`Socks5Client` offers methods (RFC 1928 3), and then, only as configured:
sends one username/password pair if the server picked USERNAME/PASSWORD
(RFC 1929), and one request (RFC 1928 4) if the server picked NO
AUTHENTICATION REQUIRED or accepted the pair. States are named after what
the client waits for: WAIT_METHOD, WAIT_AUTH, WAIT_REPLY; the machine ends
in DONE or FAILED. The transition table:

    WAIT_METHOD --method the client has a next step for--> WAIT_AUTH or WAIT_REPLY
    WAIT_METHOD --any other method, or 0xFF-------------> DONE
    WAIT_AUTH   --STATUS 0 and a request to send-------> WAIT_REPLY
    WAIT_AUTH   --any other STATUS--------------------> DONE
    WAIT_REPLY  --reply-------------------------------> DONE

`Socks4Client` sends one SOCKS 4/4A request and reads the 8-byte reply.

Refused (one `Malformed` event, then nothing more is read): a version that
is not SOCKS 5's (or, for the subnegotiation, not 1 or 5: some servers
answer RFC 1929 with 5), a method the client did not offer, bytes the server
sent before it was asked for them, and any message that does not decode.
Input after DONE is ignored. The first bytes received are kept
(`received_prefix`) so that a caller can say what a non-SOCKS server sent.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum, auto

from protoaudit.errors import DecodeError
from protoaudit.proto.socks.constants import (
    PROTOCOL,
    SOCKS4_REPLY_VERSION,
    SOCKS4_VERSION,
    SOCKS5_VERSION,
    USERNAME_PASSWORD_VERSION,
    Method,
    method_name,
)
from protoaudit.proto.socks.messages import (
    MethodSelectionReply,
    MethodSelectionRequest,
    Reply,
    Request,
    UsernamePasswordReply,
    UsernamePasswordRequest,
)
from protoaudit.proto.socks.socks4 import REPLY_LENGTH, Socks4Reply, Socks4Request

RECEIVED_PREFIX_LENGTH = 64


class State(Enum):
    WAIT_METHOD = auto()
    WAIT_AUTH = auto()
    WAIT_REPLY = auto()
    DONE = auto()
    FAILED = auto()


@dataclass(frozen=True, slots=True)
class MethodSelected:
    method: int  # 0xFF: no acceptable method


@dataclass(frozen=True, slots=True)
class AuthReplied:
    reply: UsernamePasswordReply


@dataclass(frozen=True, slots=True)
class RequestReplied:
    reply: Reply


@dataclass(frozen=True, slots=True)
class Socks4Replied:
    reply: Socks4Reply


@dataclass(frozen=True, slots=True)
class Malformed:
    error: DecodeError


Event = MethodSelected | AuthReplied | RequestReplied | Socks4Replied | Malformed


class _Machine:
    """What both clients share: a bounded input buffer, the event queue, the prefix."""

    def __init__(self, first: bytes) -> None:
        self._buffer = bytearray()
        self._events: deque[Event] = deque()
        self._outgoing = bytearray(first)
        self._prefix = b""
        self.state = State.WAIT_METHOD

    @property
    def finished(self) -> bool:
        return self.state in (State.DONE, State.FAILED)

    @property
    def received_prefix(self) -> bytes:
        return self._prefix

    def bytes_to_send(self) -> bytes:
        data = bytes(self._outgoing)
        self._outgoing.clear()
        return data

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def receive_data(self, data: bytes) -> None:
        if self.finished:
            return
        if len(self._prefix) < RECEIVED_PREFIX_LENGTH:
            self._prefix += data[: RECEIVED_PREFIX_LENGTH - len(self._prefix)]
        self._buffer += data
        try:
            self._advance()
        except DecodeError as error:
            self.state = State.FAILED
            self._events.append(Malformed(error))

    def _advance(self) -> None:
        raise NotImplementedError

    def _take(self, length: int) -> bytes | None:
        if len(self._buffer) < length:
            return None
        message = bytes(self._buffer[:length])
        del self._buffer[:length]
        return message

    def _nothing_unasked(self, field: str) -> None:
        """Bytes left once the client must speak next were sent before being asked for."""
        if self._buffer:
            reason = f"{len(self._buffer)} bytes sent before the client's next message"
            raise DecodeError(PROTOCOL, field, 0, reason)


class Socks5Client(_Machine):
    def __init__(
        self,
        methods: tuple[int, ...],
        *,
        credentials: tuple[bytes, bytes] | None = None,
        request: Request | None = None,
    ) -> None:
        super().__init__(MethodSelectionRequest(methods).encode())
        self._methods = methods
        self._credentials = credentials
        self._request = request

    def _advance(self) -> None:
        while not self.finished:
            if self.state is State.WAIT_METHOD:
                if not self._on_method():
                    return
            elif self.state is State.WAIT_AUTH:
                if not self._on_auth():
                    return
            elif not self._on_reply():
                return

    def _on_method(self) -> bool:
        # The version byte alone tells a non-SOCKS 5 server: no need to wait for more.
        if self._buffer and self._buffer[0] != SOCKS5_VERSION:
            raise DecodeError(PROTOCOL, "ver", 0, f"version {self._buffer[0]} in the method reply")
        message = self._take(MethodSelectionReply.LENGTH)
        if message is None:
            return False
        reply = MethodSelectionReply.decode(message)
        self._events.append(MethodSelected(reply.method))
        method = reply.method
        if method != Method.NO_ACCEPTABLE_METHODS and method not in self._methods:
            reason = f"the server chose {method_name(method)}, which was not offered"
            raise DecodeError(PROTOCOL, "method", 1, reason)
        if method == Method.USERNAME_PASSWORD and self._credentials is not None:
            self._nothing_unasked("method_selection_reply")
            self._outgoing += UsernamePasswordRequest(*self._credentials).encode()
            self.state = State.WAIT_AUTH
        elif method == Method.NO_AUTHENTICATION_REQUIRED and self._request is not None:
            self._send_request("method_selection_reply")
        else:
            self.state = State.DONE
        return True

    def _on_auth(self) -> bool:
        message = self._take(UsernamePasswordReply.LENGTH)
        if message is None:
            return False
        reply = UsernamePasswordReply.decode(message)
        if reply.ver not in (USERNAME_PASSWORD_VERSION, SOCKS5_VERSION):
            raise DecodeError(PROTOCOL, "ver", 0, f"version {reply.ver} in the RFC 1929 reply")
        self._events.append(AuthReplied(reply))
        if reply.status == 0 and self._request is not None:
            self._send_request("username_password_reply")
        else:
            self.state = State.DONE
        return True

    def _on_reply(self) -> bool:
        if self._buffer and self._buffer[0] != SOCKS5_VERSION:
            raise DecodeError(PROTOCOL, "ver", 0, f"version {self._buffer[0]} in the reply")
        length = Reply.needed(bytes(self._buffer[:5]))
        message = None if length is None else self._take(length)
        if message is None:
            return False
        self._events.append(RequestReplied(Reply.decode(message)))
        self.state = State.DONE
        return True

    def _send_request(self, field: str) -> None:
        assert self._request is not None
        self._nothing_unasked(field)
        self._outgoing += self._request.encode()
        self.state = State.WAIT_REPLY


class Socks4Client(_Machine):
    def __init__(self, request: Socks4Request) -> None:
        super().__init__(request.encode())
        self.state = State.WAIT_REPLY

    def _advance(self) -> None:
        if self._buffer and self._buffer[0] not in (SOCKS4_REPLY_VERSION, SOCKS4_VERSION):
            reason = f"reply version {self._buffer[0]}, not 0 (or 4)"
            raise DecodeError(PROTOCOL, "vn", 0, reason)
        message = self._take(REPLY_LENGTH)
        if message is None:
            return
        self._events.append(Socks4Replied(Socks4Reply.decode(message)))
        self.state = State.DONE


__all__ = [
    "AuthReplied",
    "Event",
    "Malformed",
    "MethodSelected",
    "RequestReplied",
    "Socks4Client",
    "Socks4Replied",
    "Socks5Client",
    "State",
]
