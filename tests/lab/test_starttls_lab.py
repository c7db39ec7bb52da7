"""The whole TLS audit through each STARTTLS dialog, against the mail and service sub-labs.

Each sub-lab (lab/mail, lab/services, lab/injection) states its ground truth;
every target is audited once per session with SNI "localhost" (the lab
certificates' name) and the lab CA, and each test compares one fact with the
truth. lab/injection's responder is vulnerable to STARTTLS command injection
on purpose (no packaged server still is); every other target is not.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import protoaudit
from protoaudit.observations import (
    CertificateChain,
    CipherSuiteSupport,
    FtpFacts,
    ServiceDetected,
    StartTlsDialog,
    StartTlsInjection,
    TlsVersionSupport,
)
from protoaudit.probes.starttls import INJECTION_PROTOCOLS
from protoaudit.proto.starttls.after_tls import CAPABILITY_PROTOCOLS
from protoaudit.proto.tls.constants import version_name
from protoaudit.registry import tls as registry
from protoaudit.results import TargetResult
from protoaudit.scan import AuditOptions, audit_targets
from protoaudit.targets import parse_target

pytestmark = pytest.mark.lab

LAB = Path(__file__).resolve().parents[2] / "lab"
SUBLABS = ("mail", "services", "injection", "more")
RUN_DIR = Path(os.environ.get("PROTOAUDIT_LAB_DIR", "/tmp/protoaudit-lab"))


def _truths() -> dict[str, Mapping[str, Any]]:
    targets: dict[str, Mapping[str, Any]] = {}
    for sublab in SUBLABS:
        path = LAB / sublab / "ground_truth.json"
        if path.is_file():
            targets.update(json.loads(path.read_text())["targets"])
    return targets


TRUTH = _truths()
NAMES = sorted(TRUTH)


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def results() -> dict[str, TargetResult]:
    down = [name for name, t in TRUTH.items() if not _answers(t["host"], t["port"])]
    ca_file = RUN_DIR / "pki" / "ca.pem"
    if down or not ca_file.is_file():
        message = f"STARTTLS lab not available: {down or 'no CA'} (run lab/start.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    by_text = {f"{_scheme(t)}://{t['host']}:{t['port']}": name for name, t in TRUTH.items()}
    targets = [parse_target(text, sni="localhost") for text in by_text]
    options = AuditOptions(ca_file=str(ca_file), timeout=5.0)

    async def run() -> list[TargetResult]:
        return [result async for result in audit_targets(targets, options)]

    return {by_text[result.target.original]: result for result in asyncio.run(run())}


def _scheme(truth: Mapping[str, Any]) -> str:
    """The target scheme: the protocol, or its implicit-TLS twin (xmpp on 5223 is xmpps)."""
    protocol = str(truth["protocol"])
    if truth["tls_start"] == "implicit" and not protocol.endswith("s"):
        return protocol + "s"
    return protocol


def _of(result: TargetResult, kind: type[Any]) -> list[Any]:
    return [o for o in result.observations if isinstance(o, kind)]


def _mechanisms(names: Any) -> set[str]:
    """One spelling for "what can log in before TLS": POP3's USER/PASS is USER, AUTH=X is X."""
    return {str(name).removeprefix("AUTH=").replace("USER/PASS", "USER") for name in names or ()}


def test_there_is_a_starttls_lab_truth() -> None:
    assert len(TRUTH) >= 10


@pytest.mark.parametrize("name", NAMES)
def test_versions_are_exactly_the_truth(results: dict[str, TargetResult], name: str) -> None:
    seen = {version_name(o.version) for o in _of(results[name], TlsVersionSupport) if o.supported}
    assert seen == set(TRUTH[name]["versions"])


@pytest.mark.parametrize("name", NAMES)
def test_cipher_suites_are_exactly_the_truth(results: dict[str, TargetResult], name: str) -> None:
    seen = {
        version_name(o.version): {registry.cipher_suite(code).name for code in o.accepted}
        for o in _of(results[name], CipherSuiteSupport)
    }
    truth = {
        version: {suite["name"] for suite in suites}
        for version, suites in TRUTH[name]["cipher_suites"].items()
    }
    assert seen == truth


