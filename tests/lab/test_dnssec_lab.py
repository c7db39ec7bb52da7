"""DNSSEC and DANE against lab/dns: every verdict, reason and proof equals the lab's truth.

lab/dns/ground_truth.json lists each query with the status a validator must
reach (from the zones' own definitions, checked against delv and unbound by
lab/dns/verify.sh); the keys are new at every lab start, so the trust anchor
is read from RUN/dns. Every name is validated twice: iteratively from the lab
root (127.0.53.1), and through the lab's non-validating recursor
(127.0.53.54) with protoaudit doing the validation. Nothing leaves 127/8.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from protoaudit.observations_dane import CaaCheck, DaneCheck
from protoaudit.observations_dns import DnssecStatus
from protoaudit.observations_pgp import OpenPgpKeyRecord, PgpKey
from protoaudit.policy import evaluate
from protoaudit.probes.dnssec import read_trust_anchor_file, validate_name
from protoaudit.proto.dnssec.anchors import TrustAnchors
from protoaudit.results import TargetResult
from protoaudit.scan import AuditOptions, audit_targets
from protoaudit.targets import parse_target

pytestmark = pytest.mark.lab

LAB = Path(__file__).resolve().parents[2] / "lab" / "dns"
RUN_DIR = Path(os.environ.get("PROTOAUDIT_LAB_DIR", "/tmp/protoaudit-lab"))
TRUTH: Mapping[str, Any] = json.loads((LAB / "ground_truth.json").read_text())
SERVERS = TRUTH["servers"]
ROOT = (SERVERS["root"]["address"], SERVERS["root"]["port"])
RECURSOR = (SERVERS["recursor"]["address"], SERVERS["recursor"]["port"])
ANCHOR_FILE = RUN_DIR / "dns" / "trust-anchor.ds"
QUERIES = [(q["name"], q["type"]) for q in TRUTH["queries"]]
BY_QUERY = {(q["name"], q["type"]): q for q in TRUTH["queries"]}
# The lab's words for insecure verdicts, and protoaudit's (proto/dnssec/reasons.py).
INSECURE_REASONS = {
    "no_ds": "unsigned_delegation",
    "nsec3_iterations_over_limit": "nsec3_iterations",
    "nsec3_optout_span": "opt_out",
    "unsupported_algorithm": "unsupported_algorithm",
}
MODES = ("iterative", "recursor")


def _answers(address: str, port: int) -> bool:
    query = bytes.fromhex("abcd01000001000000000000") + b"\x00\x00\x06\x00\x01"  # . SOA
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1)
        try:
            sock.sendto(query, (address, port))
            return sock.recv(4096)[:2] == query[:2]
        except OSError:
            return False


@pytest.fixture(scope="session")
def anchors() -> TrustAnchors:
    down = [name for name, s in SERVERS.items() if not _answers(s["address"], s["port"])]
    if down or not ANCHOR_FILE.is_file():
        message = f"DNS lab not available: {down or 'no trust anchor'} (run lab/start.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return read_trust_anchor_file(ANCHOR_FILE)


@pytest.fixture(scope="session")
def verdicts(anchors: TrustAnchors) -> dict[tuple[str, str, str], DnssecStatus]:
    async def run() -> dict[tuple[str, str, str], DnssecStatus]:
        now = datetime.now(UTC)

        async def one(name: str, rdtype: str, mode: str) -> DnssecStatus:
            return await validate_name(
                name, rdtype, server=RECURSOR if mode == "recursor" else None,
                root_servers=[ROOT], trust_anchors=anchors, timeout=2.0, now=now,
                loopback_only=True,
            )  # fmt: skip

        keys = [(name, rdtype, mode) for name, rdtype in QUERIES for mode in MODES]
        found = await asyncio.gather(*(one(*key) for key in keys))
        return dict(zip(keys, found, strict=True))

    return asyncio.run(run())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "rdtype"), QUERIES)
def test_status_and_reason_are_the_truth(
    verdicts: dict[tuple[str, str, str], DnssecStatus], name: str, rdtype: str, mode: str
) -> None:
    truth = BY_QUERY[(name, rdtype)]
    seen = verdicts[(name, rdtype, mode)]

    assert seen.status == truth["status"], (seen.reason, seen.detail)
    if truth["status"] == "bogus":
        assert seen.reason == truth["reason"], seen.detail
    elif truth["status"] == "insecure" and truth.get("proof") == "nsec3_optout":
        # An unsigned delegation inside an opt-out span: no DS is proven by the span.
        assert seen.reason == "opt_out", seen.detail
    elif truth["status"] == "insecure":
        assert seen.reason == INSECURE_REASONS[truth["reason"]], seen.detail
    assert seen.rcode == truth["rcode"]
    if truth["response"] in ("nxdomain", "nodata") and truth["status"] == "secure":
        assert seen.denial is not None, seen
        assert seen.denial.valid
        proves = ("no_ds",) if rdtype == "DS" else ("nxdomain", "nodata", "wildcard_nodata")
        assert seen.denial.proves in proves, seen.denial


@pytest.mark.parametrize(("name", "rdtype"), [q for q in QUERIES if BY_QUERY[q].get("proof")])
def test_insecure_answers_carry_their_proof(
    verdicts: dict[tuple[str, str, str], DnssecStatus], name: str, rdtype: str
) -> None:
    truth = BY_QUERY[(name, rdtype)]
    seen = verdicts[(name, rdtype, "iterative")]
    proofs = [z.ds_denial for z in seen.chain if z.ds_denial is not None]
    if seen.denial is not None:
        proofs.append(seen.denial)
    assert proofs, seen
    mechanism, _, opt_out = truth["proof"].partition("_")
    assert any(p.mechanism == mechanism and p.opt_out == bool(opt_out) for p in proofs), proofs


def _zone_facts(verdicts: dict[tuple[str, str, str], DnssecStatus], zone: str) -> Any:
    for status in verdicts.values():
        for found in status.chain:
            if found.zone == zone and found.dnskeys:
                return found
    raise AssertionError(f"{zone}: never seen with its keys")


SIGNED_WITH_DS = [
    zone
    for zone, facts in TRUTH["zones"].items()
    if facts["signed"] and (facts["ds_in_parent"] or {}).get("policy") == "match"
]


@pytest.mark.parametrize("zone", SIGNED_WITH_DS)
def test_zone_keys_ds_and_nsec3_parameters_are_the_truth(
    verdicts: dict[tuple[str, str, str], DnssecStatus], zone: str
) -> None:
    truth = TRUTH["zones"][zone]
    found = _zone_facts(verdicts, zone)
    keys = sorted((k.algorithm, k.key_bits, k.sep) for k in found.dnskeys)
    expected = sorted((k["algorithm"], k["bits"], k["role"] == "ksk") for k in truth["keys"])
    assert keys == expected
    assert sorted({d.digest_type for d in found.ds}) == sorted(
        truth["ds_in_parent"]["digest_types"]
    )
    if found.status == "secure":  # an unsupported algorithm stops before matching
        assert all(d.matched_key_tag is not None for d in found.ds)
    if truth["denial"]["kind"] == "nsec3":
        assert found.nsec3_iterations == truth["denial"]["iterations"]
        assert (found.nsec3_salt_hex or "") == truth["denial"]["salt"].lower().replace("-", "")
    if found.status == "secure":  # CDS is asked only of a zone whose keys hold
        assert found.cds_present == truth["cds"]


def _findings(verdicts: dict[tuple[str, str, str], DnssecStatus], name: str) -> set[str]:
    return {f.id for f in evaluate([verdicts[(name, "A", "iterative")]])}


def test_findings_follow_each_zone_s_flaws(
    verdicts: dict[tuple[str, str, str], DnssecStatus],
) -> None:
    assert {"dnssec.algorithm_deprecated", "dnssec.ds_digest_sha1", "dnssec.rsa_key_small"} <= (
        _findings(verdicts, "www.rsasha1.test.")
    )
    assert "dnssec.nsec3_parameters" in _findings(verdicts, "www.nsec3.test.")
    assert "dnssec.signature_expires_soon" in _findings(verdicts, "www.soon.test.")
    assert "dnssec.signature_expires_soon" not in _findings(verdicts, "www.secure.test.")
    assert "dnssec.bogus" in _findings(verdicts, "www.expired.test.")
    assert "dnssec.insecure" in _findings(verdicts, "www.unsigned.test.")
    assert "dnssec.no_cds" not in _findings(verdicts, "www.cds.test.")
    clean = _findings(verdicts, "www.secure.test.") - {"dnssec.no_cds"}
    assert not clean, clean


def test_a_signed_zone_without_a_ds_is_an_island(
    verdicts: dict[tuple[str, str, str], DnssecStatus],
) -> None:
    assert "dnssec.island" in _findings(verdicts, "www.island.test.")
    assert "dnssec.island" not in _findings(verdicts, "www.unsigned.test.")


# --- DANE, through the scanner and the lab's TLS servers -------------------------------------

DANE_CASES = [t for t in TRUTH["tlsa"] if t.get("lab_port") and not t.get("starttls")]


@pytest.fixture(scope="session")
def dane_results(anchors: TrustAnchors) -> dict[str, TargetResult]:
    del anchors  # only for its skip-or-fail when the lab is down
    options = AuditOptions(
        timeout=5.0,
        root_servers=(f"{ROOT[0]}:{ROOT[1]}",),
        trust_anchor_file=str(ANCHOR_FILE),
        ca_file=str(RUN_DIR / "pki" / "ca.pem"),
        dane=True,
    )
    by_text = {
        t["name"].split("._tcp.", 1)[1].rstrip(".") + f":{t['lab_port']}": t["name"]
        for t in DANE_CASES
    }

    async def run() -> list[TargetResult]:
        targets = [parse_target(text) for text in by_text]
        return [r async for r in audit_targets(targets, options)]

    return {by_text[r.target.original]: r for r in asyncio.run(run())}


@pytest.mark.parametrize("tlsa_name", [t["name"] for t in DANE_CASES])
def test_dane_verdicts_are_the_truth(dane_results: dict[str, TargetResult], tlsa_name: str) -> None:
    truth = next(t for t in DANE_CASES if t["name"] == tlsa_name)
    result = dane_results[tlsa_name]
    (check,) = [o for o in result.observations if isinstance(o, DaneCheck)]

    assert check.tlsa_name == tlsa_name
    assert check.dnssec_status == truth["status"]
    assert len(check.records) == len(truth["records"])
    expected = {c["dane"] for c in truth["certificates"]}
    if expected == {"insecure"}:
        assert not check.chains
        assert "dane.not_secure" in {f.id for f in result.findings}
        return
    assert {chain.verdict for chain in check.chains} == expected
    ids = {f.id for f in result.findings}
    assert ("dane.no_match" in ids) == ("no_match" in expected)
    assert ("dane.name_mismatch" in ids) == ("name_mismatch" in expected)


def test_the_dnssec_command_reports_a_bogus_name() -> None:
    if not ANCHOR_FILE.is_file():
        pytest.skip("DNS lab not available")
    run = subprocess.run(
        [
            sys.executable, "-m", "protoaudit", "dnssec", "www.expired.test", "A",
            "--root-server", f"{ROOT[0]}:{ROOT[1]}", "--trust-anchor", str(ANCHOR_FILE),
            "--json", "-", "--fail-on", "high",
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    (target,) = json.loads(run.stdout)["targets"]
    (status,) = [o for o in target["observations"] if o["kind"] == "dnssec_status"]
    assert (status["status"], status["reason"]) == ("bogus", "signature_expired")
    assert "dnssec.bogus" in {f["id"] for f in target["findings"]}


def test_a_mail_domain_is_audited_at_each_mx_with_dane(anchors: TrustAnchors) -> None:
    # Given secure.test, whose MX mx.secure.test has TLSA records for the lab's postfix
    del anchors  # only for its skip-or-fail when the lab is down
    (case,) = [
        t
        for t in TRUTH["tlsa"]
        if t["starttls"] == "smtp" and t["name"].startswith(f"_{t['lab_port']}.")
    ]
    options = AuditOptions(
        timeout=5.0,
        root_servers=(f"{ROOT[0]}:{ROOT[1]}",),
        trust_anchor_file=str(ANCHOR_FILE),
        ca_file=str(RUN_DIR / "pki" / "ca.pem"),
    )

    async def run() -> list[TargetResult]:
        target = parse_target(f"mail:secure.test:{case['lab_port']}")
        return [r async for r in audit_targets([target], options)]

    (result,) = asyncio.run(run())

    # Then the MX host is audited as SMTP with STARTTLS, and DANE holds for its chain
    assert (result.target.host, result.target.service) == ("mx.secure.test", "smtp")
    statuses = {o.rdtype: o.status for o in result.observations if isinstance(o, DnssecStatus)}
    assert statuses == dict.fromkeys(("MX", "A", "AAAA", "TLSA", "CAA"), "secure")
    (check,) = [o for o in result.observations if isinstance(o, DaneCheck)]
    assert check.tlsa_name == case["name"]
    assert {chain.verdict for chain in check.chains} == {c["dane"] for c in case["certificates"]}


CAA_TRUTH = BY_QUERY[("secure.test.", "CAA")]


@pytest.mark.parametrize(("issuer", "allowed"), [("protoaudit.test", True), ("other.test", False)])
def test_caa_records_govern_the_host_and_judge_the_issuer(
    dane_results: dict[str, TargetResult], anchors: TrustAnchors, issuer: str, allowed: bool
) -> None:
    # Given www.secure.test, with no CAA of its own, under secure.test's CAA set
    del dane_results, anchors  # only for their skip-or-fail when the lab is down
    options = AuditOptions(
        timeout=5.0,
        root_servers=(f"{ROOT[0]}:{ROOT[1]}",),
        trust_anchor_file=str(ANCHOR_FILE),
        ca_file=str(RUN_DIR / "pki" / "ca.pem"),
        dane=True,
        caa_issuer=(issuer,),
    )
    port = DANE_CASES[0]["lab_port"]

    async def run() -> list[TargetResult]:
        return [r async for r in audit_targets([parse_target(f"www.secure.test:{port}")], options)]

    (result,) = asyncio.run(run())

    # Then the climb finds secure.test.'s set, and the lab CA is judged by its domain
    (caa,) = [o for o in result.observations if isinstance(o, CaaCheck)]
    assert (caa.found_at, caa.dnssec_status) == ("secure.test.", "secure")
    expected = sorted(line.replace('"', "") for line in CAA_TRUTH["answer"])
    assert sorted(caa.records) == expected
    assert caa.issuer_organization == "protoaudit lab"
    assert caa.issuer_allowed is allowed
    assert ("caa.issuer_not_allowed" in {f.id for f in result.findings}) is not allowed


def test_an_openpgpkey_target_finds_the_key_published_in_the_lab_zone(
    anchors: TrustAnchors, tmp_path: Path
) -> None:
    # Given alice@secure.test, whose key the lab zone publishes (RFC 7929), and its
    # fingerprint as GnuPG reads it from the record's bytes
    del anchors  # only for its skip-or-fail when the lab is down
    (query,) = [q for q in TRUTH["queries"] if q["type"] == "OPENPGPKEY"]
    key_file = tmp_path / "alice.pgp"
    key_file.write_bytes(base64.b64decode("".join(query["answer"][0].split())))
    shown = subprocess.run(
        ["gpg", "--homedir", str(tmp_path), "--with-colons", "--show-keys", str(key_file)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    fingerprint = next(
        line.split(":")[9] for line in shown.stdout.splitlines() if line.startswith("fpr")
    )
    options = AuditOptions(
        timeout=5.0, root_servers=(f"{ROOT[0]}:{ROOT[1]}",), trust_anchor_file=str(ANCHOR_FILE)
    )

    async def run() -> list[TargetResult]:
        return [
            r async for r in audit_targets([parse_target("openpgpkey:alice@secure.test")], options)
        ]

    (result,) = asyncio.run(run())

    # Then the record is DNSSEC-secure, so the key is authenticated, and it is that key
    (record,) = [o for o in result.observations if isinstance(o, OpenPgpKeyRecord)]
    assert record.owner.startswith(query["name"].split(".", 1)[0])
    assert (record.dnssec_status, record.authenticated) == ("secure", True)
    keys = [o for o in result.observations if isinstance(o, PgpKey)]
    assert [key.fingerprint.upper() for key in keys] == [fingerprint.upper()]
    assert "pgp.openpgpkey.not_authenticated" not in {f.id for f in result.findings}
