"""An OpenVPN server from the outside: does it answer anyone, and what TLS does it speak?

Theory of operation. Every question is one control session of its own
(proto/openvpn), over UDP or TCP as the target says:

1. Two unauthenticated hard resets, P_CONTROL_HARD_RESET_CLIENT_V2 and _V3,
   at once. A server with tls-auth or tls-crypt (the "HMAC firewall") drops
   them: silence. Over UDP a silent server gets the reset a second time,
   halfway through the read deadline, so that one lost datagram is not taken
   for a firewall. An ICMP port unreachable (UDP) or a refused connection
   (TCP) means nothing listens: a ConnectionFailure, and nothing more.
2. Where the V2 reset was answered, the TLS audit's own probes through the
   control channel: the context's tls_carrier sends each of their hellos in a
   control session of its own (_carry), so one ClientHello per version, TLS
   1.0 to 1.3, then for each accepted version every cipher suite in the
   server's order (probes/tls/ciphers.py), the TLS 1.3 groups and the key
   exchange of the newest version before it (probes/tls/groups.py). Beside
   them, one full handshake by OpenSSL (pyOpenSSL over memory BIOs, nothing
   verified) for the certificate chain, which TLS 1.3 encrypts. OpenVPN
   servers ask for a client certificate; the probe has none, so the
   handshake ends when the server refuses it, with the chain in hand.
   OpenVPN drops a session whose TLS fails without sending its alert (over
   TCP it hangs up). Over UDP, after a few round trips of silence the
   channel asks whether the session is still there (ControlChannel.
   ask_alive: our reset again; acknowledged, or answered as a new client's),
   so a refusal costs a fraction of a second, not a read timeout.

The reliability layer is the codec's; time is this module's: over UDP,
packets not acknowledged within RETRANSMIT_INTERVAL (at most half the read
timeout) are sent again. Every wait has the context's read deadline, a whole
TLS exchange at most EXCHANGE_READS of them, and every datagram and TCP byte
counts against the context's byte limit. A peer that is silent, closes,
floods or answers garbage gives an observation, never an exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import os
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509
from OpenSSL import SSL

from protoaudit.errors import DecodeError, TransportError
from protoaudit.observations import (
    CertificateInfo,
    CipherSuiteSupport,
    ConnectionFailure,
    Observation,
    ProbeFailure,
)
from protoaudit.observations_openvpn import OpenVpnReset, OpenVpnTlsHandshake, OpenVpnTlsVersion
from protoaudit.probes.context import ProbeContext
from protoaudit.probes.openvpn_link import PREFIX_SHOWN, Link, open_link
from protoaudit.probes.tls.ciphers import probe_cipher_suites
from protoaudit.probes.tls.exchange import Abandoned, HelloOutcome, HelloReader, send_hello
from protoaudit.probes.tls.groups import probe_tls12_key_exchange, probe_tls13_groups
from protoaudit.probes.tls.offers import client_hello, default_share_groups, suites_for
from protoaudit.proto.openvpn.channel import (
    ControlChannel,
    Malformed,
    ResetReplyReceived,
    SessionGone,
    TlsDataReceived,
)
from protoaudit.proto.openvpn.packets import Opcode, opcode_name
from protoaudit.proto.tls.constants import ProtocolVersion, version_name
from protoaudit.registry import tls as registry
from protoaudit.sanitize import quote_bytes
from protoaudit.x509_checks import describe

RESETS = (Opcode.P_CONTROL_HARD_RESET_CLIENT_V2, Opcode.P_CONTROL_HARD_RESET_CLIENT_V3)
TLS_VERSIONS = (
    ProtocolVersion.TLS1_0,
    ProtocolVersion.TLS1_1,
    ProtocolVersion.TLS1_2,
    ProtocolVersion.TLS1_3,
)
RETRANSMIT_INTERVAL = 1.0  # seconds; OpenVPN itself starts at 2
EXCHANGE_READS = 4  # a TLS exchange may take this many read timeouts in all
RESET_RETRIES = 3  # for a server that answered before and now stays silent
ALIVE_CHECK_MIN = 0.1  # seconds of silence before asking whether the session is there
ALIVE_CHECK_ROUND_TRIPS = 4
V3_PATIENCE_MIN = 1.0  # seconds
V3_PATIENCE_ROUND_TRIPS = 20
MAX_DETAIL = 300
# Security level 0 and every suite: an old server's chain must still come back.
_CIPHERS = b"ALL:eNULL:!aNULL:@SECLEVEL=0"


# --- the reset, and TLS through the channel ------------------------------------------------


@dataclass
class _Reset:
    reply: ResetReplyReceived | None = None
    outcome: str = "silent"
    detail: str = ""
    sent: int = 0
    round_trip: float = 0.0  # seconds from our (last) reset to the answer


def _malformed(link: Link, error: DecodeError) -> str:
    """A decode failure in words, quoting (escaped) what the peer sent first."""
    words = f"{error.field}: {error.reason}"
    if link.received_prefix:
        words += f"; the server sent {quote_bytes(link.received_prefix, PREFIX_SHOWN)}"
    return words[:MAX_DETAIL]


async def _send_all(link: Link, packets: list[bytes]) -> None:
    for packet in packets:
        await link.send(packet)


async def _open(
    context: ProbeContext, link: Link, channel: ControlChannel, result: _Reset
) -> _Reset:
    """Send the reset (again, over UDP, halfway through the wait) and read the answer.

    `result` is filled in as things happen, so a caller that gives up waiting
    still knows how many resets went out.
    """
    loop = asyncio.get_running_loop()
    await _send_all(link, channel.packets_to_send())
    result.sent = 1
    sent_at = loop.time()
    deadline = sent_at + context.timeouts.read
    resend_at = loop.time() + context.timeouts.read / 2 if link.retransmits else deadline
    while True:
        try:
            packet = await link.receive(min(deadline, resend_at) - loop.time())
        except DecodeError as error:  # TCP framing
            result.outcome, result.detail = "malformed", _malformed(link, error)
            return result
        except TransportError as error:
            if error.kind != TransportError.TIMEOUT:
                result.outcome, result.detail = error.kind, error.detail
                if link.received_prefix:
                    result.detail += f"; the server sent {quote_bytes(link.received_prefix)}"
                return result
            if loop.time() < deadline:
                await _send_all(link, channel.unacknowledged())
                result.sent += 1
                sent_at, resend_at = loop.time(), deadline
                continue
            result.detail = (
                f"no answer within {context.timeouts.read:g}s to {result.sent} "
                f"unauthenticated reset{'s' if result.sent > 1 else ''}"
            )
            return result
        channel.receive_packet(packet)
        while (event := channel.next_event()) is not None:
            if isinstance(event, ResetReplyReceived):
                result.reply, result.outcome = event, "answered"
                result.round_trip = loop.time() - sent_at
                return result
            if isinstance(event, Malformed):
                result.outcome, result.detail = "malformed", _malformed(link, event.error)
                return result


class _TlsSide(Protocol):
    @property
    def done(self) -> bool: ...

    def outgoing(self) -> bytes: ...

    def incoming(self, data: bytes) -> None: ...


async def _pump(
    context: ProbeContext, link: Link, channel: ControlChannel, side: _TlsSide, round_trip: float
) -> str:
    """Move TLS bytes both ways until `side` is done; "" then, else why it stopped.

    Over UDP, silence for ALIVE_CHECK_ROUND_TRIPS round trips of the reset (at
    least ALIVE_CHECK_MIN) asks the channel whether the session is still there:
    a server that dropped it says so at once, instead of a read timeout later.
    """
    loop = asyncio.get_running_loop()
    read = context.timeouts.read
    deadline = loop.time() + read * EXCHANGE_READS
    last_heard = loop.time()
    interval = min(RETRANSMIT_INTERVAL, read / 2)
    alive_after = min(max(ALIVE_CHECK_MIN, ALIVE_CHECK_ROUND_TRIPS * round_trip), interval)
    asked = False
    while not side.done:
        channel.send_tls(side.outgoing())
        await _send_all(link, channel.packets_to_send())
        now = loop.time()
        silent_until = min(deadline, last_heard + read)
        if now >= silent_until:
            if now >= deadline:
                return f"timeout: the exchange took over {read * EXCHANGE_READS:g}s"
            return f"timeout: no data within {read:g}s"
        wait = silent_until - now
        if link.retransmits and channel.unacknowledged():
            wait = min(wait, interval)
        if link.retransmits and not asked:
            wait = min(wait, max(last_heard + alive_after - now, 0))
        try:
            packet = await link.receive(wait)
        except DecodeError as error:  # TCP framing
            return f"malformed: {_malformed(link, error)}"
        except TransportError as error:
            if error.kind != TransportError.TIMEOUT:
                return f"{error.kind}: {error.detail}"
            if link.retransmits:
                if not asked and loop.time() >= last_heard + alive_after:
                    asked = True
                    await _send_all(link, channel.ask_alive())
                await _send_all(link, channel.unacknowledged())
            continue
        last_heard = loop.time()
        channel.receive_packet(packet)
        while (event := channel.next_event()) is not None:
            if isinstance(event, TlsDataReceived):
                side.incoming(event.data)
            elif isinstance(event, SessionGone):
                return "closed: our reset, sent again, was answered as a new client's"
            elif isinstance(event, Malformed):
                return f"malformed: {_malformed(link, event.error)}"
    # Our last words: the alert OpenSSL may have for the server, and our acknowledgements.
    # The exchange is over whether or not they arrive.
    channel.send_tls(side.outgoing())
    with contextlib.suppress(TransportError):
        await _send_all(link, channel.packets_to_send())
    return ""


async def _session(
    context: ProbeContext,
    transport: str,
    side: _TlsSide | None,
    reset: int,
    result: _Reset | None = None,
) -> tuple[_Reset, str]:
    """One control session: the reset, then (with a side, if answered) TLS. Never raises."""
    channel = ControlChannel(os.urandom(8), reset_opcode=reset)
    result, stopped = result or _Reset(), ""
    try:
        async with open_link(context, transport) as link:
            await _open(context, link, channel, result)
            if side is not None and result.reply is not None:
                stopped = await _pump(context, link, channel, side, result.round_trip)
    except TransportError as error:
        result.outcome, result.detail = error.kind, error.detail
        stopped = f"{error.kind}: {error.detail}"
    if side is not None and result.reply is None and not stopped:
        stopped = f"the reset was not answered: {result.outcome}"
    return result, stopped[:MAX_DETAIL]


async def probe_reset(
    context: ProbeContext, transport: str, reset: int, result: _Reset | None = None
) -> OpenVpnReset:
    result = result or _Reset()
    await _session(context, transport, None, reset, result)
    return _reset_observation(transport, reset, result)


def _reset_observation(transport: str, reset: int, result: _Reset) -> OpenVpnReset:
    reply = result.reply
    if reply is None:
        return OpenVpnReset(
            transport=transport,
            reset_opcode=int(reset),
            answered=False,
            outcome=result.outcome,
            reply_opcode=None,
            server_session_id=None,
            acknowledged_reset=False,
            sent=result.sent,
            detail=result.detail[:MAX_DETAIL],
        )
    detail = f"{opcode_name(reply.opcode)}, session {reply.server_session_id.hex()}"
    if reply.acknowledged_reset:
        detail += ", acknowledging our reset"
    return OpenVpnReset(
        transport=transport,
        reset_opcode=int(reset),
        answered=True,
        outcome="answered",
        reply_opcode=reply.opcode,
        server_session_id=reply.server_session_id.hex(),
        acknowledged_reset=reply.acknowledged_reset,
        sent=result.sent,
        detail=detail,
    )


async def _v3_within(
    v3: asyncio.Task[OpenVpnReset], state: _Reset, transport: str, limit: float, v2_rtt: float
) -> OpenVpnReset:
    """The V3 reset's answer, or silence once `limit` has passed (the task is cancelled)."""
    done, _ = await asyncio.wait({v3}, timeout=max(limit, 0))
    if done:
        return v3.result()
    v3.cancel()
    state.detail = (
        f"no answer to {state.sent} unauthenticated reset{'s' if state.sent > 1 else ''} "
        f"while the server answered the V2 reset in {v2_rtt * 1000:.1f} ms and everything "
        f"else after it"
    )
    return _reset_observation(transport, RESETS[1], state)


