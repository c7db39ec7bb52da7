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
    # The server agreed to start TLS (whether a handshake then worked: the TLS facts).
    upgraded: bool
    failure: str | None
    # What the server listed when asked again over TLS (EHLO, CAPABILITY, CAPA, FEAT,
    # CAPABILITIES), as it listed them; None: not asked (no such command) or no answer.
    capabilities_after: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class StartTlsInjection(Observation):
    """A command sent in the same write as STARTTLS (the CVE-2011-0411 class), and its fate.

    `vulnerable` is True when the server answered the injected command over TLS,
    that is it ran plaintext it had buffered before the upgrade; False when it
    did not (it discarded it, refused STARTTLS, or hung up); None when the probe
    could not tell (a timeout, a handshake that failed for another reason).
    """

    kind: ClassVar[str] = "starttls_injection"
    protocol: str
    injected: str  # the command pipelined after STARTTLS, e.g. "NOOP" or "a3 NOOP"
    vulnerable: bool | None
    detail: str  # what happened, in words, quoting the server
    # What the server sent in clear after its go-ahead and before any TLS, most often its
    # answer to the injected command: not an injection, but a sign of the same sloppiness
    # (or of a server that read the command as a broken handshake). None: nothing.
    plaintext_answer: str | None


@dataclass(frozen=True, slots=True)
class FtpFacts(Observation):
    """What an FTP server allows around its TLS: logins in clear, anonymous, the data channel.

    None in a fact means it was not, or could not be, tested; `notes` says why.
    """

    kind: ClassVar[str] = "ftp_facts"
    implicit_tls: bool  # FTPS: TLS from the first byte, so there is no "before AUTH TLS"
    # A (non-anonymous) USER answered 331 or 230 before AUTH TLS: a password would follow
    # in clear. No password is ever sent.
    plaintext_login: bool | None
    plaintext_login_reply: str  # the reply to that USER; "" when not asked
    anonymous_login: bool | None  # USER anonymous / PASS over TLS ended in 230
    anonymous_login_reply: str
    prot_c_reply: str  # the reply to PROT C over TLS; "" when not asked
    # A transfer on a clear data channel (PROT C) was accepted (1xx to NLST); False: refused
    # at PROT C or at the transfer; None: not tried (a transfer needs a login).
    clear_data: bool | None
    # A listing was read over a TLS data connection (PROT P, passive mode, the control
    # connection's own address); None: not tried.
    data_channel_tls: bool | None
    data_tls_version: int | None
    data_cipher_suite: int | None  # None also when the registry does not know it (see notes)
    data_session_reused: bool | None  # the control connection's TLS session was resumed
    listing: tuple[str, ...]  # the names NLST returned over TLS (at most 20), as sent
    # The host a 227 reply named when it was not the control address; never connected to.
    passive_host_named: str | None
    notes: tuple[str, ...]  # steps skipped or failed, in words


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
    cipher_suite: int | None  # None when OpenSSL named a suite the registry does not know
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


@dataclass(frozen=True, slots=True)
class SshIdentification(Observation):
    """The server's identification string (RFC 4253 section 4.2) and what came before it."""

    kind: ClassVar[str] = "ssh_identification"
    protocol_version: str  # "2.0", "1.99" (SSH-1 and -2), "1.5" (SSH-1 only) …
    software: str  # e.g. "OpenSSH_9.2p1"
    comments: str | None  # e.g. "Debian-2+deb12u3"
    line: str  # the whole line as sent, without CR LF; reports sanitise
    pre_banner: tuple[str, ...]  # lines the server sent before it (at most a few, truncated)


@dataclass(frozen=True, slots=True)
class SshAlgorithms(Observation):
    """The server's SSH_MSG_KEXINIT name-lists, in the server's order of preference."""

    kind: ClassVar[str] = "ssh_algorithms"
    kex: tuple[str, ...]  # markers such as kex-strict-s-v00@openssh.com and ext-info-s stay in
    host_key: tuple[str, ...]
    encryption_client_to_server: tuple[str, ...]
    encryption_server_to_client: tuple[str, ...]
    mac_client_to_server: tuple[str, ...]
    mac_server_to_client: tuple[str, ...]
    compression_client_to_server: tuple[str, ...]
    compression_server_to_client: tuple[str, ...]
    first_kex_packet_follows: bool


@dataclass(frozen=True, slots=True)
class SshHostCertificate:
    """An OpenSSH host certificate (PROTOCOL.certkeys) the server presented."""

    key_id: str
    serial: int
    principals: tuple[str, ...]
    valid_after: datetime | None  # None: from the beginning of time
    valid_before: datetime | None  # None: forever
    ca_key_type: str
    ca_key_bits: int
    ca_fingerprint_sha256: str
    signature_algorithm: str
    host_certificate: bool = True  # False: a user certificate presented as a host's
    ca_signature_valid: bool = True  # the CA's signature over the certificate verifies


@dataclass(frozen=True, slots=True)
class SshHostKey(Observation):
    """One host key, from a key exchange completed for one host-key algorithm."""

    kind: ClassVar[str] = "ssh_host_key"
    algorithm: str  # the host-key algorithm negotiated: "rsa-sha2-512", "ssh-ed25519-cert-v01@…"
    key_type: str  # the key's own type: "ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256" …
    bits: int
    fingerprint_sha256: str  # OpenSSH's format: "SHA256:" + unpadded base64
    certificate: SshHostCertificate | None = None
    # The key's signature over the exchange hash verified: the server holds the key.
    signature_valid: bool = True
    signature_problem: str | None = None


@dataclass(frozen=True, slots=True)
class SshGexModulus(Observation):
    """The prime a diffie-hellman-group-exchange server chose for one requested size."""

    kind: ClassVar[str] = "ssh_gex_modulus"
    kex: str
    requested_bits: tuple[int, int, int]  # min, n, max as sent
    modulus_bits: int


@dataclass(frozen=True, slots=True)
class SshAuthMethods(Observation):
    """The methods the server lists after a `none` USERAUTH_REQUEST for an unknown user."""

    kind: ClassVar[str] = "ssh_auth_methods"
    username: str
    methods: tuple[str, ...]  # as listed in USERAUTH_FAILURE; () if `none` itself succeeded
    none_accepted: bool


@dataclass(frozen=True, slots=True)
class PlaintextLoginService(Observation):
    """A telnet, rlogin, rsh or rexec service, confirmed by what it sent, not by its port."""

    kind: ClassVar[str] = "plaintext_login_service"
    protocol: str  # "telnet", "rlogin", "rsh", "rexec"
    confirmed_by: str  # in words: "telnet option negotiation (IAC DO TERMINAL-TYPE …)"
    banner: str  # what the server sent first, as sent; reports sanitise
