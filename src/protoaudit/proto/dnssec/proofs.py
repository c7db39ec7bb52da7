"""The entry points for denial of existence: NSEC3 when the zone sent any, NSEC otherwise."""

from __future__ import annotations

from collections.abc import Sequence

import dns.name
import dns.rdatatype

from protoaudit.proto.dnssec.denial import (
    MAX_DENIAL_RECORDS,
    NO_DS,
    NODATA,
    NXDOMAIN,
    WILDCARD_ANSWER,
    DenialProof,
    Nsec3Record,
    NsecRecord,
    failed,
)
from protoaudit.proto.dnssec.nsec import prove_nsec, prove_nsec_wildcard_answer
from protoaudit.proto.dnssec.nsec3 import prove_nsec3, prove_nsec3_wildcard_answer

__all__ = ["prove_denial", "prove_wildcard_answer"]


def prove_denial(
    qname: dns.name.Name,
    rdtype: int,
    zone: dns.name.Name,
    *,
    nxdomain: bool,
    nsec: Sequence[NsecRecord] = (),
    nsec3: Sequence[Nsec3Record] = (),
) -> DenialProof:
    """What authenticated NSEC/NSEC3 records of `zone` prove for an NXDOMAIN or NODATA.

    For `rdtype` DS at a delegation the proof is "no_ds" (or "opt_out"); its
    `types_at_name` says whether the name is a zone cut at all.
    """
    if nsec3:
        return prove_nsec3(qname, rdtype, zone, nxdomain, nsec3[:MAX_DENIAL_RECORDS])
    if nsec:
        return prove_nsec(qname, rdtype, zone, nxdomain, nsec[:MAX_DENIAL_RECORDS])
    proves = NXDOMAIN if nxdomain else NO_DS if rdtype == dns.rdatatype.DS else NODATA
    return failed("none", proves, "no NSEC or NSEC3 records came with the answer")


def prove_wildcard_answer(
    qname: dns.name.Name,
    encloser: dns.name.Name,
    zone: dns.name.Name,
    *,
    nsec: Sequence[NsecRecord] = (),
    nsec3: Sequence[Nsec3Record] = (),
) -> DenialProof:
    """An answer expanded from "*.<encloser>" needs proof that `qname` itself does not exist."""
    if nsec3:
        return prove_nsec3_wildcard_answer(qname, encloser, zone, nsec3[:MAX_DENIAL_RECORDS])
    if nsec:
        return prove_nsec_wildcard_answer(qname, encloser, nsec[:MAX_DENIAL_RECORDS])
    return failed("none", WILDCARD_ANSWER, f"a wildcard answer came without proof about {qname}")
