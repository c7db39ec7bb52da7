"""The step across a zone cut: DS records in the parent, the child's DNSKEY set, and its RRSIG.

RFC 4035 5.2: the child's DNSKEY RRset is authenticated when a DS in the parent (already
authenticated, or a trust anchor) matches a zone key in it (same key tag and algorithm, and
the digest of owner name and key equals the DS digest, RFC 4034 5.1.4), and an RRSIG over the
DNSKEY RRset made by that key is valid. Unsupported algorithms and digest types are skipped;
when no DS is left, the zone is insecure (RFC 4035 5.2, RFC 6840 5.2). When SHA-256 DS records
are present, SHA-1 ones are ignored (RFC 4509 3).

When no DS matches, the verdict tells apart a DS whose key tag and algorithm no key has
("no_key_matches_ds": the wrong key, or a key not published) from a DS for which such a key
exists but its digest differs ("ds_digest_mismatch": a key replaced under the same tag, or a
digest typed wrong).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import dns.dnssec
import dns.dnssectypes
import dns.exception
import dns.name
import dns.rrset
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS
from dns.rdtypes.ANY.RRSIG import RRSIG

from protoaudit.proto.dnssec import reasons
from protoaudit.proto.dnssec.algorithms import algorithm_supported, digest_supported
from protoaudit.proto.dnssec.signatures import (
    PROTOCOL_DNSSEC,
    ZONE_FLAG,
    RrsetCheck,
    verify_rrset,
)

__all__ = ["DsMatch", "KeySetVerdict", "authenticate_keys", "match_ds"]

MAX_DS = 16  # DS records compared per zone; a rollover has a handful
MAX_KEYS = 32  # DNSKEYs considered per zone


@dataclass(frozen=True, slots=True)
class DsMatch:
    ds: DS
    supported: bool  # algorithm and digest type both usable
    key: DNSKEY | None  # the zone key whose digest equals the DS's
    tag_match: bool  # some zone key has the DS's key tag and algorithm


@dataclass(frozen=True, slots=True)
class KeySetVerdict:
    status: str  # SECURE, INSECURE or BOGUS
    reason: str | None
    detail: str
    matches: tuple[DsMatch, ...]
    check: RrsetCheck | None  # the RRSIG check over the DNSKEY set, when it came to that


def _digest(zone: dns.name.Name, key: DNSKEY, digest_type: int) -> bytes | None:
    try:
        made = dns.dnssec.make_ds(
            zone,
            key,
            dns.dnssectypes.DSDigest.make(digest_type),
            policy=dns.dnssec.allow_all_policy,
            validating=True,
        )
    except (dns.exception.DNSException, ValueError):
        return None
    return bytes(made.digest)


def match_ds(
    zone: dns.name.Name, ds_records: Iterable[DS], dnskeys: Iterable[DNSKEY]
) -> tuple[DsMatch, ...]:
    """Each DS, and the zone key of `zone` (if any) whose digest it is."""
    keys = [
        key
        for key in list(dnskeys)[:MAX_KEYS]
        if key.protocol == PROTOCOL_DNSSEC and key.flags & ZONE_FLAG
    ]
    tags = [(key, dns.dnssec.key_id(key)) for key in keys]
    matches: list[DsMatch] = []
    for ds in list(ds_records)[:MAX_DS]:
        supported = algorithm_supported(ds.algorithm) and digest_supported(ds.digest_type)
        candidates = [
            key for key, tag in tags if tag == ds.key_tag and key.algorithm == ds.algorithm
        ]
        found = None
        if supported:
            for key in candidates:
                if _digest(zone, key, ds.digest_type) == bytes(ds.digest):
                    found = key
                    break
        matches.append(DsMatch(ds, supported, found, bool(candidates)))
    return tuple(matches)


def _usable(matches: Sequence[DsMatch]) -> list[DsMatch]:
    usable = [match for match in matches if match.supported]
    sha1 = dns.dnssectypes.DSDigest.SHA1
    if any(match.ds.digest_type == dns.dnssectypes.DSDigest.SHA256 for match in usable):
        usable = [match for match in usable if match.ds.digest_type != sha1]
    return usable


def authenticate_keys(
    zone: dns.name.Name,
    ds_records: Sequence[DS],
    dnskeys: dns.rrset.RRset | None,
    rrsigs: Iterable[RRSIG],
    now: datetime,
) -> KeySetVerdict:
    """Whether `zone`'s DNSKEY set is authenticated by `ds_records` (from the parent or anchor)."""
    keys: list[DNSKEY] = [key for key in dnskeys or () if isinstance(key, DNSKEY)]
    matches = match_ds(zone, ds_records, keys)
    usable = _usable(matches)
    if not usable:
        every_algorithm = all(not algorithm_supported(match.ds.algorithm) for match in matches)
        reason = reasons.UNSUPPORTED_ALGORITHM if every_algorithm else reasons.UNSUPPORTED_DIGEST
        listed = ", ".join(f"{m.ds.key_tag}/{m.ds.algorithm}/{m.ds.digest_type}" for m in matches)
        detail = f"no DS of {zone} has a supported algorithm and digest type ({listed})"
        return KeySetVerdict(reasons.INSECURE, reason, detail, matches, None)
    if dnskeys is None or not keys:
        return KeySetVerdict(
            reasons.BOGUS,
            reasons.MISSING_DNSKEY,
            f"{zone} has DS records but no DNSKEY set",
            matches,
            None,
        )
    matched = [match.key for match in usable if match.key is not None]
    if not matched:
        if any(match.tag_match for match in usable):
            tags = ", ".join(str(match.ds.key_tag) for match in usable if match.tag_match)
            detail = f"the DNSKEY with key tag {tags} does not have the DS digest"
            return KeySetVerdict(reasons.BOGUS, reasons.DS_DIGEST_MISMATCH, detail, matches, None)
        tags = ", ".join(str(match.ds.key_tag) for match in usable)
        detail = f"no DNSKEY of {zone} matches DS key tag {tags}"
        return KeySetVerdict(reasons.BOGUS, reasons.NO_KEY_MATCHES_DS, detail, matches, None)
    matched_tags = frozenset(dns.dnssec.key_id(key) for key in matched)
    signatures = list(rrsigs)
    by_matched = [sig for sig in signatures if sig.key_tag in matched_tags]
    check = verify_rrset(dnskeys, by_matched, matched, zone, now)
    if not by_matched:
        tags = ", ".join(str(tag) for tag in sorted(matched_tags))
        detail = f"no RRSIG over the DNSKEY set of {zone} by the key(s) the DS names ({tags})"
        all_checks = verify_rrset(dnskeys, signatures, keys, zone, now)
        return KeySetVerdict(reasons.BOGUS, reasons.MISSING_RRSIG, detail, matches, all_checks)
    if check.valid:
        return KeySetVerdict(reasons.SECURE, None, check.detail, matches, check)
    return KeySetVerdict(reasons.BOGUS, check.reason, check.detail, matches, check)
