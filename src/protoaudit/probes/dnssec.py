"""DNSSEC: validate the chain of trust for one name and type, as a validating resolver would.

Theory of operation. `validate_name` resolves the name from the root down (or through one
given server), checking at every zone cut the parent's DS, the child's DNSKEY set and its
RRSIG by a key the DS names, then the RRSIG over the answer, or the NSEC/NSEC3 proof for an
NXDOMAIN or NODATA (see `probes.dnssec_resolver` for the walk and `proto.dnssec` for the
checks). CNAMEs (and DNAMEs) are followed, each step validated, at most `MAX_CNAMES` deep.
The verdict is RFC 4033 section 5's: secure, insecure (with the proof of the unsigned
delegation, or the unsupported algorithm), bogus (with the reason) or indeterminate (we
could not find out: a server that timed out, sent garbage, referred us in circles …).

Nothing the network does makes this raise or hang: every query has a timeout, the whole
validation a deadline (with an outer `asyncio.timeout` as a backstop), and the number of
queries, referrals and CNAMEs is bounded. Only bad arguments from the caller raise (a
trust-anchor file that is not one raises `TrustAnchorError`).

Where it asks: by default the real root servers (packaged root hints) with IANA's root trust
anchors; tests and the lab pass `root_servers` on loopback, a `port` for every server met,
their own `trust_anchors`, and `loopback_only=True` so that nothing can leave 127.0.0.0/8.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import dns.exception
import dns.name
import dns.rdatatype

from protoaudit.observations_dns import DnssecStatus
from protoaudit.probes import dnssec_report as report
from protoaudit.probes.dnssec_resolver import Resolver
from protoaudit.probes.dnssec_state import MAX_CNAMES, MAX_QUERIES, Answer, Budget, Stop
from protoaudit.probes.dnssec_transport import Server
from protoaudit.proto.dnssec import reasons
from protoaudit.proto.dnssec.anchors import (
    MAX_ANCHOR_TEXT,
    TrustAnchorError,
    TrustAnchors,
    iana_root_anchors,
    parse_trust_anchors,
)
from protoaudit.proto.dnssec.messages import CNAME, DNAME, NXDOMAIN
from protoaudit.registry.dnssec import root_servers as packaged_root_servers

__all__ = [
    "TrustAnchorError",
    "TrustAnchors",
    "default_root_servers",
    "parse_server",
    "read_trust_anchor_file",
    "validate_name",
]

DEFAULT_PORT = 53
_BACKSTOP = 1.0  # seconds past the deadline before the outer timeout cancels everything


def read_trust_anchor_file(path: str | Path) -> TrustAnchors:
    """DS or DNSKEY records in zone-file presentation format, from a file the user named."""
    file = Path(path)
    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_ANCHOR_TEXT + 1)
    except OSError as error:
        raise TrustAnchorError(f"{file}: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise TrustAnchorError(f"{file}: not UTF-8 text") from None
    return parse_trust_anchors(text)


def parse_server(text: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """ "127.0.0.1", "127.0.0.1:5353", "::1" or "[::1]:5353" as (address, port).

    Only IP literals: naming the server to trust by a name that itself needs DNS would be
    circular. Raises ValueError with the reason.
    """
    host, port = text.strip(), default_port
    if host.startswith("["):
        host, _, rest = host[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"bad server {text!r}")
            port = int(rest[1:])
    elif host.count(":") == 1:
        host, _, port_text = host.partition(":")
        port = int(port_text)
    address = ipaddress.ip_address(host)
    if not 0 < port < 65536:
        raise ValueError(f"bad port in {text!r}")
    return str(address), port


def default_root_servers(port: int = DEFAULT_PORT) -> list[tuple[str, int]]:
    """The packaged root hints: every IPv4 address, then every IPv6 address."""
    servers = packaged_root_servers()
    ipv4 = [(address, port) for server in servers for address in server.ipv4]
    ipv6 = [(address, port) for server in servers for address in server.ipv6]
    return ipv4 + ipv6


def _failed(name: str, rdtype: str, reason: str, detail: str) -> DnssecStatus:
    return DnssecStatus(
        name, rdtype, reasons.INDETERMINATE, reason, detail, (), None, (), (), None, (), 0, ()
    )


async def _follow(
    resolver: Resolver,
    qname: dns.name.Name,
    rdtype: int,
    steps: list[Answer],
    names: list[dns.name.Name],
) -> Stop | None:
    current = qname
    while True:
        answer = await resolver.resolve(current, rdtype)
        steps.append(answer)
        if answer.kind not in (CNAME, DNAME) or answer.target is None:
            return None
        if answer.status == reasons.BOGUS:
            return None
        target = answer.target
        if target in names:
            detail = f"{current} points to {target}, which was followed already"
            return Stop(reasons.INDETERMINATE, reasons.CNAME_LOOP, detail)
        if len(names) > MAX_CNAMES:
            detail = f"more than {MAX_CNAMES} CNAMEs from {qname}"
            return Stop(reasons.INDETERMINATE, reasons.CNAME_LIMIT, detail)
        names.append(target)
        current = target


def _verdict(steps: list[Answer], stop: Stop | None) -> tuple[str, str | None, str]:
    """The worst step decides (the first of equals); a stop is at least as bad as any step."""
    worst: Answer | None = None
    for step in steps:
        if worst is None or reasons.worst(worst.status, step.status) != worst.status:
            worst = step
    if stop is not None and (
        worst is None or reasons.worst(worst.status, stop.status) == stop.status
    ):
        return stop.status, stop.reason, stop.detail
    assert worst is not None  # resolve() returned at least once, or it raised Stop
    return worst.status, worst.reason, worst.detail


async def validate_name(
    name: str,
    rdtype: str = "A",
    *,
    server: tuple[str, int] | None = None,
    root_servers: Sequence[tuple[str, int]] | None = None,
    trust_anchors: TrustAnchors | None = None,
    port: int = DEFAULT_PORT,
    timeout: float = 3.0,
    deadline: float = 20.0,
    now: datetime,
    loopback_only: bool = False,
    max_queries: int = MAX_QUERIES,
    check_cds: bool = True,
) -> DnssecStatus:
    """The DNSSEC status of `name`/`rdtype`, validated from the trust anchor down.

    `server`: ask this one server (recursive, or authoritative for the whole chain) for
    everything, with RD and CD set. Otherwise resolve iteratively from `root_servers` (default:
    the packaged root hints), contacting every server met on `port`. `trust_anchors` default to
    IANA's root KSKs. `now` decides which signatures are in their validity period.
    """
    try:
        qname = dns.name.from_text(name)
        qtype = dns.rdatatype.from_text(rdtype)
    except (dns.exception.DNSException, ValueError) as error:
        return _failed(name, rdtype, reasons.BAD_QUERY, str(error)[:200])
    if dns.rdatatype.is_metatype(qtype):
        return _failed(name, rdtype, reasons.BAD_QUERY, f"{rdtype} cannot be validated")
    rdtype_text = dns.rdatatype.to_text(qtype)
    loop = asyncio.get_running_loop()
    budget = Budget(deadline=loop.time() + deadline, max_queries=max_queries)
    roots = root_servers if root_servers is not None else default_root_servers(port)
    resolver = Resolver(
        anchors=trust_anchors if trust_anchors is not None else iana_root_anchors(),
        root_servers=[Server(address, server_port) for address, server_port in roots],
        single_server=Server(*server) if server is not None else None,
        port=port,
        timeout=timeout,
        now=now,
        budget=budget,
        loopback_only=loopback_only,
        check_cds=check_cds,
    )
    steps: list[Answer] = []
    names = [qname]
    stop: Stop | None
    try:
        async with asyncio.timeout(deadline + _BACKSTOP):
            stop = await _follow(resolver, qname, qtype, steps, names)
    except Stop as raised:
        stop = raised
    except TimeoutError:
        stop = Stop(reasons.INDETERMINATE, reasons.DEADLINE, "the overall deadline passed")
    except Exception as error:  # noqa: BLE001 (hostile records must never crash a scan)
        # dnspython can raise unexpected types on records no test has thought of yet; the
        # peer's bytes caused it, so it is the peer's result, not our traceback.
        detail = f"could not process the answers: {type(error).__name__}: {error}"
        stop = Stop(reasons.INDETERMINATE, reasons.MALFORMED, detail[:300])
    status, reason, detail = _verdict(steps, stop)
    last = steps[-1] if steps else None
    chain = [
        zone
        for zone_name, zone in resolver.zones.items()
        if any(followed.is_subdomain(zone_name) for followed in names)
    ]
    chain.sort(key=lambda zone: (len(zone.name), zone.name))
    answer: tuple[str, ...] = ()
    if last is not None and last.rrset is not None:
        answer = report.present(last.rrset.rrset)
    return DnssecStatus(
        name=str(qname),
        rdtype=rdtype_text,
        status=status,
        reason=reason,
        detail=detail[:500],
        chain=tuple(report.zone(zone) for zone in chain),
        rcode=None if last is None else "NXDOMAIN" if last.kind == NXDOMAIN else "NOERROR",
        answer=answer,
        answer_signatures=report.signatures(last.outcomes) if last is not None else (),
        denial=report.denial(last.denial) if last is not None else None,
        cname_chain=tuple(str(followed) for followed in names[1:]),
        queries=budget.queries,
        servers=tuple(budget.servers),
    )
