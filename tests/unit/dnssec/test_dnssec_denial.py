"""NSEC and NSEC3 proofs: NXDOMAIN, NODATA, no DS, empty non-terminals, wildcards, opt-out.

The valid proofs are the records the test authority (zone_server.Authority) puts in its
answers, from zones signed in memory; the invalid ones leave out or swap a record.
"""

from __future__ import annotations

import base64

import dns.dnssec
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdatatype
import pytest

from protoaudit.proto.dnssec import reasons
from protoaudit.proto.dnssec.denial import (
    NO_DS,
    NODATA,
    NXDOMAIN,
    OPT_OUT_PROOF,
    WILDCARD_ANSWER,
    WILDCARD_NODATA,
    bitmap_types,
)
from protoaudit.proto.dnssec.messages import denial_records, denial_rrsets
from protoaudit.proto.dnssec.proofs import prove_denial, prove_wildcard_answer
from unit.dnssec.dnssec_helpers import Nsec3Params, SignedZone, name, sign_zone_text, zone_text
from unit.dnssec.zone_server import Authority

LINES = (
    "www 300 IN A 192.0.2.1",
    "*.wild 300 IN A 192.0.2.2",
    "a.b.c 300 IN TXT deep",
    "alias 300 IN CNAME www",
    "signed 300 IN NS ns.signed",
    "ns.signed 300 IN A 192.0.2.3",
    "signed 300 IN DS 1 13 2 " + "ab" * 32,
    "unsigned 300 IN NS ns.unsigned",
    "ns.unsigned 300 IN A 192.0.2.4",
)
ZONE = name("example.")


def build(nsec3: Nsec3Params | None = None) -> SignedZone:
    return sign_zone_text("example.", zone_text(*LINES), nsec3=nsec3)


NSEC_ZONE = build()
NSEC3_ZONE = build(Nsec3Params(iterations=3, salt="beef"))
OPT_OUT_ZONE = build(Nsec3Params(iterations=0, salt="", opt_out=True))


def records(zone: SignedZone, qname: str, rdtype: str):  # type: ignore[no-untyped-def]
    query = dns.message.make_query(qname, rdtype, want_dnssec=True)
    response = Authority([zone.zone]).answer(query)
    return denial_records(denial_rrsets(response.authority)), response


def prove(zone: SignedZone, qname: str, rdtype: str = "A", **options: object):  # type: ignore[no-untyped-def]
    (nsec, nsec3), response = records(zone, qname, rdtype)
    nxdomain = response.rcode() == dns.rcode.NXDOMAIN
    return prove_denial(
        name(qname),
        dns.rdatatype.from_text(rdtype),
        ZONE,
        nxdomain=nxdomain,
        nsec=nsec,
        nsec3=nsec3,
    )


@pytest.mark.parametrize("zone", [NSEC_ZONE, NSEC3_ZONE], ids=["nsec", "nsec3"])
@pytest.mark.parametrize(
    ("qname", "rdtype", "proves"),
    [
        ("nosuch.example.", "A", NXDOMAIN),
        ("deeper.nosuch.example.", "A", NXDOMAIN),
        ("www.example.", "TXT", NODATA),
        ("b.c.example.", "A", NODATA),  # an empty non-terminal
        ("host.wild.example.", "TXT", WILDCARD_NODATA),
        ("unsigned.example.", "DS", NO_DS),
    ],
)
def test_valid_proofs(zone: SignedZone, qname: str, rdtype: str, proves: str) -> None:
    proof = prove(zone, qname, rdtype)
    assert (proof.status, proof.proves) == (reasons.SECURE, proves), proof.detail
    assert proof.valid
    assert proof.reason is None
    assert proof.used


def test_no_ds_at_a_delegation_shows_the_ns_type() -> None:
    for zone in (NSEC_ZONE, NSEC3_ZONE):
        proof = prove(zone, "unsigned.example.", "DS")
        assert proof.types_at_name is not None
        assert dns.rdatatype.NS in proof.types_at_name
        assert dns.rdatatype.SOA not in proof.types_at_name


def test_nsec3_opt_out_makes_an_unsigned_delegation_insecure() -> None:
    proof = prove(OPT_OUT_ZONE, "unsigned.example.", "DS")
    assert (proof.status, proof.reason, proof.proves) == (
        reasons.INSECURE,
        reasons.OPT_OUT,
        OPT_OUT_PROOF,
    )
    assert proof.opt_out
    assert proof.closest_encloser == ZONE


def test_nsec3_nxdomain_in_an_opt_out_span_is_insecure() -> None:
    proof = prove(OPT_OUT_ZONE, "nosuch.example.")
    assert (proof.status, proof.reason, proof.proves) == (
        reasons.INSECURE,
        reasons.OPT_OUT,
        NXDOMAIN,
    )


def test_nsec3_parameters_are_reported() -> None:
    proof = prove(NSEC3_ZONE, "nosuch.example.")
    assert (proof.iterations, proof.salt, proof.mechanism) == (3, bytes.fromhex("beef"), "nsec3")


def test_too_many_nsec3_iterations_is_insecure_without_hashing() -> None:
    zone = build(Nsec3Params(iterations=500, salt="aa"))
    proof = prove(zone, "nosuch.example.")
    assert (proof.status, proof.reason) == (reasons.INSECURE, reasons.NSEC3_ITERATIONS)


