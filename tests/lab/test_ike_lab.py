"""The IKE audit against lab/ike (three strongSwan charons): what is accepted equals the truth.

lab/ike/ground_truth.json is generated from the lab's swanctl*.conf.in files.
Target `ike` accepts common and uncommon suites and never asks for cookies;
`ike-cookie` asks every IKEv2 initiator for a COOKIE (RFC 7296 2.6) and its
IKEv1 accepts only suites none of whose values a scanner tries first; `ike-pq`
(strongSwan 6.0 of Debian 13, IKEv2 only) negotiates ML-KEM as an additional
key exchange (RFC 9370) in IKE_SA_INIT, required with one suite and optional
with another, though it could not complete one (no ML-KEM provider). Each
probe runs once per session and target, through run_ike_probes with a
ProbeContext made here.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from protoaudit.engine.limits import Limiter
from protoaudit.engine.transport import Timeouts
from protoaudit.observations import ConnectionFailure, Observation, ProbeFailure
from protoaudit.observations_ike import (
    IkeAlgorithm,
    IkeNatTraversal,
    IkeV1AggressiveMode,
    IkeV1MainMode,
    IkeV2SaInit,
)
from protoaudit.policy.ike_rules import IKE_RULES
from protoaudit.probes.context import ProbeContext
from protoaudit.probes.ike import MAX_PACKETS, run_ike_probes

pytestmark = pytest.mark.lab

TARGETS: Mapping[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "lab" / "ike" / "ground_truth.json").read_text()
)["targets"]
TRUTH: Mapping[str, Any] = TARGETS["ike"]
COOKIE_TRUTH: Mapping[str, Any] = TARGETS["ike-cookie"]
PQ_TRUTH: Mapping[str, Any] = TARGETS["ike-pq"]
V1_TARGETS = sorted(name for name, truth in TARGETS.items() if truth["ikev1"] is not None)
Audit = tuple[list[Observation], float]
_audits: dict[tuple[str, int], Audit] = {}


def _context(truth: Mapping[str, Any], port: int) -> ProbeContext:
    return ProbeContext(
        host=truth["host"],
        address=truth["host"],
        port=port,
        server_name=None,
        timeouts=Timeouts(connect=2.0, read=1.0),
        limiter=Limiter(10, 4),
        ca_file=None,
        now=datetime.now(UTC),
        retries=1,
    )


def _run(name: str, port: int | None = None) -> Audit:
    """The audit of target `name` on `port` (its IKE port by default), once per session."""
    truth = TARGETS[name]
    key = (name, port or truth["port"])
    if key not in _audits:
        sink: list[Observation] = []
        started = time.monotonic()
        asyncio.run(run_ike_probes(_context(truth, key[1]), sink))
        _audits[key] = (sink, time.monotonic() - started)
    sink, elapsed = _audits[key]
    if any(isinstance(o, ConnectionFailure) for o in sink):
        message = f"IKE lab not available at {truth['host']}:{key[1]} (run lab/start.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return sink, elapsed


@pytest.fixture(scope="session")
def audit() -> Audit:
    return _run("ike")


@pytest.fixture(scope="session", params=sorted(TARGETS))
def any_audit(request: pytest.FixtureRequest) -> tuple[Mapping[str, Any], Audit]:
    """Each lab target with its truth: the same assertions hold for all."""
    name = str(request.param)
    return TARGETS[name], _run(name)


@pytest.fixture(scope="session", params=V1_TARGETS)
def v1_audit(request: pytest.FixtureRequest) -> tuple[Mapping[str, Any], Audit]:
    """Each lab target that serves IKEv1, with its truth."""
    name = str(request.param)
    return TARGETS[name], _run(name)


def _one(sink: list[Observation], kind: type[Any]) -> Any:
    (found,) = [o for o in sink if isinstance(o, kind)]
    return found


def _algorithms(entries: list[Any]) -> set[IkeAlgorithm]:
    if entries and isinstance(entries[0], dict):
        return {IkeAlgorithm(e["id"], e["key_length"]) for e in entries}
    return {IkeAlgorithm(e[0], e[1]) for e in entries}


def test_the_audit_is_fast_and_within_its_packet_budget(
    any_audit: tuple[Mapping[str, Any], Audit],
) -> None:
    _, (sink, elapsed) = any_audit
    assert elapsed < 5
    sent = sum(o.packets_sent for o in sink if hasattr(o, "packets_sent"))
    assert sent <= MAX_PACKETS
    assert not [o for o in sink if isinstance(o, ProbeFailure)]


def test_ikev2_transforms_are_exactly_the_truth(
    any_audit: tuple[Mapping[str, Any], Audit],
) -> None:
    target, (sink, _) = any_audit
    seen: IkeV2SaInit = _one(sink, IkeV2SaInit)
    truth = target["ikev2"]
    assert (seen.status, seen.complete) == ("enumerated", True)
    assert set(seen.encryption) == _algorithms(truth["encryption"])
    assert set(seen.prf) == set(truth["prf"])
    assert set(seen.integrity) == set(truth["integrity"])
    assert set(seen.key_exchange) == set(truth["key_exchange"])
    assert set(seen.additional_key_exchange) == set(truth["additional_key_exchange"])
    slots = {s.transform_type: set(s.methods) for s in seen.additional_key_exchange_slots}
    assert slots == {int(k): set(v) for k, v in truth["additional_key_exchange_slots"].items()}
    assert seen.additional_key_exchange_required is truth["additional_key_exchange_required"]
    assert seen.first_choice_additional_required is truth["first_choice_additional_required"]


def test_ikev2_first_choice_and_capabilities(
    any_audit: tuple[Mapping[str, Any], Audit],
) -> None:
    target, (sink, _) = any_audit
    seen: IkeV2SaInit = _one(sink, IkeV2SaInit)
    truth = target["ikev2"]
    first = truth["first_choice"]
    assert seen.first_choice is not None
    assert seen.first_choice.encryption in _algorithms(first["encryption"])
    assert seen.first_choice.prf in first["prf"]
    assert seen.first_choice.key_exchange in first["key_exchange"]
    assert set(seen.first_choice.additional_key_exchanges) == set(first["additional_key_exchange"])
    assert seen.requested_group in first["key_exchange"]
    assert seen.cookie_required is truth["cookie_required"]
    assert seen.fragmentation_supported is truth["fragmentation_supported"]
    assert seen.nat_detection
    assert seen.nat_detected is truth["nat_detected"]
    assert list(seen.vendor_ids) == truth["vendor_ids"]


def test_ikev1_main_mode_is_exactly_the_truth(
    v1_audit: tuple[Mapping[str, Any], Audit],
) -> None:
    target, (sink, _) = v1_audit
    seen: IkeV1MainMode = _one(sink, IkeV1MainMode)
    truth = target["ikev1"]["main_mode"]
    assert (seen.status, seen.complete) == ("enumerated", True)
    assert set(seen.encryption) == _algorithms(truth["encryption"])
    assert set(seen.hash) == set(truth["hash"])
    assert set(seen.groups) == set(truth["groups"])
    assert set(truth["auth_required"]) <= set(seen.auth)
    psk_suites = {
        (s.encryption, s.key_length, s.hash, s.group) for s in seen.accepted if s.auth == 1
    }
    assert psk_suites == {
        (s["encryption"], s["key_length"], s["hash"], s["group"]) for s in truth["suites"]
    }
    v1 = target["ikev1"]
    assert set(seen.vendor_ids) == set(v1["vendor_ids"]) | set(v1["vendor_ids_when_offered"])


def test_aggressive_mode_exposes_the_psk_hash(
    v1_audit: tuple[Mapping[str, Any], Audit],
) -> None:
    target, (sink, _) = v1_audit
    seen: IkeV1AggressiveMode = _one(sink, IkeV1AggressiveMode)
    truth = target["ikev1"]["aggressive_mode"]
    assert (seen.accepted is not None) is truth["accepted"]
    assert bool(seen.hash_length) is truth["psk_hash_exposed"]
    if truth["accepted"]:
        assert seen.responder_identity == truth["responder_identity"]


def test_a_responder_that_demands_cookies_is_still_enumerated() -> None:
    # Given ike-cookie, which answers every IKE_SA_INIT without a cookie with COOKIE,
    # and ike, which never does (the truth says which)
    assert COOKIE_TRUTH["ikev2"]["cookie_required"] is True
    assert TRUTH["ikev2"]["cookie_required"] is False

    # When both are audited
    cookie: IkeV2SaInit = _one(_run("ike-cookie")[0], IkeV2SaInit)
    plain: IkeV2SaInit = _one(_run("ike")[0], IkeV2SaInit)

    # Then the probe returned each cookie once (RFC 7296 2.6), recorded that it had to,
    # and enumerated everything: each exchange cost two packets there, one here
    assert cookie.cookie_required is True
    assert plain.cookie_required is False
    assert (cookie.status, cookie.complete) == ("enumerated", True)
    assert cookie.detail == ""
    exchanges = len(cookie.encryption) + len(cookie.prf) + len(cookie.integrity)
    assert cookie.packets_sent >= 2 * exchanges


def test_ikev1_suites_made_only_of_uncommon_values_are_all_found() -> None:
    # Given ike-cookie, whose IKEv1 accepts no suite made of the values tried first
    truth = COOKIE_TRUTH["ikev1"]["main_mode"]
    assert truth["common_suites_accepted"] is False

    # When it is audited
    seen: IkeV1MainMode = _one(_run("ike-cookie")[0], IkeV1MainMode)

    # Then every one of its suites is found, and the enumeration says it is complete
    assert (seen.status, seen.complete) == ("enumerated", True)
    found = {(s.encryption, s.key_length, s.hash, s.group) for s in seen.accepted}
    assert found == {
        (s["encryption"], s["key_length"], s["hash"], s["group"]) for s in truth["suites"]
    }


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_the_nat_t_port_is_asked_once_beside_port_500(name: str) -> None:
    truth = TARGETS[name]
    sink, _ = _run(name)
    seen: IkeNatTraversal = _one(sink, IkeNatTraversal)
    assert seen.port == truth["nat_t"]["port"]
    assert seen.answers_ike is truth["nat_t"]["answers_ike"]
    assert (seen.status, seen.version) == ("answered", 2)
    assert seen.cookie_required is truth["ikev2"]["cookie_required"]
    assert seen.packets_sent == (2 if truth["ikev2"]["cookie_required"] else 1)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_an_audit_of_port_4500_sees_what_port_500_sees(name: str) -> None:
    # Given the lab's relay on UDP 4500, where charon wants the non-ESP marker
    truth = TARGETS[name]

    # When the audit targets the NAT-T port itself
    sink, _ = _run(name, truth["nat_t"]["port"])

    # Then every exchange worked through the marker and found the truth again
    assert not [o for o in sink if isinstance(o, ProbeFailure)]
    v2: IkeV2SaInit = _one(sink, IkeV2SaInit)
    assert (v2.status, v2.complete) == ("enumerated", True)
    assert set(v2.encryption) == _algorithms(truth["ikev2"]["encryption"])
    assert set(v2.key_exchange) == set(truth["ikev2"]["key_exchange"])
    assert v2.nat_detected is False
    assert set(v2.additional_key_exchange) == set(truth["ikev2"]["additional_key_exchange"])
    main: IkeV1MainMode = _one(sink, IkeV1MainMode)
    suites = truth["ikev1"]["main_mode"]["suites"] if truth["ikev1"] else []
    assert {
        (s.encryption, s.key_length, s.hash, s.group) for s in main.accepted if s.auth == 1
    } == {(s["encryption"], s["key_length"], s["hash"], s["group"]) for s in suites}
    nat_t: IkeNatTraversal = _one(sink, IkeNatTraversal)
    assert nat_t.status == "not-tried"


def test_ml_kem_is_negotiated_required_with_one_suite_and_optional_with_another() -> None:
    # Given ike-pq: strongSwan 6.0 with aes256gcm16-prfsha384-x25519-ke1_mlkem768 in one
    # connection, ML-KEM with NONE and a classic suite in another; and a truth that says
    # plainly that this charon cannot complete the ML-KEM exchange it negotiates
    truth = PQ_TRUTH["ikev2"]
    assert truth["additional_key_exchange_completes"] is False
    assert "no ML-KEM provider" in truth["note"]
    assert PQ_TRUTH["ikev1"] is None

    # When it is audited (IKE_SA_INIT only: the exchange that would fail is never reached)
    sink, _ = _run("ike-pq")
    seen: IkeV2SaInit = _one(sink, IkeV2SaInit)

    # Then the first choice carries ML-KEM-768 and is refused without it, while the
    # responder as a whole also takes IKE SAs without: required there, optional elsewhere
    assert (seen.status, seen.complete) == ("enumerated", True)
    assert seen.first_choice is not None
    assert seen.first_choice.additional_key_exchanges == (36,)
    assert seen.first_choice_additional_required is True
    assert seen.additional_key_exchange_required is False
    assert {s.transform_type for s in seen.additional_key_exchange_slots} == {6, 7}
    found = {f.id for rule in IKE_RULES for f in rule(sink)}
    assert "ike.post_quantum_optional" in found
    assert "ike.no_post_quantum" not in found
    nat_t: IkeNatTraversal = _one(sink, IkeNatTraversal)
    assert nat_t.status == "answered"  # with the first choice's ML-KEM, on UDP 4500


def test_the_findings(audit: tuple[list[Observation], float]) -> None:
    found = {f.id for rule in IKE_RULES for f in rule(audit[0])}
    assert {
        "ike.aggressive_mode_psk",
        "ike.v1_accepted",
        "ike.dh_group_weak",
        "ike.encryption_64bit_block",
        "ike.integrity_md5",
        "ike.integrity_sha1",
        "ike.implementation_disclosed",
    } <= found
    assert "ike.encryption_broken" not in found


def test_an_ike_target_is_audited_end_to_end_by_the_cli(
    audit: tuple[list[Observation], float],
) -> None:
    # Given the lab responder (the fixture skips, or fails under CI, when it is down)
    del audit
    target = f"ike://{TRUTH['host']}:{TRUTH['port']}"

    run = subprocess.run(
        [sys.executable, "-m", "protoaudit", "audit", target, "--json", "-", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # Then the scanner skips the TCP reachability check, runs the IKE probes and judges
    assert run.returncode == 0, run.stderr
    (result,) = json.loads(run.stdout)["targets"]
    kinds = {o["kind"] for o in result["observations"]}
    assert {"ike_v2_sa_init", "ike_v1_main_mode", "ike_v1_aggressive_mode"} <= kinds
    ids = {f["id"] for f in result["findings"]}
    assert {"ike.aggressive_mode_psk", "ike.v1_accepted", "ike.dh_group_weak"} <= ids