@pytest.mark.parametrize("name", NAMES)
def test_plaintext_side_is_the_truth(results: dict[str, TargetResult], name: str) -> None:
    truth = TRUTH[name]
    dialogs = _of(results[name], StartTlsDialog)
    if truth["tls_start"] == "implicit":
        assert dialogs == []
        return
    (dialog,) = dialogs
    if truth.get("starttls_offered") is not None:
        assert dialog.starttls_offered == truth["starttls_offered"]
    assert dialog.upgraded == (truth["tls_start"] == "starttls")
    if truth.get("capabilities_before") is not None:
        assert set(dialog.capabilities_before) == set(truth["capabilities_before"])
    if "plaintext_auth_before_tls" in truth:
        assert _mechanisms(dialog.plaintext_auth_offered) == _mechanisms(
            truth["plaintext_auth_before_tls"]
        )


@pytest.mark.parametrize("name", NAMES)
def test_starttls_findings_follow_the_flaws(results: dict[str, TargetResult], name: str) -> None:
    truth = TRUTH[name]
    ids = {finding.id for finding in results[name].findings}
    assert ("starttls.not_offered" in ids) == (truth["tls_start"] == "none")
    assert ("starttls.plaintext_auth" in ids) == bool(truth.get("plaintext_auth_before_tls"))
    assert ("starttls.failed" in ids) == bool(truth.get("upgrade_fails"))


@pytest.mark.parametrize("name", NAMES)
def test_certificate_is_trusted_through_the_dialog(
    results: dict[str, TargetResult], name: str
) -> None:
    chains = _of(results[name], CertificateChain)
    if TRUTH[name]["tls_start"] == "none" or TRUTH[name].get("upgrade_fails"):
        assert chains == []
        return
    assert chains, "no certificate chain observed"
    assert all(chain.trusted and chain.hostname_matches for chain in chains)


@pytest.mark.parametrize("name", NAMES)
def test_nothing_failed_but_what_must(results: dict[str, TargetResult], name: str) -> None:
    failures = [o for o in results[name].observations if o.kind == "probe_failure"]
    if TRUTH[name].get("upgrade_fails"):
        # Asking for the capabilities over TLS needs a handshake, which is the flaw.
        assert {failure.probe for failure in failures} <= {"starttls_capabilities"}
        return
    assert failures == []


@pytest.mark.parametrize("name", ["smtp-starttls", "pop3-starttls", "ftp-explicit"])
def test_bare_port_is_recognised_by_its_greeting(
    results: dict[str, TargetResult], name: str
) -> None:
    # Given the target as a bare host:port (no scheme), which speaks no TLS at first
    truth = TRUTH[name]
    result = asyncio.run(
        protoaudit.audit(
            f"{truth['host']}:{truth['port']}",
            sni="localhost",
            ca_file=str(RUN_DIR / "pki" / "ca.pem"),
        )
    )
    # Then its greeting names the service and the whole STARTTLS audit follows
    (detected,) = _of(result, ServiceDetected)
    assert detected.service == truth["protocol"]
    seen = {version_name(o.version) for o in _of(result, TlsVersionSupport) if o.supported}
    assert seen == set(truth["versions"])


# ---------------------------------------------------------------- after TLS, injection, FTP

STARTTLS_NAMES = [name for name in NAMES if TRUTH[name]["tls_start"] == "starttls"]
INJECTABLE = [name for name in STARTTLS_NAMES if TRUTH[name]["protocol"] in INJECTION_PROTOCOLS]
FTP_NAMES = [name for name in NAMES if TRUTH[name]["protocol"] in ("ftp", "ftps")]


def test_the_lab_has_an_injectable_target_with_the_flaw_and_several_without() -> None:
    flawed = [name for name in INJECTABLE if TRUTH[name].get("command_injection")]
    assert flawed, "lab/injection's responder is missing from the truth"
    assert len(INJECTABLE) - len(flawed) >= 5


