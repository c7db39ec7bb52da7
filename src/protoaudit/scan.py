"""Audit many targets: resolve, check reachability, run the probes, judge, stream results.

Targets stream in and results stream out, with at most `parallel_targets` in
flight, so memory stays flat however long the target list is. One target's
failure is its own result; it never stops the others.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from protoaudit.engine.dialog import StartTlsFailed, run_dialog
from protoaudit.engine.limits import Limiter
from protoaudit.engine.transport import Timeouts, connect, resolve
from protoaudit.errors import ProtoauditError, TargetError, TransportError
from protoaudit.observations import (
    CertificateChain,
    ConnectionFailure,
    Observation,
    ProbeFailure,
    ServiceDetected,
    StartTlsDialog,
)
from protoaudit.observations_dns import DnssecStatus
from protoaudit.policy import evaluate, grade
from protoaudit.probes.context import ProbeContext
from protoaudit.proto.remote_login import parse_telnet
from protoaudit.proto.starttls import dialog_factory, guess_from_greeting
from protoaudit.proto.starttls.base import Dialog, DialogOutcome
from protoaudit.results import TargetResult

if TYPE_CHECKING:
    from protoaudit.probes.dnssec_settings import ValidationSettings
from protoaudit.targets import SERVICES, Target


@dataclass(frozen=True, slots=True)
class AuditOptions:
    timeout: float = 5.0  # each connect and each read
    target_deadline: float = 300.0  # the whole audit of one target
    concurrency: int = 40  # connections open at once, all targets together
    per_host: int = 8  # connections open at once to one address
    parallel_targets: int = 10
    family: int = socket.AF_UNSPEC
    ca_file: str | None = None
    all_addresses: bool = False  # every address of a name, not just the first
    # DNSSEC: one server to ask for everything ("addr[:port]"), else iterate from the
    # root servers (default: the packaged root hints), trusting these anchors (a file of
    # DS or DNSKEY records; default: IANA's root KSKs).
    dns_server: str | None = None
    root_servers: tuple[str, ...] = ()
    trust_anchor_file: str | None = None
    # TLS targets: check the TLSA records at _PORT._tcp.HOST against the chains seen,
    # and the CAA records of HOST against the chain's issuer.
    dane: bool = False
    caa_issuer: tuple[str, ...] = ()  # CAA domains of the issuing CA (a private CA's)
    # socks5:// and socks4://: the only place a proxy is ever asked to CONNECT to, to
    # prove it open; None: never.
    socks_probe_target: tuple[str, int] | None = None
    fetch_wkd: bool = False  # openpgpkey: fetch the Web Key Directory URLs too

    @property
    def own_dns(self) -> bool:
        """Names resolve through the DNSSEC validator, not the system resolver."""
        return bool(self.dns_server or self.root_servers or self.trust_anchor_file)

    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def _dialog_observation(outcome: DialogOutcome, *, upgraded: bool = True) -> StartTlsDialog:
    return StartTlsDialog(
        protocol=outcome.protocol,
        banner=outcome.banner,
        capabilities_before=outcome.capabilities_before,
        starttls_offered=outcome.starttls_offered,
        plaintext_auth_offered=outcome.plaintext_auth_offered,
        upgraded=upgraded,
        failure=outcome.failure,
    )


async def _run_family(
    context: ProbeContext, target: Target, options: AuditOptions, observations: list[Observation]
) -> None:
    # Imported here, not at the top: an SSH audit need not load pyOpenSSL and the
    # TLS codec, nor a TLS audit asyncssh (start-up time is most of a quick audit).
    service = SERVICES[target.service]
    if service.family == "ssh":
        from protoaudit.probes.ssh import run_ssh_probes  # noqa: PLC0415

        await run_ssh_probes(context, observations)
    elif service.family == "ike":
        from protoaudit.probes.ike import run_ike_probes  # noqa: PLC0415

        await run_ike_probes(context, observations)
    elif service.family == "openvpn":
        from protoaudit.probes.openvpn import run_openvpn_probes  # noqa: PLC0415

        await run_openvpn_probes(context, target.transport, observations)
    elif service.family == "socks":
        from protoaudit.probes.socks import run_socks_probes  # noqa: PLC0415

        version = 4 if service.name == "socks4" else 5
        await run_socks_probes(context, version, options.socks_probe_target, observations)
    elif service.family == "remote-login":
        from protoaudit.probes.remote_login import run_remote_login_probe  # noqa: PLC0415

        await run_remote_login_probe(context, service.name, observations)
    else:
        from protoaudit.probes.starttls import run_starttls_probes  # noqa: PLC0415
        from protoaudit.probes.tls import run_tls_probes  # noqa: PLC0415

        await asyncio.gather(
            run_tls_probes(context, observations),
            run_starttls_probes(context, service, observations),
        )


async def _reachable(
    target: Target,
    address: str,
    *,
    timeouts: Timeouts,
    limiter: Limiter,
    dialog: Callable[[], Dialog] | None,
    observations: list[Observation],
) -> bool:
    """Connect once (and run the STARTTLS dialog once); False, with the reason, if not."""
    started_dialog: Dialog | None = None
    try:
        async with limiter.slot(address):
            conn = await connect(address, target.port, timeouts=timeouts)
            async with conn:
                if dialog is not None:
                    started_dialog = dialog()
                    outcome = await run_dialog(conn, started_dialog)
                    observations.append(_dialog_observation(outcome))
    except StartTlsFailed as failure:
        observations.append(_dialog_observation(failure.outcome, upgraded=False))
        observations.append(
            ConnectionFailure(stage="starttls", reason=failure.kind, detail=failure.detail)
        )
        return False
    except TransportError as error:
        if started_dialog is not None:
            # A stall or reset mid-dialog: what the server did say is still evidence.
            seen = replace(started_dialog.outcome, failure=f"{error.kind}: {error.detail}")
            observations.append(_dialog_observation(seen, upgraded=False))
        stage = "connect" if started_dialog is None and not observations else "starttls"
        observations.append(ConnectionFailure(stage=stage, reason=error.kind, detail=error.detail))
        return False
    return True


async def _probe_address(
    target: Target,
    address: str,
    options: AuditOptions,
    limiter: Limiter,
    *,
    started: datetime,
    observations: list[Observation],
) -> None:
    timeouts = Timeouts(connect=options.timeout, read=options.timeout)
    service = SERVICES[target.service]
    try:
        name = target.server_name or target.host
        dialog = dialog_factory(service.dialog, name) if service.dialog else None
        replay = dialog_factory(service.dialog, name, replay=True) if service.dialog else None
    except TargetError as error:
        observations.append(
            ConnectionFailure(stage="starttls", reason="unsupported", detail=str(error))
        )
        return
    # One connect first: a closed or filtered port is one observation, not fifty;
    # and a STARTTLS service shows its plaintext side once, here. UDP has no connect:
    # IKE and OpenVPN over UDP find out from their first exchange.
    if target.transport != "udp" and not await _reachable(
        target,
        address,
        timeouts=timeouts,
        limiter=limiter,
        dialog=dialog,
        observations=observations,
    ):
        return
    context = ProbeContext(
        host=target.host,
        address=address,
        port=target.port,
        server_name=target.server_name,
        timeouts=timeouts,
        limiter=limiter,
        ca_file=options.ca_file,
        now=started,
        dialog=replay,
    )
    try:
        async with asyncio.timeout(options.target_deadline):
            await _run_family(context, target, options, observations)
    except TimeoutError:
        observations.append(
            ProbeFailure(
                probe="target",
                reason="deadline",
                detail=f"audit stopped after {options.target_deadline:g}s; results are partial",
            )
        )
    except Exception as error:  # noqa: BLE001 - a bug in one probe must not lose the batch
        observations.append(
            ProbeFailure(probe="target", reason="internal-error", detail=repr(error)[:500])
        )


async def _greeting(address: str, port: int, timeout: float, limiter: Limiter) -> bytes:
    """What a server says first, if anything, within `timeout`."""
    timeouts = Timeouts(connect=timeout, read=timeout)
    try:
        async with limiter.slot(address), await connect(address, port, timeouts=timeouts) as conn:
            return await conn.receive()
    except TransportError:
        return b""


def _guess_service(greeting: bytes) -> str | None:
    """The service a server-first greeting names: SSH, telnet, or a STARTTLS one."""
    if greeting.startswith(b"SSH-"):
        return "ssh"
    if parse_telnet(greeting[:512]).negotiates and greeting[:1] == b"\xff":
        return "telnet"
    return guess_from_greeting(greeting)


def _not_tls(target: Target, observations: list[Observation]) -> bool:
    """A bare host:port (no scheme, no --starttls) where TLS found no TLS at all."""
    return (
        target.service == "tls"
        and "://" not in target.original
        and any(isinstance(o, ConnectionFailure) and o.reason == "no-tls" for o in observations)
    )


def _swept_elsewhere(target: Target, observations: list[Observation]) -> bool:
    """A whole-host port that answered, but not as its well-known service."""
    return target.sweep and any(
        isinstance(o, ConnectionFailure) and o.stage not in ("connect", "resolve")
        for o in observations
    )


async def _audit_address(
    target: Target,
    address: str,
    options: AuditOptions,
    limiter: Limiter,
    dns_facts: tuple[Observation, ...] = (),
) -> TargetResult:
    started = options.now()
    clock = time.monotonic()
    observations: list[Observation] = []
    await _probe_address(
        target, address, options, limiter, started=started, observations=observations
    )
    if _not_tls(target, observations) or _swept_elsewhere(target, observations):
        # Mail, FTP, news, SSH and telnet servers greet first: the greeting says
        # which audit applies, so a bare host:2525 or host:2222 still gets it.
        greeting = await _greeting(address, target.port, options.timeout, limiter)
        service = _guess_service(greeting)
        if service is not None and service != target.service:
            # The result keeps the target as the user gave it; the observation
            # says which service was audited instead.
            observations = [
                ServiceDetected(service=service, greeting=greeting[:200].decode("latin-1"))
            ]
            await _probe_address(
                replace(target, service=service),
                address,
                options,
                limiter,
                started=started,
                observations=observations,
            )
    if options.dane and SERVICES[target.service].family == "tls" and not target.is_ip:
        observations += await _dane(target, options, observations, started)
    frozen = (*dns_facts, *observations)
    unjudged = TargetResult(target, address, started, 0.0, frozen, (), None)
    if unjudged.closed:
        # A whole-host audit asks every well-known port; a closed one is an answer.
        return unjudged
    findings = evaluate(frozen)
    return TargetResult(
        target=target,
        address=address,
        started=started,
        duration_seconds=round(time.monotonic() - clock, 3),
        observations=frozen,
        findings=findings,
        grade=grade(frozen, findings),
    )


def _dns_settings(options: AuditOptions) -> ValidationSettings:
    """Where DNSSEC validation asks and what it trusts; ValueError for a bad option."""
    from protoaudit.probes.dnssec_settings import validation_settings  # noqa: PLC0415

    return validation_settings(options.dns_server, options.root_servers, options.trust_anchor_file)


async def _audit_dnssec(target: Target, options: AuditOptions) -> TargetResult:
    """Validate a name's chain of trust: no address of its own, no connection to it."""
    from protoaudit.probes.dnssec import validate_name  # noqa: PLC0415

    started = options.now()
    clock = time.monotonic()
    observations: tuple[Observation, ...]
    try:
        settings = _dns_settings(options)
    except ValueError as error:
        observations = (ProbeFailure("dnssec", "bad-option", str(error)[:300]),)
    else:
        status = await validate_name(
            target.host,
            target.dns_type,
            timeout=options.timeout,
            deadline=min(options.target_deadline, 60.0),
            now=started,
            server=settings.server,
            root_servers=settings.root_servers,
            trust_anchors=settings.trust_anchors,
        )
        observations = (status,)
    return TargetResult(
        target=target,
        address="",
        started=started,
        duration_seconds=round(time.monotonic() - clock, 3),
        observations=observations,
        findings=evaluate(observations),
        grade=None,
    )