async def _carry(
    context: ProbeContext, transport: str, record: bytes, stop_after: str
) -> HelloOutcome:
    """One hello through a control session of its own: the TLS probes' tls_carrier.

    A reset the server leaves unanswered (each costs a read timeout) is tried
    again RESET_RETRIES times: OpenVPN 2.6 answers at most --connect-freq-initial
    resets, 100 per 10 s by default. Then Abandoned: the enumeration stops and
    says why, rather than take the silence for a refusal.
    """
    for _ in range(RESET_RETRIES + 1):
        reader = HelloReader(record, stop_after)
        reset, stopped = await _session(context, transport, reader, RESETS[0])
        if reset.reply is not None:
            break
    else:
        raise Abandoned("unanswered", f"the server stopped answering resets ({stopped})")
    if reader.done or reader.server_hello is not None:
        return reader.outcome()
    if not reader.exchange.received_prefix and stopped.startswith(("timeout", "closed")):
        # OpenVPN tears a session down when its TLS fails, before the alert leaves.
        stopped = f"no ServerHello: the server dropped the session ({stopped})"
    return HelloOutcome(failure=stopped or "no answer")


async def _tls_version(tls: ProbeContext, transport: str, version: int) -> list[Observation]:
    """Whether `version` is accepted and, when it is, every suite the server accepts there."""
    shares = default_share_groups() if version == ProtocolVersion.TLS1_3 else ()
    record = client_hello(version, suites_for(version), server_name=None, share_groups=shares)
    try:
        outcome = await send_hello(tls, record)
    except Abandoned as error:
        return [OpenVpnTlsVersion(transport, int(version), False, None, str(error)[:MAX_DETAIL])]
    hello = outcome.server_hello
    if hello is None:
        detail = outcome.summary[:MAX_DETAIL]
        return [OpenVpnTlsVersion(transport, int(version), False, None, detail)]
    if hello.selected_version != version:
        detail = f"the server answered with {version_name(hello.selected_version)}"
        return [OpenVpnTlsVersion(transport, int(version), False, None, detail)]
    found = OpenVpnTlsVersion(transport, int(version), True, hello.cipher_suite, outcome.summary)
    jobs = [probe_cipher_suites(tls, version)]
    if version == ProtocolVersion.TLS1_3:
        jobs.append(_abandonable("groups", probe_tls13_groups(tls)))
    return [found, *(o for each in await asyncio.gather(*jobs) for o in each)]


