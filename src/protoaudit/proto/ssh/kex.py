"""One probe connection's SSH key exchange, as a sans-I/O client state machine.

The client sends its identification and a KEXINIT at once (RFC 4253 4.2,
7.1), reads the server's identification and KEXINIT, then runs one key
exchange method up to the server's reply and hangs up. It never sends
NEWKEYS: a probe wants the server's algorithms, its host key and proof that
the key signed this exchange, not a session.

    WAIT_IDENTIFICATION ──SSH-2.0 line──> AFTER_IDENTIFICATION ──KEXINIT──> AFTER_KEXINIT
    AFTER_KEXINIT ──KEXDH/ECDH/hybrid REPLY──> DONE
    AFTER_KEXINIT ──KEX_DH_GEX_GROUP──> AFTER_GEX_GROUP ──KEX_DH_GEX_REPLY──> DONE

Stop points (`stop_after`): "kexinit" ends after the server's KEXINIT,
"gex_group" after a group-exchange server named its prime (for probing
modulus sizes: GEX_REQUEST(min, n, max) then GEX_GROUP), "reply" after the
reply, whose host key and signature over the exchange hash H (RFC 4253 8,
RFC 4419 3, RFC 5656 4, RFC 8731 3, draft-ietf-sshm-mlkem-hybrid-kex) come
as one event saying whether the signature verifies.

The driver calls `bytes_to_send()`, feeds what the socket gives to
`receive_data()` and drains `next_event()` until `finished`. Bad bytes never
raise: they become one `Malformed` event and the exchange stops reading.
`_TRANSITIONS` is the whole protocol; a pair missing from it is a violation
by the server. Other ends: an SSH-1-only server ("SSH-1.5-") and a KEXINIT
with no algorithm in common end in NEGOTIATION_FAILED; SSH_MSG_DISCONNECT
ends in CLOSED.

What it tolerates, within bounds: lines before the identification (ident.py
limits), IGNORE, DEBUG and UNIMPLEMENTED messages anywhere (at most
MAX_IGNORED_MESSAGES in all), and a server KEXINIT with
first_kex_packet_follows whose guess was wrong (the next packet is skipped,
RFC 4253 7). Every length is bounded before it is trusted: packets by
packet.py, name-lists by kexinit.py, numbers and key blobs by encoding.py.

The client offers one kex method and one host-key algorithm, so the server
must use them or refuse. It sends neither "ext-info-c" (RFC 8308) nor
"kex-strict-c-v00@openssh.com": it never reaches the point where either
matters, and without the strict-kex marker a server may legitimately send
IGNORE or DEBUG during the exchange, which is tolerated above.
"""

from __future__ import annotations

from collections import deque
from enum import Enum, auto
from typing import Literal

from protoaudit.errors import DecodeError
from protoaudit.proto.ssh.agreement import KeyAgreement, RandomSource
from protoaudit.proto.ssh.certificates import HostKey, decode_host_key
from protoaudit.proto.ssh.constants import PROTOCOL, MessageNumber
from protoaudit.proto.ssh.encoding import mpint, read_positive_mpint, read_string, string
from protoaudit.proto.ssh.events import (
    DebugReceived,
    DisconnectReceived,
    Event,
    ExchangeDone,
    GexGroupReceived,
    IdentificationReceived,
    KexInitReceived,
    KexReplyReceived,
    Malformed,
    NoCommonAlgorithm,
    UnimplementedReceived,
    UnsupportedVersion,
)
from protoaudit.proto.ssh.ident import (
    DEFAULT_LIMITS,
    Identification,
    IdentificationLimits,
    parse_identification,
)
from protoaudit.proto.ssh.kexinit import KexInit
from protoaudit.proto.ssh.messages import Debug, Disconnect, Ignore, Unimplemented
from protoaudit.proto.ssh.methods import (
    Family,
    KexMethodSpec,
    kex_method_spec,
    start_agreement,
    supported_host_key_algorithms,
)
from protoaudit.proto.ssh.negotiation import Negotiated, NoCommon, negotiate
from protoaudit.proto.ssh.offer import ClientOffer
from protoaudit.proto.ssh.packet import MAX_PACKET_LENGTH, PacketReader, encode_packet
from protoaudit.proto.ssh.signatures import Signature, decode_signature, verify_signature
from protoaudit.registry import ssh as registry
from protoaudit.wire import Reader, Writer

