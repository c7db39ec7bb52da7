"""A unit-test fixture, not a lab peer: a tiny authoritative DNS server for in-memory zones.

It listens on UDP and TCP on one loopback address (127.0.0.x) and port, in the test's own
event loop, and answers from the `dns.zone.Zone` objects it is given the way an
authoritative server does (RFC 1034 4.3.2, RFC 4035 3.1): answers with their RRSIGs,
referrals with the DS or the NSEC/NSEC3 proof of its absence and glue, CNAMEs, wildcard
expansions with their proof, NXDOMAIN and NODATA with SOA and NSEC/NSEC3 proofs. It is
only as complete as the resolver's unit tests need; the real-server tests are the lab's
(knot and unbound). `handler` replaces the answer for a test that needs one server to
misbehave on one question: it gets the query and the answer the zones give, and returns
the message, raw bytes, or None for silence.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone

Reply = dns.message.Message | bytes | None
Handler = Callable[[dns.message.Message, dns.message.Message | None, str], Reply]


def _rrset(
    zone: dns.zone.Zone, owner: dns.name.Name, rdtype: int, covers: int = 0
) -> dns.rrset.RRset | None:
    rdataset = zone.get_rdataset(owner, rdtype, covers)
    if rdataset is None:
        return None
    return dns.rrset.from_rdata_list(owner, rdataset.ttl, list(rdataset))


def _with_sigs(
    zone: dns.zone.Zone,
    owner: dns.name.Name,
    rdtype: int,
    target_owner: dns.name.Name | None = None,
) -> list[dns.rrset.RRset]:
    found = []
    for kind, covers in ((rdtype, 0), (dns.rdatatype.RRSIG, rdtype)):
        rrset = _rrset(zone, owner, kind, covers)
        if rrset is not None:
            if target_owner is not None:
                rrset = dns.rrset.from_rdata_list(target_owner, rrset.ttl, list(rrset))
            found.append(rrset)
    return found


class Authority:
    """The answer logic over a set of zones (no I/O)."""

    def __init__(self, zones: Iterable[dns.zone.Zone]) -> None:
        self.zones = list(zones)

    def _zone_for(self, qname: dns.name.Name, rdtype: int) -> dns.zone.Zone | None:
        candidates = [zone for zone in self.zones if qname.is_subdomain(zone.origin)]
        if not candidates:
            return None
        best = max(candidates, key=lambda zone: len(zone.origin))
        if rdtype == dns.rdatatype.DS and qname == best.origin:
            parents = [zone for zone in candidates if zone is not best]
            if parents:
                best = max(parents, key=lambda zone: len(zone.origin))
        return best

    def answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query, our_payload=1232)
        question = query.question[0]
        qname, rdtype = question.name, question.rdtype
        zone = self._zone_for(qname, rdtype)
        if zone is None:
            response.set_rcode(dns.rcode.REFUSED)
            return response
        response.flags |= dns.flags.AA
        cut = self._cut(zone, qname, rdtype)
        if cut is not None:
            self._referral(response, zone, cut)
            return response
        node = zone.get_node(qname)
        if node is not None and node.get_rdataset(dns.rdataclass.IN, rdtype) is not None:
            response.answer.extend(_with_sigs(zone, qname, rdtype))
            return response
        if (
            node is not None
            and node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME) is not None
        ):
            response.answer.extend(_with_sigs(zone, qname, dns.rdatatype.CNAME))
            return response
        if node is not None or self._is_ent(zone, qname):
            self._negative(response, zone)
            response.authority.extend(self._nodata_proof(zone, qname))
            return response
        encloser = self._closest_encloser(zone, qname)
        wildcard = dns.name.Name((b"*", *encloser.labels))
        source = zone.get_node(wildcard)
        if source is not None:
            kind = rdtype if source.get_rdataset(dns.rdataclass.IN, rdtype) else dns.rdatatype.CNAME
            if source.get_rdataset(dns.rdataclass.IN, kind) is not None:
                response.answer.extend(_with_sigs(zone, wildcard, kind, target_owner=qname))
                response.authority.extend(self._cover(zone, qname, encloser))
                return response
            self._negative(response, zone)
            response.authority.extend(self._cover(zone, qname, encloser))
            response.authority.extend(self._nodata_proof(zone, wildcard))
            return response
        self._negative(response, zone)
        response.set_rcode(dns.rcode.NXDOMAIN)
        response.authority.extend(self._cover(zone, qname, encloser))
        response.authority.extend(self._cover(zone, wildcard, encloser, wildcard=True))
        return response

    # -- pieces ---------------------------------------------------------------------------

    def _cut(self, zone: dns.zone.Zone, qname: dns.name.Name, rdtype: int) -> dns.name.Name | None:
        for depth in range(len(zone.origin) + 1, len(qname) + 1):
            owner = qname.split(depth)[1]
            if zone.get_rdataset(owner, dns.rdatatype.NS) is not None:
                if owner == qname and rdtype == dns.rdatatype.DS:
                    return None
                return owner
        return None

    def _referral(
        self, response: dns.message.Message, zone: dns.zone.Zone, cut: dns.name.Name
    ) -> None:
        response.flags &= ~dns.flags.AA
        ns = _rrset(zone, cut, dns.rdatatype.NS)
        assert ns is not None
        response.authority.append(ns)
        ds = _with_sigs(zone, cut, dns.rdatatype.DS)
        response.authority.extend(ds if ds else self._nodata_proof(zone, cut))
        for record in ns:
            target = record.target
            if target.is_subdomain(zone.origin):
                for kind in (dns.rdatatype.A, dns.rdatatype.AAAA):
                    glue = _rrset(zone, target, kind)
                    if glue is not None:
                        response.additional.append(glue)

    def _negative(self, response: dns.message.Message, zone: dns.zone.Zone) -> None:
        response.authority.extend(_with_sigs(zone, zone.origin, dns.rdatatype.SOA))

    def _is_ent(self, zone: dns.zone.Zone, qname: dns.name.Name) -> bool:
        return any(owner != qname and owner.is_subdomain(qname) for owner in zone.nodes)

    def _closest_encloser(self, zone: dns.zone.Zone, qname: dns.name.Name) -> dns.name.Name:
        current = qname.parent()
        while (
            current != zone.origin
            and zone.get_node(current) is None
            and not self._is_ent(zone, current)
        ):
            current = current.parent()
        return current

    def _nsec3_params(self, zone: dns.zone.Zone) -> tuple[int, bytes] | None:
        param = zone.get_rdataset(zone.origin, dns.rdatatype.NSEC3PARAM)
        if param is None:
            return None
        record = next(iter(param))
        return record.iterations, record.salt

    def _nsec3_owner(
        self, zone: dns.zone.Zone, owner: dns.name.Name
    ) -> tuple[bytes, dns.name.Name]:
        params = self._nsec3_params(zone)
        assert params is not None
        text = dns.dnssec.nsec3_hash(owner, params[1], params[0], 1)
        return base64.b32hexdecode(text), dns.name.Name(
            (text.lower().rstrip("=").encode(), *zone.origin.labels)
        )

    def _nsec3_records(self, zone: dns.zone.Zone) -> list[tuple[bytes, dns.name.Name]]:
        found = []
        for owner, node in zone.nodes.items():
            if node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NSEC3) is not None:
                label = owner.labels[0].upper()
                found.append((base64.b32hexdecode(label + b"=" * (-len(label) % 8)), owner))
        return sorted(found)

    def _nsec3_covering(self, zone: dns.zone.Zone, owner: dns.name.Name) -> list[dns.rrset.RRset]:
        digest, _ = self._nsec3_owner(zone, owner)
        records = self._nsec3_records(zone)
        before = [entry for entry in records if entry[0] < digest]
        chosen = before[-1] if before else (records[-1] if records else None)
        return _with_sigs(zone, chosen[1], dns.rdatatype.NSEC3) if chosen else []

    def _nodata_proof(self, zone: dns.zone.Zone, owner: dns.name.Name) -> list[dns.rrset.RRset]:
        if self._nsec3_params(zone) is not None:
            _, hashed = self._nsec3_owner(zone, owner)
            found = _with_sigs(zone, hashed, dns.rdatatype.NSEC3)
            if found:
                return found
            # Opt-out: no record for an unsigned delegation; prove the closest encloser.
            encloser = self._closest_encloser(zone, owner)
            _, encloser_hashed = self._nsec3_owner(zone, encloser)
            next_closer = owner.split(len(encloser) + 1)[1]
            return [
                *_with_sigs(zone, encloser_hashed, dns.rdatatype.NSEC3),
                *self._nsec3_covering(zone, next_closer),
            ]
        matching = _with_sigs(zone, owner, dns.rdatatype.NSEC)
        if matching:
            return matching
        return self._nsec_covering(zone, owner)

    def _nsec_covering(self, zone: dns.zone.Zone, owner: dns.name.Name) -> list[dns.rrset.RRset]:
        chain = sorted(
            name
            for name, node in zone.nodes.items()
            if node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NSEC)
        )
        before = [name for name in chain if name < owner]
        chosen = before[-1] if before else (chain[-1] if chain else None)
        return _with_sigs(zone, chosen, dns.rdatatype.NSEC) if chosen is not None else []

    def _cover(
        self,
        zone: dns.zone.Zone,
        owner: dns.name.Name,
        encloser: dns.name.Name,
        *,
        wildcard: bool = False,
    ) -> list[dns.rrset.RRset]:
        if self._nsec3_params(zone) is None:
            return self._nsec_covering(zone, owner)
        if wildcard:
            return self._nsec3_covering(zone, owner)
        _, encloser_hashed = self._nsec3_owner(zone, encloser)
        next_closer = owner.split(len(encloser) + 1)[1]
        return [
            *_with_sigs(zone, encloser_hashed, dns.rdatatype.NSEC3),
            *self._nsec3_covering(zone, next_closer),
        ]


def _dedupe(rrsets: list[dns.rrset.RRset]) -> list[dns.rrset.RRset]:
    seen: list[dns.rrset.RRset] = []
    for rrset in rrsets:
        if not any(
            rrset.name == other.name
            and rrset.rdtype == other.rdtype
            and rrset.covers == other.covers
            for other in seen
        ):
            seen.append(rrset)
    return seen


@dataclass
class ZoneServer:
    """UDP and TCP on (address, port), answering from `zones` (or `handler`'s say)."""

    address: str
    zones: list[dns.zone.Zone]
    port: int = 0
    handler: Handler | None = None
    queries: list[tuple[str, str, str]] = field(default_factory=list)  # (name, type, transport)
    _udp: asyncio.DatagramTransport | None = None
    _tcp: asyncio.Server | None = None

    def reply(self, wire: bytes, transport: str) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except Exception:  # noqa: BLE001 (a test server: a bad query gets no answer)
            return None
        question = query.question[0]
        self.queries.append((str(question.name), dns.rdatatype.to_text(question.rdtype), transport))
        answer: dns.message.Message | None = None
        if self.zones:
            answer = Authority(self.zones).answer(query)
            answer.authority = _dedupe(answer.authority)
        reply: Reply = answer
        if self.handler is not None:  # b"" over TCP: hang up; None: say nothing
            reply = self.handler(query, answer, transport)
        if reply is None or isinstance(reply, bytes):
            return reply
        return reply.to_wire(max_size=65535 if transport == "tcp" else 1232)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        server = self

        class Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                out = server.reply(data, "udp")
                if out is not None:
                    self.transport.sendto(out, addr)  # type: ignore[attr-defined]

        async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    length = struct.unpack("!H", await reader.readexactly(2))[0]
                    out = server.reply(await reader.readexactly(length), "tcp")
                    if out is None:  # silence: hold the connection open
                        await asyncio.sleep(3600)
                        return
                    if not out:  # b"": hang up
                        return
                    writer.write(struct.pack("!H", len(out)) + out)
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
                pass
            finally:
                writer.close()

        self._tcp = await asyncio.start_server(tcp, self.address, self.port, reuse_address=True)
        self.port = self._tcp.sockets[0].getsockname()[1]
        transport, _ = await loop.create_datagram_endpoint(
            Udp, local_addr=(self.address, self.port)
        )
        self._udp = transport  # type: ignore[assignment]

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()


async def start_servers(
    layout: dict[str, list[dns.zone.Zone]], handlers: dict[str, Handler] | None = None
) -> tuple[int, list[ZoneServer]]:
    """One server per address, all on the same free port (the resolver's `port` override)."""
    handlers = handlers or {}
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        servers = [
            ZoneServer(address, zones, port, handlers.get(address))
            for address, zones in layout.items()
        ]
        started: list[ZoneServer] = []
        try:
            for server in servers:
                await server.start()
                started.append(server)
        except OSError:
            for server in started:
                await server.stop()
            continue
        return port, servers
    raise RuntimeError("no free port on the loopback addresses")


async def stop_servers(servers: Iterable[ZoneServer]) -> None:
    for server in servers:
        await server.stop()
