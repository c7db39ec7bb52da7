"""Rules over what an SSH server offers, and over plaintext remote-login services.

The facts come from the SSH probe: the identification line, the KEXINIT
name-lists, the host keys and certificates seen in completed key exchanges,
the primes a group-exchange server picked, and the authentication methods
listed for an unknown user. What each algorithm name is worth lives in
`data/ssh_algorithms.json`; thresholds, severities and wording live in
`data/protoaudit_ssh_baseline.json`. The rules only match facts to that data.

Evidence names each algorithm and where it was offered ("encryption (both
directions): 3des-cbc — reason"); names come from the peer and are made safe
by each report. Class findings add the references of the algorithms they
list to the catalogue's own.

Host-certificate validity depends on the time; those rules take a clock, so
a test can fix it (`ssh_rules(clock)`). SSH_RULES uses the wall clock, because
the observations do not say when the scan ran.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache

from protoaudit.observations import (
    Observation,
    PlaintextLoginService,
    SshAlgorithms,
    SshAuthMethods,
    SshGexModulus,
    SshHostCertificate,
    SshHostKey,
    SshIdentification,
)
from protoaudit.policy.baseline import (
    SSH_BASELINE_FILE,
    finding_for,
    read_int_thresholds,
)
from protoaudit.policy.facts import of_kind
from protoaudit.policy.findings import Finding, Rule, Severity
from protoaudit.policy.ssh_algorithms import (
    STRICT_KEX_MARKER,
    AlgorithmInfo,
    Offered,
    classify,
    offered_algorithms,
)

PASSWORD_METHODS = ("password", "keyboard-interactive")
PLAINTEXT_FINDINGS = {
    "telnet": "plaintext.telnet",
    "rlogin": "plaintext.rlogin",
    "rsh": "plaintext.rsh",
    "rexec": "plaintext.rexec",
}
_BANNER_SHOWN = 60  # characters of a plaintext service's banner quoted in evidence


@dataclass(frozen=True, slots=True)
class SshThresholds:
    rsa_key_bits_min: int
    rsa_key_bits_high_below: int
    dh_group_bits_min: int
    dh_group_bits_high_below: int
    host_certificate_expires_soon_days: int


@cache
def ssh_thresholds() -> SshThresholds:
    return read_int_thresholds(SSH_BASELINE_FILE, SshThresholds)


def offers(observations: Sequence[Observation]) -> Iterator[Offered]:
    for algorithms in of_kind(observations, SshAlgorithms):
        yield from offered_algorithms(algorithms)


def _with_references(findings: list[Finding], references: Iterable[str]) -> list[Finding]:
    return [
        replace(finding, references=tuple(dict.fromkeys([*finding.references, *references])))
        for finding in findings
    ]


def _unique(lines: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(lines))


def _key_label(key: SshHostKey) -> str:
    return f"host key {key.fingerprint_sha256}"


def _certificate_label(key: SshHostKey, certificate: SshHostCertificate) -> str:
    return (
        f"host certificate {certificate.key_id!r} (serial {certificate.serial}, "
        f"key {key.fingerprint_sha256}, CA {certificate.ca_fingerprint_sha256})"
    )


# --- protocol version -------------------------------------------------------------------


def rule_protocol1(observations: Sequence[Observation]) -> list[Finding]:
    evidence, ssh1_only = [], False
    for identification in of_kind(observations, SshIdentification):
        version = identification.protocol_version
        if version == "1.99":
            evidence.append(
                f"identification {identification.line!r}: version 1.99, SSH-1 next to SSH-2"
            )
        elif version.startswith("1."):
            ssh1_only = True
            evidence.append(
                f"identification {identification.line!r}: version {version}, SSH-1 only"
            )
    return finding_for("ssh.protocol1", evidence, Severity.CRITICAL if ssh1_only else None)


# --- algorithm classes --------------------------------------------------------------------


def _host_key_signatures(
    observations: Sequence[Observation],
) -> Iterator[tuple[AlgorithmInfo, str]]:
    """(the algorithm's entry, evidence) for weak signatures seen in completed exchanges."""
    for key in of_kind(observations, SshHostKey):
        info = classify("host_key", key.algorithm)
        if info.finding is not None:
            yield info, f"{_key_label(key)}: the server signed with {key.algorithm}"
        certificate = key.certificate
        if certificate is None:
            continue
        info = classify("host_key", certificate.signature_algorithm)
        if info.finding is not None:
            yield (
                info,
                f"{_certificate_label(key, certificate)}: the CA signed it with "
                f"{certificate.signature_algorithm}",
            )


def rule_algorithm_classes(observations: Sequence[Observation]) -> list[Finding]:
    """One finding per class id the data names (ssh.kex.broken, ssh.cipher.cbc …)."""
    evidence: dict[str, list[str]] = defaultdict(list)
    references: dict[str, list[str]] = defaultdict(list)

    def note(info: AlgorithmInfo, line: str) -> None:
        if info.finding is not None:
            evidence[info.finding].append(line)
            references[info.finding].extend(info.references)

    for offer in offers(observations):
        note(offer.info, f"{offer.place}: {offer.name} — {offer.info.reason}")
    for info, line in _host_key_signatures(observations):
        note(info, line)
    findings: list[Finding] = []
    for finding_id, lines in evidence.items():
        findings += _with_references(
            finding_for(finding_id, _unique(lines)), references[finding_id]
        )
    return findings


def rule_unknown_algorithms(observations: Sequence[Observation]) -> list[Finding]:
    evidence = [
        f"{offer.place}: {offer.name} — {offer.info.reason}"
        for offer in offers(observations)
        if offer.info.classification == "unknown"
    ]
    return finding_for("ssh.algorithm.unknown", _unique(evidence))


# --- key exchange -------------------------------------------------------------------------


def rule_no_post_quantum_kex(observations: Sequence[Observation]) -> list[Finding]:
    evidence = []
    for algorithms in of_kind(observations, SshAlgorithms):
        kex = [offer for offer in offered_algorithms(algorithms) if offer.info.category == "kex"]
        if kex and not any(offer.info.post_quantum for offer in kex):
            evidence.append(f"kex: {', '.join(offer.name for offer in kex)} (none is post-quantum)")
    return finding_for("ssh.no_post_quantum_kex", _unique(evidence))


def rule_dh_group_small(observations: Sequence[Observation]) -> list[Finding]:
    limits = ssh_thresholds()
    evidence, smallest = [], None
    for offer in offers(observations):
        bits = offer.info.dh_group_bits
        if offer.info.category == "kex" and bits is not None and bits < limits.dh_group_bits_min:
            evidence.append(f"kex: {offer.name} uses a fixed {bits}-bit group")
            smallest = bits if smallest is None else min(smallest, bits)
    for modulus in of_kind(observations, SshGexModulus):
        bits = modulus.modulus_bits
        if bits >= limits.dh_group_bits_min:
            continue
        low, preferred, high = modulus.requested_bits
        evidence.append(
            f"{modulus.kex}: asked for min {low}, preferred {preferred}, max {high} bits; "
            f"the server sent a {bits}-bit prime"
        )
        smallest = bits if smallest is None else min(smallest, bits)
    high_severity = smallest is not None and smallest < limits.dh_group_bits_high_below
    return finding_for(
        "ssh.dh_group_small", _unique(evidence), Severity.HIGH if high_severity else None
    )


# --- Terrapin -----------------------------------------------------------------------------


def _is_cbc(name: str) -> bool:
    info = classify("encryption", name)
    if info.classification == "unknown":
        return name.endswith("-cbc") or "-cbc@" in name
    return info.mode == "cbc"


def _is_etm(name: str) -> bool:
    info = classify("mac", name)
    if info.classification == "unknown":
        return name.endswith("-etm@openssh.com")
    return info.etm


def _is_prefix_truncatable(name: str) -> bool:
    """ChaCha20-Poly1305's sequence-number nonce is what Terrapin shifts."""
    info = classify("encryption", name)
    if info.classification == "unknown":
        return name.startswith("chacha20-poly1305")
    return info.terrapin


@dataclass(frozen=True, slots=True)
class TerrapinExposure:
    """What makes one direction open to Terrapin; empty tuples when it is not."""

    direction: str
    ciphers: tuple[str, ...]  # offered ciphers open whatever the MAC (ChaCha20-Poly1305)
    cbc_ciphers: tuple[str, ...]  # offered CBC ciphers, when an EtM MAC is offered too
    etm_macs: tuple[str, ...]


def terrapin_exposure(algorithms: SshAlgorithms) -> list[TerrapinExposure]:
    """The directions open to Terrapin (CVE-2023-48795); none when strict kex is offered."""
    if STRICT_KEX_MARKER in algorithms.kex:
        return []
    exposures = []
    for direction, ciphers, macs in (
        (
            "client to server",
            algorithms.encryption_client_to_server,
            algorithms.mac_client_to_server,
        ),
        (
            "server to client",
            algorithms.encryption_server_to_client,
            algorithms.mac_server_to_client,
        ),
    ):
        open_ciphers = tuple(name for name in ciphers if _is_prefix_truncatable(name))
        cbc = tuple(name for name in ciphers if _is_cbc(name))
        etm = tuple(name for name in macs if _is_etm(name))
        if not (cbc and etm):
            cbc, etm = (), ()
        if open_ciphers or cbc:
            exposures.append(TerrapinExposure(direction, open_ciphers, cbc, etm))
    if len(exposures) == 2 and replace(exposures[0], direction="") == replace(
        exposures[1], direction=""
    ):
        return [replace(exposures[0], direction="both directions")]
    return exposures


def rule_terrapin(observations: Sequence[Observation]) -> list[Finding]:
    absent = f"{STRICT_KEX_MARKER} not offered"
    evidence = []
    for algorithms in of_kind(observations, SshAlgorithms):
        for exposure in terrapin_exposure(algorithms):
            if exposure.ciphers:
                evidence.append(
                    f"encryption ({exposure.direction}): {', '.join(exposure.ciphers)}; {absent}"
                )
            if exposure.cbc_ciphers:
                evidence.append(
                    f"encryption ({exposure.direction}): CBC {', '.join(exposure.cbc_ciphers)} "
                    f"with encrypt-then-MAC {', '.join(exposure.etm_macs)}; {absent}"
                )
    return finding_for("ssh.terrapin", _unique(evidence))


# --- host keys ----------------------------------------------------------------------------


def rule_rsa_key_small(observations: Sequence[Observation]) -> list[Finding]:
    limits = ssh_thresholds()
    evidence, smallest = [], None
    for key in of_kind(observations, SshHostKey):
        if key.key_type == "ssh-rsa" and key.bits < limits.rsa_key_bits_min:
            evidence.append(f"{_key_label(key)}: {key.bits}-bit RSA")
            smallest = key.bits if smallest is None else min(smallest, key.bits)
        certificate = key.certificate
        if (
            certificate is not None
            and certificate.ca_key_type == "ssh-rsa"
            and certificate.ca_key_bits < limits.rsa_key_bits_min
        ):
            bits = certificate.ca_key_bits
            evidence.append(f"{_certificate_label(key, certificate)}: {bits}-bit RSA CA key")
            smallest = bits if smallest is None else min(smallest, bits)
    high_severity = smallest is not None and smallest < limits.rsa_key_bits_high_below
    return finding_for(
        "ssh.rsa_key_small", _unique(evidence), Severity.HIGH if high_severity else None
    )


Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    """Certificate times as UTC; a naive time is taken to be UTC rather than crash."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _certificates(
    observations: Sequence[Observation],
) -> Iterator[tuple[SshHostKey, SshHostCertificate]]:
    for key in of_kind(observations, SshHostKey):
        if key.certificate is not None:
            yield key, key.certificate


def certificate_rules(clock: Clock = utc_now) -> tuple[Rule, ...]:
    """The host-certificate validity rules, judged at `clock()`."""

    def rule_certificate_expired(observations: Sequence[Observation]) -> list[Finding]:
        now, evidence = clock(), []
        for key, certificate in _certificates(observations):
            if certificate.valid_before is None or _aware(certificate.valid_before) >= now:
                continue
            ended = _aware(certificate.valid_before)
            days = (now - ended) // timedelta(days=1)
            evidence.append(
                f"{_certificate_label(key, certificate)}: expired on {ended:%Y-%m-%d} "
                f"({days} days ago)"
            )
        return finding_for("ssh.hostkey.certificate_expired", _unique(evidence))

    def rule_certificate_not_yet_valid(observations: Sequence[Observation]) -> list[Finding]:
        now, evidence = clock(), []
        for key, certificate in _certificates(observations):
            if certificate.valid_after is None or _aware(certificate.valid_after) <= now:
                continue
            evidence.append(
                f"{_certificate_label(key, certificate)}: not valid until "
                f"{_aware(certificate.valid_after):%Y-%m-%d %H:%M} UTC"
            )
        return finding_for("ssh.hostkey.certificate_not_yet_valid", _unique(evidence))

    def rule_certificate_expires_soon(observations: Sequence[Observation]) -> list[Finding]:
        now, evidence = clock(), []
        soon = timedelta(days=ssh_thresholds().host_certificate_expires_soon_days)
        for key, certificate in _certificates(observations):
            if certificate.valid_before is None:
                continue
            ends = _aware(certificate.valid_before)
            started = certificate.valid_after is None or _aware(certificate.valid_after) <= now
            if started and now <= ends < now + soon:
                days = (ends - now) // timedelta(days=1)
                evidence.append(
                    f"{_certificate_label(key, certificate)}: expires on {ends:%Y-%m-%d} "
                    f"({days} days left)"
                )
        return finding_for("ssh.hostkey.certificate_expires_soon", _unique(evidence))

    return (rule_certificate_expired, rule_certificate_not_yet_valid, rule_certificate_expires_soon)


# --- authentication -----------------------------------------------------------------------


def rule_auth_password(observations: Sequence[Observation]) -> list[Finding]:
    evidence = []
    for auth in of_kind(observations, SshAuthMethods):
        offered = [method for method in auth.methods if method in PASSWORD_METHODS]
        if offered:
            evidence.append(
                f"the server offers {', '.join(offered)} "
                f"(methods listed: {', '.join(auth.methods)})"
            )
    return finding_for("ssh.auth.password", _unique(evidence))


def rule_auth_none(observations: Sequence[Observation]) -> list[Finding]:
    evidence = [
        f"user {auth.username!r}: the 'none' method succeeded, no credentials were asked for"
        for auth in of_kind(observations, SshAuthMethods)
        if auth.none_accepted
    ]
    return finding_for("ssh.auth.none", _unique(evidence))


# --- plaintext remote login ---------------------------------------------------------------


def rule_plaintext_login(observations: Sequence[Observation]) -> list[Finding]:
    """One finding per protocol; a protocol without a catalogue entry is left to others."""
    evidence: dict[str, list[str]] = defaultdict(list)
    for service in of_kind(observations, PlaintextLoginService):
        finding_id = PLAINTEXT_FINDINGS.get(service.protocol)
        if finding_id is None:
            continue
        banner = service.banner
        if len(banner) > _BANNER_SHOWN:
            banner = banner[:_BANNER_SHOWN] + "…"
        evidence[finding_id].append(
            f"{service.protocol}: confirmed by {service.confirmed_by}; it sent {banner!r}"
        )
    return [
        finding
        for finding_id, lines in evidence.items()
        for finding in finding_for(finding_id, _unique(lines))
    ]


def ssh_rules(clock: Clock = utc_now) -> tuple[Rule, ...]:
    """Every SSH and plaintext-login rule, host certificates judged at `clock()`."""
    return (
        rule_protocol1,
        rule_algorithm_classes,
        rule_unknown_algorithms,
        rule_no_post_quantum_kex,
        rule_dh_group_small,
        rule_terrapin,
        rule_rsa_key_small,
        *certificate_rules(clock),
        rule_auth_password,
        rule_auth_none,
        rule_plaintext_login,
    )


# The wall clock: observations do not carry the time of the scan.
SSH_RULES: tuple[Rule, ...] = ssh_rules(utc_now)
