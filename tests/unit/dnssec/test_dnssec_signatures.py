"""RRSIG checks over one RRset: every algorithm we build keys for, and every way to fail."""

from __future__ import annotations

from datetime import timedelta

import dns.name
import dns.rdata
import dns.rrset
import pytest

from protoaudit.proto.dnssec import reasons
from protoaudit.proto.dnssec.signatures import moment, usable_keys, verify_rrset
from unit.dnssec.dnssec_helpers import (
    NOW,
    SignedZone,
    default_keys,
    make_key,
    name,
    sign_zone_text,
    zone_text,
)

ALGORITHMS = [
    ("ECDSAP256SHA256", 0),
    ("ECDSAP384SHA384", 0),
    ("ED25519", 0),
    ("ED448", 0),
    ("RSASHA1", 1024),
    ("RSASHA1", 2048),
    ("RSASHA1NSEC3SHA1", 1024),
    ("RSASHA256", 1024),
    ("RSASHA256", 2048),
    ("RSASHA512", 2048),
]


def signed(**options: object) -> SignedZone:
    text = zone_text("www 300 IN A 192.0.2.1", "*.wild 300 IN A 192.0.2.2")
    return sign_zone_text("example.", text, **options)  # type: ignore[arg-type]


def check(zone: SignedZone, owner: str = "www.example.", rdtype: str = "A", **options: object):  # type: ignore[no-untyped-def]
    keys = list(zone.rrset("example.", "DNSKEY"))
    return verify_rrset(
        zone.rrset(owner, rdtype),
        zone.rrsigs(owner, rdtype),
        keys,
        zone.origin,
        NOW,
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(("algorithm", "bits"), ALGORITHMS)
def test_a_signed_rrset_is_valid(algorithm: str, bits: int) -> None:
    zone = signed(keys=default_keys(algorithm, bits or 2048))
    result = check(zone)
    assert result.valid, result.detail
    assert result.reason is None
    assert result.key_tag == zone.zsk.tag
    assert result.wildcard_parent is None
    assert result.outcomes[0].valid


def test_the_dnskey_set_is_signed_by_the_ksk() -> None:
    zone = signed()
    result = check(zone, "example.", "DNSKEY")
    assert result.valid
    assert result.key_tag == zone.ksk.tag


def test_expired_and_not_yet_valid() -> None:
    expired = signed(inception=NOW - timedelta(days=60), expiration=NOW - timedelta(days=1))
    result = check(expired)
    assert (result.valid, result.reason) == (False, reasons.SIGNATURE_EXPIRED)
    assert f"expired {moment(int((NOW - timedelta(days=1)).timestamp()))}" in result.detail
    future = signed(inception=NOW + timedelta(days=1), expiration=NOW + timedelta(days=60))
    assert check(future).reason == reasons.SIGNATURE_NOT_YET_VALID


def test_a_record_changed_after_signing_does_not_verify() -> None:
    zone = signed()
    zone.replace("www.example.", "A", "192.0.2.99")
    result = check(zone)
    assert (result.valid, result.reason) == (False, reasons.SIGNATURE_INVALID)
    assert "does not verify" in result.detail


def test_no_rrsig() -> None:
    zone = signed()
    zone.drop("www.example.", "RRSIG", covers="A")
    result = verify_rrset(zone.rrset("www.example.", "A"), [], [], zone.origin, NOW)
    assert (result.valid, result.reason) == (False, reasons.MISSING_RRSIG)


def test_no_key_with_the_rrsig_key_tag() -> None:
    zone = signed()
    only_ksk = [zone.ksk.dnskey]
    result = verify_rrset(
        zone.rrset("www.example.", "A"),
        zone.rrsigs("www.example.", "A"),
        only_ksk,
        zone.origin,
        NOW,
    )
    assert result.reason == reasons.MISSING_DNSKEY
    no_keys = verify_rrset(
        zone.rrset("www.example.", "A"), zone.rrsigs("www.example.", "A"), None, zone.origin, NOW
    )
    assert no_keys.reason == reasons.MISSING_DNSKEY


def test_a_signature_by_another_zone_does_not_count() -> None:
    zone = signed()
    other = dns.name.from_text("other.")
    result = verify_rrset(
        zone.rrset("www.example.", "A"),
        zone.rrsigs("www.example.", "A"),
        list(zone.rrset("example.", "DNSKEY")),
        other,
        NOW,
    )
    assert result.reason == reasons.SIGNATURE_INVALID
    assert "signer example." in result.detail


def test_key_tags_restrict_the_keys() -> None:
    zone = signed()
    result = check(zone, key_tags=frozenset({zone.ksk.tag}))
    assert result.reason == reasons.MISSING_DNSKEY


def test_a_key_without_the_zone_flag_or_revoked_cannot_sign() -> None:
    zone = signed()
    sig = zone.rrsigs("www.example.", "A")[0]
    zsk = zone.zsk.dnskey
    not_zone = dns.rdata.from_text(
        "IN", "DNSKEY", f"0 3 {zsk.algorithm} " + zsk.to_text().split(" ", 3)[3]
    )
    assert usable_keys([not_zone], sig) == []
    assert usable_keys([zsk], sig) == [zsk]


def test_an_unsupported_algorithm_is_said() -> None:
    zone = signed()
    sig = zone.rrsigs("www.example.", "A")[0]
    private = sig.replace(algorithm=253)  # PRIVATEDNS: nothing can verify it
    result = verify_rrset(
        zone.rrset("www.example.", "A"),
        [private],
        list(zone.rrset("example.", "DNSKEY")),
        zone.origin,
        NOW,
    )
    assert result.reason == reasons.UNSUPPORTED_ALGORITHM


def test_one_valid_signature_is_enough_and_the_rest_are_not_tried() -> None:
    zone = signed()
    good = zone.rrsigs("www.example.", "A")[0]
    expired = good.replace(expiration=int((NOW - timedelta(days=1)).timestamp()))
    result = check(zone)
    assert result.valid
    both = verify_rrset(
        zone.rrset("www.example.", "A"),
        [expired, good, good],
        list(zone.rrset("example.", "DNSKEY")),
        zone.origin,
        NOW,
    )
    assert both.valid
    assert [outcome.problem for outcome in both.outcomes] == [reasons.SIGNATURE_EXPIRED, None, None]
    assert [outcome.valid for outcome in both.outcomes] == [False, True, False]


def test_a_key_that_is_no_key_is_a_failure_not_an_exception() -> None:
    zone = signed()
    zsk = zone.zsk.dnskey
    broken = zsk.replace(key=b"\x04" + bytes(10))
    result = verify_rrset(
        zone.rrset("www.example.", "A"),
        zone.rrsigs("www.example.", "A"),
        [broken],
        zone.origin,
        NOW,
    )
    assert result.valid is False
    assert result.reason in (reasons.SIGNATURE_INVALID, reasons.MISSING_DNSKEY)


def test_labels_field_larger_than_the_owner_is_invalid() -> None:
    zone = signed()
    sig = zone.rrsigs("www.example.", "A")[0].replace(labels=5)
    result = verify_rrset(
        zone.rrset("www.example.", "A"),
        [sig],
        list(zone.rrset("example.", "DNSKEY")),
        zone.origin,
        NOW,
    )
    assert result.reason == reasons.SIGNATURE_INVALID


def test_a_wildcard_expansion_is_recognised() -> None:
    zone = signed()
    wildcard = zone.rrset("*.wild.example.", "A")
    expanded = dns.rrset.from_rdata_list(name("host.wild.example."), wildcard.ttl, list(wildcard))
    result = verify_rrset(
        expanded,
        zone.rrsigs("*.wild.example.", "A"),
        list(zone.rrset("example.", "DNSKEY")),
        zone.origin,
        NOW,
    )
    assert result.valid, result.detail
    assert result.wildcard_parent == name("wild.example.")
    literal = check(zone, "*.wild.example.")
    assert literal.valid
    assert literal.wildcard_parent is None


def test_many_signatures_are_bounded() -> None:
    zone = signed()
    bad = zone.rrsigs("www.example.", "A")[0].replace(signature=bytes(64))
    result = verify_rrset(
        zone.rrset("www.example.", "A"),
        [bad] * 1000,
        list(zone.rrset("example.", "DNSKEY")),
        zone.origin,
        NOW,
    )
    assert result.reason == reasons.SIGNATURE_INVALID
    assert len(result.outcomes) == 16


def test_a_second_key_index_gives_a_different_key() -> None:
    assert make_key(ksk=True, index=1).tag != make_key(ksk=True, index=2).tag
