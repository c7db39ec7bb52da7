"""Rules over what a SOCKS proxy did: methods accepted, the fake pair, SOCKS 4, the CONNECT.

The facts come from probes/socks.py (observations_socks.py); severities,
titles, explanations and references live in data/protoaudit_socks_baseline.json.
The open-proxy finding is proved only by a CONNECT to the target the user
named; without one, or when the proxy's rules refused it, the rule still
reports the open door, at a lower severity, and says which case it is.
"""

from __future__ import annotations

from collections.abc import Sequence

from protoaudit.observations import Observation
from protoaudit.observations_socks import (
    Socks4Detection,
    SocksConnect,
    SocksMethods,
    SocksUsernamePassword,
)
from protoaudit.policy.baseline import load_catalogue_file
from protoaudit.policy.facts import of_kind
from protoaudit.policy.findings import Finding, Rule, Severity
from protoaudit.proto.socks.constants import Method, method_name

SOCKS_BASELINE_FILE = "protoaudit_socks_baseline.json"


def _finding(
    finding_id: str, evidence: Sequence[str], severity: Severity | None = None
) -> list[Finding]:
    if not evidence:
        return []
    template = load_catalogue_file(SOCKS_BASELINE_FILE)[finding_id]
    return [template.finding(evidence, severity=severity)]


def _connect_words(connect: SocksConnect) -> str:
    verdict = "succeeded: the proxy relays" if connect.succeeded else "was refused"
    return (
        f"SOCKS {connect.version} CONNECT without authentication to "
        f"{connect.target_host}:{connect.target_port} {verdict} ({connect.detail})"
    )


def rule_open_proxy(observations: Sequence[Observation]) -> list[Finding]:
    """No authentication accepted: high when a CONNECT proved it, lower when not proved."""
    evidence: list[str] = []
    no_auth = False
    for methods in of_kind(observations, SocksMethods):
        if Method.NO_AUTHENTICATION_REQUIRED in methods.accepted:
            no_auth = True
            evidence.append("SOCKS 5: NO AUTHENTICATION REQUIRED accepted when offered alone")
            if methods.preferred == Method.NO_AUTHENTICATION_REQUIRED:
                evidence.append("it chose NO AUTHENTICATION REQUIRED when offered every method")
    connects = list(of_kind(observations, SocksConnect))
    proved = [connect for connect in connects if connect.succeeded]
    # A SOCKS 4 CONNECT only runs where SOCKS 4 is spoken; it proves what no-auth proves.
    if not no_auth and not proved:
        return []
    evidence += [_connect_words(connect) for connect in connects]
    if proved:
        return _finding("socks.open_proxy", evidence)
    if connects:
        return _finding("socks.open_proxy", evidence, Severity.LOW)
    evidence.append("not proved: no probe target was given (--socks-probe-target HOST:PORT)")
    return _finding("socks.open_proxy", evidence, Severity.MEDIUM)


def rule_cleartext_password(observations: Sequence[Observation]) -> list[Finding]:
    evidence: list[str] = []
    for methods in of_kind(observations, SocksMethods):
        if Method.USERNAME_PASSWORD in methods.accepted:
            evidence.append("SOCKS 5: USERNAME/PASSWORD (RFC 1929) accepted when offered alone")
            if methods.preferred is not None and methods.preferred != Method.USERNAME_PASSWORD:
                evidence.append(
                    f"offered every method, it chose {method_name(methods.preferred)} instead"
                )
    evidence += [
        f"it answered the RFC 1929 subnegotiation for a fake pair sent in the clear "
        f"(user {probe.username!r}, status {probe.status})"
        for probe in of_kind(observations, SocksUsernamePassword)
        if probe.answered
    ]
    return _finding("socks.cleartext_password", evidence)


def rule_fake_credentials(observations: Sequence[Observation]) -> list[Finding]:
    evidence = [
        f"the fake pair (user {probe.username!r}) got RFC 1929 status {probe.status}: success"
        for probe in of_kind(observations, SocksUsernamePassword)
        if probe.fake_pair_accepted
    ]
    return _finding("socks.fake_credentials_accepted", evidence)


def rule_socks4(observations: Sequence[Observation]) -> list[Finding]:
    evidence = [
        f"a SOCKS 4 request with command {detection.command} (which SOCKS 4 does not have) got a "
        f"version-{detection.reply_version} reply, CD {detection.reply_code}"
        for detection in of_kind(observations, Socks4Detection)
        if detection.speaks_socks4
    ]
    return _finding("socks.socks4", evidence)


SOCKS_RULES: tuple[Rule, ...] = (
    rule_open_proxy,
    rule_cleartext_password,
    rule_fake_credentials,
    rule_socks4,
)
