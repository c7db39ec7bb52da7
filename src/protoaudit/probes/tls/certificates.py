"""The certificate chains a server sends, fetched with a real TLS stack, then validated.

Theory of operation. Our own codec enumerates versions and suites; the chain
comes from a full pyOpenSSL handshake because only a complete handshake shows
what a client really receives (the whole chain as sent, the stapled OCSP
response, the version and suite chosen). pyOpenSSL blocks, so each handshake
runs in a worker thread over a non-blocking socket: every wait for the peer has
`timeout`, the whole handshake has an overall deadline, and OpenSSL's own limit
on the certificate list (100 KiB) bounds what a peer can make us hold.

We verify nothing during the handshake (verify mode NONE, security level 0, so
that weak keys and SHA-1 signatures are seen rather than refused) and validate
afterwards with `protoaudit.x509_checks`.

A server may hold an RSA and an ECDSA certificate and pick one by what the
client offers. Besides the default handshake we run one that offers only RSA
signature algorithms and RSA-authenticated TLS 1.2 suites, and one that offers
only ECDSA; a server without that kind of key answers with a handshake_failure
alert, which means "no chain of this type", not a failure. Chains are
deduplicated by their leaf.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import ipaddress
import selectors
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from OpenSSL import SSL, crypto

from protoaudit.errors import TransportError
from protoaudit.observations import CertificateChain, Observation, ProbeFailure
from protoaudit.registry import tls as registry
from protoaudit.x509_checks import TrustRoots, TrustStoreError, describe, load_roots, validate

__all__ = [
    "KEY_TYPES",
    "ChainFetch",
    "ConnectFn",
    "FetchFailure",
    "fetch_chain",
    "probe_certificates",
]

PROBE = "certificates"

# (host, port, timeout) -> a connected socket. Called in the worker thread; a proxy
# or a STARTTLS dialog plugs in here and hands over a socket ready for the ClientHello.
ConnectFn = Callable[[str, int, float], socket.socket]

KEY_TYPES = ("RSA", "ECDSA")

# Security level 0: see weak keys and signatures instead of refusing them. The
# default offer leaves out anonymous suites, which would get us no certificate.
_CIPHERS = {
    None: b"ALL:eNULL:!aNULL:@SECLEVEL=0",
    "RSA": b"aRSA:@SECLEVEL=0",
    "ECDSA": b"aECDSA:@SECLEVEL=0",
}
# TLS 1.3 picks the certificate by signature_algorithms alone.
_SIGNATURE_ALGORITHMS = {
    "RSA": b"rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:"
    b"rsa_pss_pss_sha256:rsa_pss_pss_sha384:rsa_pss_pss_sha512:"
    b"rsa_pkcs1_sha256:rsa_pkcs1_sha384:rsa_pkcs1_sha512:rsa_pkcs1_sha1",
    "ECDSA": b"ecdsa_secp256r1_sha256:ecdsa_secp384r1_sha384:ecdsa_secp521r1_sha512:ecdsa_sha1",
}
# Alerts that answer a key-type-restricted offer with "I have no such certificate".
# OpenSSL's words when the bytes back are not TLS records at all.
_NOT_TLS = ("wrong version number", "packet length too long", "unknown protocol", "http request")


@dataclass(frozen=True, slots=True)
class ChainFetch:
    """One completed handshake: what the server sent, before any validation."""

    server_name: str | None  # SNI sent; None when none was (no name, or an IP literal)
    requested_key_type: str | None
    version: int  # 0x0301 … 0x0304
    cipher_name: str  # OpenSSL's name, as OpenSSL reported it
    cipher_suite: int | None  # IANA code; None when the registry does not know the name
    certificates_der: tuple[bytes, ...]  # as sent, leaf first
    ocsp_response: bytes  # b"" when nothing was stapled

    @property
    def ocsp_stapled(self) -> bool:
        return bool(self.ocsp_response)


@dataclass(frozen=True, slots=True)
class FetchFailure:
    """A handshake that did not complete, and why."""

    requested_key_type: str | None
    reason: str  # a TransportError kind, "alert", "no-tls", "handshake" or "bad-server-name"
    detail: str


class _Stalled(Exception):
    """The peer did not answer in time; internal to the worker thread."""


async def fetch_chain(
    host: str,
    port: int,
    *,
    server_name: str | None,
    key_type: str | None,
    timeout: float,
    connect: ConnectFn | None = None,
    deadline: float | None = None,
) -> ChainFetch | FetchFailure:
    """One full handshake; the chain, version, suite and stapled OCSP response it showed.

    `timeout` bounds the connect and each wait for the peer; `deadline` (default
    twice `timeout`) bounds the whole handshake. `key_type` is None, "RSA" or
    "ECDSA". Expected outcomes (refused, timed out, alert, not TLS) come back as
    FetchFailure. Cancelling the await returns at once; the worker thread ends by
    itself within the deadline.
    """
    if key_type not in (None, *KEY_TYPES):
        raise ValueError(f"key_type must be None, 'RSA' or 'ECDSA', not {key_type!r}")
    return await asyncio.to_thread(
        _fetch_blocking,
        host,
        port,
        server_name=server_name,
        key_type=key_type,
        timeout=timeout,
        deadline=2 * timeout if deadline is None else deadline,
        connect=connect or _connect_tcp,
    )


def _connect_tcp(host: str, port: int, timeout: float) -> socket.socket:
    return socket.create_connection((host, port), timeout=timeout)


def _sni(server_name: str | None) -> bytes | None:
    """The SNI bytes to send. RFC 6066 section 3: never an IP literal."""
    if not server_name:
        return None
    try:
        ipaddress.ip_address(server_name.strip("[]"))
    except ValueError:
        return server_name.rstrip(".").encode("idna")
    return None


def _fetch_blocking(
    host: str,
    port: int,
    *,
    server_name: str | None,
    key_type: str | None,
    timeout: float,
    deadline: float,
    connect: ConnectFn,
) -> ChainFetch | FetchFailure:
    try:
        sni = _sni(server_name)
    except UnicodeError as error:
        return FetchFailure(key_type, "bad-server-name", f"{server_name!r}: {error}")
    try:
        sock = connect(host, port, min(timeout, deadline))
    except TransportError as error:
        return FetchFailure(key_type, error.kind, error.detail)
    except OSError as error:
        return FetchFailure(key_type, *_os_error(error, f"connect to {host}:{port}"))
    with sock:
        try:
            return _handshake(sock, sni, key_type, timeout, time.monotonic() + deadline)
        except _Stalled as stalled:
            return FetchFailure(key_type, TransportError.TIMEOUT, str(stalled))
        except SSL.ZeroReturnError:
            return FetchFailure(key_type, TransportError.CLOSED, "peer closed the connection")
        except SSL.SysCallError as error:
            return FetchFailure(key_type, *_syscall_error(error))
        except SSL.Error as error:
            return FetchFailure(key_type, *_tls_error(error))
        except OSError as error:
            return FetchFailure(key_type, *_os_error(error, "handshake"))


def _context(key_type: str | None, stapled: list[bytes]) -> SSL.Context:
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_verify(SSL.VERIFY_NONE)
    # Explicit, so that a system-wide crypto policy cannot hide an old server's chain.
    context.set_min_proto_version(SSL.TLS1_VERSION)
    context.set_cipher_list(_CIPHERS[key_type])

    def remember_ocsp(_connection: SSL.Connection, response: bytes, _data: object) -> bool:
        stapled.append(response)
        return True  # we judge nothing during the handshake

    context.set_ocsp_client_callback(remember_ocsp)
    if key_type is not None and not _restrict_signature_algorithms(context, key_type):
        # Without signature_algorithms control, only the TLS 1.2 suite list chooses.
        context.set_max_proto_version(SSL.TLS1_2_VERSION)
    return context


def _restrict_signature_algorithms(context: SSL.Context, key_type: str) -> bool:
    """Offer only this key type's signature algorithms; False when we cannot.

    pyOpenSSL has no public call for SSL_CTX_set1_sigalgs_list, so this uses the
    binding its own module uses, and falls back when a release drops it.
    """
    try:
        from OpenSSL._util import lib  # noqa: PLC0415

        setter = lib.SSL_CTX_set1_sigalgs_list
        raw_context = context._context
    except (ImportError, AttributeError):
        return False
    return bool(setter(raw_context, _SIGNATURE_ALGORITHMS[key_type]) == 1)


def _handshake(
    sock: socket.socket, sni: bytes | None, key_type: str | None, timeout: float, end: float
) -> ChainFetch:
    stapled: list[bytes] = []
    sock.setblocking(False)
    connection = SSL.Connection(_context(key_type, stapled), sock)
    connection.set_connect_state()
    if sni is not None:
        connection.set_tlsext_host_name(sni)
    connection.request_ocsp()
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        while True:
            try:
                connection.do_handshake()
                break
            except SSL.WantReadError:
                _wait(selector, sock, selectors.EVENT_READ, timeout, end)
            except SSL.WantWriteError:
                _wait(selector, sock, selectors.EVENT_WRITE, timeout, end)
    cipher_name = connection.get_cipher_name() or ""
    fetch = ChainFetch(
        server_name=sni.decode("ascii", "replace") if sni is not None else None,
        requested_key_type=key_type,
        version=connection.get_protocol_version(),
        cipher_name=cipher_name,
        cipher_suite=_cipher_code(cipher_name),
        certificates_der=_peer_chain_der(connection),
        ocsp_response=stapled[0] if stapled else b"",
    )
    with contextlib.suppress(SSL.Error, OSError):
        connection.shutdown()  # one close_notify, no wait for the peer's
    return fetch


def _wait(
    selector: selectors.BaseSelector, sock: socket.socket, events: int, timeout: float, end: float
) -> None:
    remaining = end - time.monotonic()
    if remaining <= 0:
        raise _Stalled("handshake did not finish within the deadline")
    selector.modify(sock, events)
    if not selector.select(min(timeout, remaining)):
        if remaining <= timeout:
            raise _Stalled("handshake did not finish within the deadline")
        raise _Stalled(f"no data within {timeout:g}s")


def _peer_chain_der(connection: SSL.Connection) -> tuple[bytes, ...]:
    try:
        chain = connection.get_peer_cert_chain(as_cryptography=True) or []
        return tuple(certificate.public_bytes(Encoding.DER) for certificate in chain)
    except ValueError:
        # cryptography refused a certificate that OpenSSL accepted: keep its bytes,
        # the probe reports it as unparseable.
        raw_chain = connection.get_peer_cert_chain() or []
        return tuple(crypto.dump_certificate(crypto.FILETYPE_ASN1, cert) for cert in raw_chain)


def _cipher_code(name: str) -> int | None:
    try:
        code: int = registry.cipher_suite_by_name(name).code
    except KeyError:
        return None
    return code


def _os_error(error: OSError, where: str) -> tuple[str, str]:
    detail = f"{where}: {error.strerror or error or type(error).__name__}"
    if isinstance(error, TimeoutError):
        return TransportError.TIMEOUT, detail
    if isinstance(error, ConnectionRefusedError):
        return TransportError.REFUSED, detail
    if isinstance(error, socket.gaierror):
        return TransportError.RESOLVE, detail
    if error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
        return TransportError.UNREACHABLE, detail
    return TransportError.RESET, detail


def _syscall_error(error: SSL.SysCallError) -> tuple[str, str]:
    number, message = (*error.args, None, None)[:2]
    if number == -1 or number is None:  # OpenSSL's "Unexpected EOF"
        return TransportError.CLOSED, "peer closed the connection during the handshake"
    if number == errno.ECONNRESET:
        return TransportError.RESET, "peer reset the connection during the handshake"
    return TransportError.RESET, f"handshake: {message}"


def _tls_error(error: SSL.Error) -> tuple[str, str]:
    reasons: list[str] = []
    if error.args and isinstance(error.args[0], list):
        reasons = [str(entry[2]) for entry in error.args[0] if isinstance(entry, tuple)]
    detail = "; ".join(reason for reason in reasons if reason) or "handshake failed"
    lowered = detail.lower()
    if "alert" in lowered:
        return "alert", detail
    if any(marker in lowered for marker in _NOT_TLS):
        return "no-tls", detail
    if "unexpected eof" in lowered:
        return TransportError.CLOSED, detail
    return "handshake", detail


# ---------------------------------------------------------------- the probe


async def probe_certificates(
    host: str,
    port: int,
    *,
    server_name: str | None,
    hostname_to_check: str | None,
    ca_file: str | None,
    timeout: float,
    now: datetime,
    connect: ConnectFn | None = None,
) -> list[Observation]:
    """CertificateChain observations for the default, RSA and ECDSA chains.

    `hostname_to_check` defaults to `server_name`, then `host`. `ca_file` replaces
    the Mozilla roots. `now` is timezone-aware. Every outcome is an observation:
    only cancellation escapes.
    """
    try:
        return await _probe(
            host,
            port,
            server_name=server_name,
            hostname=hostname_to_check or server_name or host,
            ca_file=ca_file,
            timeout=timeout,
            now=now,
            connect=connect,
        )
    except Exception as error:  # noqa: BLE001 - a bug of ours must not end the scan
        # Recorded like any failure, so the report shows it and the other probes go on.
        return [ProbeFailure(PROBE, "internal-error", f"{type(error).__name__}: {error}")]


async def _probe(
    host: str,
    port: int,
    *,
    server_name: str | None,
    hostname: str,
    ca_file: str | None,
    timeout: float,
    now: datetime,
    connect: ConnectFn | None,
) -> list[Observation]:
    try:
        roots = await asyncio.to_thread(load_roots, ca_file)
    except TrustStoreError as error:
        return [ProbeFailure(PROBE, "trust-store", str(error))]
    # With a name, also once without SNI: old clients get the server's default
    # certificate, which may be another one.
    attempts = [(server_name, kind) for kind in (None, *KEY_TYPES)]
    if server_name is not None:
        attempts.append((None, None))
    fetches = await asyncio.gather(
        *(
            fetch_chain(
                host, port, server_name=name, key_type=kind, timeout=timeout, connect=connect
            )
            for name, kind in attempts
        )
    )
    observations: list[Observation] = []
    leaves_seen: set[bytes] = set()
    for (name, _), fetch in zip(attempts, fetches, strict=True):
        label = f"{fetch.requested_key_type or 'default'} chain" + ("" if name else " without SNI")
        if isinstance(fetch, FetchFailure):
            if _worth_reporting(fetch) and name == server_name:
                observations.append(ProbeFailure(PROBE, fetch.reason, f"{label}: {fetch.detail}"))
            continue
        if not fetch.certificates_der:
            observations.append(ProbeFailure(PROBE, "no-certificate", f"{label}: none sent"))
            continue
        leaf = hashlib.sha256(fetch.certificates_der[0]).digest()
        if leaf in leaves_seen:
            continue
        leaves_seen.add(leaf)
        observations.extend(_observe(fetch, label, hostname, roots, now))
    return observations


def _worth_reporting(failure: FetchFailure) -> bool:
    """Only the default handshake's failure is news.

    When the default handshake worked, a restricted one that fails means the
    server has no key of that type: servers say so with a handshake_failure
    alert, or (Python's asyncio TLS server, some appliances) by just closing.
    When the default failed too, its report says it all.
    """
    return failure.requested_key_type is None


def _observe(
    fetch: ChainFetch, label: str, hostname: str, roots: TrustRoots, now: datetime
) -> Sequence[Observation]:
    try:
        certificates = [x509.load_der_x509_certificate(der) for der in fetch.certificates_der]
    except ValueError as error:
        return [
            ProbeFailure(PROBE, "bad-certificate", f"{label}: cannot parse a certificate: {error}")
        ]
    result = validate(
        fetch.certificates_der,
        hostname=hostname,
        roots=roots,
        now=now,
        ocsp_stapled=fetch.ocsp_stapled,
    )
    observations: list[Observation] = [
        CertificateChain(
            server_name=fetch.server_name,
            requested_key_type=fetch.requested_key_type,
            version=fetch.version,
            # None: the registry did not know OpenSSL's name for it (reported below).
            cipher_suite=fetch.cipher_suite,
            certificates=tuple(describe(certificate) for certificate in certificates),
            trust_store=roots.description,
            trusted=result.trusted,
            trust_error=result.trust_error,
            hostname_checked=result.hostname_checked,
            hostname_matches=result.hostname_matches,
            not_yet_valid=result.not_yet_valid,
            expired=result.expired,
            days_left=result.days_left,
            self_signed=result.self_signed,
            chain_incomplete=result.chain_incomplete,
            ocsp_stapled=result.ocsp_stapled,
        )
    ]
    if fetch.cipher_suite is None:
        observations.append(
            ProbeFailure(
                PROBE,
                "unknown-cipher",
                f"{label}: the registry has no code for OpenSSL's suite {fetch.cipher_name!r}",
            )
        )
    return observations
