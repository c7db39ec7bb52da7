"""The client's side of OpenVPN's control channel: hard reset, then TLS bytes, reliably.

OpenVPN carries TLS over its own reliability layer (reliable.c): each control
packet has a message_packet_id, the receiver acknowledges it (in a P_ACK_V1,
or piggybacked on its next control packet) and the sender retransmits what
is not acknowledged. A session starts with the client's hard reset (packet
id 0) and the server's answering reset (its packet id 0); OpenVPN 2.6 only
keeps state for a client whose next packet acknowledges that reset with the
server's session id (its "stateless" HMAC cookie), so the first P_CONTROL_V1
always carries that acknowledgement.

    ControlChannel(session_id)     ──>  packets_to_send() / receive_packet(bytes) / next_event()
        send_tls(bytes)                 queued as P_CONTROL_V1 fragments once the reset is answered
        unacknowledged()                what to send again when a retransmission timer fires

States, named after what happened last: WAIT_RESET_REPLY, then ESTABLISHED;
FAILED after a malformed or forbidden packet; GONE when the server has
forgotten the session. Time is the caller's: this module never reads a clock,
the probe decides when to retransmit and when to ask whether the session is
still there.

Is the session still there? OpenVPN drops a session whose TLS fails without a
word (its alert never leaves), so silence alone cannot tell "refused" from
"slow". ask_alive() gives our reset again, unchanged: a server that still has
the session acknowledges it as a duplicate (a P_ACK_V1 naming packet id 0);
one that dropped it answers with a server reset, as to a new client (OpenVPN
2.6 statelessly, with the same HMAC-cookie session id; older ones with a new
session). The first of the two to arrive decides: SessionGone, or nothing.

What it refuses (one `Malformed` event, then nothing more is read), so that a
hostile server can neither lie nor keep the client busy:
- packets that do not decode (packets.decode_packet), and any answer to the
  reset that is not a server reset;
- a client's reset or a P_CONTROL_WKC_V1 from the server;
- TLS data beyond `max_tls_bytes`, and more than `max_ignored` packets that
  change nothing: data packets, duplicates, packets for another session or
  beyond the receive window. Those are dropped as OpenVPN drops them, and
  counted.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum, auto

from protoaudit.errors import DecodeError
from protoaudit.proto.openvpn.packets import (
    CLIENT_RESETS,
    PROTOCOL,
    SERVER_RESETS,
    SESSION_ID_LENGTH,
    ControlPacket,
    DataPacket,
    Opcode,
    decode_packet,
    opcode_name,
)

# Acknowledgements piggybacked per packet: OpenVPN's CONTROL_SEND_ACK_MAX.
ACKS_PER_PACKET = 4
# TLS bytes per P_CONTROL_V1: under OpenVPN's default --tls-mtu (1250) with headers.
MAX_FRAGMENT = 1100
# Packets held ahead of the next expected id: OpenVPN's receive window is 8.
RECEIVE_WINDOW = 32
DEFAULT_MAX_TLS_BYTES = 256 * 1024
DEFAULT_MAX_IGNORED = 64
RECEIVED_PREFIX_LENGTH = 64


class State(Enum):
    WAIT_RESET_REPLY = auto()
    ESTABLISHED = auto()
    FAILED = auto()
    GONE = auto()


@dataclass(frozen=True, slots=True)
class ResetReplyReceived:
    """The server answered the hard reset: it speaks OpenVPN to anyone who asks."""

    opcode: int  # P_CONTROL_HARD_RESET_SERVER_V2, or _V1 from a very old server
    key_id: int
    server_session_id: bytes
    acknowledged_reset: bool  # its array acknowledged our reset (packet id 0)
    payload: bytes  # TLVs (OpenVPN 2.6 early negotiation) or nothing


@dataclass(frozen=True, slots=True)
class TlsDataReceived:
    """The next bytes of the server's TLS stream, in order."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Malformed:
    error: DecodeError


@dataclass(frozen=True, slots=True)
class SessionGone:
    """Asked with ask_alive(), the server answered our reset as a new client's."""

    server_session_id: bytes


Event = ResetReplyReceived | TlsDataReceived | Malformed | SessionGone


