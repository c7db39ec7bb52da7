"""The OpenVPN probes against lab/openvpn: resets, TLS versions and certificates equal the truth.

lab/openvpn/ground_truth.json states, from the server configs, which servers
answer an unauthenticated reset (no tls-auth/tls-crypt), what a silent one
does over UDP and TCP, the TLS versions each accepts and the certificate it
presents. Every target is audited once per module, all at once.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from protoaudit.engine.limits import Limiter
from protoaudit.engine.transport import Timeouts
from protoaudit.observations import CipherSuiteSupport, KeyExchangeGroups, Observation
from protoaudit.observations_openvpn import OpenVpnReset, OpenVpnTlsHandshake, OpenVpnTlsVersion
from protoaudit.policy.evaluate import RULES, evaluate
from protoaudit.policy.openvpn_rules import OPENVPN_RULES
from protoaudit.probes.context import ProbeContext
from protoaudit.probes.openvpn import run_openvpn_probes
from protoaudit.proto.tls.constants import version_name
from protoaudit.registry import tls as registry
from protoaudit.report import json_report

pytestmark = pytest.mark.lab

LAB = Path(__file__).resolve().parents[2] / "lab" / "openvpn"
TRUTH: dict[str, Mapping[str, Any]] = json.loads((LAB / "ground_truth.json").read_text())["targets"]
NAMES = sorted(TRUTH)
ANSWERING = sorted(name for name in NAMES if TRUTH[name]["answers_reset_v2"])
RESET_V2 = bytes([7 << 3]) + b"labcheck" + bytes(5)


def _up(name: str) -> bool:
    """The lab's own check (lab/openvpn/probe.py): live, answering or holding its port."""
    probe = [sys.executable, str(LAB / "probe.py"), "up", name]
    return subprocess.run(probe, capture_output=True, check=False, timeout=30).returncode == 0


def context(truth: Mapping[str, Any]) -> ProbeContext:
    return ProbeContext(
        host=truth["host"],
        address=truth["host"],
        port=truth["port"],
        server_name=None,
        timeouts=Timeouts(connect=1.0, read=1.0),
        limiter=Limiter(total=64, per_host=32),
        ca_file=None,
        now=datetime.now(UTC),
    )


@pytest.fixture(scope="module")
def results() -> dict[str, list[Observation]]:
    down = [name for name in NAMES if not _up(name)]
    if down:
        message = f"OpenVPN lab not available: {down} (run lab/start.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)

    async def one(name: str) -> list[Observation]:
        sink: list[Observation] = []
        await run_openvpn_probes(context(TRUTH[name]), TRUTH[name]["transport"], sink)
        return sink

    async def run() -> list[list[Observation]]:
        return list(await asyncio.gather(*(one(name) for name in NAMES)))

    return dict(zip(NAMES, asyncio.run(run()), strict=True))


def of(observations: list[Observation], kind: type[Any]) -> list[Any]:
    return [o for o in observations if isinstance(o, kind)]


def test_the_lab_has_every_kind() -> None:
    kinds = {(t["transport"], t["hmac_firewall"]) for t in TRUTH.values()}
    assert {("udp", None), ("tcp", None), ("udp", "tls-crypt"), ("udp", "tls-auth")} <= kinds


@pytest.mark.parametrize("name", NAMES)
def test_resets_are_the_truth(results: dict[str, list[Observation]], name: str) -> None:
    truth = TRUTH[name]
    resets = {reset.reset_opcode: reset for reset in of(results[name], OpenVpnReset)}
    assert set(resets) == {7, 10}
    v2, v3 = resets[7], resets[10]
    assert v2.answered is truth["answers_reset_v2"]
    assert v3.answered is truth["answers_reset_v3"]
    assert all(reset.transport == truth["transport"] for reset in resets.values())
    if v2.answered:
        assert (v2.reply_opcode, v2.acknowledged_reset) == (8, True)
    else:
        assert v2.outcome == truth["unanswered_outcome"]