async def _audit_target(
    target: Target, options: AuditOptions, limiter: Limiter
) -> list[TargetResult]:
    """One result per address audited: the first, or with all_addresses every one."""
    if SERVICES[target.service].family == "dnssec":
        return [await _audit_dnssec(target, options)]
    if SERVICES[target.service].family == "mail":
        return await _audit_mail_domain(target, options, limiter)
    if SERVICES[target.service].family == "openpgpkey":
        return [await _audit_openpgpkey(target, options)]
    dns_facts: tuple[Observation, ...] = ()
    try:
        if options.own_dns and not target.is_ip:
            addresses, dns_facts = await _resolve_validated(target, options)
        else:
            addresses = await resolve(
                target.host, target.port, family=options.family, timeout=options.timeout
            )
    except TransportError as error:
        addresses, dns_facts = (
            [],
            (ConnectionFailure(stage="resolve", reason=error.kind, detail=error.detail),),
        )
    if not addresses:
        if not any(isinstance(o, ConnectionFailure) for o in dns_facts):
            why = "; ".join(
                f"{o.rdtype}: {o.status} {o.reason or ''}".strip()
                for o in dns_facts
                if isinstance(o, DnssecStatus)
            )
            detail = f"{target.host}: no address through the validator ({why})"
            dns_facts += (ConnectionFailure(stage="resolve", reason="resolve", detail=detail),)
        return [TargetResult(target, "", options.now(), 0.0, dns_facts, evaluate(dns_facts), None)]
    chosen = addresses if options.all_addresses else addresses[:1]
    return list(
        await asyncio.gather(
            *(_audit_address(target, a, options, limiter, dns_facts) for a in chosen)
        )
    )


