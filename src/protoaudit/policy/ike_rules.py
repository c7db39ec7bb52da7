"""Rules over what an IKE responder accepted before authentication (IKEv2 and IKEv1).

The facts come from the IKE probe (observations_ike); which algorithm numbers
are weak and every finding's severity, wording and references live in
`data/protoaudit_ike_baseline.json` (RFC 8247, RFC 8221, RFC 9395, NIST). The
rules only match facts to that data. Names in evidence come from the registry.

Until the integrator lists the IKE catalogue in `baseline.CATALOGUE_FILES`,
the rules read it themselves (`load_catalogue_file`), so they give the same
Finding objects either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from protoaudit.observations import Observation
from protoaudit.observations_ike import (
    IkeAlgorithm,
    IkeV1AggressiveMode,
    IkeV1MainMode,
    IkeV2SaInit,
)
from protoaudit.policy.baseline import load_catalogue_file, read_data_file
from protoaudit.policy.facts import of_kind
from protoaudit.policy.findings import Finding, Rule, Severity
from protoaudit.registry import ike as registry

IKE_BASELINE_FILE = "protoaudit_ike_baseline.json"

__all__ = ["IKE_BASELINE_FILE", "IKE_RULES", "ike_algorithms", "ike_finding"]


@dataclass(frozen=True, slots=True)
class IkeAlgorithms:
    broken_groups: frozenset[int]
    weak_groups: frozenset[int]
    broken_encryption_v2: frozenset[int]
    block64_encryption_v2: frozenset[int]
    broken_encryption_v1: frozenset[int]
    block64_encryption_v1: frozenset[int]
    md5_v2_prf: frozenset[int]
    md5_v2_integrity: frozenset[int]
    sha1_v2_prf: frozenset[int]
    sha1_v2_integrity: frozenset[int]
    broken_v2_integrity: frozenset[int]
    md5_v1_hash: frozenset[int]
    sha1_v1_hash: frozenset[int]
    psk_auth_v1: frozenset[int]
    post_quantum_methods: frozenset[int]


@cache
def ike_algorithms() -> IkeAlgorithms:
    raw = read_data_file(IKE_BASELINE_FILE)["algorithms"]
    values: dict[str, frozenset[int]] = {}
    for name in IkeAlgorithms.__dataclass_fields__:
        entry = raw.get(name)
        if not isinstance(entry, list) or not all(isinstance(v, int) for v in entry):
            raise TypeError(f"{IKE_BASELINE_FILE}: algorithms.{name}: expected a list of integers")
        values[name] = frozenset(entry)
    return IkeAlgorithms(**values)


def ike_finding(
    finding_id: str, evidence: Sequence[str], severity: Severity | None = None
) -> list[Finding]:
    """The IKE catalogue's finding when there is evidence, else nothing (as finding_for)."""
    if not evidence:
        return []
    template = load_catalogue_file(IKE_BASELINE_FILE)[finding_id]
    return [template.finding(list(dict.fromkeys(evidence)), severity=severity)]


def _group(code: int) -> str:
    return f"group {code} ({registry.key_exchange_method(code).name})"


def _v2_cipher(algorithm: IkeAlgorithm) -> str:
    name = registry.transform_id(registry.ENCRYPTION, algorithm.id).name
    return name if algorithm.key_length is None else f"{name}-{algorithm.key_length}"


def _v1(attribute: int, value: int) -> str:
    return registry.v1_attribute_value(attribute, value).name


def _v1_cipher(algorithm: IkeAlgorithm) -> str:
    name = _v1(1, algorithm.id)
    return name if algorithm.key_length is None else f"{name}-{algorithm.key_length}"


def _v2(observations: Sequence[Observation]) -> Iterable[IkeV2SaInit]:
    return of_kind(observations, IkeV2SaInit)


def _main(observations: Sequence[Observation]) -> Iterable[IkeV1MainMode]:
    return of_kind(observations, IkeV1MainMode)


# --- the rules ----------------------------------------------------------------------------


def rule_aggressive_mode(observations: Sequence[Observation]) -> list[Finding]:
    psk = ike_algorithms().psk_auth_v1
    evidence = [
        f"Aggressive Mode answered identity {seen.identity!r} with a "
        f"{seen.hash_length}-byte HASH_R for {_v1(3, seen.accepted.auth)} "
        f"({_v1(1, seen.accepted.encryption)}, {_v1(2, seen.accepted.hash)}, "
        f"{_group(seen.accepted.group)})"
        for seen in of_kind(observations, IkeV1AggressiveMode)
        if seen.hash_length and seen.accepted is not None and seen.accepted.auth in psk
    ]
    return ike_finding("ike.aggressive_mode_psk", evidence)


def rule_v1_accepted(observations: Sequence[Observation]) -> list[Finding]:
    evidence = [
        f"Main Mode accepted {len(seen.accepted)} transform(s)"
        for seen in _main(observations)
        if seen.accepted
    ]
    evidence += [
        "Aggressive Mode answered with an SA"
        for seen in of_kind(observations, IkeV1AggressiveMode)
        if seen.accepted is not None
    ]
    return ike_finding("ike.v1_accepted", evidence)


