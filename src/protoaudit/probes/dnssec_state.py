"""The DNSSEC resolver's working state: limits, the budget, zones met, judged answers.

Kept apart from `probes.dnssec_resolver` (the walk) and `probes.dnssec_report` (turning
this into observations). `Stop` is the resolver's way to unwind when resolution cannot go
on; `probes.dnssec.validate_name` turns it into an indeterminate result, so it never
escapes the probe.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dns.name
import dns.rrset
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS

from protoaudit.probes.dnssec_transport import Server
from protoaudit.proto.dnssec import reasons
from protoaudit.proto.dnssec.delegation import DsMatch
from protoaudit.proto.dnssec.denial import DenialProof
from protoaudit.proto.dnssec.messages import NODATA, NXDOMAIN, Classified, RrsetWithSignatures
from protoaudit.proto.dnssec.signatures import RrsetCheck, SignatureOutcome

__all__ = [
    "MAX_CNAMES",
    "MAX_DEPTH",
    "MAX_NS_LOOKUPS",
    "MAX_QUERIES",
    "MAX_REFERRALS",
    "MAX_SERVERS_KEPT",
    "MAX_SERVERS_TRIED",
    "Answer",
    "Budget",
    "Stop",
    "ZoneState",
    "inherit",
    "most_telling",
    "settle_unsigned",
    "signer_of",
]

MAX_QUERIES = 200
MAX_REFERRALS = 30
MAX_CNAMES = 10
MAX_DEPTH = 2  # nested resolutions for name server addresses
MAX_SERVERS_TRIED = 4  # servers of one zone asked the same question
MAX_NS_LOOKUPS = 3  # name servers without glue whose addresses we look up
MAX_SERVERS_KEPT = 64  # servers listed in the result


class Stop(Exception):  # control flow inside the probe; never escapes validate_name
    """Resolution cannot go on; the result is `status` for `reason`."""

    def __init__(self, status: str, reason: str, detail: str, *, fatal: bool = False) -> None:
        super().__init__(f"{status}: {reason}: {detail}")
        self.status = status
        self.reason = reason
        self.detail = detail
        self.fatal = fatal  # the budget ran out: nested lookups must not swallow it


@dataclass
class Budget:
    """Shared by a resolution and its nested lookups."""

    deadline: float  # event-loop time
    max_queries: int = MAX_QUERIES
    queries: int = 0
    servers: list[str] = field(default_factory=list)
    unresponsive: set[Server] = field(default_factory=set)  # timed out once: asked last


@dataclass
class ZoneState:
    name: dns.name.Name
    parent: dns.name.Name | None
    servers: list[Server]
    status: str = reasons.SECURE
    reason: str | None = None
    detail: str = ""
    trust_anchor: bool = False
    keys: list[DNSKEY] = field(default_factory=list)  # authenticated zone keys
    ds_records: list[DS] = field(default_factory=list)
    ds_matches: tuple[DsMatch, ...] = ()
    ds_check: RrsetCheck | None = None
    ds_denial: DenialProof | None = None
    dnskeys: dns.rrset.RRset | None = None
    dnskey_check: RrsetCheck | None = None
    nsec3: tuple[int, bytes] | None = None  # iterations, salt
    nsec3_opt_out: bool | None = None
    cds: bool | None = None
    cdnskey: bool | None = None
    answered_by: list[str] = field(default_factory=list)

    def settle(self, status: str, reason: str | None, detail: str) -> None:
        self.status, self.reason, self.detail = status, reason, detail


@dataclass
class Answer:
    """The judged result of one question (one step of a CNAME chain)."""

    qname: dns.name.Name
    status: str
    reason: str | None
    detail: str
    kind: str  # ANSWER, CNAME, DNAME, NXDOMAIN, NODATA
    zone: dns.name.Name
    rrset: RrsetWithSignatures | None = None
    outcomes: tuple[SignatureOutcome, ...] = ()
    denial: DenialProof | None = None
    target: dns.name.Name | None = None


def inherit(zone: ZoneState, parent: ZoneState) -> None:
    zone.settle(parent.status, parent.reason, f"below {parent.name}: {parent.detail}")


def settle_unsigned(zone: ZoneState, parent: ZoneState, proof: DenialProof) -> None:
    if proof.status == reasons.SECURE:
        detail = f"{parent.name} proves that {zone.name} has no DS: {proof.detail}"
        zone.settle(reasons.INSECURE, reasons.UNSIGNED_DELEGATION, detail)
    elif proof.status == reasons.INSECURE:
        zone.settle(reasons.INSECURE, proof.reason, proof.detail)
    else:
        reason = proof.reason or reasons.DENIAL_INVALID
        zone.settle(
            reasons.BOGUS, reason, f"no valid proof that {zone.name} has no DS: {proof.detail}"
        )


def signer_of(asked: Classified, qname: dns.name.Name) -> dns.name.Name | None:
    """The zone that answered: the answer's signer, or the SOA owner of a negative answer."""
    if asked.answer is not None and asked.answer.rrsigs:
        return asked.answer.rrsigs[0].signer
    if asked.kind in (NXDOMAIN, NODATA):
        if asked.soa_owner is not None and qname.is_subdomain(asked.soa_owner):
            return asked.soa_owner
        for item in asked.denial:
            if item.rrsigs:
                return item.rrsigs[0].signer
    return None


_TELLING = (
    reasons.REFERRAL_LOOP,
    reasons.RESPONSE_TOO_LARGE,
    reasons.MISMATCHED_RESPONSE,
    reasons.MALFORMED,
    reasons.TRUNCATED,
    reasons.LAME,
    reasons.SERVER_FAILURE,
    reasons.TIMEOUT,
    reasons.UNREACHABLE,
    reasons.NOT_ALLOWED,
)


def most_telling(found: list[str]) -> str:
    for reason in _TELLING:
        if reason in found:
            return reason
    return found[0]
