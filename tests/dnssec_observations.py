"""Builders of DNSSEC observations for policy and report tests: a secure chain that meets the
baseline (ECDSAP256SHA256 keys, SHA-256 DS, CDS published, signatures valid for a month),
which each test changes in one place."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from protoaudit.observations_dns import (
    DnssecDenial,
    DnssecDs,
    DnssecKey,
    DnssecSignature,
    DnssecStatus,
    DnssecZone,
)

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def key(tag: int = 100, algorithm: int = 13, bits: int = 256, *, sep: bool = True) -> DnssecKey:
    flags = 257 if sep else 256
    return DnssecKey(tag, flags, True, sep, False, 3, algorithm, bits, True)


def signature(
    covered: str = "DNSKEY", *, expires_in: timedelta = timedelta(days=30), ttl: int = 3600
) -> DnssecSignature:
    return DnssecSignature(
        covered, "example.test.", 100, 13, 2, ttl, NOW - timedelta(days=1), NOW + expires_in,
        True, None,
    )  # fmt: skip


def zone(name: str = "example.test.", **changes: object) -> DnssecZone:
    base = DnssecZone(
        zone=name,
        parent="test.",
        status="secure",
        reason=None,
        detail="",
        trust_anchor=False,
        ds=(DnssecDs(100, 13, 2, "ab" * 32, 100, True),),
        ds_signatures=(signature("DS"),),
        ds_denial=None,
        dnskeys=(key(),),
        dnskey_signatures=(signature(),),
        nsec3_iterations=None,
        nsec3_salt_hex=None,
        nsec3_opt_out=None,
        cds_present=True,
        cdnskey_present=True,
        servers=("127.0.53.3:53",),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def status(*chain: DnssecZone, **changes: object) -> DnssecStatus:
    base = DnssecStatus(
        name="www.example.test.",
        rdtype="A",
        status="secure",
        reason=None,
        detail="",
        chain=chain or (zone(),),
        rcode="NOERROR",
        answer=("www.example.test. 3600 IN A 127.0.0.1",),
        answer_signatures=(signature("A"),),
        denial=None,
        cname_chain=(),
        queries=6,
        servers=("127.0.53.1:53",),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


NO_DS_PROOF = DnssecDenial("nsec", "no_ds", True, "test. NSEC covers", None, False, None, None, ())