@pytest.mark.parametrize("name", NAMES)
def test_tls_versions_are_the_truth(results: dict[str, list[Observation]], name: str) -> None:
    versions = of(results[name], OpenVpnTlsVersion)
    if not TRUTH[name]["answers_reset_v2"]:
        assert versions == []  # behind the HMAC firewall, nothing more to see
        return
    assert sorted(v.version for v in versions if v.supported) == TRUTH[name]["tls_versions"]
    assert all(v.cipher_suite is not None for v in versions if v.supported)


@pytest.mark.parametrize("name", NAMES)
def test_cipher_suites_are_the_truth_in_the_servers_order(
    results: dict[str, list[Observation]], name: str
) -> None:
    # Every suite each version accepts, enumerated through the control channel, as
    # OpenSSL lists the server's cipher string; OpenVPN enforces its own order.
    found = {
        version_name(support.version).removeprefix("TLS "): support
        for support in of(results[name], CipherSuiteSupport)
    }
    truth = TRUTH[name]["tls_suites"]
    assert sorted(found) == sorted(truth)
    for version, support in found.items():
        names = [registry.cipher_suite(code).name for code in support.server_order]
        assert support.server_order_enforced is True
        assert names == truth[version], version
        assert sorted(support.accepted) == sorted(support.server_order)


@pytest.mark.parametrize("name", NAMES)
def test_key_exchange_groups_are_the_truth(
    results: dict[str, list[Observation]], name: str
) -> None:
    # TLS 1.3 groups and the curves of the newest version before it, through the channel
    found = {
        version_name(groups.version).removeprefix("TLS "): [
            registry.group(code).name for code in groups.accepted
        ]
        for groups in of(results[name], KeyExchangeGroups)
    }
    assert found == TRUTH[name]["tls_groups"]


@pytest.mark.parametrize("name", NAMES)
def test_the_tls_audits_cipher_findings_apply_to_the_control_channel(
    results: dict[str, list[Observation]], name: str
) -> None:
    ids = sorted(f.id for f in evaluate(results[name], RULES) if f.id.startswith("tls."))
    assert ids == TRUTH[name]["tls_findings"]


@pytest.mark.parametrize("name", ANSWERING)
def test_certificates_are_the_truth(results: dict[str, list[Observation]], name: str) -> None:
    (handshake,) = of(results[name], OpenVpnTlsHandshake)
    truth = TRUTH[name]
    assert handshake.version == truth["handshake_version"]
    assert [c.subject for c in handshake.certificates] == truth["chain_subjects"]
    leaf = handshake.certificates[0]
    expected = truth["certificate"]
    assert (leaf.subject, leaf.issuer) == (expected["subject"], expected["issuer"])
    assert (leaf.key_type, leaf.key_bits) == (expected["key_type"], expected["key_bits"])
    assert leaf.signature_hash == expected["signature_hash"]
    assert handshake.client_ca_names == (truth["ca"]["subject"],)


@pytest.mark.parametrize("name", NAMES)
def test_findings_are_the_truth(results: dict[str, list[Observation]], name: str) -> None:
    ids = sorted(finding.id for finding in evaluate(results[name], OPENVPN_RULES))
    assert ids == TRUTH[name]["findings"]


def test_an_openvpn_target_through_the_cli_writes_json_the_schema_accepts(
    results: dict[str, list[Observation]],
) -> None:
    # Given an answering server of the lab (the fixture skips, or fails under CI, when down)
    del results
    truth = TRUTH[ANSWERING[0]]
    target = f"openvpn://{truth['host']}:{truth['port']}/{truth['transport']}"

    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "protoaudit",
            "audit",
            target,
            "--timeout",
            "2",
            "--json",
            "-",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # Then the JSON validates, and TLS versions and suites are named as in the TLS audit
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    jsonschema.validate(document, json_report.load_schema())
    (result,) = document["targets"]
    versions = [o["version"] for o in result["observations"] if o["kind"] == "openvpn_tls_version"]
    assert versions
    assert all(set(v) >= {"code", "name"} for v in versions)
