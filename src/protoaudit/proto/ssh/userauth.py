"""Which authentication methods a server offers, asked over our own SSH transport.

Theory of operation. `AuthMethodsQuery` runs a `KeyExchange` to the server's
reply, then goes on where a probe of host keys stops (RFC 4253 7.3, 10;
RFC 4252 5.1-5.4):

    KEX ──reply──> send NEWKEYS and, under the new keys, SERVICE_REQUEST "ssh-userauth"
    WAIT_NEWKEYS ──NEWKEYS──> WAIT_SERVICE ──SERVICE_ACCEPT──> send USERAUTH_REQUEST "none"
    WAIT_AUTH ──USERAUTH_FAILURE──> DONE (the methods that can continue)
    WAIT_AUTH ──USERAUTH_SUCCESS──> DONE (the server let an unknown user in with "none")

It offers only the ciphers and MACs of `protection` and compression "none",
so a server that has none of them ends in `NoCommonAlgorithm` and the caller
asks some other way. It sends neither "ext-info-c" nor the strict-kex marker,
so sequence numbers run on from the key exchange. IGNORE, DEBUG,
UNIMPLEMENTED and EXT_INFO are skipped (bounded); a banner is kept (bounded);
anything else ends in `Malformed`. No password or key is ever sent.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum, auto

from protoaudit.errors import DecodeError
from protoaudit.proto.ssh.agreement import RandomSource
from protoaudit.proto.ssh.constants import PROTOCOL, MessageNumber
from protoaudit.proto.ssh.encoding import read_boolean, read_name_list, read_text, write_text
from protoaudit.proto.ssh.events import (
    DisconnectReceived,
    Event,
    ExchangeDone,
    KexInitReceived,
    KexReplyReceived,
    Malformed,
)
from protoaudit.proto.ssh.kex import KeyExchange
from protoaudit.proto.ssh.messages import Disconnect
from protoaudit.proto.ssh.negotiation import Negotiated, negotiate
from protoaudit.proto.ssh.offer import ClientOffer
from protoaudit.proto.ssh.packet import encode_packet
from protoaudit.proto.ssh.protection import (
    CIPHERS,
    MACS,
    DirectionKeys,
    Opener,
    Sealer,
    direction_keys,
)
from protoaudit.wire import Reader, Writer

MAX_SKIPPED_MESSAGES = 16
MAX_BANNER_CHARACTERS = 4096


@dataclass(frozen=True, slots=True)
class AuthMethodsReceived:
    methods: tuple[str, ...]  # that can continue, as listed; () when "none" succeeded
    partial_success: bool
    none_accepted: bool
    banner: str | None  # a USERAUTH_BANNER before the answer, cut to MAX_BANNER_CHARACTERS


QueryEvent = Event | AuthMethodsReceived


class Phase(Enum):
    KEX = auto()
    WAIT_NEWKEYS = auto()
    WAIT_SERVICE = auto()
    WAIT_AUTH = auto()
    DONE = auto()


def auth_offer(kex: str, host_key: str) -> ClientOffer:
    """A KEXINIT that can go on past NEWKEYS: only what `protection` implements."""
    return ClientOffer(kex, host_key, tuple(CIPHERS), tuple(MACS), ("none",))


class AuthMethodsQuery:
    def __init__(self, kex: str, host_key: str, rng: RandomSource, *, username: str) -> None:
        self._offer = auth_offer(kex, host_key)
        self._rng = rng
        self._username = username
        self._kex = KeyExchange(self._offer, rng, stop_after="reply")
        self._phase = Phase.KEX
        self._events: deque[QueryEvent] = deque()
        self._outgoing = bytearray()
        self._server_kex_init: KexInitReceived | None = None
        self._reply: KexReplyReceived | None = None
        self._sealer: Sealer | None = None
        self._opener: Opener | None = None
        self._incoming_keys: DirectionKeys | None = None
        self._sent = 0
        self._skipped = 0
        self._banner: str | None = None

    @property
    def finished(self) -> bool:
        return self._phase is Phase.DONE

    def bytes_to_send(self) -> bytes:
        outgoing = self._kex.bytes_to_send() + bytes(self._outgoing)
        self._outgoing.clear()
        return outgoing

    def next_event(self) -> QueryEvent | None:
        return self._events.popleft() if self._events else None

    def receive_data(self, data: bytes) -> None:
        if self.finished:
            return
        try:
            if self._phase is Phase.KEX:
                self._kex.receive_data(data)
                self._drain_kex()
                data = b""
            if self._phase is Phase.WAIT_NEWKEYS:
                self._read_newkeys(data)
                data = b""
            if self._opener is not None and not self.finished:
                self._opener.feed(data)
                while not self.finished and (payload := self._opener.next_payload()) is not None:
                    self._on_payload(payload)
        except DecodeError as error:
            self._finish(Malformed(error))

    def _drain_kex(self) -> None:
        while (event := self._kex.next_event()) is not None:
            if isinstance(event, KexInitReceived):
                self._server_kex_init = event
            if isinstance(event, KexReplyReceived):
                self._reply = event
            if not isinstance(event, ExchangeDone):
                self._events.append(event)
        if not self._kex.finished:
            return
        if self._reply is None or self._server_kex_init is None:
            self._finish(None)  # the exchange failed; its events said how
            return
        negotiated = negotiate(self._offer.kex_init(bytes(16)), self._server_kex_init.kex_init)
        assert isinstance(negotiated, Negotiated)  # the key exchange got this far
        self._start_protection(negotiated, self._reply)
        self._phase = Phase.WAIT_NEWKEYS
        self._outgoing += encode_packet(bytes([MessageNumber.NEWKEYS]), self._rng)
        self._sent = self._kex.packets_sent + 1
        service = write_text(Writer().u8(MessageNumber.SERVICE_REQUEST), "ssh-userauth")
        self._seal(service.getvalue())

    def _start_protection(self, negotiated: Negotiated, reply: KexReplyReceived) -> None:
        self._sealer = Sealer(_keys(reply, negotiated, client_to_server=True), self._rng)
        self._incoming_keys = _keys(reply, negotiated, client_to_server=False)

    def _read_newkeys(self, data: bytes) -> None:
        reader = self._kex.packet_reader
        assert reader is not None
        reader.feed(data)
        while (payload := reader.next_payload()) is not None:
            number = payload[0]
            if number == MessageNumber.NEWKEYS:
                assert self._incoming_keys is not None
                self._opener = Opener(self._incoming_keys, first_sequence=reader.packets_received)
                self._opener.feed(reader.take_buffered())
                self._phase = Phase.WAIT_SERVICE
                return
            self._common(number, payload, "newkeys")

    def _on_payload(self, payload: bytes) -> None:
        number = payload[0] if payload else -1
        if self._phase is Phase.WAIT_SERVICE and number == MessageNumber.SERVICE_ACCEPT:
            request = Writer().u8(MessageNumber.USERAUTH_REQUEST)
            for text in (self._username, "ssh-connection", "none"):
                write_text(request, text)
            self._seal(request.getvalue())
            self._phase = Phase.WAIT_AUTH
        elif number == MessageNumber.USERAUTH_BANNER:
            reader = Reader(payload, PROTOCOL, start=1)
            self._banner = read_text(reader, "banner.message")[:MAX_BANNER_CHARACTERS]
        elif self._phase is Phase.WAIT_AUTH and number == MessageNumber.USERAUTH_FAILURE:
            reader = Reader(payload, PROTOCOL, start=1)
            methods = read_name_list(reader, "userauth_failure.methods")
            partial = read_boolean(reader, "userauth_failure.partial_success")
            reader.expect_end("userauth_failure")
            self._finish(AuthMethodsReceived(methods, partial, False, self._banner))
        elif self._phase is Phase.WAIT_AUTH and number == MessageNumber.USERAUTH_SUCCESS:
            self._finish(AuthMethodsReceived((), False, True, self._banner))
        else:
            self._common(number, payload, self._phase.name.lower())

    def _common(self, number: int, payload: bytes, where: str) -> None:
        """Messages that may come at any time; anything else is a violation."""
        if number == MessageNumber.DISCONNECT:
            self._finish(DisconnectReceived(Disconnect.decode(payload)))
            return
        skippable = (
            MessageNumber.IGNORE,
            MessageNumber.DEBUG,
            MessageNumber.UNIMPLEMENTED,
            MessageNumber.EXT_INFO,
        )
        if number not in skippable:
            raise DecodeError(
                PROTOCOL, "message_number", 0, f"unexpected message {number} in {where}"
            )
        self._skipped += 1
        if self._skipped > MAX_SKIPPED_MESSAGES:
            raise DecodeError(
                PROTOCOL, where, 0, f"more than {MAX_SKIPPED_MESSAGES} skipped messages"
            )

    def _seal(self, payload: bytes) -> None:
        assert self._sealer is not None
        self._outgoing += self._sealer.seal(payload, self._sent)
        self._sent = (self._sent + 1) % (1 << 32)

    def _finish(self, event: QueryEvent | None) -> None:
        if event is not None:
            self._events.append(event)
        self._events.append(ExchangeDone())
        self._phase = Phase.DONE


def _keys(
    reply: KexReplyReceived, negotiated: Negotiated, *, client_to_server: bool
) -> DirectionKeys:
    if client_to_server:
        cipher, mac = negotiated.encryption_client_to_server, negotiated.mac_client_to_server
    else:
        cipher, mac = negotiated.encryption_server_to_client, negotiated.mac_server_to_client
    return direction_keys(
        reply.hash_name,
        reply.shared_secret,
        reply.exchange_hash,
        cipher=cipher,
        mac=None if CIPHERS[cipher].mode in ("gcm", "chacha") else mac,
        client_to_server=client_to_server,
    )


__all__ = ["AuthMethodsQuery", "AuthMethodsReceived", "QueryEvent", "auth_offer"]
