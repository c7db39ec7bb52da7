"""Run every rule over one target's observations and merge what they find.

RULES is the one list of rules. A finding id appears at most once in the
result: if two rules (or one rule seeing the same fact for several versions)
produce the same id, the evidence lines are merged in order without repeats
and the highest severity wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from protoaudit.observations import Observation
from protoaudit.policy.certificate_rules import CERTIFICATE_RULES
from protoaudit.policy.dane_rules import DANE_RULES
from protoaudit.policy.dnssec_rules import DNSSEC_RULES
from protoaudit.policy.findings import Finding, Rule
from protoaudit.policy.ike_rules import IKE_RULES
from protoaudit.policy.openvpn_rules import OPENVPN_RULES
from protoaudit.policy.pgp_rules import PGP_RULES
from protoaudit.policy.socks_rules import SOCKS_RULES
from protoaudit.policy.ssh_rules import SSH_RULES
from protoaudit.policy.starttls_rules import STARTTLS_RULES
from protoaudit.policy.tls_rules import TLS_RULES

RULES: tuple[Rule, ...] = (
    *TLS_RULES,
    *CERTIFICATE_RULES,
    *STARTTLS_RULES,
    *SSH_RULES,
    *DNSSEC_RULES,
    *DANE_RULES,
    *IKE_RULES,
    *OPENVPN_RULES,
    *SOCKS_RULES,
    *PGP_RULES,
)


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
    observations: Sequence[Observation], rules: Sequence[Rule] = RULES
) -> tuple[Finding, ...]:
    """Every finding the rules make of `observations`, worst first."""
    return merge([finding for rule in rules for finding in rule(observations)])
