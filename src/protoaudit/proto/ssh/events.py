"""The events `kex.KeyExchange` emits, one frozen dataclass per kind."""

from __future__ import annotations

from dataclasses import dataclass, field

from protoaudit.errors import DecodeError
from protoaudit.proto.ssh.certificates import HostKey
from protoaudit.proto.ssh.ident import Identification
from protoaudit.proto.ssh.kexinit import KexInit
from protoaudit.proto.ssh.messages import Debug, Disconnect
from protoaudit.proto.ssh.signatures import Signature


@dataclass(frozen=True, slots=True)
class IdentificationReceived:
    identification: Identification


@dataclass(frozen=True, slots=True)
class UnsupportedVersion:
    """The server speaks no SSH-2 ("SSH-1.5-..."); nothing more is read."""

    identification: Identification


@dataclass(frozen=True, slots=True)
class KexInitReceived:
    kex_init: KexInit


@dataclass(frozen=True, slots=True)
class NoCommonAlgorithm:
    """The server's KEXINIT shares nothing with ours in one category; nothing more is read."""

    category: str  # "kex", "host_key", "encryption_client_to_server", ...
    client: tuple[str, ...]
    server: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GexGroupReceived:
    """The group a group-exchange server chose for the sizes we asked (RFC 4419 3)."""

    prime: int = field(repr=False)
    generator: int
    requested: tuple[int, int, int]  # min, n, max as sent

    @property
    def prime_bits(self) -> int:
        return self.prime.bit_length()


@dataclass(frozen=True, slots=True)
class KexReplyReceived:
    """The server's host key and its signature over the exchange hash H."""

    host_key_algorithm: str  # the one negotiated (the only one offered)
    host_key: HostKey
    signature: Signature
    exchange_hash: bytes
    signature_valid: bool  # key type and signature format fit the algorithm, and it verifies
    problem: str | None  # why not, in words; None when valid
    # K as the exchange hash encodes it, and the hash: what the session keys come from.
    shared_secret: bytes = field(default=b"", repr=False)
    hash_name: str = ""


@dataclass(frozen=True, slots=True)
class DisconnectReceived:
    disconnect: Disconnect


@dataclass(frozen=True, slots=True)
class DebugReceived:
    debug: Debug


@dataclass(frozen=True, slots=True)
class UnimplementedReceived:
    sequence_number: int


@dataclass(frozen=True, slots=True)
class ExchangeDone:
    """The stop point was reached; the caller may close the connection."""


@dataclass(frozen=True, slots=True)
class Malformed:
    """The server sent bytes that break the format or the protocol; nothing more is read."""

    error: DecodeError


Event = (
    IdentificationReceived
    | UnsupportedVersion
    | KexInitReceived
    | NoCommonAlgorithm
    | GexGroupReceived
    | KexReplyReceived
    | DisconnectReceived
    | DebugReceived
    | UnimplementedReceived
    | ExchangeDone
    | Malformed
)