def rule_dh_groups(observations: Sequence[Observation]) -> list[Finding]:
    data = ike_algorithms()
    evidence, broken = [], False
    groups = [("IKEv2", g) for seen in _v2(observations) for g in seen.key_exchange]
    groups += [("IKEv1", g) for seen in _main(observations) for g in seen.groups]
    for version, code in groups:
        if code in data.broken_groups:
            broken = True
            evidence.append(f"{version}: {_group(code)} is accepted (broken)")
        elif code in data.weak_groups:
            evidence.append(f"{version}: {_group(code)} is accepted")
    return ike_finding("ike.dh_group_weak", evidence, Severity.HIGH if broken else None)


def rule_encryption(observations: Sequence[Observation]) -> list[Finding]:
    data = ike_algorithms()
    broken, block64 = [], []
    for seen in _v2(observations):
        for algorithm in seen.encryption:
            if algorithm.id in data.broken_encryption_v2:
                broken.append(f"IKEv2: {_v2_cipher(algorithm)} is accepted")
            elif algorithm.id in data.block64_encryption_v2:
                block64.append(f"IKEv2: {_v2_cipher(algorithm)} is accepted")
    for main in _main(observations):
        for algorithm in main.encryption:
            if algorithm.id in data.broken_encryption_v1:
                broken.append(f"IKEv1: {_v1_cipher(algorithm)} is accepted")
            elif algorithm.id in data.block64_encryption_v1:
                block64.append(f"IKEv1: {_v1_cipher(algorithm)} is accepted")
    return ike_finding("ike.encryption_broken", broken) + ike_finding(
        "ike.encryption_64bit_block", block64
    )


def rule_integrity(observations: Sequence[Observation]) -> list[Finding]:
    data = ike_algorithms()
    md5, sha1 = [], []
    for seen in _v2(observations):
        for code in seen.prf:
            name = registry.transform_id(registry.PRF, code).name
            if code in data.md5_v2_prf:
                md5.append(f"IKEv2 PRF: {name} is accepted")
            elif code in data.sha1_v2_prf:
                sha1.append(f"IKEv2 PRF: {name} is accepted")
        for code in seen.integrity:
            name = registry.transform_id(registry.INTEGRITY, code).name
            if code in data.md5_v2_integrity or code in data.broken_v2_integrity:
                md5.append(f"IKEv2 integrity: {name} is accepted")
            elif code in data.sha1_v2_integrity:
                sha1.append(f"IKEv2 integrity: {name} is accepted")
    for main in _main(observations):
        for code in main.hash:
            if code in data.md5_v1_hash:
                md5.append(f"IKEv1 hash: {_v1(2, code)} is accepted")
            elif code in data.sha1_v1_hash:
                sha1.append(f"IKEv1 hash: {_v1(2, code)} is accepted")
    return ike_finding("ike.integrity_md5", md5) + ike_finding("ike.integrity_sha1", sha1)


def rule_post_quantum(observations: Sequence[Observation]) -> list[Finding]:
    evidence = []
    methods = ike_algorithms().post_quantum_methods
    for seen in _v2(observations):
        enumerated = seen.status == "enumerated" and seen.key_exchange
        quantum = set(seen.additional_key_exchange) | set(seen.key_exchange)
        if enumerated and not quantum & methods:
            groups = ", ".join(_group(g) for g in seen.key_exchange)
            evidence.append(f"IKEv2 key exchange: {groups}; no ML-KEM additional key exchange")
    return ike_finding("ike.no_post_quantum", evidence)


def rule_post_quantum_optional(observations: Sequence[Observation]) -> list[Finding]:
    """ML-KEM taken when offered, yet IKE SAs without it accepted too (RFC 9370 NONE)."""
    evidence = []
    methods = ike_algorithms().post_quantum_methods
    for seen in _v2(observations):
        quantum = [c for c in seen.additional_key_exchange if c in methods]
        if not quantum or seen.additional_key_exchange_required is not False:
            continue
        names = ", ".join(registry.key_exchange_method(c).name for c in quantum)
        text = f"IKEv2 takes {names} as an additional key exchange, and accepts IKE SAs without one"
        if seen.first_choice_additional_required:
            text += " (its first choice's transforms alone require it; others do not)"
        evidence.append(text)
    return ike_finding("ike.post_quantum_optional", evidence)


def rule_implementation(observations: Sequence[Observation]) -> list[Finding]:
    evidence = []
    seen_vids: list[str] = []
    for observation in observations:
        if isinstance(observation, IkeV2SaInit | IkeV1MainMode | IkeV1AggressiveMode):
            seen_vids += [v for v in observation.vendor_ids if v not in seen_vids]
    for value in seen_vids:
        try:
            data = bytes.fromhex(value)
        except ValueError:
            continue
        entry = registry.vendor_id(data)
        if entry.kind == "implementation":
            version = registry.vendor_version(entry, data)
            evidence.append(
                f"Vendor ID {value} names {entry.implementation}"
                + (f" {version}" if version else "")
            )
    return ike_finding("ike.implementation_disclosed", evidence)


IKE_RULES: tuple[Rule, ...] = (
    rule_aggressive_mode,
    rule_v1_accepted,
    rule_dh_groups,
    rule_encryption,
    rule_integrity,
    rule_post_quantum,
    rule_post_quantum_optional,
    rule_implementation,
)
