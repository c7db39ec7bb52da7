"""A SOCKS 4/5 proxy from the outside: its methods, RFC 1929 in clear, SOCKS 4, open relaying.

Theory of operation. Each question is one short exchange on its own
connection (proto/socks), all of the first round at once:

- SOCKS 5 (socks5:// targets): a method selection offering NO AUTHENTICATION
  REQUIRED, GSSAPI and USERNAME/PASSWORD each alone, then all three in our
  order and in reverse (the server's preference, if it has one, shows);
- SOCKS 4 (every target): a version-4 request with a command code SOCKS 4
  does not have (BOGUS_SOCKS4_COMMAND), for 0.0.0.0 port 0, which connects
  nowhere: a version-4 reply says SOCKS 4 is spoken, and SOCKS 4 has no
  authentication at all.

Then, from what the first round found:

- USERNAME/PASSWORD accepted alone: one obviously fake pair
  (FAKE_USERNAME, FAKE_PASSWORD), to see the server answer the RFC 1929
  subnegotiation, in the clear as RFC 1929 always is. Never a real
  credential: the probe has none and takes none;
- NO AUTHENTICATION REQUIRED accepted (SOCKS 5) or SOCKS 4 spoken, and only
  when the user named a probe target (`--socks-probe-target HOST:PORT`): one
  CONNECT there, without authentication (SOCKS 4: no user id; 4A when the
  target is a name). The probe never connects through the proxy to anything
  else: without a target it proves nothing and says so.

A server that refuses, stalls, closes, floods or answers garbage gives an
observation of what it did, never an exception: every read has the
context's timeout, every exchange a deadline of EXCHANGE_READS of them, and
MAX_EXCHANGE_BYTES bounds what one exchange reads.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable

from protoaudit.engine.drive import drive
from protoaudit.errors import TransportError
from protoaudit.observations import ConnectionFailure, Observation, ProbeFailure
from protoaudit.observations_socks import (
    Socks4Detection,
    SocksConnect,
    SocksMethodOffer,
    SocksMethods,
    SocksUsernamePassword,
)
from protoaudit.probes.context import ProbeContext
from protoaudit.proto.socks.client import (
    AuthReplied,
    Event,
    Malformed,
    MethodSelected,
    RequestReplied,
    Socks4Client,
    Socks4Replied,
    Socks5Client,
)
from protoaudit.proto.socks.constants import (
    AddressType,
    Command,
    Method,
    method_name,
    reply_name,
    socks4_reply_name,
)
from protoaudit.proto.socks.messages import Request, address_fields
from protoaudit.proto.socks.socks4 import SOCKS4A_ADDRESS, Socks4Request
from protoaudit.sanitize import quote_bytes

FAKE_USERNAME = b"protoaudit-fake-user"
FAKE_PASSWORD = b"protoaudit-not-a-password"
# A command SOCKS 4 does not have: it defines CONNECT (1) and BIND (2) only. 3 is
# SOCKS 5's UDP ASSOCIATE, which servers that read both versions through one parser
# (Dante) know to refuse with a version-4 reply; codes no version has (0, 0xFF) make
# them hang up without a word, which tells nothing. For 0.0.0.0 port 0, it connects
# nowhere whatever a server makes of it.
BOGUS_SOCKS4_COMMAND = 3
SINGLE_METHODS = (
    Method.NO_AUTHENTICATION_REQUIRED,
    Method.GSSAPI,
    Method.USERNAME_PASSWORD,
)
ALL_METHODS = tuple(int(method) for method in SINGLE_METHODS)
MAX_EXCHANGE_BYTES = 4096  # the longest SOCKS reply is 262 bytes
# The longest exchange waits for two server messages (method choice, then RFC 1929 status
# or a reply); a third read timeout is slack.
EXCHANGE_READS = 3
MAX_DETAIL = 300

Machine = Socks5Client | Socks4Client


async def _exchange(context: ProbeContext, machine: Machine) -> tuple[list[Event], str | None]:
    """Drive `machine` over one connection; its events, and what cut it short (None: nothing)."""
    events: list[Event] = []
    # Each read has its own timeout; this bounds a server that trickles a byte at a time.
    limit = EXCHANGE_READS * context.timeouts.read
    try:
        async with context.connection() as conn, asyncio.timeout(limit):
            await drive(conn, machine, events, MAX_EXCHANGE_BYTES)
    except TimeoutError:
        words = f"{TransportError.TIMEOUT}: the exchange took over {limit:g}s"
    except TransportError as error:
        words = f"{error.kind}: {error.detail}"
    else:
        return events, None
    if machine.received_prefix and not events:
        words += f"; the server sent {quote_bytes(machine.received_prefix)}"
    return events, words[:MAX_DETAIL]


def _malformed(events: list[Event], machine: Machine) -> str | None:
    for event in events:
        if isinstance(event, Malformed):
            detail = f"{event.error.field}: {event.error.reason}"
            if machine.received_prefix:
                detail += f"; the server sent {quote_bytes(machine.received_prefix)}"
            return detail[:MAX_DETAIL]
    return None


def _first(events: list[Event], kind: type[Event]) -> Event | None:
    return next((event for event in events if isinstance(event, kind)), None)


# --- SOCKS 5 methods ------------------------------------------------------------------------


async def _offer(context: ProbeContext, methods: tuple[int, ...]) -> SocksMethodOffer:
    machine = Socks5Client(methods)
    events, cut_short = await _exchange(context, machine)
    chosen = _first(events, MethodSelected)
    malformed = _malformed(events, machine)
    selected = chosen.method if isinstance(chosen, MethodSelected) else None
    if selected is None:
        detail = cut_short or (f"not SOCKS 5: {malformed}" if malformed else "no answer")
    elif malformed is not None:
        detail = f"chose 0x{selected:02X} ({method_name(selected)}): {malformed}"
    else:
        detail = f"chose 0x{selected:02X} ({method_name(selected)})"
    return SocksMethodOffer(offered=methods, selected=selected, detail=detail)


def _methods(offers: list[SocksMethodOffer]) -> SocksMethods:
    accepted = tuple(
        offer.selected
        for offer in offers
        if len(offer.offered) == 1 and offer.selected == offer.offered[0]
    )
    together = [offer for offer in offers if len(offer.offered) > 1]
    return SocksMethods(
        offers=tuple(offers),
        accepted=accepted,
        preferred=together[0].selected if together else None,
        preferred_reversed=together[1].selected if len(together) > 1 else None,
    )


async def probe_methods(context: ProbeContext) -> SocksMethods:
    offers: list[tuple[int, ...]] = [(int(method),) for method in SINGLE_METHODS]
    offers += [ALL_METHODS, ALL_METHODS[::-1]]
    return _methods(list(await asyncio.gather(*(_offer(context, o) for o in offers))))


async def probe_username_password(context: ProbeContext) -> Observation:
    machine = Socks5Client((Method.USERNAME_PASSWORD,), credentials=(FAKE_USERNAME, FAKE_PASSWORD))
    events, cut_short = await _exchange(context, machine)
    replied = _first(events, AuthReplied)
    username = FAKE_USERNAME.decode("ascii")
    if not isinstance(replied, AuthReplied):
        chosen = _first(events, MethodSelected)
        if isinstance(chosen, MethodSelected) and chosen.method != Method.USERNAME_PASSWORD:
            detail = f"this time the server chose {method_name(chosen.method)}"
        else:
            detail = _malformed(events, machine) or cut_short or "no answer"
        return SocksUsernamePassword(
            username=username,
            answered=False,
            reply_version=None,
            status=None,
            fake_pair_accepted=False,
            cleartext=True,
            detail=detail[:MAX_DETAIL],
        )
    reply = replied.reply
    verdict = "accepted" if reply.status == 0 else "refused"
    return SocksUsernamePassword(
        username=username,
        answered=True,
        reply_version=reply.ver,
        status=reply.status,
        fake_pair_accepted=reply.status == 0,
        cleartext=True,
        detail=f"RFC 1929 reply version {reply.ver}, status {reply.status}: the fake pair was "
        f"{verdict}",
    )


# --- CONNECT to the user's target -------------------------------------------------------------


def _unsupported(probe: str, host: str, error: ValueError) -> ProbeFailure:
    return ProbeFailure(probe, "unsupported-target", f"{host}: {error}"[:MAX_DETAIL])


async def probe_connect5(context: ProbeContext, target: tuple[str, int]) -> Observation:
    host, port = target
    try:
        request = Request.to(Command.CONNECT, host, port)
    except ValueError as error:  # a name IDNA refuses, or over 255 octets
        return _unsupported("socks5_connect", host, error)
    machine = Socks5Client((Method.NO_AUTHENTICATION_REQUIRED,), request=request)
    events, cut_short = await _exchange(context, machine)
    replied = _first(events, RequestReplied)
    if isinstance(replied, RequestReplied):
        reply = replied.reply
        return SocksConnect(
            version="5",
            target_host=host,
            target_port=port,
            reply_code=reply.rep,
            succeeded=reply.rep == 0,
            bound_address=reply.bound_address,
            bound_port=reply.bnd_port,
            detail=f"REP {reply.rep}: {reply_name(reply.rep)}",
        )
    chosen = _first(events, MethodSelected)
    if isinstance(chosen, MethodSelected) and chosen.method != Method.NO_AUTHENTICATION_REQUIRED:
        detail = f"the server chose {method_name(chosen.method)}: no CONNECT was sent"
    else:
        detail = _malformed(events, machine) or cut_short or "no reply"
    return SocksConnect("5", host, port, None, False, None, None, detail[:MAX_DETAIL])


def _socks4_connect(host: str, port: int) -> tuple[str, Socks4Request]:
    """("4", CONNECT) for an IPv4 literal, ("4a", CONNECT) naming the host otherwise."""
    atyp, raw = address_fields(host)
    if atyp == AddressType.IPV6:
        raise ValueError("SOCKS 4 cannot name an IPv6 address")
    if atyp == AddressType.IPV4:
        return "4", Socks4Request(Command.CONNECT, port, raw)
    return "4a", Socks4Request(Command.CONNECT, port, SOCKS4A_ADDRESS, b"", raw)


async def probe_connect4(context: ProbeContext, target: tuple[str, int]) -> Observation:
    host, port = target
    try:
        variant, request = _socks4_connect(host, port)
    except ValueError as error:
        return _unsupported("socks4_connect", host, error)
    machine = Socks4Client(request)
    events, cut_short = await _exchange(context, machine)
    replied = _first(events, Socks4Replied)
    if isinstance(replied, Socks4Replied):
        reply = replied.reply
        return SocksConnect(
            version=variant,
            target_host=host,
            target_port=port,
            reply_code=reply.cd,
            succeeded=reply.granted,
            bound_address=str(ipaddress.IPv4Address(reply.dstip)),
            bound_port=reply.dstport,
            detail=f"CD {reply.cd}: {socks4_reply_name(reply.cd)}",
        )
    detail = _malformed(events, machine) or cut_short or "no reply"
    return SocksConnect(variant, host, port, None, False, None, None, detail[:MAX_DETAIL])


async def probe_socks4(context: ProbeContext) -> Socks4Detection:
    machine = Socks4Client(Socks4Request(BOGUS_SOCKS4_COMMAND, 0, b"\x00\x00\x00\x00"))
    events, cut_short = await _exchange(context, machine)
    replied = _first(events, Socks4Replied)
    if isinstance(replied, Socks4Replied):
        reply = replied.reply
        return Socks4Detection(
            command=BOGUS_SOCKS4_COMMAND,
            speaks_socks4=True,
            reply_version=reply.vn,
            reply_code=reply.cd,
            detail=f"version-{reply.vn} reply, CD {reply.cd}: {socks4_reply_name(reply.cd)}",
        )
    detail = _malformed(events, machine) or cut_short or "no reply"
    return Socks4Detection(BOGUS_SOCKS4_COMMAND, False, None, None, detail[:MAX_DETAIL])


# --- the whole probe ----------------------------------------------------------------------------


TRANSPORT_KINDS = frozenset(
    {
        TransportError.REFUSED,
        TransportError.TIMEOUT,
        TransportError.RESET,
        TransportError.CLOSED,
        TransportError.UNREACHABLE,
        TransportError.RESOLVE,
        TransportError.TOO_LARGE,
    }
)


def _unreachable(methods: SocksMethods | None, socks4: Socks4Detection) -> ConnectionFailure | None:
    """Why nothing answered as SOCKS at all, or None when something did."""
    if socks4.speaks_socks4:
        return None
    if methods is not None and any(o.selected is not None for o in methods.offers):
        return None
    detail = methods.offers[0].detail if methods is not None else socks4.detail
    kind = detail.split(":", 1)[0]
    reason = kind if kind in TRANSPORT_KINDS else "no-socks"
    return ConnectionFailure(stage="socks", reason=reason, detail=detail)


async def run_socks_probes(
    context: ProbeContext,
    version: int,
    probe_target: tuple[str, int] | None,
    sink: list[Observation],
) -> None:
    """Probe the SOCKS server at `context`; `version` is 5 (socks5://) or 4 (socks4://).

    `probe_target` is the only place the probe ever asks the proxy to connect to,
    and None (the default) means nowhere.
    """
    if version not in (4, 5):
        raise ValueError(f"SOCKS version 4 or 5, not {version}")
    socks4_job = probe_socks4(context)
    if version == 5:
        methods, socks4 = await asyncio.gather(probe_methods(context), socks4_job)
    else:
        methods, socks4 = None, await socks4_job
    failure = _unreachable(methods, socks4)
    if failure is not None:
        sink.append(failure)
        return
    if methods is not None:
        sink.append(methods)
    sink.append(socks4)
    jobs: list[Awaitable[Observation]] = []
    if methods is not None and Method.USERNAME_PASSWORD in methods.accepted:
        jobs.append(probe_username_password(context))
    if probe_target is not None:
        if methods is not None and Method.NO_AUTHENTICATION_REQUIRED in methods.accepted:
            jobs.append(probe_connect5(context, probe_target))
        if socks4.speaks_socks4:
            jobs.append(probe_connect4(context, probe_target))
    sink.extend(await asyncio.gather(*jobs))
