"""DNSSEC observations: what validating one name found, zone cut by zone cut. No judgement.

`DnssecStatus` is the verdict of RFC 4033 section 5 for one name and type (secure, insecure,
bogus or indeterminate) with the evidence: every zone on the way down from the trust anchor
(`DnssecZone`), the answer and its signatures, the denial of existence when there was no
answer. Whether an algorithm is *wise* (RSASHA1, 1024-bit RSA, NSEC3 iterations) is policy's
question; these record the numbers. Names are absolute, in presentation format, as dnspython
prints them (lower case is not forced: a zone's own spelling survives).

Statuses and reasons are plain strings; the vocabulary is `protoaudit.proto.dnssec.reasons`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from protoaudit.observations import Observation

__all__ = [
    "DnssecDenial",
    "DnssecDs",
    "DnssecKey",
    "DnssecSignature",
    "DnssecStatus",
    "DnssecZone",
]


@dataclass(frozen=True, slots=True)
class DnssecDs:
    """One DS record in the parent (or one trust anchor), and the key it matched."""

    key_tag: int
    algorithm: int
    digest_type: int
    digest_hex: str  # lower case
    # The DNSKEY (by key tag) whose digest equals this one; None: no key matched.
    matched_key_tag: int | None
    # The validator can use it: both the algorithm and the digest type are supported.
    supported: bool


@dataclass(frozen=True, slots=True)
class DnssecKey:
    """One DNSKEY of a zone's apex key set."""

    key_tag: int
    flags: int
    zone_key: bool  # flag bit 7 (RFC 4034 2.1.1): may sign zone data
    sep: bool  # bit 15, the "secure entry point" hint (a KSK by convention)
    revoked: bool  # bit 8 (RFC 5011)
    protocol: int  # must be 3
    algorithm: int
    key_bits: int  # RSA modulus bits, curve size for ECDSA/EdDSA; 0 when unknown
    supported: bool  # the validator can verify signatures made with it


@dataclass(frozen=True, slots=True)
class DnssecSignature:
    """One RRSIG, and what checking it found."""

    type_covered: str  # "A", "DNSKEY" …
    signer: str
    key_tag: int
    algorithm: int
    labels: int  # fewer than the owner's labels: the answer was expanded from a wildcard
    original_ttl: int
    inception: datetime  # UTC
    expiration: datetime  # UTC
    valid: bool
    # Why it did not validate (a bogus reason: "signature_expired", "missing_dnskey" …);
    # None when valid, or when it was not tried because another signature already validated.
    problem: str | None


@dataclass(frozen=True, slots=True)
class DnssecDenial:
    """An authenticated denial of existence (RFC 4035 5.4, RFC 5155 8)."""

    mechanism: str  # "nsec" or "nsec3"
    # What it proves: "nxdomain", "nodata", "no_ds", "wildcard_nodata", "wildcard_answer"
    # (no exact match for a wildcard-expanded answer), "opt_out" (an NSEC3 opt-out span
    # covers the name: an unsigned delegation may be there).
    proves: str
    valid: bool
    detail: str  # in words: which record covered or matched which name
    closest_encloser: str | None
    opt_out: bool
    nsec3_iterations: int | None
    nsec3_salt_hex: str | None  # "" for no salt
    records: tuple[str, ...]  # the NSEC/NSEC3 records used, in presentation format (bounded)


@dataclass(frozen=True, slots=True)
class DnssecZone(Observation):
    """One zone on the chain of trust, and how its keys were authenticated."""

    kind: ClassVar[str] = "dnssec_zone"
    zone: str  # "example.com."
    parent: str | None  # the zone that holds its DS; None for the trust anchor's zone
    status: str  # "secure", "insecure", "bogus", "indeterminate"
    reason: str | None  # None when secure
    detail: str  # in words, e.g. "RRSIG by key 12345 expired 2026-01-01T00:00Z"
    trust_anchor: bool  # its DS (or keys) came from the trust anchor, not from a parent
    ds: tuple[DnssecDs, ...]  # empty: none (see ds_denial)
    ds_signatures: tuple[DnssecSignature, ...]  # the parent's RRSIGs over the DS set
    ds_denial: DnssecDenial | None  # the parent's proof that there is no DS
    dnskeys: tuple[DnssecKey, ...]
    dnskey_signatures: tuple[DnssecSignature, ...]
    nsec3_iterations: int | None  # from the zone's NSEC3 records seen; None: none seen
    nsec3_salt_hex: str | None
    nsec3_opt_out: bool | None
    cds_present: bool | None  # None: not asked (or no answer)
    cdnskey_present: bool | None
    servers: tuple[str, ...]  # "address:port" that answered for the zone


@dataclass(frozen=True, slots=True)
class DnssecStatus(Observation):
    """The DNSSEC status of one name and type, with the chain of trust that decided it."""

    kind: ClassVar[str] = "dnssec_status"
    name: str
    rdtype: str
    status: str  # "secure", "insecure", "bogus", "indeterminate"
    reason: str | None  # None when secure
    detail: str
    chain: tuple[DnssecZone, ...]  # from the trust anchor's zone down
    rcode: str | None  # "NOERROR", "NXDOMAIN"; None when no final answer came
    answer: tuple[str, ...]  # the final RRset in presentation format (bounded)
    answer_signatures: tuple[DnssecSignature, ...]
    denial: DnssecDenial | None  # for NXDOMAIN and NODATA, and wildcard answers
    cname_chain: tuple[str, ...]  # the names followed, after the first (empty: no CNAME)
    queries: int
    servers: tuple[str, ...]  # every "address:port" asked
