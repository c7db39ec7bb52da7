"""Facts a probe saw, with no judgement. Frozen, typed, serialisable.

Code points stay ints here; names are looked up from the registry only when a
report shows them. Every observation carries `kind` (its JSON tag) so that a
JSON document can be read back without guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class Observation:
    kind: ClassVar[str] = "observation"


@dataclass(frozen=True, slots=True)
class ConnectionFailure(Observation):
    """The target could not be audited at all (refused, timed out, no TLS there)."""

    kind: ClassVar[str] = "connection_failure"
    stage: str  # "connect", "tls" …
    reason: str  # TransportError kind, or "no-tls"
    detail: str


@dataclass(frozen=True, slots=True)
class ProbeFailure(Observation):
    """A probe could not finish; what it did see is in its other observations."""

    kind: ClassVar[str] = "probe_failure"
    probe: str
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class ServiceDetected(Observation):
    """A bare host:port did not speak TLS, but its greeting named a STARTTLS service."""

    kind: ClassVar[str] = "service_detected"
    service: str
    greeting: str  # the first bytes, as sent; reports sanitise


@dataclass(frozen=True, slots=True)
class StartTlsDialog(Observation):
    """The plaintext conversation before TLS (SMTP, IMAP, POP3, FTP, LDAP …), as it went."""

    kind: ClassVar[str] = "starttls_dialog"
    protocol: str
    banner: str  # as the server sent it; reports sanitise
    capabilities_before: tuple[str, ...]
    starttls_offered: bool | None  # None: the protocol cannot say before trying
    plaintext_auth_offered: tuple[str, ...]  # mechanisms a client could use in clear
    upgraded: bool  # the server agreed and TLS could start
    failure: str | None


@dataclass(frozen=True, slots=True)
class TlsVersionSupport(Observation):
    kind: ClassVar[str] = "tls_version"
    version: int  # 0x0002 for SSLv2, 0x0300 … 0x0304
    supported: bool
    detail: str  # what the server did: "ServerHello", "alert protocol_version", "closed" …


@dataclass(frozen=True, slots=True)
class CipherSuiteSupport(Observation):
    """Every suite the server accepted for one version, in the order found."""

    kind: ClassVar[str] = "cipher_suites"
    version: int
    accepted: tuple[int, ...]
    server_order_enforced: bool | None  # None when fewer than two suites were accepted
    server_order: tuple[int, ...]  # the server's preference order when enforced, else ()


@dataclass(frozen=True, slots=True)
class KeyExchangeGroups(Observation):
    """Named groups accepted for key exchange (TLS 1.3 key_share or TLS 1.2 ECDHE/FFDHE)."""

    kind: ClassVar[str] = "key_exchange_groups"
    version: int
    accepted: tuple[int, ...]
    server_preferred: int | None  # told by HelloRetryRequest when we sent no share for it


@dataclass(frozen=True, slots=True)
class EphemeralKeyExchange(Observation):
    """Parameters of one (EC)DHE key exchange seen in a ServerKeyExchange."""

    kind: ClassVar[str] = "ephemeral_key_exchange"
    version: int
    cipher_suite: int
    group: int | None  # named group, when the server named one
    dh_prime_bits: int | None  # finite-field DHE with explicit parameters
    signature_scheme: int | None  # TLS 1.2 signature over the parameters


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    subject: str
    issuer: str
    serial_hex: str
    not_before: datetime
    not_after: datetime
    key_type: str  # "RSA", "EC", "Ed25519", "Ed448", "DSA"
    key_bits: int
    curve: str | None
    signature_algorithm: str
    signature_hash: str | None
    san_dns: tuple[str, ...]
    san_ip: tuple[str, ...]
    sha256_fingerprint: str
    is_ca: bool
    self_issued: bool
    sct_count: int
    must_staple: bool
    pem: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class CertificateChain(Observation):
    """One full handshake's certificate chain and what validating it found."""

    kind: ClassVar[str] = "certificate_chain"
    server_name: str | None  # SNI sent, None when none was sent
    requested_key_type: str | None  # "RSA", "ECDSA", or None for the server's default
    version: int
    cipher_suite: int
    certificates: tuple[CertificateInfo, ...]  # as the server sent them, leaf first
    trust_store: str
    trusted: bool
    trust_error: str | None
    hostname_checked: str
    hostname_matches: bool
    not_yet_valid: bool
    expired: bool
    days_left: int
    self_signed: bool
    chain_incomplete: bool
    ocsp_stapled: bool