async def _abandonable(name: str, probe: Awaitable[list[Observation]]) -> list[Observation]:
    try:
        return await probe
    except Abandoned as error:
        return [ProbeFailure(name, error.reason, str(error)[:MAX_DETAIL])]


async def probe_tls(context: ProbeContext, transport: str) -> list[Observation]:
    """The TLS audit through the control channel: versions, suites, groups, key exchange.

    TLS 1.3 groups start as soon as TLS 1.3 is seen; the key exchange of the newest
    version before 1.3 needs its suites, so it waits for them.
    """
    tls = dataclasses.replace(
        context, server_name=None, tls_carrier=functools.partial(_carry, context, transport)
    )
    jobs = (_tls_version(tls, transport, version) for version in TLS_VERSIONS)
    found = [o for each in await asyncio.gather(*jobs) for o in each]
    before_tls13 = [
        o
        for o in found
        if isinstance(o, CipherSuiteSupport) and o.accepted and o.version < ProtocolVersion.TLS1_3
    ]
    if before_tls13:
        newest = max(before_tls13, key=lambda o: o.version)
        exchange = probe_tls12_key_exchange(tls, newest.version, newest.accepted)
        found += await _abandonable("key_exchange", exchange)
    return found


class _OpenSslSide:
    """A pyOpenSSL client over memory BIOs: it never touches a socket."""

    def __init__(self) -> None:
        context = SSL.Context(SSL.TLS_CLIENT_METHOD)
        context.set_verify(SSL.VERIFY_NONE)
        context.set_min_proto_version(SSL.TLS1_VERSION)
        context.set_cipher_list(_CIPHERS)
        self.connection = SSL.Connection(context, None)
        self.connection.set_connect_state()
        self.completed = False
        self.error: str | None = None
        self._step()

    @property
    def done(self) -> bool:
        return self.completed or self.error is not None

    def _step(self) -> None:
        try:
            self.connection.do_handshake()
            self.completed = True
        except SSL.WantReadError:
            pass
        except SSL.Error as error:
            self.error = f"TLS: {_openssl_words(error)}"

    def outgoing(self) -> bytes:
        chunks = []
        while True:
            try:
                chunks.append(self.connection.bio_read(65536))
            except SSL.WantReadError:
                return b"".join(chunks)

    def incoming(self, data: bytes) -> None:
        if not self.done:
            self.connection.bio_write(data)
            self._step()