@pytest.mark.parametrize("zone", [NSEC_ZONE, NSEC3_ZONE], ids=["nsec", "nsec3"])
def test_wildcard_answer_needs_proof_that_the_name_does_not_exist(zone: SignedZone) -> None:
    (nsec, nsec3), _ = records(zone, "host.wild.example.", "A")
    proof = prove_wildcard_answer(
        name("host.wild.example."), name("wild.example."), ZONE, nsec=nsec, nsec3=nsec3
    )
    assert (proof.status, proof.proves) == (reasons.SECURE, WILDCARD_ANSWER), proof.detail
    missing = prove_wildcard_answer(name("host.wild.example."), name("wild.example."), ZONE)
    assert missing.reason == reasons.DENIAL_INVALID


@pytest.mark.parametrize("zone", [NSEC_ZONE, NSEC3_ZONE], ids=["nsec", "nsec3"])
def test_nxdomain_without_the_wildcard_proof_is_invalid(zone: SignedZone) -> None:
    (nsec, nsec3), _ = records(zone, "nosuch.example.", "A")
    assert prove_denial(
        name("nosuch.example."), 1, ZONE, nxdomain=True, nsec=nsec, nsec3=nsec3
    ).valid
    wildcard = name("*.example.")
    nsec = [item for item in nsec if not covers_nsec(item, wildcard)]
    nsec3 = [item for item in nsec3 if not covers_nsec3(item, wildcard)]
    proof = prove_denial(name("nosuch.example."), 1, ZONE, nxdomain=True, nsec=nsec, nsec3=nsec3)
    assert (proof.status, proof.reason) == (reasons.BOGUS, reasons.DENIAL_INVALID)
    assert "*.example." in proof.detail


def covers_nsec(item: tuple[dns.name.Name, object], target: dns.name.Name) -> bool:
    owner, record = item
    following = record.next  # type: ignore[attr-defined]
    return bool(owner < target < following or (following <= owner and target > owner))


def covers_nsec3(item: tuple[dns.name.Name, object], target: dns.name.Name) -> bool:
    owner, record = item
    digest = base64.b32hexdecode(dns.dnssec.nsec3_hash(target, "beef", 3, 1))
    label = owner.labels[0].upper()
    start = base64.b32hexdecode(label + b"=" * (-len(label) % 8))
    following = record.next  # type: ignore[attr-defined]
    return bool(
        start < digest < following
        or (following <= start and (digest > start or digest < following))
    )


def test_nsec_claims_that_contradict_the_records_are_invalid() -> None:
    (nsec, _), _ = records(NSEC_ZONE, "www.example.", "TXT")
    # NODATA for a type the NSEC lists.
    assert (
        prove_denial(name("www.example."), 1, ZONE, nxdomain=False, nsec=nsec).reason
        == reasons.DENIAL_INVALID
    )
    # NXDOMAIN for a name an NSEC shows exists.
    assert (
        prove_denial(name("www.example."), 1, ZONE, nxdomain=True, nsec=nsec).reason
        == reasons.DENIAL_INVALID
    )
    # NODATA for a name that an NSEC covers (it does not exist at all).
    (covering, _), _ = records(NSEC_ZONE, "nosuch.example.", "A")
    assert (
        prove_denial(name("nosuch.example."), 1, ZONE, nxdomain=False, nsec=covering).valid is False
    )
    # NXDOMAIN for an empty non-terminal (it exists).
    (ent, _), _ = records(NSEC_ZONE, "b.c.example.", "A")
    assert prove_denial(name("b.c.example."), 1, ZONE, nxdomain=True, nsec=ent).valid is False


def test_a_cname_in_the_bitmap_denies_nothing() -> None:
    (nsec, _), _ = records(NSEC_ZONE, "alias.example.", "CNAME")
    proof = prove_denial(name("alias.example."), 1, ZONE, nxdomain=False, nsec=nsec)
    assert proof.valid is False


def test_a_delegation_nsec_proves_only_the_absence_of_ds() -> None:
    """RFC 6840 4.1: the parent's NSEC at a cut says nothing about the child's data."""
    (nsec, _), _ = records(NSEC_ZONE, "unsigned.example.", "DS")
    proof = prove_denial(name("unsigned.example."), 1, ZONE, nxdomain=False, nsec=nsec)
    assert proof.reason == reasons.DENIAL_INVALID
    below = prove_denial(name("host.unsigned.example."), 1, ZONE, nxdomain=True, nsec=nsec)
    assert below.reason == reasons.DENIAL_INVALID


def test_nsec3_records_that_cannot_be_used_are_ignored() -> None:
    (_, nsec3), _ = records(NSEC3_ZONE, "nosuch.example.", "A")
    unknown_hash = [(owner, record.replace(algorithm=2)) for owner, record in nsec3]
    proof = prove_denial(name("nosuch.example."), 1, ZONE, nxdomain=True, nsec3=unknown_hash)
    assert proof.reason == reasons.DENIAL_INVALID
    other_zone = prove_denial(name("nosuch.other."), 1, name("other."), nxdomain=True, nsec3=nsec3)
    assert other_zone.reason == reasons.DENIAL_INVALID
    outside = prove_denial(name("x.elsewhere."), 1, ZONE, nxdomain=True, nsec3=nsec3)
    assert outside.reason == reasons.DENIAL_INVALID


def test_nothing_proves_nothing() -> None:
    proof = prove_denial(name("nosuch.example."), 1, ZONE, nxdomain=True)
    assert (proof.status, proof.reason, proof.mechanism) == (
        reasons.BOGUS,
        reasons.DENIAL_INVALID,
        "none",
    )


def test_bitmap_types() -> None:
    record = dns.rdata.from_text("IN", "NSEC", "next.example. A NS SOA RRSIG NSEC DNSKEY TYPE1234")
    assert bitmap_types(record.windows) == frozenset({1, 2, 6, 46, 47, 48, 1234})
