"""DNS queries as a validator sends them, and what a response means for iterative resolution.

Queries carry EDNS0 with a 1232-byte payload (the DNS Flag Day 2020 value) and the DO bit;
RD and CD are set only when a recursive server is asked (CD, RFC 4035 3.2.2: "give me the
data unchecked, I validate myself"). A response is classified against the question asked
and the zone whose servers were asked (RFC 1034 5.3.3, RFC 4035 3.1):

- ANSWER: an RRset of the name and type (or the DS of the name in a referral, for DS);
- CNAME / DNAME: an alias to follow (a DNAME with its synthesised target);
- REFERRAL: no answer and an NS RRset in the authority section for a zone strictly below the
  asked zone and at or above the name: a step down;
- NXDOMAIN and NODATA: a negative answer; its proof is in the authority section;
- LAME and the other failures: try another server. A referral to the asked zone itself, to
  an ancestor or sideways is a loop (RFC 1034 5.3.3 step 4 rejects it), not a step.

Nothing here touches a socket; the probe does the I/O and hands the parsed message in.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.NSEC import NSEC
from dns.rdtypes.ANY.NSEC3 import NSEC3
from dns.rdtypes.ANY.RRSIG import RRSIG

from protoaudit.proto.dnssec import reasons
from protoaudit.proto.dnssec.denial import MAX_DENIAL_RECORDS, Nsec3Record, NsecRecord

__all__ = [
    "ANSWER",
    "CNAME",
    "DNAME",
    "EDNS_PAYLOAD",
    "FAILED",
    "MAX_NAME_SERVERS",
    "MAX_RECORDS",
    "NODATA",
    "NXDOMAIN",
    "REFERRAL",
    "Classified",
    "RrsetWithSignatures",
    "classify",
    "denial_records",
    "denial_rrsets",
    "make_query",
    "signatures_for",
]

EDNS_PAYLOAD = 1232
# Records in one response that we are willing to look at; more is a hostile or broken peer.
MAX_RECORDS = 600
MAX_NAME_SERVERS = 13  # NS names taken from one referral
MAX_GLUE_PER_NAME = 4

ANSWER = "answer"
CNAME = "cname"
DNAME = "dname"
REFERRAL = "referral"
NXDOMAIN = "nxdomain"
NODATA = "nodata"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class RrsetWithSignatures:
    rrset: dns.rrset.RRset
    rrsigs: tuple[RRSIG, ...]

    @property
    def signers(self) -> frozenset[dns.name.Name]:
        return frozenset(sig.signer for sig in self.rrsigs)


@dataclass(frozen=True, slots=True)
class Classified:
    kind: str  # ANSWER, CNAME, DNAME, REFERRAL, NXDOMAIN, NODATA or FAILED
    reason: str | None = None  # for FAILED: a reasons.* value
    detail: str = ""
    answer: RrsetWithSignatures | None = None  # the RRset, the CNAME, or the DNAME
    target: dns.name.Name | None = None  # where a CNAME or DNAME points for the name
    child: dns.name.Name | None = None  # for REFERRAL: the zone referred to
    name_servers: tuple[dns.name.Name, ...] = ()
    glue: tuple[tuple[dns.name.Name, str], ...] = ()  # (NS name, address) from additional
    ds: RrsetWithSignatures | None = None  # the DS RRset of a referral
    soa_owner: dns.name.Name | None = None  # the SOA in a negative answer names the zone
    denial: tuple[RrsetWithSignatures, ...] = field(default=())


def make_query(
    qname: dns.name.Name, rdtype: int, *, recursive: bool, query_id: int | None = None
) -> dns.message.QueryMessage:
    """A DO-bit query with EDNS0 (payload 1232); RD and CD for a recursive server."""
    flags = dns.flags.RD | dns.flags.CD if recursive else 0
    return dns.message.make_query(
        qname,
        dns.rdatatype.RdataType.make(rdtype),
        use_edns=0,
        want_dnssec=True,
        payload=EDNS_PAYLOAD,
        flags=flags,
        id=query_id,
    )


def signatures_for(
    section: Iterable[dns.rrset.RRset], name: dns.name.Name, rdtype: int
) -> tuple[RRSIG, ...]:
    found: list[RRSIG] = []
    for rrset in section:
        if rrset.rdtype == dns.rdatatype.RRSIG and rrset.name == name and rrset.covers == rdtype:
            found.extend(sig for sig in rrset if isinstance(sig, RRSIG))
    return tuple(found)


def _find(
    section: Iterable[dns.rrset.RRset], name: dns.name.Name, rdtype: int
) -> RrsetWithSignatures | None:
    rrsets = list(section)
    for rrset in rrsets:
        if rrset.rdtype == rdtype and rrset.name == name and rrset.rdclass == dns.rdataclass.IN:
            return RrsetWithSignatures(rrset, signatures_for(rrsets, name, rdtype))
    return None


def denial_rrsets(section: Iterable[dns.rrset.RRset]) -> tuple[RrsetWithSignatures, ...]:
    """The NSEC and NSEC3 RRsets of a section, each with its RRSIGs (bounded)."""
    rrsets = list(section)
    found = [
        RrsetWithSignatures(rrset, signatures_for(rrsets, rrset.name, rrset.rdtype))
        for rrset in rrsets
        if rrset.rdtype in (dns.rdatatype.NSEC, dns.rdatatype.NSEC3)
    ]
    return tuple(found[:MAX_DENIAL_RECORDS])


def denial_records(
    rrsets: Iterable[RrsetWithSignatures],
) -> tuple[list[NsecRecord], list[Nsec3Record]]:
    nsec: list[NsecRecord] = []
    nsec3: list[Nsec3Record] = []
    for item in rrsets:
        for record in item.rrset:
            if isinstance(record, NSEC3):
                nsec3.append((item.rrset.name, record))
            elif isinstance(record, NSEC):
                nsec.append((item.rrset.name, record))
    return nsec, nsec3


def _glue(
    additional: Iterable[dns.rrset.RRset],
    names: Iterable[dns.name.Name],
    bailiwick: dns.name.Name,
) -> tuple[tuple[dns.name.Name, str], ...]:
    """Addresses for NS names under the referring zone (RFC 1034 5.3.3's bailiwick rule)."""
    wanted = {name for name in names if name.is_subdomain(bailiwick)}
    glue: list[tuple[dns.name.Name, str]] = []
    for rrset in additional:
        if rrset.name not in wanted or rrset.rdtype not in (dns.rdatatype.A, dns.rdatatype.AAAA):
            continue
        for record in list(rrset)[:MAX_GLUE_PER_NAME]:
            address = str(getattr(record, "address", ""))
            try:
                ipaddress.ip_address(address)
            except ValueError:
                continue
            glue.append((rrset.name, address))
    return tuple(glue)


def _failed(reason: str, detail: str) -> Classified:
    return Classified(FAILED, reason=reason, detail=detail)


def _alias(answer: list[dns.rrset.RRset], qname: dns.name.Name, rdtype: int) -> Classified | None:
    if rdtype != dns.rdatatype.CNAME:
        cname = _find(answer, qname, dns.rdatatype.CNAME)
        if cname is not None:
            return Classified(CNAME, answer=cname, target=cname.rrset[0].target)
    for rrset in answer:
        if rrset.rdtype != dns.rdatatype.DNAME or rdtype == dns.rdatatype.DNAME:
            continue
        owner = rrset.name
        if qname.is_subdomain(owner) and qname != owner:
            dname = _find(answer, owner, dns.rdatatype.DNAME)
            assert dname is not None
            try:
                target = qname.relativize(owner).derelativize(dname.rrset[0].target)
            except dns.name.NameTooLong:
                return _failed(reasons.MALFORMED, f"DNAME {owner} makes {qname} too long")
            return Classified(DNAME, answer=dname, target=target)
    return None


def _referral(
    response: dns.message.Message,
    qname: dns.name.Name,
    zone: dns.name.Name,
    authority: list[dns.rrset.RRset],
) -> Classified | None:
    ns_sets = [rrset for rrset in authority if rrset.rdtype == dns.rdatatype.NS]
    if not ns_sets:
        return None
    child = ns_sets[0].name
    if not (child.is_subdomain(zone) and child != zone and qname.is_subdomain(child)):
        return _failed(
            reasons.REFERRAL_LOOP, f"referral to {child} is not below {zone} towards {qname}"
        )
    names = tuple(record.target for record in list(ns_sets[0])[:MAX_NAME_SERVERS])
    return Classified(
        REFERRAL,
        child=child,
        name_servers=names,
        glue=_glue(response.additional, names, zone),
        ds=_find(authority, child, dns.rdatatype.DS),
        denial=denial_rrsets(authority),
    )


def classify(
    response: dns.message.Message,
    qname: dns.name.Name,
    rdtype: int,
    zone: dns.name.Name,
    *,
    authoritative: bool,
) -> Classified:
    """What `response` to (qname, rdtype), asked of `zone`'s servers, means.

    `authoritative`: the servers were asked as authorities (iterative mode), so answers and
    negative answers must carry AA; a recursive server's answers need not.
    """
    sections = (response.answer, response.authority, response.additional)
    if sum(len(rrset) for section in sections for rrset in section) > MAX_RECORDS:
        return _failed(reasons.RESPONSE_TOO_LARGE, f"more than {MAX_RECORDS} records")
    rcode = response.rcode()
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        return _failed(reasons.SERVER_FAILURE, f"rcode {dns.rcode.to_text(rcode)}")
    answer = list(response.answer)
    authority = list(response.authority)
    has_aa = bool(response.flags & dns.flags.AA)
    found = _find(answer, qname, rdtype)
    if found is not None:
        if authoritative and not has_aa:
            return _failed(reasons.LAME, "an answer without the AA flag")
        # A wildcard-expanded answer brings its proof of no exact match along.
        return Classified(ANSWER, answer=found, denial=denial_rrsets(authority))
    alias = _alias(answer, qname, rdtype)
    if alias is not None:
        if alias.kind == FAILED:
            return alias
        if authoritative and not has_aa:
            return _failed(reasons.LAME, "an alias without the AA flag")
        return replace(alias, denial=denial_rrsets(authority))
    soa = next((rrset for rrset in authority if rrset.rdtype == dns.rdatatype.SOA), None)
    if rcode == dns.rcode.NOERROR and soa is None and not (authoritative and has_aa):
        referral = _referral(response, qname, zone, authority)
        if referral is not None:
            if referral.kind == REFERRAL and rdtype == dns.rdatatype.DS and referral.child == qname:
                # A DS question answered with the delegation itself: its DS is the answer.
                return _ds_from_referral(referral)
            return referral
    if authoritative and not has_aa:
        return _failed(reasons.LAME, "neither an answer, a referral nor authoritative")
    kind = NXDOMAIN if rcode == dns.rcode.NXDOMAIN else NODATA
    return Classified(
        kind, soa_owner=soa.name if soa is not None else None, denial=denial_rrsets(authority)
    )


def _ds_from_referral(referral: Classified) -> Classified:
    if referral.ds is not None:
        return Classified(ANSWER, answer=referral.ds)
    return Classified(NODATA, denial=referral.denial)
