"""NSEC3 denial of existence (RFC 5155 8, with RFC 9276's iteration limit).

An NSEC3 record's owner is base32hex(H(name)) under the zone; it "matches" a name whose hash
equals it and "covers" a hash strictly between it and its next hash (the last wraps around).
The proofs, by RFC 5155 section:

- 8.3 closest encloser: the longest ancestor of the name with a matching NSEC3, and a
  covering NSEC3 for the "next closer" name (one label longer, towards the name);
- 8.4 NXDOMAIN: a closest encloser proof and a covering NSEC3 for "*.<closest encloser>";
- 8.5 NODATA: a matching NSEC3 without the type and without CNAME;
- 8.6 no DS: a matching NSEC3 without DS, or a closest encloser proof whose next closer is
  covered by an NSEC3 with the opt-out flag (then the delegation is insecure);
- 8.7 wildcard NODATA: a closest encloser proof and a matching NSEC3 for the wildcard;
- 8.8 wildcard answer: a covering NSEC3 for the next closer of the wildcard's encloser.

Records with a hash algorithm other than SHA-1, with flags other than opt-out, or with
parameters different from the first usable record are ignored (RFC 5155 8.1-8.2). More
than `MAX_ITERATIONS` iterations makes the answer insecure without hashing anything, as
RFC 9276 3.2 allows and as Unbound and BIND do; the cost of a hostile count stays bounded.
An NXDOMAIN whose next closer lies in an opt-out span is insecure too (an unsigned
delegation could be there), as Unbound treats it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, replace

import dns.dnssec
import dns.dnssectypes
import dns.name
import dns.rdatatype
from dns.rdtypes.ANY.NSEC3 import NSEC3

from protoaudit.proto.dnssec import reasons
from protoaudit.proto.dnssec.denial import (
    NO_DS,
    NODATA,
    NXDOMAIN,
    OPT_OUT_PROOF,
    WILDCARD_ANSWER,
    WILDCARD_NODATA,
    DenialProof,
    Nsec3Record,
    bitmap_types,
    denies_type,
    failed,
    is_delegation,
    present,
)

__all__ = ["MAX_ITERATIONS", "OPT_OUT_FLAG", "prove_nsec3", "prove_nsec3_wildcard_answer"]

MECHANISM = "nsec3"
MAX_ITERATIONS = 150  # RFC 9276 3.2: validators may treat anything above as insecure
OPT_OUT_FLAG = 0x01
_SHA1 = dns.dnssectypes.NSEC3Hash.SHA1


@dataclass(frozen=True, slots=True)
class _Chain:
    """The usable records of one NSEC3 chain, with their owner hashes decoded."""

    zone: dns.name.Name
    iterations: int
    salt: bytes
    records: tuple[tuple[bytes, dns.name.Name, NSEC3], ...]

    def hash(self, name: dns.name.Name) -> bytes:
        text = dns.dnssec.nsec3_hash(name, self.salt, self.iterations, _SHA1)
        return base64.b32hexdecode(text)

    def matching(self, name: dns.name.Name) -> tuple[dns.name.Name, NSEC3] | None:
        digest = self.hash(name)
        for owner_hash, owner, record in self.records:
            if owner_hash == digest:
                return owner, record
        return None

    def covering(self, name: dns.name.Name) -> tuple[dns.name.Name, NSEC3] | None:
        digest = self.hash(name)
        for owner_hash, owner, record in self.records:
            following = record.next
            if owner_hash < following:
                inside = owner_hash < digest < following
            else:
                inside = digest > owner_hash or digest < following
            if inside:
                return owner, record
        return None


def _decode_owner(owner: dns.name.Name, zone: dns.name.Name) -> bytes | None:
    if len(owner) < 2 or owner.parent() != zone:
        return None
    label = owner.labels[0].upper()
    try:
        return base64.b32hexdecode(label + b"=" * (-len(label) % 8))
    except (binascii.Error, ValueError):
        return None


def _chain(zone: dns.name.Name, records: Sequence[Nsec3Record]) -> _Chain | None:
    usable: list[tuple[bytes, dns.name.Name, NSEC3]] = []
    params: tuple[int, bytes] | None = None
    for owner, record in records:
        owner_hash = _decode_owner(owner, zone)
        if owner_hash is None or record.algorithm != _SHA1 or record.flags & ~OPT_OUT_FLAG:
            continue
        if params is None:
            params = (record.iterations, record.salt)
        if (record.iterations, record.salt) == params:
            usable.append((owner_hash, owner, record))
    if params is None:
        return None
    return _Chain(zone, params[0], params[1], tuple(usable))


def _proof(chain: _Chain, proves: str, detail: str, **changes: object) -> DenialProof:
    base = DenialProof(
        MECHANISM,
        proves,
        reasons.SECURE,
        None,
        detail,
        iterations=chain.iterations,
        salt=chain.salt,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _fail(chain: _Chain, proves: str, detail: str) -> DenialProof:
    return replace(failed(MECHANISM, proves, detail), iterations=chain.iterations, salt=chain.salt)


@dataclass(frozen=True, slots=True)
class _Encloser:
    name: dns.name.Name
    next_closer: dns.name.Name
    cover: tuple[dns.name.Name, NSEC3]


def _closest_encloser(chain: _Chain, qname: dns.name.Name) -> _Encloser | str:
    """RFC 5155 8.3, or why it fails."""
    next_closer = qname
    candidate = qname.parent() if qname != chain.zone else qname
    while True:
        match = chain.matching(candidate)
        if match is not None:
            types = bitmap_types(match[1].windows)
            if candidate != chain.zone and (is_delegation(types) or dns.rdatatype.DNAME in types):
                return f"the closest encloser {candidate} is a delegation or DNAME"
            cover = chain.covering(next_closer)
            if cover is None:
                return f"no NSEC3 covers the next closer name {next_closer}"
            return _Encloser(candidate, next_closer, cover)
        if candidate in (chain.zone, dns.name.root):
            return f"no NSEC3 matches any ancestor of {qname} in {chain.zone}"
        next_closer, candidate = candidate, candidate.parent()


def _opt_out(record: NSEC3) -> bool:
    return bool(record.flags & OPT_OUT_FLAG)


def _nodata(chain: _Chain, qname: dns.name.Name, rdtype: int) -> DenialProof:
    proves = NO_DS if rdtype == dns.rdatatype.DS else NODATA
    match = chain.matching(qname)
    if match is not None:
        owner, record = match
        types = bitmap_types(record.windows)
        if rdtype == dns.rdatatype.DS and dns.rdatatype.SOA in types and qname != chain.zone:
            return _fail(chain, proves, f"the NSEC3 for {qname} is the child zone's")
        if rdtype != dns.rdatatype.DS and is_delegation(types):
            return _fail(chain, proves, f"the NSEC3 for {qname} is a delegation's")
        if not denies_type(types, rdtype):
            return _fail(chain, proves, f"the NSEC3 for {qname} lists the type or a CNAME")
        return _proof(
            chain,
            proves,
            f"NSEC3 {owner} matches {qname} and lacks the type",
            types_at_name=types,
            opt_out=_opt_out(record),
            used=(present(owner, record),),
        )
    encloser = _closest_encloser(chain, qname)
    if isinstance(encloser, str):
        return _fail(chain, proves, f"no NSEC3 matches {qname}; {encloser}")
    cover_owner, cover = encloser.cover
    used = (present(cover_owner, cover),)
    if rdtype == dns.rdatatype.DS and _opt_out(cover):
        return _proof(
            chain,
            OPT_OUT_PROOF,
            f"NSEC3 {cover_owner} (opt-out) covers {encloser.next_closer}",
            status=reasons.INSECURE,
            reason=reasons.OPT_OUT,
            closest_encloser=encloser.name,
            opt_out=True,
            used=used,
        )
    wildcard = dns.name.Name((b"*", *encloser.name.labels))
    source = chain.matching(wildcard)
    if source is None or not denies_type(bitmap_types(source[1].windows), rdtype):
        return _fail(chain, proves, f"no NSEC3 matches {qname}, nor a wildcard without the type")
    return _proof(
        chain,
        WILDCARD_NODATA,
        f"NSEC3 {cover_owner} covers {encloser.next_closer}; {wildcard} lacks the type",
        closest_encloser=encloser.name,
        used=(*used, present(*source)),
    )


def _nxdomain(chain: _Chain, qname: dns.name.Name) -> DenialProof:
    if chain.matching(qname) is not None:
        return _fail(chain, NXDOMAIN, f"an NSEC3 matches {qname}: it exists")
    encloser = _closest_encloser(chain, qname)
    if isinstance(encloser, str):
        return _fail(chain, NXDOMAIN, encloser)
    wildcard = dns.name.Name((b"*", *encloser.name.labels))
    wildcard_cover = chain.covering(wildcard)
    if wildcard_cover is None:
        return _fail(chain, NXDOMAIN, f"no NSEC3 covers {wildcard}")
    cover_owner, cover = encloser.cover
    detail = (
        f"closest encloser {encloser.name}; NSEC3 {cover_owner} covers {encloser.next_closer};"
        f" NSEC3 {wildcard_cover[0]} covers {wildcard}"
    )
    used = (present(cover_owner, cover), present(*wildcard_cover))
    if _opt_out(cover):
        return _proof(
            chain,
            NXDOMAIN,
            detail + " (opt-out: an unsigned delegation may exist)",
            status=reasons.INSECURE,
            reason=reasons.OPT_OUT,
            closest_encloser=encloser.name,
            opt_out=True,
            used=used,
        )
    return _proof(chain, NXDOMAIN, detail, closest_encloser=encloser.name, used=used)


def _usable_chain(
    zone: dns.name.Name, records: Sequence[Nsec3Record], proves: str
) -> _Chain | DenialProof:
    chain = _chain(zone, records)
    if chain is None or not chain.records:
        return failed(MECHANISM, proves, f"no usable NSEC3 record for {zone}")
    if chain.iterations > MAX_ITERATIONS:
        return DenialProof(
            MECHANISM,
            proves,
            reasons.INSECURE,
            reasons.NSEC3_ITERATIONS,
            f"NSEC3 iterations {chain.iterations} > {MAX_ITERATIONS} (RFC 9276)",
            iterations=chain.iterations,
            salt=chain.salt,
        )
    return chain


def prove_nsec3(
    qname: dns.name.Name,
    rdtype: int,
    zone: dns.name.Name,
    nxdomain: bool,
    records: Sequence[Nsec3Record],
) -> DenialProof:
    proves = NXDOMAIN if nxdomain else NO_DS if rdtype == dns.rdatatype.DS else NODATA
    chain = _usable_chain(zone, records, proves)
    if isinstance(chain, DenialProof):
        return chain
    if not qname.is_subdomain(zone):
        return _fail(chain, proves, f"{qname} is not in {zone}")
    return _nxdomain(chain, qname) if nxdomain else _nodata(chain, qname, rdtype)


def prove_nsec3_wildcard_answer(
    qname: dns.name.Name,
    encloser: dns.name.Name,
    zone: dns.name.Name,
    records: Sequence[Nsec3Record],
) -> DenialProof:
    chain = _usable_chain(zone, records, WILDCARD_ANSWER)
    if isinstance(chain, DenialProof):
        return chain
    if not qname.is_subdomain(encloser) or qname == encloser:
        return _fail(chain, WILDCARD_ANSWER, f"{qname} is not below {encloser}")
    next_closer = qname.split(len(encloser) + 1)[1]
    cover = chain.covering(next_closer)
    if cover is None:
        return _fail(chain, WILDCARD_ANSWER, f"no NSEC3 covers the next closer {next_closer}")
    return _proof(
        chain,
        WILDCARD_ANSWER,
        f"NSEC3 {cover[0]} covers {next_closer}",
        closest_encloser=encloser,
        opt_out=_opt_out(cover[1]),
        used=(present(*cover),),
    )
