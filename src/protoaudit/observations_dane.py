"""DANE observations: the TLSA records of a TLS service and which certificate each matched.

The TLSA RRset's own DNSSEC verdict is the `DnssecStatus` beside this observation
(for `_PORT._tcp.HOST`); DANE applies only when it is secure (RFC 6698 4.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from protoaudit.observations import Observation


@dataclass(frozen=True, slots=True)
class DaneMatch:
    """One TLSA record against one served chain."""

    record: str  # "3 1 1 ab12…" (usage selector matching-type data)
    certificate_index: int | None  # which certificate it matched, 0 = the leaf; None: none
    usable: bool  # RFC 6698 defines its usage, selector and matching type
    problem: str | None  # why the match does not authenticate the server; None if it does


@dataclass(frozen=True, slots=True)
class DaneChain:
    """DANE's verdict on one certificate chain the server sent."""

    leaf_sha256: str
    requested_key_type: str | None  # as in CertificateChain: "RSA", "ECDSA" or None
    # "validated", "name_mismatch", "chain_invalid", "pkix_failed", "no_match"
    verdict: str
    matches: tuple[DaneMatch, ...]


@dataclass(frozen=True, slots=True)
class DaneCheck(Observation):
    kind: ClassVar[str] = "dane_check"
    tlsa_name: str  # "_443._tcp.www.example.com."
    base_domain: str  # the name the server's certificate must carry for DANE-TA
    dnssec_status: str  # of the TLSA answer: DANE is in force only when "secure"
    records: tuple[str, ...]  # every TLSA record found, as "usage selector type data"
    chains: tuple[DaneChain, ...]  # empty when the TLSA answer is not secure or empty


@dataclass(frozen=True, slots=True)
class CaaCheck(Observation):
    """The CAA records that govern a host name (RFC 8659), and the chain's issuer against them."""

    kind: ClassVar[str] = "caa_check"
    host: str
    found_at: str | None  # where the relevant record set is; None: no CAA up to the TLD
    dnssec_status: str | None  # of that record set; None when none was found
    records: tuple[str, ...]  # "flags tag value"
    issuer_organization: str | None  # O= of the leaf's issuer
    issuer_domains: tuple[str, ...]  # its CAA domains (packaged table or --caa-issuer); () unknown
    wildcard: bool  # the host is covered only by a wildcard name: issuewild governs
    issuer_allowed: bool | None  # None: no records, or the issuer's domains are unknown