MAX_IGNORED_MESSAGES = 16  # IGNORE, DEBUG, UNIMPLEMENTED and a skipped guess, together
RECEIVED_PREFIX_LENGTH = 64
DEFAULT_GEX_SIZES = (2048, 3072, 8192)  # OpenSSH's DH_GRP_MIN, a middle, DH_GRP_MAX
DEFAULT_IDENTIFICATION = b"SSH-2.0-protoaudit_0.1\r\n"
COOKIE_LENGTH = 16

StopAfter = Literal["kexinit", "gex_group", "reply"]


class State(Enum):
    """Named after the last message received."""

    WAIT_IDENTIFICATION = auto()
    AFTER_IDENTIFICATION = auto()
    AFTER_KEXINIT = auto()
    AFTER_GEX_GROUP = auto()
    DONE = auto()  # the stop point was reached
    CLOSED = auto()  # the server sent DISCONNECT
    NEGOTIATION_FAILED = auto()  # SSH-1 only, or no algorithm in common
    FAILED = auto()  # malformed or unexpected input


class Incoming(Enum):
    IDENTIFICATION = auto()
    UNSUPPORTED_VERSION = auto()
    KEXINIT = auto()
    NO_COMMON_ALGORITHM = auto()
    GEX_GROUP = auto()
    REPLY = auto()  # KEXDH_REPLY, KEX_ECDH_REPLY, the hybrid reply, KEX_DH_GEX_REPLY
    DISCONNECT = auto()
    IGNORED = auto()  # IGNORE, DEBUG, UNIMPLEMENTED, a wrongly guessed kex packet


_WAITING_STATES = (
    State.AFTER_IDENTIFICATION,
    State.AFTER_KEXINIT,
    State.AFTER_GEX_GROUP,
)
TERMINAL_STATES = frozenset({State.DONE, State.CLOSED, State.NEGOTIATION_FAILED, State.FAILED})

_TRANSITIONS: dict[tuple[State, Incoming], State] = {
    (State.WAIT_IDENTIFICATION, Incoming.IDENTIFICATION): State.AFTER_IDENTIFICATION,
    (State.WAIT_IDENTIFICATION, Incoming.UNSUPPORTED_VERSION): State.NEGOTIATION_FAILED,
    (State.AFTER_IDENTIFICATION, Incoming.KEXINIT): State.AFTER_KEXINIT,
    (State.AFTER_IDENTIFICATION, Incoming.NO_COMMON_ALGORITHM): State.NEGOTIATION_FAILED,
    (State.AFTER_KEXINIT, Incoming.GEX_GROUP): State.AFTER_GEX_GROUP,
    (State.AFTER_KEXINIT, Incoming.REPLY): State.DONE,
    (State.AFTER_GEX_GROUP, Incoming.REPLY): State.DONE,
    # RFC 4253 11: these may come at any time once packets flow.
    **{(state, Incoming.DISCONNECT): State.CLOSED for state in _WAITING_STATES},
    **{(state, Incoming.IGNORED): state for state in _WAITING_STATES},
}

_STOP_STATES: dict[str, State] = {
    "kexinit": State.AFTER_KEXINIT,
    "gex_group": State.AFTER_GEX_GROUP,
    "reply": State.DONE,
}


