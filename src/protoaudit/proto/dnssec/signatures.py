"""Checking the RRSIGs over one RRset against a zone's DNSKEYs, with the time given.

RFC 4035 5.3: an RRSIG counts when its signer is the zone, the RRset's owner is inside the
zone, it covers the RRset's type and class, its labels field is no more than the owner's
labels, the current time lies between inception and expiration, a zone key of the zone with
its key tag and algorithm exists, and the signature verifies over the canonical RRset. One
valid RRSIG is enough. When none is valid, the result says why in the vocabulary of
`reasons`, picking the failure that got furthest (a wrong signature over a missing key),
and lists what happened to each RRSIG. Nothing here raises on bad data: a key that is not a
key, a signature of the wrong length, an algorithm dnspython does not know, all come back
as a reason.

The cryptography is dnspython's `validate_rrsig` (which rebuilds the signed data, wildcard
expansions included); it is handed only the candidate keys, with the policy that allows
every algorithm, because `algorithms.algorithm_supported` already decided which to use.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import cryptography.exceptions
import dns.dnssec
import dns.exception
import dns.name
import dns.rdataset
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.RRSIG import RRSIG

from protoaudit.proto.dnssec import reasons
from protoaudit.proto.dnssec.algorithms import algorithm_supported

__all__ = [
    "MAX_SIGNATURES",
    "RrsetCheck",
    "SignatureOutcome",
    "moment",
    "usable_keys",
    "verify_rrset",
]

# RRSIGs tried per RRset: a zone in a key rollover has two or three; a peer that sends a
# thousand gets the first few checked, not a thousand public-key operations.
MAX_SIGNATURES = 16
PROTOCOL_DNSSEC = 3
ZONE_FLAG = 0x0100
REVOKE_FLAG = 0x0080
# The order in which failures are reported when no RRSIG is valid: the first found wins.
_PROBLEM_ORDER = (
    reasons.SIGNATURE_INVALID,
    reasons.SIGNATURE_EXPIRED,
    reasons.SIGNATURE_NOT_YET_VALID,
    reasons.MISSING_DNSKEY,
    reasons.UNSUPPORTED_ALGORITHM,
)
_VERIFY_ERRORS = (
    dns.exception.DNSException,
    cryptography.exceptions.UnsupportedAlgorithm,
    ValueError,
    TypeError,
    IndexError,
    OverflowError,
    struct.error,
)


@dataclass(frozen=True, slots=True)
class SignatureOutcome:
    rrsig: RRSIG
    valid: bool
    problem: str | None  # a reason, None when valid or not tried
    detail: str


@dataclass(frozen=True, slots=True)
class RrsetCheck:
    valid: bool
    reason: str | None  # None when valid
    detail: str
    outcomes: tuple[SignatureOutcome, ...]
    key_tag: int | None  # the key whose signature validated
    # When the valid RRSIG shows a wildcard expansion (RFC 4035 5.3.4): the closest
    # encloser, the name whose "*" child the answer came from. The caller must then see a
    # proof that the queried name itself does not exist.
    wildcard_parent: dns.name.Name | None


def moment(epoch: int) -> str:
    """An RRSIG time for a person: 2026-01-01T00:00Z."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%MZ")


def usable_keys(
    dnskeys: Iterable[DNSKEY], rrsig: RRSIG, *, key_tags: frozenset[int] | None = None
) -> list[DNSKEY]:
    """The zone keys that could have made `rrsig` (RFC 4034 2.1.1, RFC 5011 2.1)."""
    return [
        key
        for key in dnskeys
        if key.algorithm == rrsig.algorithm
        and dns.dnssec.key_id(key) == rrsig.key_tag
        and key.protocol == PROTOCOL_DNSSEC
        and key.flags & ZONE_FLAG
        and (not key.flags & REVOKE_FLAG or rrsig.type_covered == dns.rdatatype.DNSKEY)
        and (key_tags is None or rrsig.key_tag in key_tags)
    ]


def _label_count(name: dns.name.Name) -> int:
    """RFC 4034 3.1.3: labels without the root, and without a leading "*"."""
    count = len(name) - 1
    return count - 1 if name.is_wild() else count