def _openssl_words(error: SSL.Error) -> str:
    reasons = [str(part[2]) for part in error.args[0] if len(part) == 3] if error.args else []
    return "; ".join(reasons) or type(error).__name__


def _chain(connection: SSL.Connection) -> tuple[tuple[CertificateInfo, ...], str]:
    try:
        chain: list[x509.Certificate] = connection.get_peer_cert_chain(as_cryptography=True) or []
    except ValueError as error:
        return (), f"; a certificate cryptography cannot read: {error}"
    return tuple(describe(certificate) for certificate in chain), ""


def _ca_names(connection: SSL.Connection) -> tuple[str, ...]:
    names = []
    for name in connection.get_client_ca_list():
        parts = (b"=".join(component) for component in name.get_components())
        names.append(b",".join(parts).decode("utf-8", "replace"))
    return tuple(names)


async def probe_handshake(context: ProbeContext, transport: str) -> OpenVpnTlsHandshake:
    side = _OpenSslSide()
    _, stopped = await _session(context, transport, side, RESETS[0])
    connection = side.connection
    cipher_name = connection.get_cipher_name() or ""
    certificates, problem = _chain(connection)
    suite: int | None = None
    if cipher_name:
        try:
            suite = registry.cipher_suite_by_name(cipher_name).code
        except KeyError:
            suite = None
    detail = "completed" if side.completed else side.error or stopped or "no answer"
    return OpenVpnTlsHandshake(
        transport=transport,
        version=connection.get_protocol_version() if cipher_name else None,
        cipher_suite=suite,
        cipher_name=cipher_name,
        certificates=certificates,
        client_ca_names=_ca_names(connection),
        completed=side.completed,
        detail=(detail + problem)[:MAX_DETAIL],
    )