class KeyExchange:
    """Drives one client key exchange; see the module docstring for the protocol."""

    def __init__(
        self,
        offer: ClientOffer,
        rng: RandomSource,
        *,
        stop_after: str = "reply",
        identification: bytes = DEFAULT_IDENTIFICATION,
        gex_sizes: tuple[int, int, int] = DEFAULT_GEX_SIZES,
        identification_limits: IdentificationLimits = DEFAULT_LIMITS,
        max_packet_length: int = MAX_PACKET_LENGTH,
    ) -> None:
        if stop_after not in _STOP_STATES:
            choices = sorted(_STOP_STATES)
            raise ValueError(f"stop_after must be one of {choices}, not {stop_after!r}")
        self._spec: KexMethodSpec | None = None
        if stop_after != "kexinit":
            self._spec = kex_method_spec(offer.kex_algorithm)
            if offer.host_key_algorithm not in supported_host_key_algorithms():
                raise ValueError(f"host key algorithm {offer.host_key_algorithm!r} unsupported")
        gex = self._spec is not None and self._spec.family is Family.GROUP_EXCHANGE
        if stop_after == "gex_group" and not gex:
            raise ValueError("stop_after='gex_group' needs a group-exchange method")
        self._offer = offer
        self._rng = rng
        self._stop_state = _STOP_STATES[stop_after]
        self._gex_sizes = gex_sizes
        self._limits = identification_limits
        self._max_packet_length = max_packet_length
        self._client_identification = identification.removesuffix(b"\n").removesuffix(b"\r")
        self._client_kex_init = offer.kex_init(rng(COOKIE_LENGTH))
        self._client_kex_init_payload = self._client_kex_init.encode()
        self._outgoing = bytearray(identification)
        self._outgoing += encode_packet(self._client_kex_init_payload, rng)
        self.packets_sent = 1
        self._state = State.WAIT_IDENTIFICATION
        self._events: deque[Event] = deque()
        self._prefix = b""
        self._identification_buffer = b""
        self._packets: PacketReader | None = None
        self._server_identification: Identification | None = None
        self._server_kex_init = b""
        self._agreement: KeyAgreement | None = None
        self._gex_group: tuple[int, int] | None = None
        self._skip_guess = False
        self._ignored = 0

    @property
    def state(self) -> State:
        return self._state

    @property
    def finished(self) -> bool:
        return self._state in TERMINAL_STATES

    @property
    def received_prefix(self) -> bytes:
        """The first RECEIVED_PREFIX_LENGTH bytes the server sent (fewer if it sent fewer)."""
        return self._prefix

    @property
    def packet_reader(self) -> PacketReader | None:
        """The reader of the server's packets, for a caller that goes on past the reply."""
        return self._packets

    def bytes_to_send(self) -> bytes:
        outgoing = bytes(self._outgoing)
        self._outgoing.clear()
        return outgoing

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the server; input after the exchange finished is ignored."""
        if self.finished:
            return
        if len(self._prefix) < RECEIVED_PREFIX_LENGTH:
            self._prefix += data[: RECEIVED_PREFIX_LENGTH - len(self._prefix)]
        try:
            if self._packets is None:
                data = self._read_identification(data)
                if self._packets is None or self.finished:
                    return
            self._packets.feed(data)
            while not self.finished:
                payload = self._packets.next_payload()
                if payload is None:
                    break
                self._on_payload(payload, self._packets.packets_received - 1)
        except DecodeError as error:
            self._fail(error)

    # -- identification ------------------------------------------------------------------

    def _read_identification(self, data: bytes) -> bytes:
        self._identification_buffer += data
        parsed = parse_identification(self._identification_buffer, self._limits)
        if parsed is None:
            return b""
        identification, rest = parsed
        consumed = len(self._identification_buffer) - len(rest)
        self._identification_buffer = b""
        self._server_identification = identification
        self._packets = PacketReader(
            max_packet_length=self._max_packet_length, stream_offset=consumed
        )
        if identification.ssh2:
            event: Event = IdentificationReceived(identification)
            self._enter(Incoming.IDENTIFICATION, event, "identification")
        else:
            event = UnsupportedVersion(identification)
            self._enter(Incoming.UNSUPPORTED_VERSION, event, "identification")
        return rest

    # -- packets -------------------------------------------------------------------------

    def _on_payload(self, payload: bytes, sequence_number: int) -> None:
        number = payload[0]
        if self._skip_guess:
            # RFC 4253 7: a packet sent on a wrong guess is ignored, whatever it is.
            self._skip_guess = False
            self._enter(Incoming.IGNORED, None, "guessed_kex_packet")
            return
        if number == MessageNumber.IGNORE:
            Ignore.decode(payload)
            self._enter(Incoming.IGNORED, None, "ignore")
        elif number == MessageNumber.DEBUG:
            self._enter(Incoming.IGNORED, DebugReceived(Debug.decode(payload)), "debug")
        elif number == MessageNumber.UNIMPLEMENTED:
            sequence = Unimplemented.decode(payload).sequence_number
            self._enter(Incoming.IGNORED, UnimplementedReceived(sequence), "unimplemented")
        elif number == MessageNumber.DISCONNECT:
            disconnect = Disconnect.decode(payload)
            self._enter(Incoming.DISCONNECT, DisconnectReceived(disconnect), "disconnect")
        elif number == MessageNumber.KEXINIT:
            self._on_kex_init(payload)
        elif self._gex and number == MessageNumber.KEXDH_REPLY:
            self._on_gex_group(payload)
        elif number == self._reply_number:
            self._on_reply(payload)
        else:
            raise DecodeError(
                PROTOCOL,
                "message_number",
                0,
                f"unexpected message {number} (packet {sequence_number}) "
                f"in state {self._state.name}",
            )

    @property
    def _gex(self) -> bool:
        return self._spec is not None and self._spec.family is Family.GROUP_EXCHANGE

    @property
    def _reply_number(self) -> int:
        return MessageNumber.KEX_DH_GEX_REPLY if self._gex else MessageNumber.KEXDH_REPLY

    def _on_kex_init(self, payload: bytes) -> None:
        self._check(Incoming.KEXINIT, "kexinit")
        server = KexInit.decode(payload)
        self._server_kex_init = payload
        if self._stop_state is State.AFTER_KEXINIT:
            self._enter(Incoming.KEXINIT, KexInitReceived(server), "kexinit")
            return
        self._events.append(KexInitReceived(server))
        outcome = negotiate(self._client_kex_init, server)
        if isinstance(outcome, NoCommon):
            event = NoCommonAlgorithm(outcome.category, outcome.client, outcome.server)
            self._enter(Incoming.NO_COMMON_ALGORITHM, event, "kexinit")
            return
        self._skip_guess = server.first_kex_packet_follows and not _guessed_right(server, outcome)
        assert self._spec is not None
        if self._gex:
            minimum, preferred, maximum = self._gex_sizes
            request = Writer().u8(MessageNumber.KEX_DH_GEX_REQUEST)
            self._send(request.u32(minimum).u32(preferred).u32(maximum).getvalue())
        else:
            self._agreement = start_agreement(self._spec, self._rng)
            self._send(bytes([MessageNumber.KEXDH_INIT]) + self._agreement.client_public())
        self._enter(Incoming.KEXINIT, None, "kexinit")

    def _on_gex_group(self, payload: bytes) -> None:
        self._check(Incoming.GEX_GROUP, "gex_group")
        reader = Reader(payload, PROTOCOL, start=1)
        prime = read_positive_mpint(reader, "gex_group.p")
        generator = read_positive_mpint(reader, "gex_group.g")
        reader.expect_end("gex_group")
        if prime < 7 or prime % 2 == 0:
            raise DecodeError(PROTOCOL, "gex_group.p", 1, "p is not an odd prime candidate")
        if not 1 < generator < prime - 1:
            raise DecodeError(PROTOCOL, "gex_group.g", 1, "g is not in the range (1, p-1)")
        self._gex_group = (prime, generator)
        event = GexGroupReceived(prime, generator, self._gex_sizes)
        if self._stop_state is not State.AFTER_GEX_GROUP:
            assert self._spec is not None
            self._agreement = start_agreement(
                self._spec, self._rng, prime=prime, generator=generator
            )
            self._send(bytes([MessageNumber.KEX_DH_GEX_INIT]) + self._agreement.client_public())
        self._enter(Incoming.GEX_GROUP, event, "gex_group")

    def _on_reply(self, payload: bytes) -> None:
        self._check(Incoming.REPLY, "reply")
        assert self._agreement is not None
        assert self._spec is not None
        reader = Reader(payload, PROTOCOL, start=1)
        host_key_blob = read_string(reader, "reply.host_key")
        server_public = self._agreement.read_server_public(reader, "reply.server_public")
        signature_blob = read_string(reader, "reply.signature")
        reader.expect_end("reply")
        host_key = decode_host_key(host_key_blob)
        signature = decode_signature(signature_blob)
        exchange_hash = self._spec.hash(
            self._hash_prefix(host_key_blob)
            + self._agreement.client_public()
            + server_public
            + self._agreement.shared_secret()
        )
        problem = _signature_problem(
            self._offer.host_key_algorithm, host_key, signature, exchange_hash
        )
        event = KexReplyReceived(
            host_key_algorithm=self._offer.host_key_algorithm,
            host_key=host_key,
            signature=signature,
            exchange_hash=exchange_hash,
            signature_valid=problem is None,
            problem=problem,
            shared_secret=self._agreement.shared_secret(),
            hash_name=self._spec.hash_name,
        )
        self._enter(Incoming.REPLY, event, "reply")

    def _hash_prefix(self, host_key_blob: bytes) -> bytes:
        """V_C, V_S, I_C, I_S, K_S, and for group exchange min, n, max, p, g (RFC 4419 3)."""
        assert self._server_identification is not None
        prefix = (
            string(self._client_identification)
            + string(self._server_identification.raw)
            + string(self._client_kex_init_payload)
            + string(self._server_kex_init)
            + string(host_key_blob)
        )
        if self._gex_group is not None:
            prime, generator = self._gex_group
            sizes = b"".join(size.to_bytes(4, "big") for size in self._gex_sizes)
            prefix += sizes + mpint(prime) + mpint(generator)
        return prefix

    # -- state ---------------------------------------------------------------------------

    def _send(self, payload: bytes) -> None:
        self._outgoing += encode_packet(payload, self._rng)
        self.packets_sent += 1

    def _check(self, incoming: Incoming, field_name: str) -> State:
        next_state = _TRANSITIONS.get((self._state, incoming))
        if next_state is None:
            raise DecodeError(
                PROTOCOL, field_name, 0, f"unexpected {incoming.name} in state {self._state.name}"
            )
        return next_state

    def _enter(self, incoming: Incoming, event: Event | None, field_name: str) -> None:
        next_state = self._check(incoming, field_name)
        if incoming is Incoming.IGNORED:
            self._ignored += 1
            if self._ignored > MAX_IGNORED_MESSAGES:
                reason = f"more than {MAX_IGNORED_MESSAGES} IGNORE, DEBUG and UNIMPLEMENTED"
                raise DecodeError(PROTOCOL, field_name, 0, reason)
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


def _guessed_right(server: KexInit, negotiated: Negotiated) -> bool:
    """RFC 4253 7: the guess is right when both sides' first kex and host key are the chosen."""
    first_kex = server.kex_algorithms[:1]
    first_host_key = server.server_host_key_algorithms[:1]
    return first_kex == (negotiated.kex,) and first_host_key == (negotiated.host_key,)


