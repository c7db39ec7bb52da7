"""DNSSEC rules (policy/dnssec_rules.py): each finding from the smallest chain that shows it.

Every case starts from a secure chain that meets the baseline (ECDSAP256SHA256
keys, SHA-256 DS, CDS published, signatures valid for a month) and changes one
thing; the clock is fixed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from dnssec_observations import NO_DS_PROOF, NOW, key, signature, status, zone
from protoaudit.observations import Observation
from protoaudit.observations_dane import CaaCheck, DaneChain, DaneCheck, DaneMatch
from protoaudit.observations_dns import (
    DnssecDenial,
    DnssecDs,
)
from protoaudit.policy import RULES, Severity, evaluate
from protoaudit.policy.baseline import DNSSEC_BASELINE_FILE, load_catalogue_file
from protoaudit.policy.dane_rules import DANE_RULES
from protoaudit.policy.dnssec_rules import dnssec_rules

POLICY = Path(__file__).parents[2] / "src/protoaudit/policy"
RULES_SOURCES = (POLICY / "dnssec_rules.py", POLICY / "dane_rules.py")


def dane(
    verdict: str,
    *,
    problem: str | None = "the server's certificate does not name www",
    index: int | None = 1,
    usable: bool = True,
) -> DaneCheck:
    match = DaneMatch("2 0 1 abcd", index, usable, problem)
    chain = DaneChain("ab" * 32, None, verdict, (match,))
    return DaneCheck(
        "_443._tcp.www.example.test.", "www.example.test", "secure", ("2 0 1 abcd",), (chain,)
    )


def caa(
    *,
    found_at: str | None = "example.test.",
    dnssec_status: str | None = "secure",
    records: tuple[str, ...] = ("0 issue ca.test",),
    allowed: bool | None = True,
) -> CaaCheck:
    return CaaCheck(
        "www.example.test",
        found_at,
        dnssec_status,
        records,
        "Test CA",
        ("other.test",),
        False,
        allowed,
    )


def judge(*observations: Observation) -> dict[str, list[str]]:
    findings = evaluate(observations, (*dnssec_rules(lambda: NOW), *DANE_RULES))
    return {finding.id: list(finding.evidence) for finding in findings}


CASES: dict[str, Callable[[], list[Observation]]] = {
    "dnssec.bogus": lambda: [
        status(status="bogus", reason="signature_expired", detail="RRSIG expired")
    ],
    "dnssec.insecure": lambda: [
        status(
            zone(status="insecure", reason="unsigned_delegation", ds=(), dnskeys=()),
            status="insecure",
            reason="unsigned_delegation",
        )
    ],
    "dnssec.island": lambda: [
        status(
            zone(status="insecure", reason="unsigned_delegation", ds=(), ds_denial=NO_DS_PROOF),
            status="insecure",
            reason="unsigned_delegation",
        )
    ],
    "dnssec.indeterminate": lambda: [status(status="indeterminate", reason="timeout")],
    "dnssec.algorithm_must_not": lambda: [status(zone(dnskeys=(key(algorithm=3, bits=1024),)))],
    "dnssec.algorithm_deprecated": lambda: [status(zone(dnskeys=(key(algorithm=5, bits=2048),)))],
    "dnssec.ds_digest_sha1": lambda: [
        status(zone(ds=(DnssecDs(100, 13, 1, "ab" * 20, 100, True),)))
    ],
    "dnssec.ds_unmatched": lambda: [
        status(zone(ds=(zone().ds[0], DnssecDs(555, 13, 2, "cd" * 32, None, True))))
    ],
    "dnssec.rsa_key_small": lambda: [status(zone(dnskeys=(key(algorithm=8, bits=1024),)))],
    "dnssec.nsec3_parameters": lambda: [
        status(zone(nsec3_iterations=10, nsec3_salt_hex="aabbccdd", nsec3_opt_out=False))
    ],
    "dnssec.signature_expires_soon": lambda: [
        status(answer_signatures=(signature("A", expires_in=timedelta(days=2)),))
    ],
    "dnssec.signature_validity_short": lambda: [
        status(answer_signatures=(signature("A", ttl=86400 * 60),))
    ],
    "dnssec.no_cds": lambda: [status(zone(cds_present=False, cdnskey_present=False))],
    "dane.no_match": lambda: [dane("no_match", problem=None, index=None)],
    "dane.name_mismatch": lambda: [dane("name_mismatch")],
    "dane.not_secure": lambda: [replace(dane("validated", problem=None), dnssec_status="insecure")],
    "dane.unusable_record": lambda: [dane("no_match", usable=False, problem=None, index=None)],
    "caa.issuer_not_allowed": lambda: [caa(allowed=False)],
    "caa.not_secure": lambda: [caa(dnssec_status="insecure")],
    "caa.absent": lambda: [caa(found_at=None, dnssec_status=None, records=(), allowed=None)],
}


def test_a_chain_meeting_the_baseline_has_no_findings() -> None:
    assert judge(status()) == {}


def test_every_catalogue_id_has_a_case() -> None:
    assert set(CASES) == set(load_catalogue_file(DNSSEC_BASELINE_FILE))


@pytest.mark.parametrize("finding_id", sorted(CASES))
def test_each_case_gives_its_finding(finding_id: str) -> None:
    found = judge(*CASES[finding_id]())
    assert finding_id in found, found
    assert all(line.strip() for line in found[finding_id])


def test_every_id_the_rules_name_is_in_the_catalogue() -> None:
    text = "".join(source.read_text() for source in RULES_SOURCES)
    named = set(re.findall(r'"((?:dnssec|dane|caa)\.[a-z0-9_]+)"', text))
    assert named == set(load_catalogue_file(DNSSEC_BASELINE_FILE))


def test_the_default_rules_include_dnssec() -> None:
    findings = evaluate([status(status="bogus", reason="missing_rrsig")], RULES)
    assert [f.id for f in findings] == ["dnssec.bogus"]
    assert findings[0].severity is Severity.HIGH


def test_an_island_is_also_insecure_and_names_the_zone() -> None:
    found = judge(*CASES["dnssec.island"]())
    assert set(found) == {"dnssec.island", "dnssec.insecure"}
    assert found["dnssec.island"][0].startswith("example.test.: 1 DNSKEY(s)")


def test_a_zone_in_several_chains_is_judged_once() -> None:
    weak = zone(dnskeys=(key(algorithm=5, bits=1024),))
    found = judge(status(weak), status(weak, name="mail.example.test."), weak)
    assert len(found["dnssec.rsa_key_small"]) == 1
    assert len(found["dnssec.algorithm_deprecated"]) == 1


def test_an_expired_signature_is_bogus_not_expiring() -> None:
    expired = signature("A", expires_in=-timedelta(hours=1))
    found = judge(status(answer_signatures=(replace(expired, valid=False, problem="x"),)))
    assert "dnssec.signature_expires_soon" not in found


def test_nsec3_parameters_of_a_denial_count_too() -> None:
    denial = DnssecDenial("nsec3", "nxdomain", True, "", "example.test.", False, 5, "", ())
    found = judge(status(rcode="NXDOMAIN", answer=(), answer_signatures=(), denial=denial))
    assert found["dnssec.nsec3_parameters"] == [
        "www.example.test. (denial): NSEC3 with 5 extra iterations"
    ]


def test_the_trust_anchor_zone_is_not_asked_for_cds_or_ds_digests() -> None:
    root = zone(".", parent=None, trust_anchor=True, cds_present=False, cdnskey_present=False)
    root = replace(root, ds=(DnssecDs(20326, 8, 1, "ab" * 20, 100, True),))
    assert judge(status(root)) == {}


def test_a_validated_dane_chain_and_an_allowed_issuer_have_no_findings() -> None:
    assert judge(status(), dane("validated", problem=None, index=0), caa()) == {}
