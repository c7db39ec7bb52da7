"""STARTTLS probes that need a whole TLS session: capabilities after TLS, command injection, FTP.

Theory of operation. The TLS probes only ever send a ClientHello after the
dialog; what a STARTTLS service does once TLS is up needs a real handshake
and a conversation after it. Each probe here opens its own connection inside
the host's concurrency slot, replays the service's dialog as
`blocking_connector` does, completes a pyOpenSSL handshake over a
`TlsChannel` (blocking_tls.py) in a worker thread, and speaks the protocol
over TLS with a sans-I/O query (proto/starttls/after_tls.py, injection.py).

- Capabilities after TLS (SMTP/LMTP EHLO, IMAP CAPABILITY, POP3 CAPA, FTP
  FEAT, NNTP CAPABILITIES): recorded into the target's StartTlsDialog as
  `capabilities_after`. FTP's come from the FTP probe's own session.
- Command injection (the CVE-2011-0411 class): STARTTLS and a command every
  server refuses in one write, the handshake if the server agrees, then a
  marker every server accepts, over TLS (injection.py has the table). The
  server answers in order: the marker's answer first proves the injected
  command was never run, at once; a refusal and then a second reply proves
  it was. Only after a lone refusal (the marker itself refused) does the
  probe wait for a second reply: INJECTION_WAIT_ROUND_TRIPS times the
  handshake's duration, at least INJECTION_WAIT_MIN and at most
  INJECTION_WAIT_MAX or the read timeout. Unasked bytes of another shape
  prove nothing (`vulnerable` None).
- FTP (ftp:// and ftps://): ftp.py.

Every read has the read timeout and each probe a deadline in read timeouts;
outcomes, failures included, are observations (a StartTlsInjection with
`vulnerable` None, a ProbeFailure), never exceptions.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from protoaudit.engine.dialog import StartTlsFailed, run_dialog_blocking
from protoaudit.errors import TransportError
from protoaudit.observations import (
    Observation,
    ProbeFailure,
    StartTlsDialog,
    StartTlsInjection,
)
from protoaudit.probes import ftp
from protoaudit.probes.blocking_tls import TlsChannel, connect, os_error
from protoaudit.probes.context import ProbeContext
from protoaudit.proto.starttls.after_tls import CAPABILITY_PROTOCOLS, capability_query
from protoaudit.proto.starttls.base import Dialog, Status
from protoaudit.proto.starttls.injection import (
    INJECTION_PROTOCOLS,
    InjectingDialog,
    reply_kinds,
    verdict,
)
from protoaudit.proto.starttls.lines import clip
from protoaudit.targets import Service

__all__ = ["INJECTION_PROTOCOLS", "probe_capabilities", "probe_injection", "run_starttls_probes"]

CAPABILITIES_PROBE = "starttls_capabilities"
INJECTION_PROBE = "starttls_injection"
INJECTION_WAIT_MIN = 0.25
INJECTION_WAIT_MAX = 1.0
INJECTION_WAIT_ROUND_TRIPS = 4
MAX_ANSWER = 4096  # what is read of an answer over TLS
DEADLINE_TIMEOUTS = 3  # each probe's deadline, in read timeouts

ResultT = TypeVar("ResultT")


async def _in_slot(context: ProbeContext, work: Callable[[], ResultT]) -> ResultT:
    """`work` in a worker thread, holding one of the host's connection slots meanwhile."""
    async with context.limiter.slot(context.address):
        return await asyncio.to_thread(work)


async def _safely(sink: list[Observation], name: str, probe: Awaitable[list[Observation]]) -> None:
    try:
        found = await probe
    except Exception as error:  # noqa: BLE001 - one broken probe must not lose the others
        found = [ProbeFailure(probe=name, reason="internal-error", detail=repr(error)[:500])]
    sink.extend(found)


async def run_starttls_probes(
    context: ProbeContext, service: Service, sink: list[Observation]
) -> None:
    """The probes above that apply to `service`; observations land in `sink` as they come."""
    protocol = service.dialog
    starttls = service.tls_start == "starttls" and context.dialog is not None
    jobs: list[Awaitable[None]] = []
    if protocol == "ftp" or service.name == "ftps":
        jobs.append(_ftp(context, sink, implicit=not starttls))
    elif starttls and protocol in CAPABILITY_PROTOCOLS:
        jobs.append(_safely(sink, CAPABILITIES_PROBE, _capabilities(context, protocol, sink)))
    if starttls and protocol in INJECTION_PROTOCOLS:
        jobs.append(_safely(sink, INJECTION_PROBE, probe_injection(context)))
    await asyncio.gather(*jobs)


