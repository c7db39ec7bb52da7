"""protoaudit against the real servers of lab/start.sh, checked against lab/ground_truth.json.

Every target is audited once per session (all at once, as a user would), and
each test compares one kind of observation with the ground truth: exactly the
truth, nothing missing and nothing extra.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pytest

import protoaudit
from protoaudit.observations import (
    CertificateChain,
    CipherSuiteSupport,
    EphemeralKeyExchange,
    KeyExchangeGroups,
    TlsVersionSupport,
)
from protoaudit.proto.tls.constants import version_name
from protoaudit.registry import tls as registry
from protoaudit.results import TargetResult
from protoaudit.scan import AuditOptions, audit_targets
from protoaudit.targets import parse_target

if TYPE_CHECKING:
    from tests.lab.conftest import Lab

pytestmark = pytest.mark.lab

TARGETS = [
    "modern",
    "intermediate",
    "legacy",
    "legacy-3des",
    "expired",
    "self-signed",
    "wrong-host",
    "incomplete-chain",
    "dual-cert",
    "server-order",
]

# What each validation problem in the ground truth must produce as a finding.
PROBLEM_FINDINGS = {
    "expired": "tls.cert.expired",
    "self_signed": "tls.cert.self_signed",
    "hostname_mismatch": "tls.cert.hostname_mismatch",
    "incomplete_chain": "tls.cert.incomplete_chain",
}


@pytest.fixture(scope="session")
def results(lab: Lab) -> dict[str, TargetResult]:
    names = {f"{t['host']}:{t['port']}": name for name, t in lab.targets.items()}
    targets = [parse_target(text) for text in names]
    options = AuditOptions(ca_file=str(lab.ca_file), timeout=5.0)

    async def run() -> list[TargetResult]:
        return [result async for result in audit_targets(targets, options)]

    return {names[str(result.target)]: result for result in asyncio.run(run())}


def _of(result: TargetResult, kind: type[Any]) -> list[Any]:
    return [o for o in result.observations if isinstance(o, kind)]


def _truth(lab: Lab, name: str) -> Mapping[str, Any]:
    return lab.target(name)


def test_every_lab_target_has_a_truth_and_a_test(lab: Lab) -> None:
    # Given the lab grows, this list must grow with it.
    assert sorted(lab.targets) == sorted(TARGETS)


@pytest.mark.parametrize("name", TARGETS)
def test_versions_are_exactly_the_truth(
    lab: Lab, results: dict[str, TargetResult], name: str
) -> None:
    seen = {version_name(o.version) for o in _of(results[name], TlsVersionSupport) if o.supported}
    assert seen == set(_truth(lab, name)["versions"])


@pytest.mark.parametrize("name", TARGETS)
def test_cipher_suites_are_exactly_the_truth(
    lab: Lab, results: dict[str, TargetResult], name: str
) -> None:
    seen = {
        version_name(o.version): {registry.cipher_suite(code).name for code in o.accepted}
        for o in _of(results[name], CipherSuiteSupport)
    }
    truth = {
        version: {suite["name"] for suite in suites}
        for version, suites in _truth(lab, name)["cipher_suites"].items()
    }
    assert seen == truth


@pytest.mark.parametrize("name", TARGETS)
def test_server_order_enforcement_is_the_truth(
    lab: Lab, results: dict[str, TargetResult], name: str
) -> None:
    verdicts = {
        o.server_order_enforced
        for o in _of(results[name], CipherSuiteSupport)
        if len(o.accepted) >= 2
    }
    assert verdicts == {_truth(lab, name)["server_cipher_order"]}


@pytest.mark.parametrize("name", TARGETS)
def test_enforced_order_is_read_off_exactly(
    lab: Lab, results: dict[str, TargetResult], name: str
) -> None:
    seen = {
        version_name(o.version): [registry.cipher_suite(code).name for code in o.server_order]
        for o in _of(results[name], CipherSuiteSupport)
        if o.server_order_enforced
    }
    assert seen == _truth(lab, name)["cipher_order"]


@pytest.mark.parametrize("name", TARGETS)
def test_key_exchange_groups_are_exactly_the_truth(
    lab: Lab, results: dict[str, TargetResult], name: str
) -> None:
    truth = {
        version: {group["name"] for group in groups}
        for version, groups in _truth(lab, name).get("groups", {}).items()
    }
    observed = _of(results[name], KeyExchangeGroups)
    assert observed, "no group observations"
    for observation in observed:
        version = version_name(observation.version)
        names = {registry.group(code).name for code in observation.accepted}
        assert names == truth[version], version


@pytest.mark.parametrize("name", TARGETS)
def test_dh_prime_size_is_the_truth(lab: Lab, results: dict[str, TargetResult], name: str) -> None:
    truth = _truth(lab, name).get("dh")
    primes = {o.dh_prime_bits for o in _of(results[name], EphemeralKeyExchange) if o.dh_prime_bits}
    assert primes == ({truth["prime_bits"]} if truth else set())


@pytest.mark.parametrize("name", TARGETS)
def test_certificate_verdicts_are_the_truth(
    lab: Lab, results: dict[str, TargetResult], name: str
) -> None:
    validation = _truth(lab, name)["validation"]
    chains = _of(results[name], CertificateChain)
    assert chains, "no certificate chain observed"
    assert {chain.trusted for chain in chains} == {validation["trusted_by_lab_ca"]}
    finding_ids = {finding.id for finding in results[name].findings}
    expected = {PROBLEM_FINDINGS[problem] for problem in validation["problems"]}
    assert expected <= finding_ids
    assert not (set(PROBLEM_FINDINGS.values()) - expected) & finding_ids
    assert ("tls.cert.untrusted" in finding_ids) == (not validation["trusted_by_lab_ca"])


@pytest.mark.parametrize("name", TARGETS)
def test_every_key_type_the_server_holds_is_seen(
    lab: Lab, results: dict[str, TargetResult], name: str
) -> None:
    def label(chain: CertificateChain) -> str:
        leaf = chain.certificates[0]
        if leaf.key_type == "EC":
            return f"ECDSA-P{leaf.key_bits}"
        return f"{leaf.key_type}-{leaf.key_bits}"

    seen = {label(chain) for chain in _of(results[name], CertificateChain)}
    assert seen == set(_truth(lab, name)["key_types"])


@pytest.mark.parametrize("name", TARGETS)
def test_nothing_failed(results: dict[str, TargetResult], name: str) -> None:
    failures = [
        o for o in results[name].observations if o.kind in ("probe_failure", "connection_failure")
    ]
    assert failures == []


def test_sni_is_sent_and_the_no_sni_default_is_compared(lab: Lab) -> None:
    # Given the intermediate target named by SNI (it serves one certificate to all)
    host, port = lab.address("intermediate")
    target = parse_target(f"{host}:{port}", sni="localhost")

    result = asyncio.run(protoaudit.audit(target, ca_file=str(lab.ca_file)))
    chains = _of(result, CertificateChain)
    # Then the chain was fetched with SNI, and the no-SNI fetch (same leaf) added nothing
    assert [chain.server_name for chain in chains] == ["localhost"]
    assert chains[0].trusted
