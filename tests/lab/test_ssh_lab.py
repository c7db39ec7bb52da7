"""The SSH audit against lab/ssh: every list, key, certificate and verdict equals the truth.

lab/ssh/ground_truth.json states what each server offers (from sshd -T and the
other servers' own tables); the host keys are new at every lab start, so their
fingerprints come from RUN/ssh/hostkeys.json, written by ssh-keygen at start.
Every target is audited once per session.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from protoaudit.observations import (
    PlaintextLoginService,
    ServiceDetected,
    SshAlgorithms,
    SshAuthMethods,
    SshGexModulus,
    SshHostKey,
    SshIdentification,
)
from protoaudit.results import TargetResult
from protoaudit.scan import AuditOptions, audit_targets
from protoaudit.targets import Target, parse_target

pytestmark = pytest.mark.lab

LAB = Path(__file__).resolve().parents[2] / "lab" / "ssh"
RUN_DIR = Path(os.environ.get("PROTOAUDIT_LAB_DIR", "/tmp/protoaudit-lab"))
TRUTH: dict[str, Mapping[str, Any]] = json.loads((LAB / "ground_truth.json").read_text())["targets"]
SSH = sorted(name for name, t in TRUTH.items() if t["protocol"] == "ssh")
PLAINTEXT = sorted(name for name, t in TRUTH.items() if t["protocol"] != "ssh")


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def results() -> dict[str, TargetResult]:
    down = [name for name, t in TRUTH.items() if not _answers(t["port"])]
    keys = RUN_DIR / "ssh" / "hostkeys.json"
    if down or not keys.is_file():
        message = f"SSH lab not available: {down or 'no hostkeys.json'} (run lab/start.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    by_text = {f"{t['protocol']}://{t['host']}:{t['port']}": name for name, t in TRUTH.items()}
    targets = [parse_target(text) for text in by_text]

    async def run() -> list[TargetResult]:
        return [r async for r in audit_targets(targets, AuditOptions(timeout=5.0))]

    return {by_text[result.target.original]: result for result in asyncio.run(run())}


@pytest.fixture(scope="session")
def host_keys() -> Mapping[str, Any]:
    document: Mapping[str, Any] = json.loads((RUN_DIR / "ssh" / "hostkeys.json").read_text())
    return document


def _of(result: TargetResult, kind: type[Any]) -> list[Any]:
    return [o for o in result.observations if isinstance(o, kind)]


def _ids(result: TargetResult) -> set[str]:
    return {finding.id for finding in result.findings}


def test_the_lab_has_ssh_and_plaintext_targets() -> None:
    assert len(SSH) >= 4
    assert {TRUTH[name]["protocol"] for name in PLAINTEXT} == {"telnet", "rlogin", "rsh", "rexec"}


@pytest.mark.parametrize("name", SSH)
def test_identification_is_the_truth(results: dict[str, TargetResult], name: str) -> None:
    (identification,) = _of(results[name], SshIdentification)
    assert identification.line.startswith(TRUTH[name]["identification_prefix"])
    assert identification.protocol_version == "2.0"
    assert identification.pre_banner == ()


@pytest.mark.parametrize("name", SSH)
def test_algorithm_lists_are_exactly_the_truth(results: dict[str, TargetResult], name: str) -> None:
    (algorithms,) = _of(results[name], SshAlgorithms)
    truth = TRUTH[name]["kexinit"]
    for field in truth:
        assert getattr(algorithms, field) == (
            tuple(truth[field]) if isinstance(truth[field], list) else truth[field]
        ), field


@pytest.mark.parametrize("name", SSH)
def test_every_host_key_is_the_truth(
    results: dict[str, TargetResult], host_keys: Mapping[str, Any], name: str
) -> None:
    seen = {key.algorithm: key for key in _of(results[name], SshHostKey)}
    fingerprints = {key["file"]: key for key in host_keys["targets"][name]}
    expected: dict[str, tuple[str, int, str]] = {}
    for key in TRUTH[name]["host_keys"]:
        fingerprint = fingerprints[key["file"]]["fingerprint_sha256"]
        for algorithm in key["algorithms"]:
            expected[algorithm] = (key["key_type"], key["bits"], fingerprint)
    assert {a: (k.key_type, k.bits, k.fingerprint_sha256) for a, k in seen.items()} == expected
    assert all(key.signature_valid for key in seen.values())


@pytest.mark.parametrize("name", SSH)
def test_host_certificates_are_the_truth(
    results: dict[str, TargetResult], host_keys: Mapping[str, Any], name: str
) -> None:
    certified = [key for key in _of(results[name], SshHostKey) if key.certificate]
    truths = [key["certificate"] for key in TRUTH[name]["host_keys"] if key["certificate"]]
    assert len(certified) == len(truths)
    for key, truth in zip(certified, truths, strict=True):
        certificate = key.certificate
        assert key.algorithm == truth["type"]
        assert certificate.key_id == truth["key_id"]
        assert certificate.serial == truth["serial"]
        assert certificate.principals == tuple(truth["principals"])
        assert certificate.valid_after.strftime("%Y-%m-%dT%H:%M:%S") == truth["valid_after"]
        assert certificate.valid_before.strftime("%Y-%m-%dT%H:%M:%S") == truth["valid_before"]
        assert certificate.ca_key_type == truth["ca_key_type"]
        assert certificate.ca_fingerprint_sha256 == host_keys["ca"]["fingerprint_sha256"]
        assert certificate.host_certificate
        assert certificate.ca_signature_valid


@pytest.mark.parametrize("name", SSH)
def test_auth_methods_are_the_truth(results: dict[str, TargetResult], name: str) -> None:
    (auth,) = _of(results[name], SshAuthMethods)
    truth = TRUTH[name]["auth"]
    assert auth.username == truth["username"]
    assert auth.methods == tuple(truth["methods"])
    assert auth.none_accepted is truth["none_accepted"]
    offers_password = bool({"password", "keyboard-interactive"} & set(truth["methods"]))
    assert ("ssh.auth.password" in _ids(results[name])) is offers_password


@pytest.mark.parametrize("name", SSH)
def test_terrapin_is_the_truth(results: dict[str, TargetResult], name: str) -> None:
    assert ("ssh.terrapin" in _ids(results[name])) is TRUTH[name]["terrapin_vulnerable"]


def test_the_lab_has_a_terrapin_server_and_several_safe_ones() -> None:
    vulnerable = [name for name in SSH if TRUTH[name]["terrapin_vulnerable"]]
    assert len(vulnerable) == 1
    assert len(SSH) - len(vulnerable) >= 3


@pytest.mark.parametrize("name", SSH)
def test_group_exchange_primes_follow_the_server_s_rule(
    results: dict[str, TargetResult], name: str
) -> None:
    seen = {(m.kex, m.requested_bits): m.modulus_bits for m in _of(results[name], SshGexModulus)}
    gex = TRUTH[name].get("gex")
    if gex is None:
        assert seen == {}
        return
    examples = {tuple(e["requested"]): e["modulus_bits"] for e in gex["examples"]}
    assert {kex for kex, _ in seen} == set(gex["algorithms"])
    for (_, requested), bits in seen.items():
        assert bits == examples[requested]


@pytest.mark.parametrize("name", SSH)
def test_nothing_failed(results: dict[str, TargetResult], name: str) -> None:
    failures = [o for o in results[name].observations if "failure" in o.kind]
    assert failures == []


def test_findings_follow_the_legacy_server_s_flaws(results: dict[str, TargetResult]) -> None:
    assert {
        "ssh.kex.broken",
        "ssh.hostkey.dsa",
        "ssh.rsa_key_small",
        "ssh.cipher.cbc",
        "ssh.mac.md5",
        "ssh.hostkey.sha1",
    } <= _ids(results["ssh-legacy"])
    assert _ids(results["ssh-hardened"]) == set()


@pytest.mark.parametrize("name", PLAINTEXT)
def test_plaintext_services_are_confirmed_and_flagged(
    results: dict[str, TargetResult], name: str
) -> None:
    protocol = TRUTH[name]["protocol"]
    (service,) = _of(results[name], PlaintextLoginService)
    assert service.protocol == protocol
    assert f"plaintext.{protocol}" in _ids(results[name])


def test_ssh_policy_names_what_to_remove_and_the_lines(results: dict[str, TargetResult]) -> None:
    # Given the legacy server (the fixture checked the lab is up)
    port = TRUTH["ssh-legacy"]["port"]
    run = subprocess.run(
        [sys.executable, "-m", "protoaudit", "ssh-policy", f"127.0.0.1:{port}", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Then it exits 1 (changes needed) with OpenSSH's removal syntax for the broken parts
    assert run.returncode == 1, run.stderr
    advice = json.loads(run.stdout)
    assert advice["config_file"] == "sshd_config"
    assert "diffie-hellman-group1-sha1" in advice["remove"]["kex"]
    assert "ssh-dss" in advice["remove"]["host_key"]
    kex_line = next(line for line in advice["config_lines"] if line.startswith("KexAlgorithms -"))
    assert "diffie-hellman-group1-sha1" in kex_line
    assert "PasswordAuthentication no" in advice["config_lines"]


WHOLE_HOST: Mapping[str, Any] = json.loads((LAB / "ground_truth.json").read_text())["whole_host"]


def test_a_whole_host_audit_finds_exactly_the_open_services(host_keys: Mapping[str, Any]) -> None:
    # Given the lab address where only ssh (22) and telnet, rexec, rlogin, rsh listen
    del host_keys  # only for its skip-or-fail when the lab is down
    host = WHOLE_HOST["address"]
    open_ports = {int(port): service for port, service in WHOLE_HOST["open_ports"].items()}

    # When protoaudit audits every well-known port of it, as --all-services does
    run = subprocess.run(
        [sys.executable, "-m", "protoaudit", "audit", host, "--all-services", "--json", "-", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # Then every well-known port has a result; the open ones are confirmed by what they
    # sent and judged, the closed ones carry one refused connect and no finding
    assert run.returncode == 0, run.stderr
    results = {t["port"]: t for t in json.loads(run.stdout)["targets"]}
    assert set(open_ports) < set(results)
    for port, result in results.items():
        kinds = {o["kind"] for o in result["observations"]}
        ids = {f["id"] for f in result["findings"]}
        if port not in open_ports:
            assert kinds == {"connection_failure"}, (port, result["observations"])
            assert not ids, (port, ids)
        elif open_ports[port] == "ssh":
            assert {"ssh_identification", "ssh_algorithms", "ssh_auth_methods"} <= kinds
            assert "connection_failure" not in kinds, result["observations"]
        else:
            (service,) = [
                o for o in result["observations"] if o["kind"] == "plaintext_login_service"
            ]
            assert service["protocol"] == open_ports[port], service
            assert f"plaintext.{open_ports[port]}" in ids, ids

    # and the terminal report lists the closed ports on one line
    terminal = subprocess.run(
        [sys.executable, "-m", "protoaudit", "audit", host, "--all-services"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    closed = sorted(set(results) - set(open_ports))
    assert f"{host}: closed or filtered: {closed[0]}, {closed[1]}," in terminal.stdout


@pytest.mark.parametrize("service", ["https", "smtp", "telnet"])
def test_a_swept_port_that_greets_as_ssh_is_audited_as_ssh(
    host_keys: Mapping[str, Any], service: str
) -> None:
    # Given a whole-host port whose well-known service is not SSH, where sshd answers
    del host_keys  # only for its skip-or-fail when the lab is down
    port = TRUTH["ssh-hardened"]["port"]
    target = Target("127.0.0.1", port, service, original=f"127.0.0.1:{port}", sweep=True)

    async def run() -> list[TargetResult]:
        return [r async for r in audit_targets([target], AuditOptions(timeout=5.0))]

    (result,) = asyncio.run(run())

    # Then the greeting decides: the SSH audit ran, and says why
    (detected,) = _of(result, ServiceDetected)
    assert detected.service == "ssh"
    assert _of(result, SshAlgorithms)
    assert not result.closed
