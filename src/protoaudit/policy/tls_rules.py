"""Rules over what a TLS server negotiates: versions, cipher suites, key exchange.

Each rule is a pure function `(observations) -> list[Finding]` that returns at
most one finding per id, with one evidence line per fact that triggered it.
Thresholds, severities and wording come from the baseline data file; the
rules only decide which observed facts match.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from protoaudit.observations import (
    CipherSuiteSupport,
    ConnectionFailure,
    EphemeralKeyExchange,
    KeyExchangeGroups,
    Observation,
    ProbeFailure,
)
from protoaudit.policy.baseline import Thresholds, finding_for, load_baseline
from protoaudit.policy.facts import accepted_suites, of_kind, supported_versions, version_verdicts
from protoaudit.policy.findings import Finding, Rule, Severity
from protoaudit.policy.names import (
    group_label,
    lookup_group,
    lookup_suite,
    suite_label,
    version_name,
)
from protoaudit.proto.tls.constants import ProtocolVersion
from protoaudit.registry.tls import CipherSuite, Group

# --- versions -------------------------------------------------------------------------


def _version_rule(finding_id: str, version: int) -> Rule:
    def rule(observations: Sequence[Observation]) -> list[Finding]:
        seen = version_verdicts(observations).get(version)
        if seen is None or not seen.supported:
            return []
        return finding_for(finding_id, [f"{version_name(version)}: supported ({seen.detail})"])

    rule.__name__ = rule.__qualname__ = f"rule_{finding_id.replace('.', '_')}"
    return rule


def rule_no_tls1_3(observations: Sequence[Observation]) -> list[Finding]:
    verdicts = version_verdicts(observations)
    tls13 = verdicts.get(ProtocolVersion.TLS1_3)
    if tls13 is None or tls13.supported or not supported_versions(observations):
        return []  # not tested, supported, or nothing works at all (a connection finding)
    return finding_for("tls.version.no_tls1_3", [f"TLS 1.3: not supported ({tls13.detail})"])


def rule_no_tls1_2(observations: Sequence[Observation]) -> list[Finding]:
    verdicts = version_verdicts(observations)
    tls12, tls13 = verdicts.get(ProtocolVersion.TLS1_2), verdicts.get(ProtocolVersion.TLS1_3)
    supported = supported_versions(observations)
    if tls12 is None or tls13 is None or tls12.supported or tls13.supported or not supported:
        return []
    return finding_for(
        "tls.version.no_tls1_2",
        [
            f"TLS 1.2: not supported ({tls12.detail})",
            f"TLS 1.3: not supported ({tls13.detail})",
            f"highest version supported: {version_name(max(supported))}",
        ],
    )


# --- cipher suites ----------------------------------------------------------------------

SuitePredicate = Callable[[CipherSuite, Thresholds], bool]

# Which accepted suites each finding is about. The order is the order in which
# a suite's problems are listed; a suite can match several.
CIPHER_CLASSES: tuple[tuple[str, SuitePredicate], ...] = (
    ("tls.cipher.null", lambda suite, _: suite.encryption == "NULL"),
    ("tls.cipher.anonymous", lambda suite, _: suite.authentication == "anon"),
    ("tls.cipher.export", lambda suite, _: suite.export),
    ("tls.cipher.rc4", lambda suite, _: suite.encryption.startswith("RC4")),
    ("tls.cipher.des", lambda suite, _: suite.encryption.startswith("DES")),
    (
        "tls.cipher.3des_sweet32",
        lambda suite, limits: suite.encryption in limits.sweet32_encryption,
    ),
    (
        "tls.cipher.no_forward_secrecy",
        lambda suite, _: not suite.forward_secret and not suite.tls13,
    ),
)


def _is_weak(suite: CipherSuite | None, version: int, limits: Thresholds) -> bool:
    """A suite no client should end up with: any cipher finding, or CBC where AEAD exists."""
    if suite is None:
        return False
    if any(matches(suite, limits) for _, matches in CIPHER_CLASSES):
        return True
    return version >= ProtocolVersion.TLS1_2 and not suite.aead


def _cipher_rule(finding_id: str, matches: SuitePredicate) -> Rule:
    def rule(observations: Sequence[Observation]) -> list[Finding]:
        limits = load_baseline().thresholds
        evidence = [
            f"{version_name(version)}: server accepted {suite_label(code)}"
            for version, code, suite in accepted_suites(observations)
            if suite is not None and matches(suite, limits)
        ]
        return finding_for(finding_id, evidence)

    rule.__name__ = rule.__qualname__ = f"rule_{finding_id.replace('.', '_')}"
    return rule


def rule_cbc_only(observations: Sequence[Observation]) -> list[Finding]:
    """TLS 1.2 (or newer) offered with no AEAD suite at all."""
    evidence = []
    for support in of_kind(observations, CipherSuiteSupport):
        if support.version < ProtocolVersion.TLS1_2 or support.version > ProtocolVersion.TLS1_3:
            continue
        suites = [lookup_suite(code) for code in support.accepted]
        known = [suite for suite in suites if suite is not None and not suite.scsv]
        if known and not any(suite.aead for suite in known):
            evidence.append(
                f"{version_name(support.version)}: none of the {len(known)} accepted "
                "cipher suites is AEAD"
            )
    return finding_for("tls.cipher.cbc_only", evidence)


def rule_client_order(observations: Sequence[Observation]) -> list[Finding]:
    limits = load_baseline().thresholds
    evidence = []
    for support in of_kind(observations, CipherSuiteSupport):
        if support.server_order_enforced is not False:
            continue
        weak = [
            code
            for code in support.accepted
            if _is_weak(lookup_suite(code), support.version, limits)
        ]
        if weak:
            evidence.append(
                f"{version_name(support.version)}: server follows the client's order; "
                f"weak suites accepted: {', '.join(suite_label(code) for code in weak)}"
            )
    return finding_for("tls.cipher.client_order", evidence)


# --- key exchange ------------------------------------------------------------------------


def rule_weak_dh(observations: Sequence[Observation]) -> list[Finding]:
    limits = load_baseline().thresholds
    evidence, smallest = [], None
    for exchange in of_kind(observations, EphemeralKeyExchange):
        bits = exchange.dh_prime_bits
        if bits is None or bits >= limits.dh_prime_bits_min:
            continue
        line = (
            f"{version_name(exchange.version)}: {suite_label(exchange.cipher_suite)} "
            f"used a {bits}-bit DH prime"
        )
        if line not in evidence:
            evidence.append(line)
        smallest = bits if smallest is None else min(smallest, bits)
    severity = (
        Severity.HIGH
        if smallest is not None and smallest < limits.dh_prime_bits_high_below
        else None
    )
    return finding_for("tls.kex.weak_dh", evidence, severity)


def is_finite_field(group: Group) -> bool:
    return group.kind == "ffdhe"


def is_weak_group(group: Group, limits: Thresholds) -> bool:
    """Below the baseline's security strength; `group.bits` is security bits, not key size."""
    if is_finite_field(group):
        return group.bits < limits.ffdhe_security_bits_min
    return group.bits < limits.group_security_bits_min


