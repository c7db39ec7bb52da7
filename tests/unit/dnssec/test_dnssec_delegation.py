"""DS to DNSKEY: which key a DS names, and whether the key set is authenticated by it."""

from __future__ import annotations

from datetime import timedelta

import dns.rdata
import pytest

from protoaudit.proto.dnssec import reasons
from protoaudit.proto.dnssec.anchors import from_records
from protoaudit.proto.dnssec.delegation import authenticate_keys, match_ds
from unit.dnssec.dnssec_helpers import (
    NOW,
    SignedZone,
    default_keys,
    make_key,
    sign_zone_text,
    zone_text,
)


def signed(**options: object) -> SignedZone:
    return sign_zone_text("child.example.", zone_text("www 300 IN A 192.0.2.1"), **options)  # type: ignore[arg-type]


def verdict(zone: SignedZone, ds: list[object]):  # type: ignore[no-untyped-def]
    keys = zone.zone.get_rrset(zone.origin, "DNSKEY")
    return authenticate_keys(zone.origin, ds, keys, zone.rrsigs(zone.origin, "DNSKEY"), NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize("digest", ["SHA1", "SHA256", "SHA384"])
@pytest.mark.parametrize(
    ("algorithm", "bits"), [("ECDSAP256SHA256", 0), ("ED25519", 0), ("RSASHA256", 2048)]
)
def test_a_ds_of_the_ksk_authenticates_the_key_set(algorithm: str, digest: str, bits: int) -> None:
    zone = signed(keys=default_keys(algorithm, bits or 2048))
    result = verdict(zone, [zone.ds(digest=digest)])
    assert (result.status, result.reason) == (reasons.SECURE, None), result.detail
    assert result.matches[0].key == zone.ksk.dnskey


def test_a_ds_whose_digest_differs_is_a_digest_mismatch() -> None:
    zone = signed()
    good = zone.ds()
    wrong = good.replace(digest=bytes(byte ^ 1 for byte in good.digest))
    result = verdict(zone, [wrong])
    assert (result.status, result.reason) == (reasons.BOGUS, reasons.DS_DIGEST_MISMATCH)
    assert result.matches[0].tag_match
    assert result.matches[0].key is None


def test_a_ds_for_another_key_matches_no_key() -> None:
    zone = signed()
    other = zone.ds(make_key(ksk=True, index=5))
    result = verdict(zone, [other])
    assert (result.status, result.reason) == (reasons.BOGUS, reasons.NO_KEY_MATCHES_DS)
    assert not result.matches[0].tag_match


def test_no_dnskey_set() -> None:
    zone = signed()
    result = authenticate_keys(zone.origin, [zone.ds()], None, [], NOW)
    assert (result.status, result.reason) == (reasons.BOGUS, reasons.MISSING_DNSKEY)


def test_a_key_set_signed_only_by_a_key_the_ds_does_not_name() -> None:
    zone = signed()
    zone.drop("child.example.", "RRSIG", covers="DNSKEY")
    result = verdict(zone, [zone.ds()])
    assert (result.status, result.reason) == (reasons.BOGUS, reasons.MISSING_RRSIG)
    # The DS names the ZSK instead: it did not sign the key set either.
    zone2 = signed()
    result2 = verdict(zone2, [zone2.ds(zone2.zsk)])
    assert result2.reason == reasons.MISSING_RRSIG


def test_an_expired_key_set_signature() -> None:
    zone = signed(inception=NOW - timedelta(days=40), expiration=NOW - timedelta(days=10))
    result = verdict(zone, [zone.ds()])
    assert (result.status, result.reason) == (reasons.BOGUS, reasons.SIGNATURE_EXPIRED)
    assert "expired" in result.detail
    assert result.check is not None
    assert result.check.outcomes[0].problem == reasons.SIGNATURE_EXPIRED


def test_a_key_set_signature_that_does_not_verify() -> None:
    zone = signed()
    sig = zone.rrsigs("child.example.", "DNSKEY")[0]
    broken = sig.replace(signature=bytes(len(sig.signature)))
    keys = zone.zone.get_rrset(zone.origin, "DNSKEY")
    result = authenticate_keys(zone.origin, [zone.ds()], keys, [broken], NOW)
    assert (result.status, result.reason) == (reasons.BOGUS, reasons.SIGNATURE_INVALID)


def test_all_ds_with_unsupported_algorithms_make_the_zone_insecure() -> None:
    zone = signed()
    unknown = dns.rdata.from_text("IN", "DS", "12345 253 2 " + "ab" * 32)
    md5 = dns.rdata.from_text("IN", "DS", "12345 1 2 " + "ab" * 32)  # RSAMD5: MUST NOT validate
    result = verdict(zone, [unknown, md5])
    assert (result.status, result.reason) == (reasons.INSECURE, reasons.UNSUPPORTED_ALGORITHM)


def test_all_ds_with_unsupported_digests_make_the_zone_insecure() -> None:
    zone = signed()
    good = zone.ds()
    gost = dns.rdata.from_text("IN", "DS", f"{good.key_tag} {good.algorithm} 3 " + "ab" * 32)
    result = verdict(zone, [gost])
    assert (result.status, result.reason) == (reasons.INSECURE, reasons.UNSUPPORTED_DIGEST)


def test_a_supported_ds_among_unsupported_ones_is_used() -> None:
    zone = signed()
    unknown = dns.rdata.from_text("IN", "DS", "12345 253 2 " + "ab" * 32)
    assert verdict(zone, [unknown, zone.ds()]).status == reasons.SECURE


def test_sha1_ds_is_ignored_when_sha256_is_present() -> None:
    """RFC 4509 3: a broken SHA-1 DS beside a good SHA-256 one does not matter."""
    zone = signed()
    sha1 = zone.ds(digest="SHA1")
    broken_sha1 = sha1.replace(digest=bytes(20))
    assert verdict(zone, [broken_sha1, zone.ds()]).status == reasons.SECURE
    # ... and a good SHA-1 beside a broken SHA-256 does not rescue it.
    sha256 = zone.ds()
    broken_sha256 = sha256.replace(digest=bytes(32))
    assert verdict(zone, [sha1, broken_sha256]).reason == reasons.DS_DIGEST_MISMATCH


def test_dnskey_trust_anchors_become_ds() -> None:
    zone = signed()
    anchors = from_records([(zone.origin, zone.ksk.dnskey)])
    assert verdict(zone, list(anchors.for_zone(zone.origin))).status == reasons.SECURE


def test_match_ds_ignores_keys_without_the_zone_flag() -> None:
    zone = signed()
    ksk = zone.ksk.dnskey
    no_zone_flag = ksk.replace(flags=1)
    ds = zone.ds()
    assert match_ds(zone.origin, [ds], [no_zone_flag])[0].key is None
    assert match_ds(zone.origin, [ds], [ksk])[0].key == ksk
