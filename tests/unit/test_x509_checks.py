"""x509_checks against certificates made here with cryptography, at a fixed time."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtensionOID

from pki_helpers import Issuer, make_certificate, make_chain, make_key, write_pem
from protoaudit.x509_checks import (
    TrustRoots,
    TrustStoreError,
    ValidationResult,
    describe,
    hostname_matches,
    is_self_signed,
    load_roots,
    validate,
)

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)

# make_certificate valid from 30 days before NOW to 60 days after it, unless told otherwise
issue = functools.partial(
    make_certificate, not_before=NOW - dt.timedelta(days=30), not_after=NOW + dt.timedelta(days=60)
)


def resign_with_sha1(certificate: x509.Certificate, key: rsa.RSAPrivateKey) -> x509.Certificate:
    """The same certificate signed with sha1WithRSAEncryption, which CertificateBuilder refuses.

    sha256WithRSAEncryption and sha1WithRSAEncryption OIDs have the same length, so
    swapping them keeps every DER length; the new signature is as long as the old.
    """
    der = certificate.public_bytes(serialization.Encoding.DER)
    sha256_rsa = bytes.fromhex("2a864886f70d01010b")
    sha1_rsa = bytes.fromhex("2a864886f70d010105")
    assert der.count(sha256_rsa) == 2  # in tbsCertificate and in the outer signatureAlgorithm
    der = der.replace(sha256_rsa, sha1_rsa)
    outer_header = 2 + (der[1] & 0x7F if der[1] & 0x80 else 0)
    tbs_length_bytes = der[outer_header + 1] & 0x7F if der[outer_header + 1] & 0x80 else 0
    tbs_header = 2 + tbs_length_bytes
    tbs_length = (
        int.from_bytes(der[outer_header + 2 : outer_header + 2 + tbs_length_bytes], "big")
        if tbs_length_bytes
        else der[outer_header + 1]
    )
    tbs = der[outer_header : outer_header + tbs_header + tbs_length]
    signature = key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    assert len(signature) == len(certificate.signature)
    return x509.load_der_x509_certificate(der[: -len(signature)] + signature)


def sct_list_extension(count: int) -> x509.UnrecognizedExtension:
    """An RFC 6962 SCT list with `count` entries (signatures are not checked when parsing)."""
    scts = b""
    for index in range(count):
        signature = b"\x30\x06\x02\x01\x01\x02\x01\x01"
        sct = (
            b"\x00"  # v1
            + hashlib.sha256(bytes([index])).digest()  # log id
            + (1_700_000_000_000 + index).to_bytes(8, "big")
            + b"\x00\x00"  # no extensions
            + b"\x04\x03"  # sha256, ecdsa
            + len(signature).to_bytes(2, "big")
            + signature
        )
        scts += len(sct).to_bytes(2, "big") + sct
    sct_list = len(scts).to_bytes(2, "big") + scts
    octet_string = b"\x04" + bytes([len(sct_list)]) + sct_list
    return x509.UnrecognizedExtension(
        ExtensionOID.PRECERT_SIGNED_CERTIFICATE_TIMESTAMPS, octet_string
    )


def der(*certificates: x509.Certificate) -> list[bytes]:
    return [c.public_bytes(serialization.Encoding.DER) for c in certificates]


@functools.cache
def rsa_2048() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


@functools.cache
def pki() -> dict[str, Issuer]:
    """Root -> intermediate -> leaf for leaf.example.com, all P-256."""
    root, intermediate, leaf = make_chain(
        "Test",
        "leaf.example.com",
        not_before=NOW - dt.timedelta(days=30),
        not_after=NOW + dt.timedelta(days=60),
        san_dns=["leaf.example.com", "*.wild.example.com"],
        san_ip=["192.0.2.7", "2001:db8::7"],
        serial=0xABC,
    )
    return {"root": root, "intermediate": intermediate, "leaf": leaf}


# ---------------------------------------------------------------- describe


def test_describe_ecdsa_leaf_fills_every_field() -> None:
    leaf = pki()["leaf"][0]

    info = describe(leaf)

    assert info.subject == "CN=leaf.example.com"
    assert info.issuer == "CN=Test Intermediate"
    assert info.serial_hex == "0ABC"
    assert info.not_before == NOW - dt.timedelta(days=30)
    assert info.not_before.tzinfo is not None
    assert info.not_after == NOW + dt.timedelta(days=60)
    assert (info.key_type, info.key_bits, info.curve) == ("EC", 256, "secp256r1")
    assert info.signature_algorithm == "ecdsa-with-SHA256"
    assert info.signature_hash == "sha256"
    assert info.san_dns == ("leaf.example.com", "*.wild.example.com")
    assert info.san_ip == ("192.0.2.7", "2001:db8::7")
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", info.sha256_fingerprint)
    assert (
        info.sha256_fingerprint.replace(":", "").lower() == hashlib.sha256(der(leaf)[0]).hexdigest()
    )
    assert info.is_ca is False
    assert info.self_issued is False
    assert info.sct_count == 0
    assert info.must_staple is False
    assert x509.load_pem_x509_certificate(info.pem.encode()) == leaf


def test_describe_root_is_ca_and_self_issued() -> None:
    info = describe(pki()["root"][0])

    assert info.is_ca is True
    assert info.self_issued is True
    assert info.san_dns == ()
    assert info.san_ip == ()


def test_describe_rsa_1024() -> None:
    key = make_key("rsa-1024")

    info = describe(issue("small.example", key, pki()["intermediate"], san_dns=["small.example"]))

    assert (info.key_type, info.key_bits, info.curve) == ("RSA", 1024, None)
    assert info.signature_algorithm == "ecdsa-with-SHA256"  # signed by the EC intermediate


def test_describe_ecdsa_p384_signed_with_sha384() -> None:
    key = make_key("ec-p384")

    info = describe(issue("p384.example", key, hash_algorithm=hashes.SHA384()))

    assert (info.key_type, info.key_bits, info.curve) == ("EC", 384, "secp384r1")
    assert info.signature_algorithm == "ecdsa-with-SHA384"
    assert info.signature_hash == "sha384"


def test_describe_ed25519_has_no_signature_hash() -> None:
    key = make_key("ed25519")

    info = describe(issue("ed.example", key))

    assert (info.key_type, info.key_bits, info.curve) == ("Ed25519", 256, None)
    assert info.signature_algorithm == "ed25519"
    assert info.signature_hash is None


def test_describe_must_staple_and_scts() -> None:
    key = make_key()
    extensions = [x509.TLSFeature([x509.TLSFeatureType.status_request]), sct_list_extension(2)]

    info = describe(issue("staple.example", key, pki()["intermediate"], extensions=extensions))

    assert info.must_staple is True
    assert info.sct_count == 2


def test_describe_sha1_signature() -> None:
    key = rsa_2048()
    certificate = resign_with_sha1(issue("old.example", key, san_dns=["old.example"]), key)

    info = describe(certificate)

    assert info.signature_algorithm == "sha1WithRSAEncryption"
    assert info.signature_hash == "sha1"
    assert (info.key_type, info.key_bits) == ("RSA", 2048)


# ---------------------------------------------------------------- host names


@pytest.mark.parametrize(
    ("hostname", "expected"),
    [
        ("leaf.example.com", True),
        ("LEAF.Example.COM", True),
        ("leaf.example.com.", True),
        ("a.wild.example.com", True),
        ("wild.example.com", False),  # the wildcard needs a label of its own
        ("a.b.wild.example.com", False),  # and stands for one label only
        ("other.example.com", False),
        ("192.0.2.7", True),
        ("2001:db8::7", True),
        ("[2001:db8::7]", True),
        ("192.0.2.8", False),
        ("", False),
    ],
)
def test_hostname_matches(hostname: str, expected: bool) -> None:
    assert hostname_matches(pki()["leaf"][0], hostname) is expected


def test_wildcard_rules_that_rfc_6125_and_the_baseline_requirements_forbid() -> None:
    key = make_key()
    certificate = issue("x", key, san_dns=["*.com", "f*.example.org", "*.*.example.net"])

    assert not hostname_matches(certificate, "example.com")
    assert not hostname_matches(certificate, "foo.example.org")
    assert not hostname_matches(certificate, "a.b.example.net")


def test_common_name_is_not_a_name_to_match() -> None:
    key = make_key()

    assert not hostname_matches(issue("cn-only.example", key), "cn-only.example")


def test_ip_literal_does_not_match_a_dns_san_spelling_it() -> None:
    key = make_key()

    assert not hostname_matches(issue("x", key, san_dns=["192.0.2.9"]), "192.0.2.9")


# ---------------------------------------------------------------- validate


def _chain(*names: str) -> list[bytes]:
    return der(*(pki()[name][0] for name in names))


def check(
    chain: Sequence[bytes] | None = None,
    *,
    hostname: str = "leaf.example.com",
    roots: TrustRoots | Sequence[x509.Certificate] | None = None,
    now: dt.datetime = NOW,
    ocsp_stapled: bool = False,
) -> ValidationResult:
    """validate() by default on leaf + intermediate for leaf.example.com, the test root, NOW."""
    return validate(
        _chain("leaf", "intermediate") if chain is None else chain,
        hostname=hostname,
        roots=TrustRoots([pki()["root"][0]], "test root") if roots is None else roots,
        now=now,
        ocsp_stapled=ocsp_stapled,
    )


def test_good_chain_is_trusted() -> None:
    result = check()

    assert result.trusted is True
    assert result.trust_error is None
    assert result.hostname_checked == "leaf.example.com"
    assert result.hostname_matches is True
    assert (result.expired, result.not_yet_valid) == (False, False)
    assert result.days_left == 60
    assert (result.self_signed, result.chain_incomplete) == (False, False)
    assert result.must_staple_unmet is False


def test_days_left_counts_whole_days() -> None:
    result = check(now=NOW + dt.timedelta(seconds=1))

    assert result.days_left == 59  # 59 days and 23:59:59 left


def test_sequence_of_roots_and_the_root_sent_too() -> None:
    result = check(
        _chain("leaf", "intermediate", "root"),
        hostname="a.wild.example.com",
        roots=[pki()["root"][0]],
    )

    assert result.trusted is True


def test_ip_san_is_trusted_for_the_ip() -> None:
    result = check(hostname="2001:db8::7")

    assert (result.trusted, result.hostname_matches) == (True, True)


def test_expired_leaf_still_reports_the_name_match() -> None:
    # Given a chain checked a day after the leaf's notAfter
    now = NOW + dt.timedelta(days=61)

    result = check(now=now)

    # Then it is untrusted for that reason, and every other fact stands on its own
    assert result.trusted is False
    assert result.trust_error == f"certificate expired on {(NOW + dt.timedelta(days=60)):%Y-%m-%d}"
    assert result.expired is True
    assert result.not_yet_valid is False
    assert result.days_left == -1
    assert result.hostname_matches is True
    assert result.chain_incomplete is False


def test_not_yet_valid_leaf() -> None:
    result = check(now=NOW - dt.timedelta(days=31))

    assert result.trusted is False
    assert result.not_yet_valid is True
    assert result.expired is False
    assert result.trust_error is not None
    assert result.trust_error.startswith("certificate not valid before")


def test_wrong_host() -> None:
    result = check(hostname="www.example.org")

    assert result.trusted is False
    assert result.hostname_matches is False
    assert (
        result.trust_error
        == "hostname mismatch: 'www.example.org' is not among the certificate's names"
    )


def test_self_signed_leaf() -> None:
    key = make_key()
    certificate = issue("self.example", key, san_dns=["self.example"])

    result = check(der(certificate), hostname="self.example")

    assert result.trusted is False
    assert result.trust_error == "self-signed certificate"
    assert result.self_signed is True
    assert result.chain_incomplete is False
    assert result.hostname_matches is True


def test_self_issued_but_signed_by_another_key_is_not_self_signed() -> None:
    key = make_key()
    other = make_key()
    impostor = issue("self.example", key)
    certificate = issue("self.example", key, (impostor, other))

    assert certificate.issuer == certificate.subject
    assert is_self_signed(certificate) is False


def test_missing_intermediate_is_an_incomplete_chain() -> None:
    result = check(_chain("leaf"))

    assert result.trusted is False
    assert result.chain_incomplete is True
    assert result.trust_error == (
        "incomplete chain: the issuer 'CN=Test Intermediate' was not sent and is not a trusted root"
    )
    assert result.self_signed is False


def test_unknown_root_is_not_an_incomplete_chain() -> None:
    other_root = issue("Other Root", make_key(), ca=True)

    sent_root = check(_chain("leaf", "intermediate", "root"), roots=[other_root])
    root_not_sent = check(roots=[other_root])

    assert sent_root.trust_error == "untrusted root: 'CN=Test Root' is not in the trust store"
    assert root_not_sent.trust_error == (
        "unknown issuer: 'CN=Test Root' was not sent and is not a trusted root"
    )
    assert not sent_root.chain_incomplete
    assert not root_not_sent.chain_incomplete


def test_expired_intermediate_is_named_as_such() -> None:
    root, root_key = pki()["root"]
    intermediate_key = pki()["intermediate"][1]
    expired = issue(
        "Test Intermediate",
        intermediate_key,
        (root, root_key),
        ca=True,
        not_after=NOW - dt.timedelta(days=1),
    )

    result = check([*_chain("leaf"), *der(expired)])

    assert result.trusted is False
    assert result.trust_error == "an issuing certificate is expired or not yet valid"
    assert result.expired is False


def test_ca_without_key_usage_is_named() -> None:
    # Given an intermediate that lacks the keyUsage extension the WebPKI requires of CAs
    key = make_key()
    intermediate = make_certificate(
        "No Key Usage CA",
        key,
        pki()["root"],
        ca=True,
        ca_key_usage=False,
        serial=7,
        not_before=NOW - dt.timedelta(days=1),
        not_after=NOW + dt.timedelta(days=90),
    )
    leaf = issue("ku.example", make_key(), (intermediate, key), san_dns=["ku.example"])

    result = check(der(leaf, intermediate), hostname="ku.example")

    assert result.trust_error == "a certificate in the chain lacks the keyUsage extension"


def test_sha1_signed_leaf_is_refused_by_the_verifier() -> None:
    root_key = rsa_2048()
    root = issue("RSA Root", root_key, ca=True)
    leaf_key = make_key()
    leaf = resign_with_sha1(
        issue("sha1.example", leaf_key, (root, root_key), san_dns=["sha1.example"]), root_key
    )

    result = check(der(leaf), hostname="sha1.example", roots=[root], ocsp_stapled=True)

    assert result.trusted is False
    assert result.trust_error == "a forbidden signature algorithm is used in the chain"
    assert result.chain_incomplete is False  # the SHA-1 signature itself verifies


def test_sha1_self_signed_certificate_is_self_signed() -> None:
    key = rsa_2048()

    certificate = resign_with_sha1(issue("old.example", key, san_dns=["old.example"]), key)

    assert is_self_signed(certificate) is True


def test_must_staple_without_a_staple() -> None:
    key = make_key()
    leaf = issue(
        "staple.example",
        key,
        pki()["intermediate"],
        san_dns=["staple.example"],
        extensions=[x509.TLSFeature([x509.TLSFeatureType.status_request])],
    )
    chain = [*der(leaf), *_chain("intermediate")]

    without = check(chain, hostname="staple.example")
    stapled = check(chain, hostname="staple.example", ocsp_stapled=True)

    assert (without.must_staple_unmet, without.ocsp_stapled) == (True, False)
    assert (stapled.must_staple_unmet, stapled.ocsp_stapled) == (False, True)
    # Must-staple is the policy's to judge, not the verifier's.
    assert without.trusted
    assert stapled.trusted


def test_rsa_1024_leaf_is_reported_by_describe_not_refused_here() -> None:
    key = make_key("rsa-1024")
    leaf = issue("small.example", key, pki()["intermediate"], san_dns=["small.example"])

    result = check([*der(leaf), *_chain("intermediate")], hostname="small.example")

    assert result.trust_error in (None, "a key in the chain is too weak")


def test_ed25519_chain_validates() -> None:
    key = make_key("ed25519")
    leaf = issue("ed.example", key, pki()["intermediate"], san_dns=["ed.example"])

    result = check([*der(leaf), *_chain("intermediate")], hostname="ed.example")

    assert result.trusted is True


def test_validate_refuses_naive_time_and_empty_chain() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check(_chain("leaf"), hostname="x", now=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="empty"):
        check([], hostname="x")


def test_invalid_hostname_is_a_reason_not_an_exception() -> None:
    result = check(hostname="a..b")

    assert result.trusted is False
    assert result.hostname_matches is False
    assert result.trust_error is not None


# ---------------------------------------------------------------- trust store


def test_mozilla_roots_by_default_loaded_once() -> None:
    first = load_roots(None)

    assert first.description.startswith("Mozilla (certifi ")
    assert len(first.certificates) > 100
    assert load_roots(None) is first


def test_ca_file_replaces_mozilla(tmp_path: Path) -> None:
    path = write_pem(tmp_path / "private-ca.pem", pki()["root"][0])

    loaded = load_roots(str(path))

    assert loaded.certificates == (pki()["root"][0],)
    assert loaded.description == f"ca-file {path} (instead of the Mozilla roots)"


def test_unreadable_or_empty_ca_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_text("not a certificate\n")

    with pytest.raises(TrustStoreError, match="cannot read"):
        load_roots(str(tmp_path / "missing.pem"))
    with pytest.raises(TrustStoreError, match="no readable PEM"):
        load_roots(str(empty))
