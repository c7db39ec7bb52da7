"""OpenVPN rules and the OpenVPN terminal tables, over hand-made observations (no network)."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, datetime

from rich.console import Console

from observation_helpers import LEAF
from protoaudit.observations import Observation
from protoaudit.observations_openvpn import OpenVpnReset, OpenVpnTlsHandshake, OpenVpnTlsVersion
from protoaudit.policy.baseline import load_catalogue_file
from protoaudit.policy.evaluate import evaluate
from protoaudit.policy.findings import Finding, Severity
from protoaudit.policy.openvpn_rules import OPENVPN_BASELINE_FILE, OPENVPN_RULES, openvpn_rules
from protoaudit.report.terminal_openvpn import openvpn_tables

ESCAPE = "\x1b[2J\x1b]0;owned\x07"


def reset(answered: bool, *, transport: str = "udp", opcode: int = 7) -> OpenVpnReset:
    if answered:
        return OpenVpnReset(transport, opcode, True, "answered", 8, "00" * 8, True, 1, "ok")
    outcome = "silent" if transport == "udp" else "closed"
    return OpenVpnReset(transport, opcode, False, outcome, None, None, False, 2, "no answer")


def handshake(*certificates: object) -> OpenVpnTlsHandshake:
    return OpenVpnTlsHandshake(
        "udp",
        0x0304,
        0x1302,
        "TLS_AES_256_GCM_SHA384",
        certificates,
        (),
        True,
        "completed",  # type: ignore[arg-type]
    )


def findings(*observations: Observation) -> dict[str, Finding]:
    return {finding.id: finding for finding in evaluate(observations, OPENVPN_RULES)}


def test_the_catalogue_names_tls_auth_and_tls_crypt() -> None:
    catalogue = load_catalogue_file(OPENVPN_BASELINE_FILE)
    assert all(finding_id.startswith("openvpn.") for finding_id in catalogue)
    assert all(template.references for template in catalogue.values())
    references = " ".join(catalogue["openvpn.unauthenticated_reset"].references)
    assert "--tls-auth" in references
    assert "--tls-crypt" in references
    assert catalogue["openvpn.hmac_firewall"].severity is Severity.INFO


def test_an_answered_reset_is_a_finding_and_silence_a_positive_one() -> None:
    assert set(findings(reset(True), reset(False, opcode=10))) == {"openvpn.unauthenticated_reset"}
    quiet = findings(reset(False), reset(False, opcode=10))
    assert set(quiet) == {"openvpn.hmac_firewall"}
    assert quiet["openvpn.hmac_firewall"].severity is Severity.INFO
    assert set(findings(reset(False, transport="tcp"))) == {"openvpn.hmac_firewall"}
    refused = dataclasses.replace(reset(False), outcome="refused")
    assert findings(refused) == {}


def test_legacy_tls_versions() -> None:
    found = findings(
        OpenVpnTlsVersion("udp", 0x0301, True, 0xC014, "ServerHello"),
        OpenVpnTlsVersion("udp", 0x0303, True, 0xC030, "ServerHello"),
        OpenVpnTlsVersion("udp", 0x0302, False, None, "dropped"),
    )
    (line,) = found["openvpn.tls.legacy_version"].evidence
    assert "TLS 1.0" in line


def test_certificate_rules() -> None:
    weak = dataclasses.replace(
        LEAF, key_bits=1024, signature_hash="sha1", signature_algorithm="ecdsa-with-SHA1"
    )
    small_ec = dataclasses.replace(LEAF, subject="CN=ec", key_type="EC", key_bits=192)
    root = dataclasses.replace(LEAF, subject="CN=root", signature_hash="sha1", self_issued=True)
    found = findings(handshake(weak, small_ec, root))
    assert len(found["openvpn.certificate.weak_key"].evidence) == 2
    (signature,) = found["openvpn.certificate.weak_signature"].evidence
    assert "server certificate" in signature  # the self-issued root is not judged


def test_validity_is_judged_at_the_clock() -> None:
    chain = handshake(LEAF)  # valid 2025-01-01 to 2026-01-01
    during = openvpn_rules(lambda: datetime(2025, 6, 1, tzinfo=UTC))
    after = openvpn_rules(lambda: datetime(2027, 1, 1, tzinfo=UTC))
    before = openvpn_rules(lambda: datetime(2024, 1, 1, tzinfo=UTC))
    assert not [f for f in evaluate((chain,), during) if f.id == "openvpn.certificate.expired"]
    (expired,) = [f for f in evaluate((chain,), after) if f.id == "openvpn.certificate.expired"]
    assert "expired 2026-01-01" in expired.evidence[0]
    (early,) = [f for f in evaluate((chain,), before) if f.id == "openvpn.certificate.expired"]
    assert "not valid before" in early.evidence[0]


def test_tables_render_and_sanitise_what_the_server_sent() -> None:
    hostile = dataclasses.replace(LEAF, subject=f"CN={ESCAPE}", issuer=ESCAPE)
    observations = (
        dataclasses.replace(reset(True), detail=ESCAPE),
        reset(False, opcode=10),
        OpenVpnTlsVersion("udp", 0x0303, True, 0xC030, ESCAPE),
        dataclasses.replace(handshake(hostile), client_ca_names=(ESCAPE,), detail=ESCAPE),
    )
    output = io.StringIO()
    console = Console(file=output, width=160, color_system=None)
    tables = list(openvpn_tables(observations, verbose=True))
    assert len(tables) == 3
    for shown in tables:
        console.print(shown)
    text = output.getvalue()
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "P_CONTROL_HARD_RESET_CLIENT_V3" in text
    assert "TLS_AES_256_GCM_SHA384" in text
