"""The TLS baseline: thresholds and the finding catalogue, loaded from a data file.

Everything a rule needs to *judge* (how many bits are enough, how severe a
miss is, what to tell the reader, which RFC or CVE backs it) lives in
`data/protoaudit_tls_baseline.json`, whose `_source` field names the published
guidance each value comes from. Rules stay small: they look for the fact and
ask the catalogue for the finding.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cache
from importlib import resources
from typing import Any

from protoaudit.policy.findings import Finding, Severity

BASELINE_FILE = "protoaudit_tls_baseline.json"


@dataclass(frozen=True, slots=True)
class FindingTemplate:
    id: str
    severity: Severity
    title: str
    explanation: str
    references: tuple[str, ...]

    def finding(self, evidence: Iterable[str], *, severity: Severity | None = None) -> Finding:
        return Finding(
            id=self.id,
            severity=self.severity if severity is None else severity,
            title=self.title,
            evidence=tuple(evidence),
            explanation=self.explanation,
            references=self.references,
        )


@dataclass(frozen=True, slots=True)
class Thresholds:
    dh_prime_bits_min: int
    dh_prime_bits_high_below: int
    group_security_bits_min: int  # security-strength bits, as the registry gives them
    ffdhe_security_bits_min: int
    rsa_key_bits_min: int
    dsa_key_bits_min: int
    ec_key_bits_min: int
    expires_soon_days: int
    sweet32_encryption: frozenset[str]
    weak_signature_hashes: frozenset[str]
    weak_signature_high_hashes: frozenset[str]


@dataclass(frozen=True, slots=True)
class Baseline:
    sources: tuple[str, ...]
    thresholds: Thresholds
    catalogue: Mapping[str, FindingTemplate]

    def finding(
        self, finding_id: str, evidence: Iterable[str], *, severity: Severity | None = None
    ) -> Finding:
        return self.catalogue[finding_id].finding(evidence, severity=severity)


def _severity(text: object, where: str) -> Severity:
    if not isinstance(text, str) or text.upper() not in Severity.__members__:
        raise ValueError(f"{BASELINE_FILE}: {where}: unknown severity {text!r}")
    return Severity[text.upper()]


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{BASELINE_FILE}: {where}: expected a list of strings")
    return tuple(value)


def parse_baseline(document: Mapping[str, Any]) -> Baseline:
    """A Baseline from the JSON document; a malformed file is a ValueError naming the field."""
    raw_thresholds = document["thresholds"]
    # Field types are strings under `from __future__ import annotations`.
    number_fields = [item.name for item in fields(Thresholds) if item.type == "int"]
    numbers: dict[str, int] = {}
    for name in number_fields:
        value = raw_thresholds.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{BASELINE_FILE}: thresholds.{name}: expected an integer")
        numbers[name] = value
    thresholds = Thresholds(
        **numbers,
        sweet32_encryption=frozenset(
            _strings(raw_thresholds.get("sweet32_encryption"), "thresholds.sweet32_encryption")
        ),
        weak_signature_hashes=frozenset(
            _strings(
                raw_thresholds.get("weak_signature_hashes"), "thresholds.weak_signature_hashes"
            )
        ),
        weak_signature_high_hashes=frozenset(
            _strings(
                raw_thresholds.get("weak_signature_high_hashes"),
                "thresholds.weak_signature_high_hashes",
            )
        ),
    )
    catalogue: dict[str, FindingTemplate] = {}
    for finding_id, entry in document["findings"].items():
        where = f"findings.{finding_id}"
        title, explanation = entry.get("title"), entry.get("explanation")
        if not isinstance(title, str) or not isinstance(explanation, str):
            raise TypeError(f"{BASELINE_FILE}: {where}: title and explanation must be strings")
        catalogue[finding_id] = FindingTemplate(
            id=finding_id,
            severity=_severity(entry.get("severity"), where),
            title=title,
            explanation=explanation,
            references=_strings(entry.get("references", []), f"{where}.references"),
        )
    return Baseline(
        sources=_strings(document.get("_source", []), "_source"),
        thresholds=thresholds,
        catalogue=catalogue,
    )


def finding_for(
    finding_id: str, evidence: Sequence[str], severity: Severity | None = None
) -> list[Finding]:
    """The catalogue's finding for `finding_id` when there is evidence, else nothing."""
    if not evidence:
        return []
    return [load_baseline().finding(finding_id, evidence, severity=severity)]


@cache
def load_baseline() -> Baseline:
    """The packaged baseline, read once."""
    text = resources.files("protoaudit.policy").joinpath("data", BASELINE_FILE).read_text("utf-8")
    return parse_baseline(json.loads(text))