async def _audit_openpgpkey(target: Target, options: AuditOptions) -> TargetResult:
    """The OpenPGP key published in DNS for a mail address, audited like a key file."""
    from protoaudit.pgp_command import audit_openpgpkey  # noqa: PLC0415

    started = options.now()
    clock = time.monotonic()
    observations: tuple[Observation, ...]
    try:
        settings = _dns_settings(options)
        found = await audit_openpgpkey(
            target.host,
            settings,
            timeout=options.timeout,
            now=started,
            fetch_wkd=options.fetch_wkd,
            deadline=min(options.target_deadline, 60.0),
        )
        observations = tuple(found)
    except (ValueError, ProtoauditError) as error:
        observations = (ProbeFailure("openpgpkey", "bad-input", str(error)[:300]),)
    duration = round(time.monotonic() - clock, 3)
    findings = evaluate(observations)
    return TargetResult(target, "", started, duration, observations, findings, None)


async def _audit_mail_domain(
    target: Target, options: AuditOptions, limiter: Limiter
) -> list[TargetResult]:
    """Every MX host of the domain, best preference first, as SMTP with STARTTLS and DANE."""
    from protoaudit.probes.dane import mail_exchangers  # noqa: PLC0415

    try:
        settings = _dns_settings(options)
    except ValueError as error:
        failure: tuple[Observation, ...] = (ProbeFailure("mail", "bad-option", str(error)[:300]),)
        return [TargetResult(target, "", options.now(), 0.0, failure, evaluate(failure), None)]
    hosts, status = await mail_exchangers(
        target.host, settings, timeout=options.timeout, now=options.now()
    )
    if not hosts:
        detail = f"{target.host}: no MX host ({status.status}: {status.detail[:200]})"
        none: tuple[Observation, ...] = (
            status,
            ConnectionFailure(stage="resolve", reason="no-mx", detail=detail),
        )
        return [TargetResult(target, "", options.now(), 0.0, none, evaluate(none), None)]
    dane_options = replace(options, dane=True)
    results: list[TargetResult] = []
    for host in hosts:
        smtp = Target(host, target.port, "smtp", original=f"{target.original} MX {host}")
        for result in await _audit_target(smtp, dane_options, limiter):
            seen = (status, *result.observations)
            results.append(replace(result, observations=seen, findings=evaluate(seen)))
    return results


