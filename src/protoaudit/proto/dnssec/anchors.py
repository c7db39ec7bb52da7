"""Trust anchors: DS or DNSKEY records in zone-file presentation format, and IANA's root ones.

A trust anchor is where the chain of trust starts (RFC 4033 2): here, a set of DS records per
zone name. DNSKEY anchors (the form a private root's key is often handed out in, e.g. by
`knotc zone-read . @ DNSKEY` or BIND's `trust-anchors { … static-key … }` turned into text)
become a SHA-256 DS of themselves, so that one code path checks both: a DNSKEY set is
anchored when one of its zone keys has a digest equal to an anchor's. Only keys with the
zone flag can anchor anything.

The text is the user's (a file they chose), so bad text raises `TrustAnchorError` with the
line, rather than becoming a scan result.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import dns.dnssec
import dns.dnssectypes
import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zonefile
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS

from protoaudit.errors import ProtoauditError
from protoaudit.registry.dnssec import root_anchors

__all__ = [
    "MAX_ANCHOR_TEXT",
    "TrustAnchorError",
    "TrustAnchors",
    "from_records",
    "iana_root_anchors",
    "parse_trust_anchors",
]

MAX_ANCHOR_TEXT = 1 << 20  # a trust anchor file is a few lines; refuse a megabyte
MAX_ANCHORS = 64


class TrustAnchorError(ProtoauditError):
    """The trust anchor text is not DS or DNSKEY records: the user's input, said in one line."""


@dataclass(frozen=True, slots=True)
class TrustAnchors:
    """DS records per zone name; a name is anchored by the deepest anchored ancestor."""

    zones: tuple[tuple[dns.name.Name, tuple[DS, ...]], ...]

    def for_zone(self, zone: dns.name.Name) -> tuple[DS, ...]:
        for name, records in self.zones:
            if name == zone:
                return records
        return ()

    def closest(self, name: dns.name.Name) -> dns.name.Name | None:
        """The deepest anchored zone at or above `name`; None when no anchor covers it."""
        found = [zone for zone, _ in self.zones if name.is_subdomain(zone)]
        return max(found, key=len) if found else None


def _as_ds(owner: dns.name.Name, record: dns.rdata.Rdata) -> DS:
    if isinstance(record, DS):
        return record
    if isinstance(record, DNSKEY):
        return dns.dnssec.make_ds(
            owner, record, dns.dnssectypes.DSDigest.SHA256, policy=dns.dnssec.allow_all_policy
        )
    raise TrustAnchorError(f"{owner}: a trust anchor must be DS or DNSKEY, not {record.rdtype}")


def parse_trust_anchors(text: str) -> TrustAnchors:
    """DS and DNSKEY records (any owner names, `;` comments, parentheses) as trust anchors."""
    if len(text) > MAX_ANCHOR_TEXT:
        raise TrustAnchorError(f"trust anchor text is longer than {MAX_ANCHOR_TEXT} characters")
    try:
        rrsets = dns.zonefile.read_rrsets(
            text, origin=dns.name.root, relativize=False, default_ttl=0, rdclass=None
        )
    except (dns.exception.DNSException, ValueError, UnicodeError) as error:
        raise TrustAnchorError(f"trust anchors: {error}") from None
    zones: dict[dns.name.Name, list[DS]] = {}
    for rrset in rrsets:
        if rrset.rdclass != dns.rdataclass.IN:
            raise TrustAnchorError(f"{rrset.name}: trust anchors are class IN")
        for record in rrset:
            zones.setdefault(rrset.name, []).append(_as_ds(rrset.name, record))
    if not zones:
        raise TrustAnchorError("no DS or DNSKEY record in the trust anchor text")
    if sum(len(records) for records in zones.values()) > MAX_ANCHORS:
        raise TrustAnchorError(f"more than {MAX_ANCHORS} trust anchor records")
    return TrustAnchors(tuple((name, tuple(records)) for name, records in zones.items()))


def from_records(records: Iterable[tuple[dns.name.Name, dns.rdata.Rdata]]) -> TrustAnchors:
    """Anchors from records already parsed (tests, and callers that build them)."""
    zones: dict[dns.name.Name, list[DS]] = {}
    for owner, record in records:
        zones.setdefault(owner, []).append(_as_ds(owner, record))
    return TrustAnchors(tuple((name, tuple(ds)) for name, ds in zones.items()))


def iana_root_anchors() -> TrustAnchors:
    """KSK-2017 and KSK-2024, from the packaged copy of IANA's root-anchors.xml."""
    return parse_trust_anchors("\n".join(anchor.presentation() for anchor in root_anchors()))
