"""Run the rules that concern one target's observations and merge what they find.

The rules live in one module per family. A target's rules are the base ones
(TLS, certificates, STARTTLS, SSH: their observations are in
protoaudit.observations) and those of every family whose observations it has;
a family's module is imported the first time a target needs it, so an SSH or
SOCKS audit does not load the IKE, DNSSEC or OpenPGP policy. `all_rules()`
(also `RULES`) is every rule, in the same order.

A finding id appears at most once in the result: if two rules (or one rule
seeing the same fact for several versions) produce the same id, the evidence
lines are merged in order without repeats and the highest severity wins.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Sequence
from dataclasses import replace

from protoaudit.observations import Observation
from protoaudit.policy.findings import Finding, Rule

# "module:NAME" under protoaudit.policy, in the order rules run.
BASE_RULES = (
    "tls_rules:TLS_RULES",
    "certificate_rules:CERTIFICATE_RULES",
    "starttls_rules:STARTTLS_RULES",
    "ssh_rules:SSH_RULES",
)
# Each family's rules judge only its own module's observations.
FAMILY_RULES = {
    "protoaudit.observations_dns": "dnssec_rules:DNSSEC_RULES",
    "protoaudit.observations_dane": "dane_rules:DANE_RULES",
    "protoaudit.observations_ike": "ike_rules:IKE_RULES",
    "protoaudit.observations_openvpn": "openvpn_rules:OPENVPN_RULES",
    "protoaudit.observations_socks": "socks_rules:SOCKS_RULES",
    "protoaudit.observations_pgp": "pgp_rules:PGP_RULES",
}
_ORDER = (*BASE_RULES, *FAMILY_RULES.values())


@functools.cache
def _load(spec: str) -> tuple[Rule, ...]:
    module, name = spec.split(":")
    rules: tuple[Rule, ...] = getattr(importlib.import_module(f"protoaudit.policy.{module}"), name)
    return rules


def all_rules() -> tuple[Rule, ...]:
    return tuple(rule for spec in _ORDER for rule in _load(spec))


def rules_for(observations: Sequence[Observation]) -> tuple[Rule, ...]:
    """The base rules and those of every family `observations` come from."""
    wanted = set(BASE_RULES)
    wanted.update(
        FAMILY_RULES[m] for m in {type(o).__module__ for o in observations} if m in FAMILY_RULES
    )
    return tuple(rule for spec in _ORDER if spec in wanted for rule in _load(spec))


def __getattr__(name: str) -> tuple[Rule, ...]:
    if name == "RULES":  # every rule, loaded on first use
        return all_rules()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def merge(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    """One finding per id, sorted by severity (worst first), then id."""
    merged: dict[str, Finding] = {}
    for finding in findings:
        known = merged.get(finding.id)
        merged[finding.id] = (
            finding
            if known is None
            else replace(
                known,
                severity=max(known.severity, finding.severity),
                evidence=known.evidence + finding.evidence,
            )
        )
    unique = (
        replace(item, evidence=tuple(dict.fromkeys(item.evidence))) for item in merged.values()
    )
    return tuple(sorted(unique, key=lambda finding: (-finding.severity, finding.id)))


def evaluate(
    observations: Sequence[Observation], rules: Sequence[Rule] | None = None
) -> tuple[Finding, ...]:
    """Every finding the rules (by default: rules_for them) make of `observations`, worst first."""
    if rules is None:
        rules = rules_for(observations)
    return merge([finding for rule in rules for finding in rule(observations)])
