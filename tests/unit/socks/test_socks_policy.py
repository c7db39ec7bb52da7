"""SOCKS rules and the SOCKS terminal tables, over hand-made observations (no network)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from protoaudit.observations import Observation
from protoaudit.observations_socks import (
    Socks4Detection,
    SocksConnect,
    SocksMethodOffer,
    SocksMethods,
    SocksUsernamePassword,
)
from protoaudit.policy.baseline import load_catalogue_file
from protoaudit.policy.evaluate import evaluate
from protoaudit.policy.findings import Finding, Severity
from protoaudit.policy.socks_rules import SOCKS_BASELINE_FILE, SOCKS_RULES
from protoaudit.report.terminal_socks import socks_tables

ESCAPE = "\x1b[2J\x1b]0;owned\x07"


def methods(*accepted: int, preferred: int | None = None) -> SocksMethods:
    offers = tuple(SocksMethodOffer((code,), code, f"chose 0x{code:02X}") for code in accepted)
    return SocksMethods(offers, tuple(accepted), preferred, preferred)


def connect(*, succeeded: bool, version: str = "5") -> SocksConnect:
    code = (0 if succeeded else 2) if version == "5" else (90 if succeeded else 91)
    return SocksConnect(version, "127.0.0.1", 8080, code, succeeded, "127.0.0.1", 4242, "REP")


def findings(*observations: Observation) -> dict[str, Finding]:
    return {finding.id: finding for finding in evaluate(observations, SOCKS_RULES)}


def test_the_catalogue_has_every_id_the_rules_use_with_references() -> None:
    catalogue = load_catalogue_file(SOCKS_BASELINE_FILE)
    assert set(catalogue) == {
        "socks.open_proxy",
        "socks.cleartext_password",
        "socks.fake_credentials_accepted",
        "socks.socks4",
    }
    assert all(template.references for template in catalogue.values())
    assert any("RFC 1929" in ref for ref in catalogue["socks.cleartext_password"].references)
    assert any("RFC 1928" in ref for ref in catalogue["socks.open_proxy"].references)


@pytest.mark.parametrize(
    ("observations", "severity", "words"),
    [
        ((methods(0, preferred=0), connect(succeeded=True)), Severity.HIGH, "the proxy relays"),
        ((methods(0, preferred=0), connect(succeeded=False)), Severity.LOW, "was refused"),
        ((methods(0, preferred=0),), Severity.MEDIUM, "no probe target was given"),
        ((methods(2), connect(succeeded=True, version="4")), Severity.HIGH, "SOCKS 4 CONNECT"),
    ],
)
def test_open_proxy_severity_follows_the_proof(
    observations: tuple[Observation, ...], severity: Severity, words: str
) -> None:
    found = findings(*observations)["socks.open_proxy"]
    assert found.severity is severity
    assert any(words in line for line in found.evidence)


def test_a_password_only_proxy_is_not_open() -> None:
    found = findings(
        methods(2, preferred=2),
        connect(succeeded=False, version="4"),
        SocksUsernamePassword("fake", True, 1, 1, False, True, "refused"),
    )
    assert set(found) == {"socks.cleartext_password"}
    assert any("fake pair" in line for line in found["socks.cleartext_password"].evidence)


def test_fake_credentials_accepted() -> None:
    found = findings(methods(2), SocksUsernamePassword("fake", True, 1, 0, True, True, "accepted"))
    assert found["socks.fake_credentials_accepted"].severity is Severity.HIGH


def test_socks4_spoken() -> None:
    found = findings(Socks4Detection(3, True, 0, 91, "version-0 reply"))
    assert found["socks.socks4"].severity is Severity.LOW
    assert not findings(Socks4Detection(3, False, None, None, "closed"))


def test_tables_render_and_sanitise_what_the_server_sent() -> None:
    observations = (
        SocksMethods(
            (SocksMethodOffer((0,), None, f"not SOCKS 5: {ESCAPE}"),),
            (),
            None,
            None,
        ),
        SocksUsernamePassword("fake", False, None, None, False, True, ESCAPE),
        Socks4Detection(3, False, None, None, ESCAPE),
        SocksConnect("4a", "target.example", 80, None, False, ESCAPE, None, ESCAPE),
    )
    output = io.StringIO()
    console = Console(file=output, width=160, color_system=None)
    tables = list(socks_tables(observations, verbose=True))
    assert len(tables) == 4
    for shown in tables:
        console.print(shown)
    text = output.getvalue()
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "SOCKS 4" in text
    assert "target.example:80" in text