def _strength_words(group: Group) -> str:
    if group.bits == 0:  # arbitrary explicit curves: as strong as whatever the peer sends
        return "with curve parameters of unknown strength"
    return f"of {group.bits}-bit security"


def rule_weak_group(observations: Sequence[Observation]) -> list[Finding]:
    limits = load_baseline().thresholds
    evidence: list[str] = []

    def note(version: int, code: int, how: str) -> None:
        group = lookup_group(code)
        if group is not None and is_weak_group(group, limits):
            evidence.append(
                f"{version_name(version)}: {how} {group_label(code)}, {_strength_words(group)}"
            )

    for groups in of_kind(observations, KeyExchangeGroups):
        for code in groups.accepted:
            note(groups.version, code, "server accepted")
    for exchange in of_kind(observations, EphemeralKeyExchange):
        if exchange.group is not None:
            note(exchange.version, exchange.group, "server chose")
    return finding_for("tls.kex.weak_group", list(dict.fromkeys(evidence)))


# --- failures ------------------------------------------------------------------------------


def _failure_text(*parts: str) -> str:
    return ": ".join(part for part in parts if part)


def rule_connection_failed(observations: Sequence[Observation]) -> list[Finding]:
    evidence = [
        _failure_text(failure.stage, failure.reason, failure.detail)
        for failure in of_kind(observations, ConnectionFailure)
    ]
    return finding_for("tls.connection.failed", evidence)


def rule_probe_failed(observations: Sequence[Observation]) -> list[Finding]:
    evidence = [
        _failure_text(failure.probe, failure.reason, failure.detail)
        for failure in of_kind(observations, ProbeFailure)
    ]
    return finding_for("tls.probe.failed", evidence)


TLS_RULES: tuple[Rule, ...] = (
    _version_rule("tls.version.sslv2", ProtocolVersion.SSL2),
    _version_rule("tls.version.sslv3", ProtocolVersion.SSL3),
    _version_rule("tls.version.tls1_0", ProtocolVersion.TLS1_0),
    _version_rule("tls.version.tls1_1", ProtocolVersion.TLS1_1),
    rule_no_tls1_2,
    rule_no_tls1_3,
    *(_cipher_rule(finding_id, matches) for finding_id, matches in CIPHER_CLASSES),
    rule_cbc_only,
    rule_client_order,
    rule_weak_dh,
    rule_weak_group,
    rule_connection_failed,
    rule_probe_failed,
)
