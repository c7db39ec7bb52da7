"""An SSH server from the outside: identification, KEXINIT, host keys, GEX moduli, auth methods.

Theory of operation. One connection sends our KEXINIT and reads the server's
identification and KEXINIT (proto/ssh with stop_after="kexinit"): that is
every algorithm list, in the server's order. Then, at once and within the
host's concurrency limit:

- one key exchange per host-key algorithm the server lists (and the codec can
  verify), each with the cheapest kex method both sides have, read up to the
  server's reply: the host key, its certificate, and whether its signature
  over the exchange hash verifies (the server holds the private key);
- per group-exchange method, the prime the server picks for two requests:
  OpenSSH's (2048, 3072, 8192) and one that admits 1024 bits (1024, 2048, 8192);
- the authentication methods offered to a user who does not exist, after a
  `none` request. That needs the session past NEWKEYS: our own transport
  (proto/ssh/userauth.py) where the server has one of its ciphers and MACs,
  else asyncssh with every algorithm it has (imported only then: ~0.1 s).

No connection ever authenticates or sends a password. A server that answers
SSH-1 only, stalls, closes or sends garbage gives an observation of what it
did; the probes after the first run only when the first succeeded.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable

from protoaudit.engine.drive import drive
from protoaudit.errors import TransportError
from protoaudit.observations import (
    ConnectionFailure,
    Observation,
    ProbeFailure,
    SshAlgorithms,
    SshAuthMethods,
    SshGexModulus,
    SshHostCertificate,
    SshHostKey,
    SshIdentification,
)
from protoaudit.probes.context import ProbeContext
from protoaudit.proto.ssh.certificates import HostKey
from protoaudit.proto.ssh.ident import Identification
from protoaudit.proto.ssh.kex import (
    DisconnectReceived,
    GexGroupReceived,
    IdentificationReceived,
    KexInitReceived,
    KexReplyReceived,
    KeyExchange,
    Malformed,
    NoCommonAlgorithm,
    UnsupportedVersion,
)
from protoaudit.proto.ssh.kexinit import KexInit
from protoaudit.proto.ssh.methods import (
    Family,
    kex_method_spec,
    supported_host_key_algorithms,
    supported_kex_methods,
)
from protoaudit.proto.ssh.offer import ClientOffer
from protoaudit.proto.ssh.userauth import AuthMethodsQuery, AuthMethodsReceived, QueryEvent

UNKNOWN_USER = "protoaudit-nosuchuser"
GEX_REQUESTS = ((2048, 3072, 8192), (1024, 2048, 8192))
# Cheapest first: a host key is as good from one kex method as from another.
KEX_PREFERENCE = (
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "mlkem768x25519-sha256",
    "diffie-hellman-group14-sha256",
    "diffie-hellman-group14-sha1",
    "diffie-hellman-group1-sha1",
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group-exchange-sha1",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
)
MAX_EXCHANGE_BYTES = 256 * 1024  # identification, KEXINIT and one reply fit many times over
PREFIX_SHOWN = 48  # bytes of a non-SSH answer quoted in the failure, for telling what it is
MAX_DETAIL = 400  # characters of a failure's detail: the reason, then the quoted bytes


async def _exchange(
    context: ProbeContext, machine: KeyExchange | AuthMethodsQuery, events: list[QueryEvent]
) -> None:
    """Drive `machine` over one connection to its end, appending every event to `events`."""
    async with context.connection() as conn:
        await drive(conn, machine, events, MAX_EXCHANGE_BYTES)


def _stopped_by(events: list[QueryEvent], probe: str) -> ProbeFailure | None:
    """A failure observation when the exchange ended badly, else None."""
    for event in events:
        if isinstance(event, Malformed):
            return ProbeFailure(probe, "malformed", str(event.error)[:300])
        if isinstance(event, DisconnectReceived):
            disconnect = event.disconnect
            return ProbeFailure(
                probe, "disconnect", f"{disconnect.reason_name}: {disconnect.description[:200]}"
            )
        if isinstance(event, NoCommonAlgorithm):
            return ProbeFailure(
                probe, "no-common-algorithm", f"{event.category}: server offers {event.server}"
            )
    return None


def _identification(found: Identification) -> SshIdentification:
    return SshIdentification(
        protocol_version=found.protocol_version,
        software=found.software,
        comments=found.comments,
        line=found.line,
        pre_banner=found.pre_banner,
    )


def _algorithms(kex_init: KexInit) -> SshAlgorithms:
    return SshAlgorithms(
        kex=kex_init.kex_algorithms,
        host_key=kex_init.server_host_key_algorithms,
        encryption_client_to_server=kex_init.encryption_algorithms_client_to_server,
        encryption_server_to_client=kex_init.encryption_algorithms_server_to_client,
        mac_client_to_server=kex_init.mac_algorithms_client_to_server,
        mac_server_to_client=kex_init.mac_algorithms_server_to_client,
        compression_client_to_server=kex_init.compression_algorithms_client_to_server,
        compression_server_to_client=kex_init.compression_algorithms_server_to_client,
        first_kex_packet_follows=kex_init.first_kex_packet_follows,
    )


def host_key_observation(reply: KexReplyReceived) -> SshHostKey:
    host_key: HostKey = reply.host_key
    certificate = host_key.certificate
    return SshHostKey(
        algorithm=reply.host_key_algorithm,
        key_type=host_key.key_type,
        bits=host_key.bits,
        fingerprint_sha256=host_key.fingerprint_sha256,
        certificate=None
        if certificate is None
        else SshHostCertificate(
            key_id=certificate.key_id,
            serial=certificate.serial,
            principals=certificate.valid_principals,
            valid_after=certificate.valid_after_time,
            valid_before=certificate.valid_before_time,
            ca_key_type=certificate.signature_key.key_type,
            ca_key_bits=certificate.signature_key.bits,
            ca_fingerprint_sha256=certificate.signature_key.fingerprint_sha256,
            signature_algorithm=certificate.signature.algorithm,
            host_certificate=certificate.host,
            ca_signature_valid=certificate.signature_valid(),
        ),
        signature_valid=reply.signature_valid,
        signature_problem=reply.problem,
    )


async def survey(context: ProbeContext) -> tuple[list[Observation], SshAlgorithms | None]:
    """The identification and KEXINIT; the algorithms when the server got that far."""
    machine = KeyExchange(
        ClientOffer("curve25519-sha256", "ssh-ed25519"), os.urandom, stop_after="kexinit"
    )
    events: list[QueryEvent] = []
    transport_error: TransportError | None = None
    try:
        await _exchange(context, machine, events)
    except TransportError as error:
        transport_error = error
    found: list[Observation] = []
    algorithms: SshAlgorithms | None = None
    for event in events:
        if isinstance(event, IdentificationReceived | UnsupportedVersion):
            found.append(_identification(event.identification))
        elif isinstance(event, KexInitReceived):
            algorithms = _algorithms(event.kex_init)
            found.append(algorithms)
    if algorithms is None:
        found.append(_survey_failure(events, transport_error, machine.received_prefix))
    return found, algorithms


def _survey_failure(
    events: list[QueryEvent], transport_error: TransportError | None, received: bytes
) -> ConnectionFailure:
    """Why the survey got no KEXINIT; before an identification, what the server sent instead."""
    if any(isinstance(event, UnsupportedVersion) for event in events):
        return ConnectionFailure("ssh", "ssh1-only", "the server speaks SSH-1 only")
    stopped = _stopped_by(events, "ssh")
    if transport_error is not None:
        reason, detail = transport_error.kind, transport_error.detail
    elif stopped is not None:
        reason, detail = stopped.reason, stopped.detail
    else:
        reason, detail = "no-kexinit", "the server sent no KEXINIT"
    identified = any(isinstance(event, IdentificationReceived) for event in events)
    if not identified and received:
        # repr() escapes every control byte: the detail is safe to show as it is.
        detail = f"{detail}; it began {received[:PREFIX_SHOWN]!r}"
    return ConnectionFailure("ssh", reason, detail[:MAX_DETAIL])


def _kex_for_keys(algorithms: SshAlgorithms) -> str | None:
    offered = set(algorithms.kex) & set(supported_kex_methods())
    return next((name for name in KEX_PREFERENCE if name in offered), None) or next(
        (name for name in algorithms.kex if name in offered), None
    )


async def probe_host_key(context: ProbeContext, kex: str, algorithm: str) -> list[Observation]:
    machine = KeyExchange(ClientOffer(kex, algorithm), os.urandom)
    events: list[QueryEvent] = []
    try:
        await _exchange(context, machine, events)
    except TransportError as error:
        return [ProbeFailure("ssh_host_keys", error.kind, f"{algorithm}: {error.detail}")]
    replies = [event for event in events if isinstance(event, KexReplyReceived)]
    if replies:
        return [host_key_observation(replies[0])]
    failure = _stopped_by(events, "ssh_host_keys")
    return [failure or ProbeFailure("ssh_host_keys", "no-reply", f"{algorithm}: no reply")]


async def probe_gex(
    context: ProbeContext, kex: str, host_key: str, sizes: tuple[int, int, int]
) -> list[Observation]:
    machine = KeyExchange(
        ClientOffer(kex, host_key), os.urandom, stop_after="gex_group", gex_sizes=sizes
    )
    events: list[QueryEvent] = []
    try:
        await _exchange(context, machine, events)
    except TransportError as error:
        return [ProbeFailure("ssh_gex", error.kind, f"{kex} {sizes}: {error.detail}")]
    for event in events:
        if isinstance(event, GexGroupReceived):
            return [SshGexModulus(kex=kex, requested_bits=sizes, modulus_bits=event.prime_bits)]
    failure = _stopped_by(events, "ssh_gex")
    return [failure or ProbeFailure("ssh_gex", "no-group", f"{kex} {sizes}: no group")]


async def probe_auth_methods(
    context: ProbeContext, kex: str | None, host_key: str | None
) -> list[Observation]:
    """Our own transport when the server has a cipher and MAC of ours, else asyncssh."""
    if kex is None or host_key is None:
        return await probe_auth_methods_asyncssh(context)
    machine = AuthMethodsQuery(kex, host_key, os.urandom, username=UNKNOWN_USER)
    events: list[QueryEvent] = []
    try:
        await _exchange(context, machine, events)
    except TransportError as error:
        return [ProbeFailure("ssh_auth_methods", error.kind, error.detail)]
    for event in events:
        if isinstance(event, AuthMethodsReceived):
            return [SshAuthMethods(UNKNOWN_USER, event.methods, event.none_accepted)]
    if any(isinstance(event, NoCommonAlgorithm) for event in events):
        return await probe_auth_methods_asyncssh(context)
    failure = _stopped_by(events, "ssh_auth_methods")
    return [failure or ProbeFailure("ssh_auth_methods", "no-answer", "no answer to `none`")]


async def probe_auth_methods_asyncssh(context: ProbeContext) -> list[Observation]:
    import asyncssh  # noqa: PLC0415 - heavy, and only SSH targets need it

    supported: dict[str, list[bytes]] = {
        "kex_algs": [name for name in asyncssh.kex.get_kex_algs() if not name.startswith(b"gss")],
        "server_host_key_algs": asyncssh.public_key.get_public_key_algs(),
        "encryption_algs": asyncssh.encryption.get_encryption_algs(),
        "mac_algs": asyncssh.mac.get_mac_algs(),
    }
    every = {key: [name.decode("ascii") for name in names] for key, names in supported.items()}
    options = asyncssh.SSHClientConnectionOptions(
        known_hosts=None,
        config=None,
        connect_timeout=context.timeouts.connect,
        login_timeout=context.timeouts.read * 3,
        **every,
    )
    try:
        async with (
            context.limiter.slot(context.address),
            asyncio.timeout(context.timeouts.read * 4),
        ):
            methods = await asyncssh.get_server_auth_methods(
                context.address, context.port, UNKNOWN_USER, options=options
            )
    except TimeoutError:
        return [ProbeFailure("ssh_auth_methods", "timeout", "no answer to the auth request")]
    except (OSError, asyncssh.Error) as error:
        detail = str(error)[:300] or type(error).__name__
        return [ProbeFailure("ssh_auth_methods", "ssh", detail)]
    except Exception as error:  # noqa: BLE001 - see below
        # asyncssh hands any exception its parser raised on the server's bytes to the
        # caller (a zero packet_length gives PacketDecodeError, a ValueError): that is
        # the server's doing, and must not take the other probes' results with it.
        detail = f"asyncssh failed on the server's bytes: {type(error).__name__}: {error}"
        return [ProbeFailure("ssh_auth_methods", "ssh-client-error", detail[:300])]
    names = tuple(str(method) for method in methods)
    return [SshAuthMethods(username=UNKNOWN_USER, methods=names, none_accepted="none" in names)]


async def run_ssh_probes(context: ProbeContext, sink: list[Observation]) -> None:
    found, algorithms = await survey(context)
    sink.extend(found)
    if algorithms is None:
        return
    jobs: list[Awaitable[list[Observation]]] = []
    kex = _kex_for_keys(algorithms)
    supported = set(supported_host_key_algorithms())
    for host_key in algorithms.host_key:
        if host_key not in supported:
            sink.append(ProbeFailure("ssh_host_keys", "unsupported", f"{host_key}: not verified"))
        elif kex is not None:
            jobs.append(probe_host_key(context, kex, host_key))
    usable_key = next((name for name in algorithms.host_key if name in supported), None)
    gex = [
        method
        for method in algorithms.kex
        if method in supported_kex_methods()
        and kex_method_spec(method).family is Family.GROUP_EXCHANGE
    ]
    if usable_key is not None:
        jobs += [probe_gex(context, m, usable_key, sizes) for m in gex for sizes in GEX_REQUESTS]
    jobs.append(probe_auth_methods(context, kex, usable_key))
    results: list[list[Observation]] = [[] for _ in jobs]

    async def run(index: int, job: Awaitable[list[Observation]]) -> None:
        results[index] = await job

    try:
        async with asyncio.TaskGroup() as group:
            for index, job in enumerate(jobs):
                group.create_task(run(index, job))
    finally:
        # What finished, in the jobs' order, even when the target's deadline cancelled
        # the rest: the scan then says the results are partial, and they are.
        for result in results:
            sink.extend(result)