def _check_one(
    rrset: dns.rrset.RRset,
    rrsig: RRSIG,
    dnskeys: Sequence[DNSKEY],
    zone: dns.name.Name,
    *,
    now: datetime,
    key_tags: frozenset[int] | None,
) -> SignatureOutcome:
    by_key = f"RRSIG by key {rrsig.key_tag} (algorithm {rrsig.algorithm})"
    if rrsig.signer != zone:
        return SignatureOutcome(
            rrsig, False, reasons.SIGNATURE_INVALID, f"{by_key}: signer {rrsig.signer}, not {zone}"
        )
    if not rrset.name.is_subdomain(zone) or rrsig.labels > _label_count(rrset.name):
        return SignatureOutcome(
            rrsig, False, reasons.SIGNATURE_INVALID, f"{by_key}: labels or owner do not fit"
        )
    if not algorithm_supported(rrsig.algorithm):
        return SignatureOutcome(
            rrsig, False, reasons.UNSUPPORTED_ALGORITHM, f"{by_key}: unsupported algorithm"
        )
    candidates = usable_keys(dnskeys, rrsig, key_tags=key_tags)
    if not candidates:
        return SignatureOutcome(
            rrsig, False, reasons.MISSING_DNSKEY, f"{by_key}: no such zone key in {zone} DNSKEY"
        )
    now_epoch = int(now.timestamp())
    if rrsig.expiration < now_epoch:
        return SignatureOutcome(
            rrsig,
            False,
            reasons.SIGNATURE_EXPIRED,
            f"{by_key} expired {moment(rrsig.expiration)}",
        )
    if rrsig.inception > now_epoch:
        return SignatureOutcome(
            rrsig,
            False,
            reasons.SIGNATURE_NOT_YET_VALID,
            f"{by_key} is not valid before {moment(rrsig.inception)}",
        )
    keyset = dns.rdataset.from_rdata_list(0, candidates)
    try:
        dns.dnssec.validate_rrsig(
            rrset, rrsig, {zone: keyset}, now=now_epoch, policy=dns.dnssec.allow_all_policy
        )
    except _VERIFY_ERRORS as error:
        text = str(error) or type(error).__name__
        return SignatureOutcome(
            rrsig, False, reasons.SIGNATURE_INVALID, f"{by_key} does not verify: {text[:120]}"
        )
    return SignatureOutcome(rrsig, True, None, f"{by_key} is valid")


def verify_rrset(
    rrset: dns.rrset.RRset,
    rrsigs: Iterable[RRSIG],
    dnskeys: Iterable[DNSKEY] | None,
    zone: dns.name.Name,
    now: datetime,
    *,
    key_tags: frozenset[int] | None = None,
) -> RrsetCheck:
    """Whether one RRSIG over `rrset` by a key of `zone` (among `key_tags`, if given) is valid."""
    covering = [sig for sig in rrsigs if sig.type_covered == rrset.rdtype][:MAX_SIGNATURES]
    keys = list(dnskeys or ())
    what = f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)}"
    if not covering:
        return RrsetCheck(False, reasons.MISSING_RRSIG, f"no RRSIG over {what}", (), None, None)
    if not keys:
        outcomes = tuple(
            SignatureOutcome(sig, False, reasons.MISSING_DNSKEY, f"no DNSKEY for {zone}")
            for sig in covering
        )
        return RrsetCheck(
            False, reasons.MISSING_DNSKEY, f"no DNSKEY set for {zone}", outcomes, None, None
        )
    outcomes_list: list[SignatureOutcome] = []
    for rrsig in covering:
        outcome = _check_one(rrset, rrsig, keys, zone, now=now, key_tags=key_tags)
        outcomes_list.append(outcome)
        if outcome.valid:
            outcomes_list.extend(
                SignatureOutcome(other, False, None, "not tried")
                for other in covering[len(outcomes_list) :]
            )
            wildcard = None
            if rrsig.labels < _label_count(rrset.name):
                wildcard = rrset.name.split(rrsig.labels + 1)[1]
            return RrsetCheck(
                True, None, outcome.detail, tuple(outcomes_list), rrsig.key_tag, wildcard
            )
    outcomes = tuple(outcomes_list)
    for problem in _PROBLEM_ORDER:
        for outcome in outcomes:
            if outcome.problem == problem:
                return RrsetCheck(False, problem, f"{what}: {outcome.detail}", outcomes, None, None)
    return RrsetCheck(
        False, reasons.SIGNATURE_INVALID, f"{what}: no valid RRSIG", outcomes, None, None
    )
