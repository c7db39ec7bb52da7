"""Rules over DNS checks of a TLS service: DANE (TLSA) and CAA.

The facts are `DaneCheck` observations (probes/dane.py): the TLSA records at
_PORT._tcp.HOST, their DNSSEC status, and which record matched which chain;
and `CaaCheck`: the CAA set that governs the host and the issuer against it.
Wording and severities are in data/protoaudit_dnssec_baseline.json.
"""

from __future__ import annotations

from collections.abc import Sequence

from protoaudit.observations import Observation
from protoaudit.observations_dane import CaaCheck, DaneCheck
from protoaudit.policy.baseline import finding_for
from protoaudit.policy.findings import Finding, Rule

LOCKED_OUT = ("no_match", "chain_invalid", "pkix_failed")


def _checks(observations: Sequence[Observation]) -> list[DaneCheck]:
    return [o for o in observations if isinstance(o, DaneCheck)]


def _chain_label(key_type: str | None, leaf: str) -> str:
    return f"{key_type or 'default'} chain (leaf {leaf[:16]}…)"


def rule_dane(observations: Sequence[Observation]) -> list[Finding]:
    evidence: dict[str, list[str]] = {
        "dane.no_match": [],
        "dane.name_mismatch": [],
        "dane.not_secure": [],
        "dane.unusable_record": [],
    }
    for check in _checks(observations):
        if check.records and check.dnssec_status != "secure":
            evidence["dane.not_secure"].append(
                f"{check.tlsa_name}: {len(check.records)} TLSA record(s), {check.dnssec_status}"
            )
        for chain in check.chains:
            label = (
                f"{check.tlsa_name}: {_chain_label(chain.requested_key_type, chain.leaf_sha256)}"
            )
            problems = sorted({m.problem for m in chain.matches if m.problem})
            if chain.verdict == "name_mismatch":
                evidence["dane.name_mismatch"].append(f"{label}: {'; '.join(problems)}")
            elif chain.verdict in LOCKED_OUT:
                why = "; ".join(problems) or "no record matches any certificate served"
                evidence["dane.no_match"].append(f"{label}: {chain.verdict}: {why}")
            for match in chain.matches:
                if not match.usable:
                    evidence["dane.unusable_record"].append(
                        f"{check.tlsa_name}: {match.record[:40]}"
                    )
    return [
        f for fid, lines in evidence.items() for f in finding_for(fid, list(dict.fromkeys(lines)))
    ]


def rule_caa(observations: Sequence[Observation]) -> list[Finding]:
    evidence: dict[str, list[str]] = {
        "caa.issuer_not_allowed": [],
        "caa.not_secure": [],
        "caa.absent": [],
    }
    for check in (o for o in observations if isinstance(o, CaaCheck)):
        if check.found_at is None:
            evidence["caa.absent"].append(f"{check.host}: no CAA record up to its TLD")
            continue
        if check.dnssec_status != "secure":
            evidence["caa.not_secure"].append(f"{check.found_at} CAA: {check.dnssec_status}")
        if check.issuer_allowed is False:
            tag = "issuewild" if check.wildcard else "issue"
            allowed = [r for r in check.records if f" {tag} " in f" {r} "]
            evidence["caa.issuer_not_allowed"].append(
                f"{check.host}: issued by {check.issuer_organization or 'an unnamed CA'}"
                f" ({', '.join(check.issuer_domains)}); {check.found_at} allows: "
                + ("; ".join(allowed) or "none")
            )
    return [
        f for fid, lines in evidence.items() for f in finding_for(fid, list(dict.fromkeys(lines)))
    ]


DANE_RULES: tuple[Rule, ...] = (rule_dane, rule_caa)