def _record_capabilities(sink: list[Observation], capabilities: tuple[str, ...]) -> None:
    """Into the StartTlsDialog the scan recorded (it is frozen: replaced by a copy)."""
    for index in range(len(sink) - 1, -1, -1):
        dialog = sink[index]
        if isinstance(dialog, StartTlsDialog):
            sink[index] = dataclasses.replace(dialog, capabilities_after=capabilities)
            return


# ---------------------------------------------------------------- capabilities


async def _capabilities(
    context: ProbeContext, protocol: str, sink: list[Observation]
) -> list[Observation]:
    found = await probe_capabilities(context, protocol)
    if isinstance(found, ProbeFailure):
        return [found]
    _record_capabilities(sink, found)
    return []


async def probe_capabilities(
    context: ProbeContext, protocol: str
) -> tuple[str, ...] | ProbeFailure:
    """The capabilities `protocol`'s server lists over TLS, after its own dialog."""
    make_dialog = context.dialog
    if make_dialog is None or protocol not in CAPABILITY_PROTOCOLS:
        raise ValueError(f"no capability query after STARTTLS for {protocol!r}")
    return await _in_slot(
        context,
        lambda: _capabilities_blocking(
            context.address,
            context.port,
            protocol=protocol,
            make_dialog=make_dialog,
            server_name=context.server_name,
            timeout=context.timeouts.read,
        ),
    )


def _capabilities_blocking(
    address: str,
    port: int,
    *,
    protocol: str,
    make_dialog: Callable[[], Dialog],
    server_name: str | None,
    timeout: float,
) -> tuple[str, ...] | ProbeFailure:
    deadline = time.monotonic() + DEADLINE_TIMEOUTS * timeout
    query = capability_query(protocol)
    assert query is not None  # the caller checked CAPABILITY_PROTOCOLS
    try:
        with connect(address, port, timeout=timeout) as sock:
            run_dialog_blocking(sock, make_dialog(), deadline=deadline)
            channel = TlsChannel(sock, server_name=server_name, timeout=timeout, deadline=deadline)
            channel.handshake()
            try:
                channel.exchange(query)
            finally:
                channel.close()
    except TransportError as error:
        return ProbeFailure(CAPABILITIES_PROBE, error.kind, error.detail)
    except OSError as error:
        failure = os_error(error, "capabilities after TLS")
        return ProbeFailure(CAPABILITIES_PROBE, failure.kind, failure.detail)
    if query.status is not Status.READY:
        return ProbeFailure(CAPABILITIES_PROBE, "protocol", str(query.failure))
    return query.capabilities


# ---------------------------------------------------------------- injection


async def probe_injection(context: ProbeContext) -> list[Observation]:
    """One StartTlsInjection for the service's dialog (see the module docstring)."""
    make_dialog = context.dialog
    if make_dialog is None:
        raise ValueError("command injection needs a STARTTLS dialog")
    observation = await _in_slot(
        context,
        lambda: _injection_blocking(
            context.address,
            context.port,
            make_dialog=make_dialog,
            server_name=context.server_name,
            timeout=context.timeouts.read,
        ),
    )
    return [observation]


def _plaintext_answer(data: bytes) -> str | None:
    text = clip(data.decode("latin-1"))
    return text or None


def _injection_blocking(
    address: str,
    port: int,
    *,
    make_dialog: Callable[[], Dialog],
    server_name: str | None,
    timeout: float,
) -> StartTlsInjection:
    deadline = time.monotonic() + DEADLINE_TIMEOUTS * timeout
    dialog = InjectingDialog(make_dialog())

    def seen(vulnerable: bool | None, detail: str, plaintext: bytes = b"") -> StartTlsInjection:
        return StartTlsInjection(
            protocol=dialog.protocol,
            injected=dialog.injected or "",
            vulnerable=vulnerable,
            detail=detail,
            plaintext_answer=_plaintext_answer(plaintext),
        )

    try:
        sock = connect(address, port, timeout=timeout)
    except TransportError as error:
        return seen(None, f"connect: {error.detail}")
    with sock:
        try:
            run_dialog_blocking(sock, dialog, deadline=deadline)
        except StartTlsFailed as failed:
            if dialog.injected is None:
                return seen(None, f"the dialog failed before STARTTLS: {failed.detail}")
            return seen(
                False,
                "the server did not start TLS when a command followed STARTTLS in the same "
                f"write: {failed.detail}",
            )
        except TransportError as error:
            return seen(None, f"dialog: {error.detail}")
        except OSError as error:
            detail = os_error(error, "dialog").detail
            if dialog.injected is None:
                return seen(None, detail)
            return seen(
                False,
                "the server dropped the connection when a command followed STARTTLS in the "
                f"same write ({detail})",
            )
        return _after_go_ahead(
            dialog, sock, seen, server_name=server_name, timeout=timeout, deadline=deadline
        )


