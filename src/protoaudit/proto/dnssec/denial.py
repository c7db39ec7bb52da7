"""Authenticated denial of existence: the result type and the helpers NSEC and NSEC3 share.

The proofs themselves are in `nsec` (RFC 4035 5.4, RFC 6840 4) and `nsec3` (RFC 5155 8);
`proofs` picks one. The records handed to them must already be authenticated (their RRSIGs
checked against the zone's keys by `signatures.verify_rrset`): a proof only reasons about
names, hashes and type bitmaps.

`DenialProof.status` is "secure" for a valid proof, "insecure" when the proof is valid but
leaves room for unsigned data (an NSEC3 opt-out span, RFC 5155 6, or NSEC3 iterations above
what validators accept, RFC 9276 3.2), and "bogus" (reason "denial_invalid") when the
records do not prove what the answer claims.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dns.name
import dns.rdatatype
from dns.rdtypes.ANY.NSEC import NSEC
from dns.rdtypes.ANY.NSEC3 import NSEC3

from protoaudit.proto.dnssec import reasons

__all__ = [
    "MAX_DENIAL_RECORDS",
    "NODATA",
    "NO_DS",
    "NXDOMAIN",
    "OPT_OUT_PROOF",
    "WILDCARD_ANSWER",
    "WILDCARD_NODATA",
    "DenialProof",
    "Nsec3Record",
    "NsecRecord",
    "bitmap_types",
    "denies_type",
    "failed",
    "is_delegation",
    "present",
]

# Denial records looked at per answer: a real proof needs at most three.
MAX_DENIAL_RECORDS = 32

NXDOMAIN = "nxdomain"
NODATA = "nodata"
NO_DS = "no_ds"
WILDCARD_NODATA = "wildcard_nodata"
WILDCARD_ANSWER = "wildcard_answer"
OPT_OUT_PROOF = "opt_out"

NsecRecord = tuple[dns.name.Name, NSEC]
Nsec3Record = tuple[dns.name.Name, NSEC3]


@dataclass(frozen=True, slots=True)
class DenialProof:
    mechanism: str  # "nsec" or "nsec3"
    proves: str  # NXDOMAIN, NODATA, NO_DS, WILDCARD_NODATA, WILDCARD_ANSWER, OPT_OUT_PROOF
    status: str  # reasons.SECURE, INSECURE or BOGUS
    reason: str | None
    detail: str
    closest_encloser: dns.name.Name | None = None
    opt_out: bool = False
    iterations: int | None = None
    salt: bytes | None = None
    # The types present at the queried name when a record matched it (NODATA, no DS):
    # tells a delegation (NS without SOA) from a name that is no zone cut.
    types_at_name: frozenset[int] | None = None
    used: tuple[str, ...] = ()  # the records that made the proof, in presentation format

    @property
    def valid(self) -> bool:
        return self.status != reasons.BOGUS


def failed(mechanism: str, proves: str, detail: str) -> DenialProof:
    return DenialProof(mechanism, proves, reasons.BOGUS, reasons.DENIAL_INVALID, detail)


def bitmap_types(windows: Sequence[tuple[int, bytes]]) -> frozenset[int]:
    """The RR types an NSEC/NSEC3 type bitmap lists (RFC 4034 4.1.2)."""
    types: set[int] = set()
    for window, bitmap in windows:
        for index, octet in enumerate(bitmap):
            for bit in range(8):
                if octet & (0x80 >> bit):
                    types.add(window * 256 + index * 8 + bit)
    return frozenset(types)


def is_delegation(types: frozenset[int]) -> bool:
    """NS without SOA: the parent side of a zone cut (RFC 6840 4.1)."""
    return dns.rdatatype.NS in types and dns.rdatatype.SOA not in types


def denies_type(types: frozenset[int], rdtype: int) -> bool:
    """The bitmap proves there is no `rdtype` RRset (and no CNAME that would answer instead)."""
    if rdtype in types:
        return False
    return rdtype == dns.rdatatype.DS or dns.rdatatype.CNAME not in types


def present(owner: dns.name.Name, record: NSEC | NSEC3) -> str:
    return f"{owner} {dns.rdatatype.to_text(record.rdtype)} {record.to_text()}"[:300]