async def _resolve_validated(
    target: Target, options: AuditOptions
) -> tuple[list[str], tuple[Observation, ...]]:
    """Addresses from the DNSSEC validator (maybe none), and the verdicts of their RRsets."""
    from protoaudit.probes.dane import resolve_validated  # noqa: PLC0415

    try:
        settings = _dns_settings(options)
    except ValueError as error:
        raise TransportError(TransportError.RESOLVE, str(error)) from None
    addresses, statuses = await resolve_validated(
        target.host, settings, timeout=options.timeout, now=options.now()
    )
    if options.family == socket.AF_INET:
        addresses = [a for a in addresses if ":" not in a]
    elif options.family == socket.AF_INET6:
        addresses = [a for a in addresses if ":" in a]
    return addresses, tuple(statuses)


async def _dane(
    target: Target, options: AuditOptions, observations: list[Observation], started: datetime
) -> list[Observation]:
    from protoaudit.probes.dane import caa_observation, dane_observations  # noqa: PLC0415

    try:
        settings = _dns_settings(options)
    except ValueError as error:
        return [ProbeFailure("dane", "bad-option", str(error)[:300])]
    chains = [o for o in observations if isinstance(o, CertificateChain)]
    found = await dane_observations(
        target.host, target.port, chains, settings, timeout=options.timeout, now=started
    )
    found += await caa_observation(
        target.host,
        chains,
        settings,
        issuer_override=options.caa_issuer,
        timeout=options.timeout,
        now=started,
    )
    return found


async def audit_targets(
    targets: Iterable[Target], options: AuditOptions | None = None
) -> AsyncIterator[TargetResult]:
    """Yield one result per target (per address with all_addresses), in the order they finish."""
    options = options or AuditOptions()
    limiter = Limiter(options.concurrency, options.per_host)
    pending: set[asyncio.Task[list[TargetResult]]] = set()
    iterator = iter(targets)
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) < options.parallel_targets:
                target = next(iterator, None)
                if target is None:
                    exhausted = True
                    break
                pending.add(asyncio.create_task(_audit_target(target, options, limiter)))
            if not pending:
                return
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                for result in task.result():
                    yield result
    finally:
        for task in pending:
            task.cancel()