def _signature_problem(
    algorithm_name: str, host_key: HostKey, signature: Signature, exchange_hash: bytes
) -> str | None:
    """Why the reply does not prove the host key signed H, or None when it does."""
    algorithm = registry.host_key_algorithm(algorithm_name)
    if host_key.blob_type != algorithm.key_type:
        return f"a {host_key.blob_type} key was sent for {algorithm_name}"
    if signature.algorithm != algorithm.signature:
        return f"signature format {signature.algorithm}, expected {algorithm.signature}"
    if not verify_signature(host_key.key, signature, exchange_hash):
        return "the signature over the exchange hash does not verify"
    return None


__all__ = [
    "DEFAULT_GEX_SIZES",
    "DEFAULT_IDENTIFICATION",
    "MAX_IGNORED_MESSAGES",
    "TERMINAL_STATES",
    "ClientOffer",
    "DebugReceived",
    "DisconnectReceived",
    "Event",
    "ExchangeDone",
    "GexGroupReceived",
    "IdentificationReceived",
    "Incoming",
    "KexInitReceived",
    "KexReplyReceived",
    "KeyExchange",
    "Malformed",
    "NoCommonAlgorithm",
    "State",
    "StopAfter",
    "UnimplementedReceived",
    "UnsupportedVersion",
]
