"""Rules over what DNSSEC validation found: the verdict per name, and each zone's choices.

The facts are `DnssecStatus` (one name and type, with its chain of trust) and
`DnssecZone` observations. A zone that appears in several chains is judged
once. What an algorithm or digest type is worth comes from the IANA registries
with RFC 8624's requirements (registry/data/dnssec-algorithms.csv,
ds-digest-types.csv); thresholds, severities and wording are in
data/protoaudit_dnssec_baseline.json.

Signature expiry depends on the time, so those rules take a clock
(`dnssec_rules(clock)`); DNSSEC_RULES uses the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from protoaudit.observations import Observation
from protoaudit.observations_dns import DnssecSignature, DnssecStatus, DnssecZone
from protoaudit.policy.baseline import (
    DNSSEC_BASELINE_FILE,
    finding_for,
    read_int_thresholds,
)
from protoaudit.policy.findings import Finding, Rule
from protoaudit.registry.dnssec import dnssec_algorithm, ds_digest_type

Clock = Callable[[], datetime]
RSA_ALGORITHMS = frozenset({1, 5, 7, 8, 10})
SHA1_DIGEST = 1


@dataclass(frozen=True, slots=True)
class DnssecThresholds:
    rsa_key_bits_min: int
    signature_expires_soon_days: int
    nsec3_iterations_max: int


@cache
def dnssec_thresholds() -> DnssecThresholds:
    return read_int_thresholds(DNSSEC_BASELINE_FILE, DnssecThresholds)


def _statuses(observations: Sequence[Observation]) -> list[DnssecStatus]:
    return [o for o in observations if isinstance(o, DnssecStatus)]


def zones(observations: Sequence[Observation]) -> list[DnssecZone]:
    """Every zone seen, once (the first time it appears), in order."""
    seen: dict[str, DnssecZone] = {}
    for observation in observations:
        found = (
            observation.chain
            if isinstance(observation, DnssecStatus)
            else (observation,)
            if isinstance(observation, DnssecZone)
            else ()
        )
        for zone in found:
            seen.setdefault(zone.zone.lower(), zone)
    return list(seen.values())


def _algorithm_label(number: int) -> str:
    return f"{dnssec_algorithm(number).mnemonic} ({number})"


def _unique(lines: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(lines))


def _island(zone: DnssecZone) -> bool:
    return zone.status == "insecure" and not zone.ds and any(k.zone_key for k in zone.dnskeys)


def rule_status(observations: Sequence[Observation]) -> list[Finding]:
    evidence: dict[str, list[str]] = {
        "dnssec.bogus": [],
        "dnssec.insecure": [],
        "dnssec.island": [],
    }
    evidence["dnssec.indeterminate"] = []
    for status in _statuses(observations):
        line = f"{status.name} {status.rdtype}: {status.status}"
        line += f" ({status.reason}): {status.detail}" if status.reason else ""
        if status.status == "insecure":
            islands = [zone for zone in status.chain if _island(zone)]
            for zone in islands:
                keys = sum(1 for k in zone.dnskeys if k.zone_key)
                evidence["dnssec.island"].append(
                    f"{zone.zone}: {keys} DNSKEY(s), and {zone.parent or 'its parent'}"
                    f" proves there is no DS ({zone.detail})"
                )
            evidence["dnssec.insecure"].append(line)
        elif status.status in ("bogus", "indeterminate"):
            evidence[f"dnssec.{status.status}"].append(line)
    return [f for fid, lines in evidence.items() for f in finding_for(fid, _unique(lines))]


def rule_algorithms(observations: Sequence[Observation]) -> list[Finding]:
    must_not: list[str] = []
    deprecated: list[str] = []
    for zone in zones(observations):
        for key in zone.dnskeys:
            if not key.zone_key:
                continue
            algorithm = dnssec_algorithm(key.algorithm)
            line = f"{zone.zone}: key {key.key_tag} is {_algorithm_label(key.algorithm)}"
            if algorithm.signing == "MUST NOT":
                must_not.append(f"{line} (RFC 8624: MUST NOT sign)")
            elif algorithm.signing == "NOT RECOMMENDED" or algorithm.deprecated_by:
                why = algorithm.deprecated_by or "RFC 8624"
                deprecated.append(
                    f"{line} ({why}: {algorithm.signing or 'deprecated'} for signing)"
                )
    return [
        *finding_for("dnssec.algorithm_must_not", _unique(must_not)),
        *finding_for("dnssec.algorithm_deprecated", _unique(deprecated)),
    ]


def rule_ds_records(observations: Sequence[Observation]) -> list[Finding]:
    sha1: list[str] = []
    unmatched: list[str] = []
    for zone in zones(observations):
        if zone.trust_anchor:
            continue
        matched = any(ds.matched_key_tag is not None for ds in zone.ds)
        for ds in zone.ds:
            label = f"{zone.zone}: DS {ds.key_tag} {ds.algorithm} {ds.digest_type}"
            if ds.digest_type == SHA1_DIGEST:
                sha1.append(f"{label} ({ds_digest_type(ds.digest_type).description})")
            if matched and ds.matched_key_tag is None:
                unmatched.append(f"{label}: no DNSKEY of the zone has this digest")
    return [
        *finding_for("dnssec.ds_digest_sha1", _unique(sha1)),
        *finding_for("dnssec.ds_unmatched", _unique(unmatched)),
    ]


def rule_rsa_key_small(observations: Sequence[Observation]) -> list[Finding]:
    minimum = dnssec_thresholds().rsa_key_bits_min
    evidence = [
        f"{zone.zone}: key {key.key_tag} ({_algorithm_label(key.algorithm)}) is {key.key_bits} bits"
        for zone in zones(observations)
        for key in zone.dnskeys
        if key.algorithm in RSA_ALGORITHMS and 0 < key.key_bits < minimum
    ]
    return finding_for("dnssec.rsa_key_small", _unique(evidence))


def rule_nsec3_parameters(observations: Sequence[Observation]) -> list[Finding]:
    limit = dnssec_thresholds().nsec3_iterations_max
    evidence: list[str] = []

    def judge(owner: str, iterations: int | None, salt: str | None) -> None:
        if iterations is None:
            return
        problems = []
        if iterations > limit:
            problems.append(f"{iterations} extra iterations")
        if salt:
            problems.append(f"salt {salt}")
        if problems:
            evidence.append(f"{owner}: NSEC3 with " + " and ".join(problems))

    for zone in zones(observations):
        judge(zone.zone, zone.nsec3_iterations, zone.nsec3_salt_hex)
    for status in _statuses(observations):
        denial = status.denial
        if denial is not None and denial.mechanism == "nsec3":
            judge(f"{status.name} (denial)", denial.nsec3_iterations, denial.nsec3_salt_hex)
    return finding_for("dnssec.nsec3_parameters", _unique(evidence))


def _signatures(observations: Sequence[Observation]) -> Iterator[tuple[str, DnssecSignature]]:
    for zone in zones(observations):
        for signature in (*zone.dnskey_signatures, *zone.ds_signatures):
            yield zone.zone, signature
    for status in _statuses(observations):
        for signature in status.answer_signatures:
            yield status.name, signature


def signature_rules(clock: Clock) -> tuple[Rule, ...]:
    def rule_expiring(observations: Sequence[Observation]) -> list[Finding]:
        now = clock()
        soon = now + timedelta(days=dnssec_thresholds().signature_expires_soon_days)
        evidence = [
            f"{owner} {signature.type_covered}: RRSIG by key {signature.key_tag}"
            f" ({signature.signer})"
            f" expires {signature.expiration:%Y-%m-%d %H:%M}Z"
            for owner, signature in _signatures(observations)
            if signature.valid and now <= signature.expiration < soon
        ]
        return finding_for("dnssec.signature_expires_soon", _unique(evidence))

    return (rule_expiring,)


def rule_signature_validity_short(observations: Sequence[Observation]) -> list[Finding]:
    evidence = []
    for owner, signature in _signatures(observations):
        validity = signature.expiration - signature.inception
        if validity < timedelta(seconds=signature.original_ttl):
            evidence.append(
                f"{owner} {signature.type_covered}: RRSIG by key {signature.key_tag} is valid for"
                f" {validity}, the TTL is {signature.original_ttl} s"
            )
    return finding_for("dnssec.signature_validity_short", _unique(evidence))


def rule_no_cds(observations: Sequence[Observation]) -> list[Finding]:
    # Only the zone each name lives in: its ancestors are other operators' business.
    own = [status.chain[-1] for status in _statuses(observations) if status.chain]
    evidence = [
        f"{zone.zone}: neither CDS nor CDNSKEY"
        for zone in own
        if zone.status == "secure"
        and not zone.trust_anchor
        and zone.cds_present is False
        and zone.cdnskey_present is False
    ]
    return finding_for("dnssec.no_cds", _unique(evidence))


def utc_now() -> datetime:
    return datetime.now(UTC)


def dnssec_rules(clock: Clock = utc_now) -> tuple[Rule, ...]:
    """Every DNSSEC rule, signature expiry judged at `clock()`."""
    return (
        rule_status,
        rule_algorithms,
        rule_ds_records,
        rule_rsa_key_small,
        rule_nsec3_parameters,
        *signature_rules(clock),
        rule_signature_validity_short,
        rule_no_cds,
    )


# The wall clock: observations do not carry the time of the scan.
DNSSEC_RULES: tuple[Rule, ...] = dnssec_rules(utc_now)
