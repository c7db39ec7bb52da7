"""The baselines: thresholds and the finding catalogue, loaded from data files.

Everything a rule needs to *judge* (how many bits are enough, how severe a
miss is, what to tell the reader, which RFC or CVE backs it) lives in
`data/protoaudit_tls_baseline.json` and, for SSH and plaintext remote login,
`data/protoaudit_ssh_baseline.json`; each file's `_source` field names the
published guidance its values come from. Rules stay small: they look for the
fact and ask the catalogue for the finding.

`load_baseline` is the TLS file (thresholds and catalogue); `load_catalogue`
merges the findings of every file, and a finding id may live in only one.
Each protocol's rules read their own thresholds from their own file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, TypeVar

from protoaudit.policy.findings import Finding, Severity

ThresholdsT = TypeVar("ThresholdsT")
BASELINE_FILE = "protoaudit_tls_baseline.json"
SSH_BASELINE_FILE = "protoaudit_ssh_baseline.json"
DNSSEC_BASELINE_FILE = "protoaudit_dnssec_baseline.json"
CATALOGUE_FILES = (
    BASELINE_FILE,
    SSH_BASELINE_FILE,
    DNSSEC_BASELINE_FILE,
    "protoaudit_ike_baseline.json",
    "protoaudit_openvpn_baseline.json",
    "protoaudit_socks_baseline.json",
    "protoaudit_pgp_baseline.json",
)


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


def _severity(text: object, where: str, file_name: str = BASELINE_FILE) -> Severity:
    if not isinstance(text, str) or text.upper() not in Severity.__members__:
        raise ValueError(f"{file_name}: {where}: unknown severity {text!r}")
    return Severity[text.upper()]


def _strings(value: object, where: str, file_name: str = BASELINE_FILE) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{file_name}: {where}: expected a list of strings")
    return tuple(value)


def parse_catalogue(
    findings: Mapping[str, Any], file_name: str = BASELINE_FILE
) -> dict[str, FindingTemplate]:
    """The `findings` object of one data file as templates; a malformed entry names its field."""
    catalogue: dict[str, FindingTemplate] = {}
    for finding_id, entry in findings.items():
        where = f"findings.{finding_id}"
        title, explanation = entry.get("title"), entry.get("explanation")
        if not isinstance(title, str) or not isinstance(explanation, str):
            raise TypeError(f"{file_name}: {where}: title and explanation must be strings")
        catalogue[finding_id] = FindingTemplate(
            id=finding_id,
            severity=_severity(entry.get("severity"), where, file_name),
            title=title,
            explanation=explanation,
            references=_strings(entry.get("references", []), f"{where}.references", file_name),
        )
    return catalogue


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
    return Baseline(
        sources=_strings(document.get("_source", []), "_source"),
        thresholds=thresholds,
        catalogue=parse_catalogue(document["findings"]),
    )


def finding_for(
    finding_id: str, evidence: Sequence[str], severity: Severity | None = None
) -> list[Finding]:
    """The catalogue's finding for `finding_id` when there is evidence, else nothing."""
    if not evidence:
        return []
    return [load_catalogue()[finding_id].finding(evidence, severity=severity)]


def read_int_thresholds(file_name: str, shape: type[ThresholdsT]) -> ThresholdsT:
    """A data file's "thresholds", one integer per field of `shape` (a dataclass)."""
    raw = read_data_file(file_name)["thresholds"]
    values: dict[str, int] = {}
    for item in fields(shape):  # type: ignore[arg-type]
        value = raw.get(item.name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{file_name}: thresholds.{item.name}: expected an integer")
        values[item.name] = value
    return shape(**values)


def read_data_file(file_name: str) -> Any:
    """One packaged JSON data file, parsed."""
    text = resources.files("protoaudit.policy").joinpath("data", file_name).read_text("utf-8")
    return json.loads(text)


@cache
def load_baseline() -> Baseline:
    """The packaged TLS baseline, read once."""
    return parse_baseline(read_data_file(BASELINE_FILE))


@cache
def load_catalogue_file(file_name: str) -> Mapping[str, FindingTemplate]:
    """The findings of one catalogue file, read once."""
    if file_name == BASELINE_FILE:
        return load_baseline().catalogue
    return MappingProxyType(parse_catalogue(read_data_file(file_name)["findings"], file_name))


@cache
def load_catalogue() -> Mapping[str, FindingTemplate]:
    """Every finding of every catalogue file; an id found in two files is a ValueError."""
    merged: dict[str, FindingTemplate] = {}
    for file_name in CATALOGUE_FILES:
        for finding_id, template in load_catalogue_file(file_name).items():
            if finding_id in merged:
                raise ValueError(f"{file_name}: findings.{finding_id}: already in another file")
            merged[finding_id] = template
    return MappingProxyType(merged)