@pytest.mark.parametrize("name", STARTTLS_NAMES)
def test_capabilities_after_tls_are_the_truth(results: dict[str, TargetResult], name: str) -> None:
    truth = TRUTH[name]
    (dialog,) = _of(results[name], StartTlsDialog)
    if truth["protocol"] not in CAPABILITY_PROTOCOLS or truth.get("upgrade_fails"):
        # LDAP, XMPP, PostgreSQL …: no capability command is asked after TLS;
        # or no TLS to ask it over
        assert dialog.capabilities_after is None
    elif truth.get("capabilities_after") is not None:
        assert dialog.capabilities_after is not None
        assert set(dialog.capabilities_after) == set(truth["capabilities_after"])
        assert len(dialog.capabilities_after) == len(truth["capabilities_after"])
    else:
        # The services truth has no FEAT list; vsftpd's FEAT over TLS still names PROT.
        assert truth["protocol"] == "ftp"
        assert dialog.capabilities_after is not None
        assert {"AUTH TLS", "PBSZ", "PROT"} <= set(dialog.capabilities_after)


@pytest.mark.parametrize("name", INJECTABLE)
def test_command_injection_is_the_truth(results: dict[str, TargetResult], name: str) -> None:
    vulnerable = bool(TRUTH[name].get("command_injection"))
    (probe,) = _of(results[name], StartTlsInjection)
    assert probe.injected, probe
    assert probe.vulnerable is vulnerable, probe.detail
    ids = {finding.id for finding in results[name].findings}
    assert ("starttls.command_injection" in ids) is vulnerable


@pytest.mark.parametrize("name", sorted(set(NAMES) - set(INJECTABLE)))
def test_no_injection_probe_where_there_is_no_starttls_command(
    results: dict[str, TargetResult], name: str
) -> None:
    assert _of(results[name], StartTlsInjection) == []


@pytest.mark.parametrize("name", FTP_NAMES)
def test_ftp_facts_are_the_truth(results: dict[str, TargetResult], name: str) -> None:
    truth = TRUTH[name]
    facts_truth = truth["facts"]
    (facts,) = _of(results[name], FtpFacts)
    implicit = truth["tls_start"] == "implicit"
    assert facts.implicit_tls is implicit
    # (a) a login in clear: only asked where there is a "before AUTH TLS"
    if implicit:
        assert facts.plaintext_login is None
    else:
        assert facts.plaintext_login is facts_truth["plaintext_login_before_tls"], facts
    # (b) anonymous login, asked over TLS
    anonymous = facts_truth["anonymous_login_over_tls"]
    assert facts.anonymous_login is anonymous, facts.anonymous_login_reply
    assert facts.prot_c_reply.startswith(("200", "5"))
    if anonymous:
        # (c) a transfer after PROT C shows whether PROT P is required
        assert facts.clear_data is (not facts_truth["prot_p_required"])
        # (d) a listing over a TLS data connection, from the control connection's address
        assert facts.data_channel_tls is True, facts.notes
        assert facts.data_tls_version is not None
        assert facts.data_cipher_suite is not None
        assert version_name(facts.data_tls_version) in truth["versions"]
        assert facts_truth["anonymous_file"] in facts.listing
        assert facts.data_session_reused is not None
        if facts_truth["data_channel_session_reuse_required"]:
            assert facts.data_session_reused
        assert facts.passive_host_named is None
    else:
        # Without a login no transfer can be tried: vsftpd answers PROT C with 200 and
        # refuses only at the transfer, so the probe must not call that clear data.
        assert facts.clear_data is None
        assert facts.data_channel_tls is None
        assert facts.notes


@pytest.mark.parametrize("name", FTP_NAMES)
def test_ftp_findings_follow_the_flaws(results: dict[str, TargetResult], name: str) -> None:
    facts_truth = TRUTH[name]["facts"]
    ids = {finding.id for finding in results[name].findings}
    implicit = TRUTH[name]["tls_start"] == "implicit"
    plaintext = facts_truth["plaintext_login_before_tls"] and not implicit
    anonymous = facts_truth["anonymous_login_over_tls"]
    assert ("starttls.ftp_plaintext_login" in ids) is plaintext
    assert ("starttls.ftp_anonymous" in ids) is anonymous
    clear = anonymous and not facts_truth["prot_p_required"]
    assert ("starttls.ftp_clear_data" in ids) is clear