async def run_openvpn_probes(
    context: ProbeContext, transport: str, sink: list[Observation]
) -> None:
    """Probe the OpenVPN server at `context` over `transport` ("udp" or "tcp").

    The V3 reset runs beside everything else. Without a wrapped client key
    (tls-crypt-v2, which a probe cannot have) it is silence everywhere; where the
    V2 reset was answered, its wait ends with the audit, once V3_PATIENCE_MIN or
    V3_PATIENCE_ROUND_TRIPS of the V2 answer's round trips have passed, rather
    than a whole read timeout later.
    """
    if transport not in ("udp", "tcp"):
        raise ValueError(f"transport is 'udp' or 'tcp', not {transport!r}")
    loop = asyncio.get_running_loop()
    v2_state, v3_state = _Reset(), _Reset()
    v3 = asyncio.create_task(probe_reset(context, transport, RESETS[1], v3_state))
    v3_started = loop.time()
    handshake: asyncio.Future[OpenVpnTlsHandshake] | None = None
    try:
        v2 = await probe_reset(context, transport, RESETS[0], v2_state)
        results: list[Observation] = []
        if v2.answered:
            handshake = asyncio.ensure_future(probe_handshake(context, transport))
            results += await probe_tls(context, transport)
            results.append(await handshake)
            rtt = v2_state.round_trip
            patience = max(V3_PATIENCE_MIN, V3_PATIENCE_ROUND_TRIPS * rtt)
            limit = v3_started + patience - loop.time()
            sink.extend([v2, await _v3_within(v3, v3_state, transport, limit, rtt)])
        else:
            sink.extend([v2, await v3])
    finally:
        v3.cancel()
        if handshake is not None:
            handshake.cancel()
    if v2.outcome in (TransportError.REFUSED, TransportError.UNREACHABLE):
        sink.append(ConnectionFailure(stage="openvpn", reason=v2.outcome, detail=v2.detail))
        return
    sink.extend(results)
    versions = [o for o in results if isinstance(o, OpenVpnTlsVersion)]
    if versions and not any(o.supported for o in versions):
        details = "; ".join(sorted({o.detail for o in versions}))
        sink.append(ProbeFailure("openvpn_tls", "no-tls", details[:MAX_DETAIL]))
