"""NSEC denial of existence (RFC 4035 3.1.3 and 5.4, RFC 6840 4).

An NSEC at name N lists the types at N and the next name in the zone's canonical order, so
it "matches" N and "covers" every name strictly between N and its next name (the last one
wraps to the apex). NXDOMAIN needs a covering NSEC for the name and one for the wildcard at
its closest encloser; NODATA needs the matching NSEC without the type (or without CNAME),
or, for a name that exists only as an empty non-terminal, a covering NSEC whose next name
is below it; wildcard NODATA needs a covering NSEC and the wildcard's matching NSEC without
the type. An NSEC at a delegation (NS without SOA) belongs to the parent and proves nothing
about names below it, nor about types other than DS at it.
"""

from __future__ import annotations

from collections.abc import Sequence

import dns.name
import dns.rdatatype
from dns.rdtypes.ANY.NSEC import NSEC

from protoaudit.proto.dnssec import reasons
from protoaudit.proto.dnssec.denial import (
    NO_DS,
    NODATA,
    NXDOMAIN,
    WILDCARD_ANSWER,
    WILDCARD_NODATA,
    DenialProof,
    NsecRecord,
    bitmap_types,
    denies_type,
    failed,
    is_delegation,
    present,
)

__all__ = ["prove_nsec", "prove_nsec_wildcard_answer"]

MECHANISM = "nsec"


def covers(owner: dns.name.Name, record: NSEC, name: dns.name.Name) -> bool:
    """owner < name < next in canonical order; the last NSEC wraps to the apex."""
    following: dns.name.Name = record.next
    if owner < following:
        return bool(owner < name < following)
    return bool(name > owner)


def _blocked(records: Sequence[NsecRecord], name: dns.name.Name) -> bool:
    """An ancestor's NSEC shows a delegation or DNAME there: nothing below is provable."""
    for owner, record in records:
        if name != owner and name.is_subdomain(owner):
            types = bitmap_types(record.windows)
            if is_delegation(types) or dns.rdatatype.DNAME in types:
                return True
    return False


def _common(first: dns.name.Name, second: dns.name.Name) -> dns.name.Name:
    _, _, shared = first.fullcompare(second)
    return first.split(shared)[1] if shared else dns.name.root


def _covering(records: Sequence[NsecRecord], name: dns.name.Name) -> NsecRecord | None:
    for owner, record in records:
        if covers(owner, record, name):
            return owner, record
    return None


def _matching(records: Sequence[NsecRecord], name: dns.name.Name) -> NSEC | None:
    for owner, record in records:
        if owner == name:
            return record
    return None


def _closest_encloser(
    qname: dns.name.Name, owner: dns.name.Name, record: NSEC, zone: dns.name.Name
) -> dns.name.Name:
    candidates = (_common(qname, owner), _common(qname, record.next), zone)
    inside = [name for name in candidates if name.is_subdomain(zone)]
    return max(inside, key=len)


def _prove_match(
    qname: dns.name.Name, rdtype: int, zone: dns.name.Name, record: NSEC
) -> DenialProof:
    types = bitmap_types(record.windows)
    proves = NO_DS if rdtype == dns.rdatatype.DS else NODATA
    if rdtype == dns.rdatatype.DS and dns.rdatatype.SOA in types and qname != zone:
        return failed(MECHANISM, proves, f"the NSEC at {qname} is the child zone's")
    if rdtype != dns.rdatatype.DS and is_delegation(types):
        return failed(MECHANISM, proves, f"the NSEC at {qname} is a delegation's (RFC 6840 4.1)")
    if not denies_type(types, rdtype):
        return failed(MECHANISM, proves, f"the NSEC at {qname} lists the type or a CNAME")
    return DenialProof(
        MECHANISM,
        proves,
        reasons.SECURE,
        None,
        f"the NSEC at {qname} lacks the type",
        types_at_name=types,
        used=(present(qname, record),),
    )


def prove_nsec(
    qname: dns.name.Name,
    rdtype: int,
    zone: dns.name.Name,
    nxdomain: bool,
    records: Sequence[NsecRecord],
) -> DenialProof:
    records = [(owner, record) for owner, record in records if owner.is_subdomain(zone)]
    denied = NXDOMAIN if nxdomain else NODATA
    if _blocked(records, qname):
        return failed(MECHANISM, denied, f"an NSEC shows a zone cut or DNAME above {qname}")
    matching = _matching(records, qname)
    if matching is not None:
        if nxdomain:
            return failed(MECHANISM, NXDOMAIN, f"an NSEC shows that {qname} exists")
        return _prove_match(qname, rdtype, zone, matching)
    covering = _covering(records, qname)
    if covering is None:
        return failed(MECHANISM, denied, f"no NSEC matches or covers {qname}")
    owner, record = covering
    used = (present(owner, record),)
    if record.next.is_subdomain(qname):
        # qname is an empty non-terminal: it exists, with no data (RFC 4035 3.1.3.2).
        if nxdomain:
            return failed(MECHANISM, NXDOMAIN, f"{qname} is an empty non-terminal, not absent")
        return DenialProof(
            MECHANISM,
            NODATA,
            reasons.SECURE,
            None,
            f"{qname} is an empty non-terminal (NSEC {owner} -> {record.next})",
            types_at_name=frozenset(),
            used=used,
        )
    encloser = _closest_encloser(qname, owner, record, zone)
    wildcard = dns.name.Name((b"*", *encloser.labels))
    source = _matching(records, wildcard)
    if source is not None:
        if nxdomain or not denies_type(bitmap_types(source.windows), rdtype):
            return failed(MECHANISM, denied, f"{wildcard} exists and would answer")
        return DenialProof(
            MECHANISM,
            WILDCARD_NODATA,
            reasons.SECURE,
            None,
            f"NSEC {owner} covers {qname}; the NSEC at {wildcard} lacks the type",
            closest_encloser=encloser,
            used=(*used, present(wildcard, source)),
        )
    if not nxdomain:
        return failed(MECHANISM, NODATA, f"NSEC {owner} covers {qname}: it does not exist")
    wildcard_cover = _covering(records, wildcard)
    if wildcard_cover is None:
        return failed(MECHANISM, NXDOMAIN, f"no NSEC proves that {wildcard} does not exist")
    return DenialProof(
        MECHANISM,
        NXDOMAIN,
        reasons.SECURE,
        None,
        f"NSEC {owner} covers {qname}; NSEC {wildcard_cover[0]} covers {wildcard}",
        closest_encloser=encloser,
        used=(*used, present(*wildcard_cover)),
    )


def prove_nsec_wildcard_answer(
    qname: dns.name.Name, encloser: dns.name.Name, records: Sequence[NsecRecord]
) -> DenialProof:
    """RFC 4035 5.3.4: a wildcard-expanded answer needs an NSEC covering the name itself."""
    covering = _covering(records, qname)
    if covering is None or _matching(records, qname) is not None:
        return failed(MECHANISM, WILDCARD_ANSWER, f"no NSEC proves that {qname} does not exist")
    return DenialProof(
        MECHANISM,
        WILDCARD_ANSWER,
        reasons.SECURE,
        None,
        f"NSEC {covering[0]} covers {qname}",
        closest_encloser=encloser,
        used=(present(*covering),),
    )
