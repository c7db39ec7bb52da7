"""Rules over what an OpenVPN server showed a stranger: its answer to a reset, and its TLS.

The facts come from probes/openvpn.py (observations_openvpn.py); thresholds,
severities and wording live in data/protoaudit_openvpn_baseline.json.
Silence to an unauthenticated reset is the configuration OpenVPN's security
guidance asks for (tls-auth, tls-crypt): an info finding that says so, and
that it cannot be told apart from a port where nothing answers.

Certificate validity depends on the time, so `openvpn_rules(clock)` takes a
clock; OPENVPN_RULES uses the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from protoaudit.observations import CertificateInfo, Observation
from protoaudit.observations_openvpn import OpenVpnReset, OpenVpnTlsHandshake, OpenVpnTlsVersion
from protoaudit.policy.baseline import load_catalogue_file, read_int_thresholds
from protoaudit.policy.facts import of_kind
from protoaudit.policy.findings import Finding, Rule, Severity
from protoaudit.proto.openvpn.packets import Opcode, opcode_name
from protoaudit.proto.tls.constants import ProtocolVersion, version_name

OPENVPN_BASELINE_FILE = "protoaudit_openvpn_baseline.json"
WEAK_HASHES = frozenset({"sha1", "md5"})
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class OpenVpnThresholds:
    rsa_key_bits_min: int
    ec_key_bits_min: int


@cache
def openvpn_thresholds() -> OpenVpnThresholds:
    return read_int_thresholds(OPENVPN_BASELINE_FILE, OpenVpnThresholds)


def _finding(
    finding_id: str, evidence: Sequence[str], severity: Severity | None = None
) -> list[Finding]:
    if not evidence:
        return []
    template = load_catalogue_file(OPENVPN_BASELINE_FILE)[finding_id]
    return [template.finding(evidence, severity=severity)]


def utc_now() -> datetime:
    return datetime.now(UTC)


def _v2_resets(observations: Sequence[Observation]) -> list[OpenVpnReset]:
    return [
        reset
        for reset in of_kind(observations, OpenVpnReset)
        if reset.reset_opcode == Opcode.P_CONTROL_HARD_RESET_CLIENT_V2
    ]


def rule_unauthenticated_reset(observations: Sequence[Observation]) -> list[Finding]:
    evidence = [
        f"{reset.transport.upper()}: {opcode_name(reset.reset_opcode)} without an HMAC was "
        f"answered with {opcode_name(reset.reply_opcode or 0)}"
        for reset in of_kind(observations, OpenVpnReset)
        if reset.answered
    ]
    return _finding("openvpn.unauthenticated_reset", evidence)


def rule_hmac_firewall(observations: Sequence[Observation]) -> list[Finding]:
    resets = _v2_resets(observations)
    if not resets or any(reset.answered for reset in resets):
        return []
    evidence = [
        f"{reset.transport.upper()}: {reset.outcome}: {reset.detail}"
        for reset in resets
        if reset.outcome in ("silent", "closed")
    ]
    return _finding("openvpn.hmac_firewall", evidence)


def rule_legacy_version(observations: Sequence[Observation]) -> list[Finding]:
    evidence = [
        f"{version.transport.upper()}: {version_name(version.version)} accepted ({version.detail})"
        for version in of_kind(observations, OpenVpnTlsVersion)
        if version.supported and version.version < ProtocolVersion.TLS1_2
    ]
    return _finding("openvpn.tls.legacy_version", evidence)


def _chains(observations: Sequence[Observation]) -> list[tuple[CertificateInfo, ...]]:
    return [h.certificates for h in of_kind(observations, OpenVpnTlsHandshake) if h.certificates]


def _label(certificate: CertificateInfo, position: int) -> str:
    role = "server certificate" if position == 0 else f"chain certificate {position}"
    return f"{role} {certificate.subject!r}"


def rule_weak_key(observations: Sequence[Observation]) -> list[Finding]:
    limits = openvpn_thresholds()
    evidence = []
    for chain in _chains(observations):
        for position, certificate in enumerate(chain):
            weak = (
                certificate.key_type in ("RSA", "DSA")
                and certificate.key_bits < limits.rsa_key_bits_min
            ) or (certificate.key_type == "EC" and certificate.key_bits < limits.ec_key_bits_min)
            if weak:
                evidence.append(
                    f"{_label(certificate, position)}: {certificate.key_type} "
                    f"{certificate.key_bits} bits"
                )
    return _finding("openvpn.certificate.weak_key", evidence)


def rule_weak_signature(observations: Sequence[Observation]) -> list[Finding]:
    evidence = [
        f"{_label(certificate, position)}: signed with {certificate.signature_algorithm}"
        for chain in _chains(observations)
        for position, certificate in enumerate(chain)
        # A root's signature over itself protects nothing: its key is what is trusted.
        if not certificate.self_issued and (certificate.signature_hash or "") in WEAK_HASHES
    ]
    return _finding("openvpn.certificate.weak_signature", evidence)


def openvpn_rules(clock: Clock = utc_now) -> tuple[Rule, ...]:
    """Every OpenVPN rule, certificate validity judged at `clock()`."""

    def rule_expired(observations: Sequence[Observation]) -> list[Finding]:
        now = clock()
        evidence = []
        for chain in _chains(observations):
            for position, certificate in enumerate(chain):
                if certificate.not_after < now:
                    evidence.append(
                        f"{_label(certificate, position)}: expired {certificate.not_after:%Y-%m-%d}"
                    )
                elif certificate.not_before > now:
                    evidence.append(
                        f"{_label(certificate, position)}: not valid before "
                        f"{certificate.not_before:%Y-%m-%d}"
                    )
        return _finding("openvpn.certificate.expired", evidence)

    return (
        rule_unauthenticated_reset,
        rule_hmac_firewall,
        rule_legacy_version,
        rule_weak_key,
        rule_weak_signature,
        rule_expired,
    )


OPENVPN_RULES: tuple[Rule, ...] = openvpn_rules(utc_now)