class ControlChannel:
    """One control session from the client's side; see the module docstring."""

    __slots__ = (
        "_alive",
        "_events",
        "_held",
        "_key_id",
        "_max_fragment",
        "_max_ignored",
        "_max_tls_bytes",
        "_next_message_id",
        "_next_packet_id",
        "_outgoing",
        "_owed_acks",
        "_pending_tls",
        "_prefix",
        "_reset",
        "_reset_sent",
        "_server_session_id",
        "_session_id",
        "_state",
        "_tls_bytes",
        "_unacknowledged",
        "ignored",
    )

    def __init__(
        self,
        session_id: bytes,
        *,
        reset_opcode: int = Opcode.P_CONTROL_HARD_RESET_CLIENT_V2,
        key_id: int = 0,
        reset_payload: bytes = b"",
        max_fragment: int = MAX_FRAGMENT,
        max_tls_bytes: int = DEFAULT_MAX_TLS_BYTES,
        max_ignored: int = DEFAULT_MAX_IGNORED,
    ) -> None:
        if len(session_id) != SESSION_ID_LENGTH:
            raise ValueError(f"a session id is {SESSION_ID_LENGTH} bytes, not {len(session_id)}")
        self._session_id = session_id
        self._key_id = key_id
        self._reset = ControlPacket(
            reset_opcode, key_id, session_id, message_packet_id=0, payload=reset_payload
        ).encode()
        self._reset_sent = False
        self._max_fragment = max_fragment
        self._max_tls_bytes = max_tls_bytes
        self._max_ignored = max_ignored
        self._state = State.WAIT_RESET_REPLY
        self._server_session_id: bytes | None = None
        self._next_packet_id = 1  # ours; 0 was the reset
        self._next_message_id = 0  # the server's next in-order packet id
        self._held: dict[int, bytes] = {}
        self._owed_acks: deque[int] = deque()
        self._pending_tls = bytearray()
        self._outgoing: list[bytes] = []
        # Our packets not yet acknowledged, by packet id, as encoded.
        self._unacknowledged: dict[int, bytes] = {0: self._reset}
        self._events: deque[Event] = deque()
        self._tls_bytes = 0
        self._prefix = b""
        self.ignored = 0
        self._alive: bool | None = None  # None: not asked; False: asked, no answer yet

    @property
    def state(self) -> State:
        return self._state

    @property
    def failed(self) -> bool:
        return self._state is State.FAILED

    @property
    def established(self) -> bool:
        return self._state is State.ESTABLISHED

    @property
    def session_id(self) -> bytes:
        return self._session_id

    @property
    def received_prefix(self) -> bytes:
        """The first bytes of the first packets received, for saying what a non-server sent."""
        return self._prefix

    def send_tls(self, data: bytes) -> None:
        """Queue TLS bytes; they leave as P_CONTROL_V1 packets once the reset is answered."""
        self._pending_tls += data

    def packets_to_send(self) -> list[bytes]:
        """Every packet due now, encoded: the reset first, then TLS fragments, then bare ACKs."""
        if not self._reset_sent:
            self._reset_sent = True
            self._outgoing.append(self._reset)
        if self._state is State.ESTABLISHED:
            while self._pending_tls:
                fragment = bytes(self._pending_tls[: self._max_fragment])
                del self._pending_tls[: self._max_fragment]
                packet = self._control(Opcode.P_CONTROL_V1, self._next_packet_id, fragment)
                self._unacknowledged[self._next_packet_id] = packet
                self._next_packet_id += 1
                self._outgoing.append(packet)
            while self._owed_acks:
                self._outgoing.append(self._control(Opcode.P_ACK_V1, None, b""))
        due, self._outgoing = self._outgoing, []
        return due

    def ask_alive(self) -> list[bytes]:
        """Our reset again, to learn whether the server still has the session (see above)."""
        if self._state is not State.ESTABLISHED:
            return []
        if self._alive is None:
            self._alive = False
        return [self._reset]

    def unacknowledged(self) -> list[bytes]:
        """Our packets the server has not acknowledged, oldest first: to send again on a timer."""
        if self._state in (State.FAILED, State.GONE):
            return []
        return [self._unacknowledged[packet_id] for packet_id in sorted(self._unacknowledged)]

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def receive_packet(self, data: bytes) -> None:
        """One packet from the server (a datagram, or a deframed TCP packet)."""
        if self._state in (State.FAILED, State.GONE):
            return
        if len(self._prefix) < RECEIVED_PREFIX_LENGTH:
            self._prefix += data[: RECEIVED_PREFIX_LENGTH - len(self._prefix)]
        try:
            packet = decode_packet(data)
            if self._state is State.WAIT_RESET_REPLY:
                self._on_reset_reply(packet)
            else:
                self._on_packet(packet)
        except DecodeError as error:
            self._state = State.FAILED
            self._events.append(Malformed(error))

    # --- incoming -------------------------------------------------------------------

    def _on_reset_reply(self, packet: ControlPacket | DataPacket) -> None:
        if not isinstance(packet, ControlPacket) or packet.opcode not in SERVER_RESETS:
            name = opcode_name(packet.opcode)
            raise DecodeError(PROTOCOL, "opcode", 0, f"{name} where a server reset was due")
        if packet.message_packet_id != 0:
            reason = f"the server's reset has packet id {packet.message_packet_id}, not 0"
            raise DecodeError(PROTOCOL, "message_packet_id", 0, reason)
        acknowledged = self._take_acks(packet) and 0 not in self._unacknowledged
        self._server_session_id = packet.session_id
        self._next_message_id = 1
        self._owe(0)
        self._state = State.ESTABLISHED
        # Whatever it acknowledged, the reset needs no more sending: the server answered it.
        self._unacknowledged.pop(0, None)
        self._events.append(
            ResetReplyReceived(
                packet.opcode, packet.key_id, packet.session_id, acknowledged, packet.payload
            )
        )

    def _on_packet(self, packet: ControlPacket | DataPacket) -> None:
        if isinstance(packet, DataPacket):
            self._ignore()
            return
        if packet.opcode in SERVER_RESETS and self._alive is False:
            self._state = State.GONE
            self._events.append(SessionGone(packet.session_id))
            return
        if packet.opcode in CLIENT_RESETS or packet.opcode == Opcode.P_CONTROL_WKC_V1:
            reason = f"a server sent {opcode_name(packet.opcode)}, which only clients send"
            raise DecodeError(PROTOCOL, "opcode", 0, reason)
        if packet.session_id != self._server_session_id:
            self._ignore()
            return
        if not self._take_acks(packet):
            self._ignore()
            return
        if self._alive is False:
            self._alive = True  # a packet of the session, not a new reset: it is still there
        if packet.opcode == Opcode.P_ACK_V1:
            return
        message_id = packet.message_packet_id
        assert message_id is not None  # every control packet but P_ACK_V1 has one
        if packet.opcode in SERVER_RESETS:
            self._owe(message_id)  # its reset again: our acknowledgement was lost
            self._ignore()
            return
        if packet.opcode != Opcode.P_CONTROL_V1:
            self._ignore()  # a soft reset: renegotiation, nothing a probe takes part in
            return
        self._owe(message_id)
        if message_id < self._next_message_id or message_id in self._held:
            self._ignore()  # a retransmission
            return
        if message_id >= self._next_message_id + RECEIVE_WINDOW:
            self._ignore()
            return
        self._held[message_id] = packet.payload
        while self._next_message_id in self._held:
            data = self._held.pop(self._next_message_id)
            self._next_message_id += 1
            self._tls_bytes += len(data)
            if self._tls_bytes > self._max_tls_bytes:
                reason = f"more than {self._max_tls_bytes} bytes of TLS data"
                raise DecodeError(PROTOCOL, "payload", 0, reason)
            if data:
                self._events.append(TlsDataReceived(data))

    def _take_acks(self, packet: ControlPacket) -> bool:
        """Mark our packets acknowledged; False when the array names another session."""
        if packet.packet_id_array and packet.remote_session_id != self._session_id:
            return False
        for packet_id in packet.packet_id_array:
            self._unacknowledged.pop(packet_id, None)
        return True

    def _ignore(self) -> None:
        self.ignored += 1
        if self.ignored > self._max_ignored:
            reason = f"more than {self._max_ignored} packets that changed nothing"
            raise DecodeError(PROTOCOL, "packet", 0, reason)

    # --- outgoing -------------------------------------------------------------------

    def _owe(self, packet_id: int) -> None:
        if packet_id not in self._owed_acks:
            self._owed_acks.append(packet_id)

    def _control(self, opcode: int, packet_id: int | None, payload: bytes) -> bytes:
        acks: list[int] = []
        while self._owed_acks and len(acks) < ACKS_PER_PACKET:
            acks.append(self._owed_acks.popleft())
        return ControlPacket(
            opcode,
            self._key_id,
            self._session_id,
            tuple(acks),
            self._server_session_id if acks else None,
            packet_id,
            payload,
        ).encode()


__all__ = [
    "ACKS_PER_PACKET",
    "MAX_FRAGMENT",
    "RECEIVE_WINDOW",
    "ControlChannel",
    "Event",
    "Malformed",
    "ResetReplyReceived",
    "SessionGone",
    "State",
    "TlsDataReceived",
]
