"""The iterative resolver behind `probes.dnssec.validate_name`: zone cuts, keys, answers.

Theory of operation. Resolution starts at the root (root hints, or the servers given) or, in
single-server mode, asks one server everything (RD and CD set, so a recursive server fetches
and we validate). Each zone met on the way is a `ZoneState`: its servers, its status and its
authenticated keys. A referral from zone P to child C (a step down towards the name) takes
the DS RRset or the proof of its absence from the referral, or asks P for C/DS; the DS is
checked with P's keys, then C/DNSKEY is fetched from C's servers and authenticated by the DS
(`proto.dnssec.delegation`). A zone whose name is a trust anchor takes its DS from the anchor
instead. When an answer is signed by a zone below the one asked (one server authoritative
for both parent and child, or a recursive server), the zone cuts between are found by asking
each intermediate name's DS ("walking down"), so every cut on the way is checked.

Every query goes through `_query`, which enforces the budget: a deadline for the whole
validation, a timeout per query, a number of queries, servers tried per question. A failure
that cannot be worked around (every server of a zone timed out, sent garbage, was lame, or
the budget ran out) unwinds as `Stop` and becomes an indeterminate result with the chain seen
so far. Referrals must go strictly down towards the name, so a referral loop ends at the
first repeat; there are at most `MAX_REFERRALS` of them, CNAMEs are followed at most
`MAX_CNAMES` times, and name servers without glue are looked up by a nested resolution at
most `MAX_DEPTH` deep, sharing the same budget.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import dns.name
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS
from dns.rdtypes.ANY.NSEC3PARAM import NSEC3PARAM

from protoaudit.probes.dnssec_state import (
    MAX_DEPTH,
    MAX_NS_LOOKUPS,
    MAX_REFERRALS,
    MAX_SERVERS_KEPT,
    MAX_SERVERS_TRIED,
    Answer,
    Budget,
    Stop,
    ZoneState,
    inherit,
    most_telling,
    settle_unsigned,
    signer_of,
)
from protoaudit.probes.dnssec_transport import Server, exchange, is_loopback
from protoaudit.proto.dnssec import reasons
from protoaudit.proto.dnssec.anchors import TrustAnchors
from protoaudit.proto.dnssec.delegation import authenticate_keys
from protoaudit.proto.dnssec.denial import OPT_OUT_PROOF, DenialProof, is_delegation
from protoaudit.proto.dnssec.messages import (
    ANSWER,
    CNAME,
    DNAME,
    NODATA,
    NXDOMAIN,
    REFERRAL,
    Classified,
    RrsetWithSignatures,
    classify,
    denial_records,
    make_query,
)
from protoaudit.proto.dnssec.nsec3 import OPT_OUT_FLAG
from protoaudit.proto.dnssec.proofs import prove_denial, prove_wildcard_answer
from protoaudit.proto.dnssec.signatures import (
    PROTOCOL_DNSSEC,
    ZONE_FLAG,
    SignatureOutcome,
    verify_rrset,
)

__all__ = ["Resolver"]


class Resolver:
    def __init__(
        self,
        *,
        anchors: TrustAnchors,
        root_servers: list[Server],
        single_server: Server | None,
        port: int,
        timeout: float,
        now: datetime,
        budget: Budget,
        zones: dict[dns.name.Name, ZoneState] | None = None,
        loopback_only: bool = False,
        check_cds: bool = True,
        depth: int = 0,
    ) -> None:
        self.anchors = anchors
        self.root_servers = root_servers
        self.single = single_server
        self.port = port
        self.timeout = timeout
        self.now = now
        self.budget = budget
        self.zones = zones if zones is not None else {}
        self.loopback_only = loopback_only
        self.check_cds = check_cds
        self.depth = depth

    # -- asking ---------------------------------------------------------------------------

    def _remaining(self) -> float:
        if self.budget.queries >= self.budget.max_queries:
            detail = f"{self.budget.max_queries} queries were not enough"
            raise Stop(reasons.INDETERMINATE, reasons.QUERY_LIMIT, detail, fatal=True)
        remaining = self.budget.deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            detail = "the overall deadline passed"
            raise Stop(reasons.INDETERMINATE, reasons.DEADLINE, detail, fatal=True)
        return remaining

    async def _query(self, zone: ZoneState, qname: dns.name.Name, rdtype: int) -> Classified:
        failures: list[tuple[str, str]] = []
        ordered = sorted(zone.servers, key=lambda server: server in self.budget.unresponsive)
        for server in ordered[:MAX_SERVERS_TRIED]:
            remaining = self._remaining()
            if self.loopback_only and not is_loopback(server.address):
                failures.append((reasons.NOT_ALLOWED, f"{server}: not a loopback address"))
                continue
            self.budget.queries += 1
            if (
                str(server) not in self.budget.servers
                and len(self.budget.servers) < MAX_SERVERS_KEPT
            ):
                self.budget.servers.append(str(server))
            query = make_query(qname, rdtype, recursive=self.single is not None)
            result = await exchange(
                query,
                server,
                timeout=min(self.timeout, remaining),
                loopback_only=self.loopback_only,
            )
            if result.response is None:
                failures.append((result.failure or reasons.MALFORMED, f"{server}: {result.detail}"))
                if result.failure == reasons.TIMEOUT:
                    self.budget.unresponsive.add(server)
                    self._remaining()  # a timeout that used up the deadline is the deadline's
                continue
            classified = classify(
                result.response, qname, rdtype, zone.name, authoritative=self.single is None
            )
            if classified.reason is not None:
                failures.append((classified.reason, f"{server}: {classified.detail}"))
                continue
            if str(server) not in zone.answered_by:
                zone.answered_by.append(str(server))
            return classified
        what = (
            f"{qname} {dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rdtype))} in {zone.name}"
        )
        if not failures:
            raise Stop(reasons.INDETERMINATE, reasons.NO_SERVERS, f"no server to ask for {what}")
        reason = most_telling([reason for reason, _ in failures])
        details = "; ".join(detail for _, detail in failures)
        raise Stop(reasons.INDETERMINATE, reason, f"{what}: {details}"[:500])

    # -- zones ----------------------------------------------------------------------------

    async def root(self) -> ZoneState:
        root = dns.name.root
        if root in self.zones:
            return self.zones[root]
        servers = [self.single] if self.single is not None else list(self.root_servers)
        zone = ZoneState(root, None, servers)
        self.zones[root] = zone
        anchor = self.anchors.for_zone(root)
        if anchor:
            zone.trust_anchor = True
            await self._load_keys(zone, list(anchor))
        else:
            zone.settle(reasons.INDETERMINATE, reasons.NO_TRUST_ANCHOR, "no trust anchor for .")
        return zone

    def _closest_zone(self, qname: dns.name.Name) -> ZoneState:
        known = [zone for name, zone in self.zones.items() if qname.is_subdomain(name)]
        return max(known, key=lambda zone: len(zone.name))

    async def _load_keys(self, zone: ZoneState, ds_records: list[DS]) -> None:
        zone.ds_records = ds_records
        classified = await self._query(zone, zone.name, dns.rdatatype.DNSKEY)
        keys = classified.answer if classified.kind == ANSWER else None
        rrset = keys.rrset if keys is not None else None
        verdict = authenticate_keys(
            zone.name, ds_records, rrset, keys.rrsigs if keys else (), self.now
        )
        zone.ds_matches, zone.dnskeys, zone.dnskey_check = verdict.matches, rrset, verdict.check
        zone.settle(verdict.status, verdict.reason, verdict.detail)
        if verdict.status != reasons.SECURE or rrset is None:
            return
        zone.keys = [
            key
            for key in rrset
            if isinstance(key, DNSKEY) and key.flags & ZONE_FLAG and key.protocol == PROTOCOL_DNSSEC
        ]
        if self.check_cds and self.budget.max_queries - self.budget.queries > 20:
            zone.cds = await self._present(zone, dns.rdatatype.CDS)
            zone.cdnskey = await self._present(zone, dns.rdatatype.CDNSKEY)
            await self._nsec3_parameters(zone)

    async def _nsec3_parameters(self, zone: ZoneState) -> None:
        """The zone's NSEC3PARAM, so that its NSEC3 settings show without a denial to see."""
        asked = await self._ask_apex(zone, dns.rdatatype.NSEC3PARAM)
        if asked is None or asked.answer is None or zone.nsec3 is not None:
            return
        for record in asked.answer.rrset:
            if isinstance(record, NSEC3PARAM):
                zone.nsec3 = (int(record.iterations), bytes(record.salt))
                return

    async def _peek_keys(self, zone: ZoneState) -> None:
        """An unsigned delegation's own DNSKEYs, unauthenticated: a signed zone whose parent
        has no DS for it is an island of security, and the report should say so."""
        if not self.check_cds or self.budget.max_queries - self.budget.queries <= 20:
            return
        asked = await self._ask_apex(zone, dns.rdatatype.DNSKEY)
        if asked is not None and asked.answer is not None:
            zone.dnskeys = asked.answer.rrset

    async def _present(self, zone: ZoneState, rdtype: int) -> bool | None:
        asked = await self._ask_apex(zone, rdtype, answers_only=False)
        return None if asked is None else asked.kind == ANSWER

    async def _ask_apex(
        self, zone: ZoneState, rdtype: int, *, answers_only: bool = True
    ) -> Classified | None:
        """A question about the zone's apex that the verdict does not hang on: a failure
        to answer it is no failure of the validation (unless the budget ran out)."""
        try:
            asked = await self._query(zone, zone.name, rdtype)
        except Stop as stop:
            if stop.fatal:
                raise
            return None
        return asked if asked.kind == ANSWER or not answers_only else None

    def _prove(
        self,
        zone: ZoneState,
        denial: tuple[RrsetWithSignatures, ...],
        qname: dns.name.Name,
        rdtype: int,
        *,
        nxdomain: bool,
        encloser: dns.name.Name | None = None,
    ) -> DenialProof:
        """Authenticate the NSEC/NSEC3 RRsets with the zone's keys, then reason about them."""
        for item in denial:
            check = verify_rrset(item.rrset, item.rrsigs, zone.keys, zone.name, self.now)
            if not check.valid:
                kind = dns.rdatatype.to_text(item.rrset.rdtype).lower()
                reason = check.reason or reasons.DENIAL_INVALID
                return DenialProof(kind, "unauthenticated", reasons.BOGUS, reason, check.detail)
        nsec, nsec3 = denial_records(denial)
        if nsec3:
            zone.nsec3 = (nsec3[0][1].iterations, nsec3[0][1].salt)
            opt_out = any(record.flags & OPT_OUT_FLAG for _, record in nsec3)
            zone.nsec3_opt_out = bool(zone.nsec3_opt_out) or opt_out
        if encloser is not None:
            return prove_wildcard_answer(qname, encloser, zone.name, nsec=nsec, nsec3=nsec3)
        return prove_denial(qname, rdtype, zone.name, nxdomain=nxdomain, nsec=nsec, nsec3=nsec3)

    async def _authenticate_delegation(
        self,
        parent: ZoneState,
        zone: ZoneState,
        ds: RrsetWithSignatures | None,
        denial: tuple[RrsetWithSignatures, ...],
    ) -> None:
        anchor = self.anchors.for_zone(zone.name)
        if anchor:
            zone.trust_anchor = True
            await self._load_keys(zone, list(anchor))
            return
        if parent.status != reasons.SECURE:
            inherit(zone, parent)
            return
        if ds is None and not denial:
            asked = await self._query(parent, zone.name, dns.rdatatype.DS)
            ds = asked.answer if asked.kind == ANSWER else None
            denial = asked.denial
        if ds is not None:
            check = verify_rrset(ds.rrset, ds.rrsigs, parent.keys, parent.name, self.now)
            zone.ds_check = check
            zone.ds_records = [record for record in ds.rrset if isinstance(record, DS)]
            if not check.valid:
                detail = f"DS of {zone.name} in {parent.name}: {check.detail}"
                zone.settle(reasons.BOGUS, check.reason, detail)
                return
            await self._load_keys(zone, zone.ds_records)
            return
        proof = self._prove(parent, denial, zone.name, dns.rdatatype.DS, nxdomain=False)
        zone.ds_denial = proof
        settle_unsigned(zone, parent, proof)
        if zone.status == reasons.INSECURE and zone.servers:
            await self._peek_keys(zone)

    async def _enter_child(self, parent: ZoneState, referral: Classified) -> ZoneState:
        child = referral.child
        assert child is not None
        if child in self.zones:
            return self.zones[child]
        servers = await self._servers_for(referral)
        zone = ZoneState(child, parent.name, servers)
        self.zones[child] = zone
        await self._authenticate_delegation(parent, zone, referral.ds, referral.denial)
        return zone

    async def _servers_for(self, referral: Classified) -> list[Server]:
        if self.single is not None:
            return [self.single]
        addresses = [address for _, address in referral.glue]
        addresses.sort(key=lambda address: ":" in address)  # IPv4 first
        servers = list(dict.fromkeys(Server(address, self.port) for address in addresses))
        if servers:
            return servers
        child = referral.child
        assert child is not None
        for name in referral.name_servers[:MAX_NS_LOOKUPS]:
            if name.is_subdomain(child) or self.depth >= MAX_DEPTH:
                continue  # in the child without glue: unreachable; or nested too deep
            found = await self._addresses(name)
            if found:
                return [Server(address, self.port) for address in found]
        detail = f"no address for any name server of {child}"
        raise Stop(reasons.INDETERMINATE, reasons.NO_SERVERS, detail)

    async def _addresses(self, name: dns.name.Name) -> list[str]:
        nested = Resolver(
            anchors=self.anchors,
            root_servers=self.root_servers,
            single_server=self.single,
            port=self.port,
            timeout=self.timeout,
            now=self.now,
            budget=self.budget,
            zones=self.zones,
            loopback_only=self.loopback_only,
            check_cds=False,
            depth=self.depth + 1,
        )
        for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            try:
                answer = await nested.resolve(name, rdtype)
            except Stop as stop:
                if stop.fatal:
                    raise
                continue
            if answer.kind == ANSWER and answer.rrset is not None:
                return [str(record.address) for record in list(answer.rrset.rrset)[:4]]
        return []

    async def _walk_down(self, zone: ZoneState, target: dns.name.Name, *, apex: bool) -> ZoneState:
        """From `zone` down to `target`, finding and checking every zone cut on the way.

        `apex`: `target` signed the answer, so it must be a zone apex itself.
        """
        current = zone
        for depth in range(len(zone.name) + 1, len(target) + 1):
            name = target.split(depth)[1]
            if name in self.zones:
                current = self.zones[name]
                continue
            if self.anchors.for_zone(name):
                anchored = ZoneState(name, current.name, current.servers)
                self.zones[name] = anchored
                await self._authenticate_delegation(current, anchored, None, ())
                current = anchored
                continue
            asked = await self._query(current, name, dns.rdatatype.DS)
            if asked.kind == REFERRAL:
                current = await self._enter_child(current, asked)
            elif asked.kind == ANSWER:
                child = ZoneState(name, current.name, current.servers)
                self.zones[name] = child
                await self._authenticate_delegation(current, child, asked.answer, ())
                current = child
            elif asked.kind == NODATA:
                cut = self._cut_without_ds(current, name, asked, apex=apex and name == target)
                if cut is not None:
                    current = cut
            else:
                break  # NXDOMAIN or an alias: the signer is not a zone below; judged as bogus
        return current

    def _cut_without_ds(
        self, current: ZoneState, name: dns.name.Name, asked: Classified, *, apex: bool
    ) -> ZoneState | None:
        """A NODATA for `name`/DS: a zone cut without DS, or no cut at all (None)."""
        is_cut = apex or asked.soa_owner == name
        proof = None
        if current.status == reasons.SECURE:
            proof = self._prove(current, asked.denial, name, dns.rdatatype.DS, nxdomain=False)
            types = proof.types_at_name
            delegation = types is not None and is_delegation(types)
            is_cut = is_cut or delegation or proof.proves == OPT_OUT_PROOF or not proof.valid
        if not is_cut:
            return None
        child = ZoneState(name, current.name, current.servers, ds_denial=proof)
        self.zones[name] = child
        if proof is None:
            inherit(child, current)
        else:
            settle_unsigned(child, current, proof)
        return child

    # -- answers --------------------------------------------------------------------------

    async def resolve(self, qname: dns.name.Name, rdtype: int) -> Answer:
        """One question, from the closest known zone down; aliases are returned, not followed."""
        await self.root()
        zone = self._closest_zone(qname)
        referrals = 0
        while True:
            asked = await self._query(zone, qname, rdtype)
            if asked.kind != REFERRAL:
                break
            referrals += 1
            if referrals > MAX_REFERRALS:
                detail = f"more than {MAX_REFERRALS} referrals for {qname}"
                raise Stop(reasons.INDETERMINATE, reasons.REFERRAL_LIMIT, detail)
            zone = await self._enter_child(zone, asked)
        signer = signer_of(asked, qname)
        if signer is not None and signer != zone.name and signer.is_subdomain(zone.name):
            downward = qname.is_subdomain(signer) and (
                rdtype != dns.rdatatype.DS or signer != qname
            )
            if downward:
                zone = await self._walk_down(zone, signer, apex=True)
        elif signer is None and (
            zone.status == reasons.SECURE or self._anchored_below(zone, qname)
        ):
            # Unsigned data from a secure zone's server: bogus, unless an unsigned zone cut
            # lies between (one server for a signed parent and an unsigned child).
            owner = qname.parent() if rdtype == dns.rdatatype.DS and qname != zone.name else qname
            if owner != zone.name and owner.is_subdomain(zone.name):
                zone = await self._walk_down(zone, owner, apex=False)
        return self._judge(zone, qname, rdtype, asked)

    def _anchored_below(self, zone: ZoneState, qname: dns.name.Name) -> bool:
        """A trust anchor lies between `zone` and `qname`: the data there must be signed."""
        anchored = self.anchors.closest(qname)
        return anchored is not None and anchored != zone.name and anchored.is_subdomain(zone.name)

    def _judge(
        self, zone: ZoneState, qname: dns.name.Name, rdtype: int, asked: Classified
    ) -> Answer:
        answer = Answer(
            qname,
            zone.status,
            zone.reason,
            zone.detail,
            asked.kind,
            zone.name,
            rrset=asked.answer,
            target=asked.target,
        )
        if zone.status != reasons.SECURE:
            answer.detail = f"zone {zone.name}: {zone.detail}"
            if asked.answer is not None:
                answer.outcomes = tuple(
                    SignatureOutcome(sig, False, None, "not checked") for sig in asked.answer.rrsigs
                )
            return answer
        if asked.kind in (ANSWER, CNAME, DNAME) and asked.answer is not None:
            check = verify_rrset(
                asked.answer.rrset, asked.answer.rrsigs, zone.keys, zone.name, self.now
            )
            answer.outcomes = check.outcomes
            answer.status, answer.reason, answer.detail = (
                (reasons.SECURE, None, check.detail)
                if check.valid
                else (reasons.BOGUS, check.reason, check.detail)
            )
            if check.valid and check.wildcard_parent is not None:
                proof = self._prove(
                    zone,
                    asked.denial,
                    qname,
                    rdtype,
                    nxdomain=False,
                    encloser=check.wildcard_parent,
                )
                answer.denial = proof
                if not proof.valid:
                    answer.status, answer.reason = reasons.BOGUS, proof.reason
                    answer.detail = f"wildcard answer: {proof.detail}"
            return answer
        proof = self._prove(zone, asked.denial, qname, rdtype, nxdomain=asked.kind == NXDOMAIN)
        answer.denial = proof
        answer.status, answer.reason, answer.detail = proof.status, proof.reason, proof.detail
        return answer
