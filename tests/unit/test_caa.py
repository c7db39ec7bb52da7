"""CAA (caa.py): reading records, and RFC 8659's rules for who may issue."""

from __future__ import annotations

import pytest

from protoaudit.caa import CaaRecord, issuer_allowed, issuer_domains, parse_caa


def records(*lines: str) -> list[CaaRecord]:
    parsed = [parse_caa(line) for line in lines]
    assert all(r is not None for r in parsed)
    return [r for r in parsed if r is not None]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('example.test. 300 IN CAA 0 issue "ca.test"', CaaRecord(0, "issue", "ca.test")),
        ('0 issue "ca.test; account=42"', CaaRecord(0, "issue", "ca.test; account=42")),
        ('0 ISSUEWILD ";"', CaaRecord(0, "issuewild", ";")),
        ("128 tbs unknown", CaaRecord(128, "tbs", "unknown")),
        ("issue ca.test", None),
        ("0 issue", None),
    ],
)
def test_parse_caa(line: str, expected: CaaRecord | None) -> None:
    assert parse_caa(line) == expected


def test_an_issue_value_names_the_ca_by_its_domain_and_ignores_parameters() -> None:
    allowed = records('0 issue "ca.test; account=42"', '0 iodef "mailto:x@example.test"')
    assert issuer_allowed(allowed, ["CA.test"], wildcard=False)
    assert not issuer_allowed(allowed, ["other.test"], wildcard=False)


def test_an_empty_issue_value_forbids_everyone() -> None:
    assert not issuer_allowed(records('0 issue ";"'), ["ca.test"], wildcard=False)


def test_issuewild_governs_wildcards_and_falls_back_to_issue() -> None:
    both = records('0 issue "ca.test"', '0 issuewild ";"')
    assert issuer_allowed(both, ["ca.test"], wildcard=False)
    assert not issuer_allowed(both, ["ca.test"], wildcard=True)
    only_issue = records('0 issue "ca.test"')
    assert issuer_allowed(only_issue, ["ca.test"], wildcard=True)


def test_an_unknown_critical_property_forbids_issuance() -> None:
    assert not issuer_allowed(
        records('0 issue "ca.test"', "128 tbs x"), ["ca.test"], wildcard=False
    )
    assert issuer_allowed(records('0 issue "ca.test"', "0 tbs x"), ["ca.test"], wildcard=False)


def test_records_without_issue_properties_restrict_nothing() -> None:
    assert issuer_allowed(records('0 iodef "mailto:x@example.test"'), ["ca.test"], wildcard=False)


def test_public_cas_are_known_by_their_organization() -> None:
    assert issuer_domains("Let's Encrypt") == ("letsencrypt.org",)
    assert "digicert.com" in issuer_domains("DigiCert Inc")
    assert issuer_domains("Entrust, Inc.")[0] == "entrust.net"
    assert issuer_domains("protoaudit lab") == ()