def _after_go_ahead(
    dialog: InjectingDialog,
    sock: socket.socket,
    seen: Callable[..., StartTlsInjection],
    *,
    server_name: str | None,
    timeout: float,
    deadline: float,
) -> StartTlsInjection:
    injected = dialog.injected or "the command"
    channel = TlsChannel(
        sock, server_name=server_name, timeout=timeout, deadline=deadline, skip_plaintext=True
    )
    try:
        channel.handshake()
    except TransportError as error:
        plaintext = dialog.after_ready + channel.plaintext_before
        if error.kind == TransportError.TIMEOUT:
            return seen(None, f"the TLS handshake after STARTTLS: {error.detail}", plaintext)
        return seen(
            False,
            "the server agreed to STARTTLS but did not complete TLS after a pipelined "
            f"{injected} ({error.kind}: {error.detail}), so it did not run it over TLS",
            plaintext,
        )
    plaintext = dialog.after_ready + channel.plaintext_before
    marker = dialog.marker or ""
    # After a refusal the marker's own answer, if the first was the injected
    # command's, follows within a round trip or two: wait that long, no longer.
    wait = min(
        INJECTION_WAIT_MAX,
        timeout,
        max(INJECTION_WAIT_MIN, INJECTION_WAIT_ROUND_TRIPS * channel.handshake_seconds),
    )
    answer = bytearray()
    ending = ""
    found: bool | None = None
    try:
        channel.send(marker.encode("ascii") + b"\r\n")
        until = deadline
        while len(answer) < MAX_ANSWER:
            data = channel.receive(until=until)
            if not data:
                ending = "; then the server closed the connection"
                break
            answer += data
            found = verdict(dialog.protocol, injected, marker, bytes(answer))
            if found is not None:
                break
            if _refused_once(dialog.protocol, bytes(answer)):
                until = min(until, time.monotonic() + wait)
    except TransportError as error:
        if error.kind != TransportError.TIMEOUT:
            ending = f"; then {error.kind}: {error.detail}"
    finally:
        channel.close()
    quoted = clip(bytes(answer[:MAX_ANSWER]).decode("latin-1"))
    if found is True:
        return seen(
            True,
            f"{injected}, sent in clear in the same write as STARTTLS, was answered over "
            f"TLS before {marker}, sent over TLS: {quoted}",
            plaintext,
        )
    if found is False:
        return seen(
            False,
            f"{marker}, sent over TLS, was answered first: {injected}, pipelined after "
            f"STARTTLS, was not run after the upgrade ({quoted})",
            plaintext,
        )
    if _refused_once(dialog.protocol, bytes(answer)):
        return seen(
            False,
            f"one refusal over TLS and nothing more within {wait:.2g}s: {marker} was refused "
            f"and {injected} was not run after the upgrade ({quoted}){ending}",
            plaintext,
        )
    if answer:
        return seen(
            None,
            f"the server sent over TLS bytes that answer neither {injected} nor {marker}: "
            f"{quoted}{ending}",
            plaintext,
        )
    return seen(None, f"no answer over TLS to {marker}{ending or ' in time'}", plaintext)


def _refused_once(protocol: str, data: bytes) -> bool:
    """A single refusal so far: a refused marker, or an injection whose second reply is due."""
    return protocol != "imap" and reply_kinds(protocol, data) == [False]


# ---------------------------------------------------------------- FTP


async def _ftp(context: ProbeContext, sink: list[Observation], *, implicit: bool) -> None:
    timeout = context.timeouts.read
    make_dialog = None if implicit else context.dialog
    session_job = _in_slot(
        context,
        lambda: ftp.tls_session(
            context.address,
            context.port,
            dialog=make_dialog,
            server_name=context.server_name,
            timeout=timeout,
        ),
    )
    try:
        if implicit:
            session, login = await session_job, None
        else:
            login_job = _in_slot(
                context, lambda: ftp.plaintext_login(context.address, context.port, timeout=timeout)
            )
            session, login = await asyncio.gather(session_job, login_job)
    except Exception as error:  # noqa: BLE001 - a bug of ours must not end the scan
        sink.append(ProbeFailure(ftp.PROBE, "internal-error", repr(error)[:500]))
        return
    if not implicit and session.capabilities is not None:
        _record_capabilities(sink, session.capabilities)
    sink.extend(ftp.observe(session, login, implicit=implicit))
