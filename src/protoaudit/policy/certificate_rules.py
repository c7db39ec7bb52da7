"""Rules over the certificate chains a TLS server presented.

The probe has already validated each chain (trust, name, dates) with
`cryptography`'s verifier at a time it was given; these rules only turn its
verdicts and the certificates' properties into findings. Evidence names the
chain by its leaf subject, the SNI sent and the key type asked for, because a
server may present different chains per name and per key type.

Certificate subjects are attacker-chosen text; they appear verbatim in
evidence and are made safe by each report (terminal escaping, HTML escaping).
"""

from __future__ import annotations

from collections.abc import Sequence

from protoaudit.observations import CertificateChain, CertificateInfo, Observation
from protoaudit.policy.baseline import Thresholds, finding_for, load_baseline
from protoaudit.policy.facts import of_kind
from protoaudit.policy.findings import Finding, Rule, Severity

_MAX_NAMES_SHOWN = 5


def chain_label(chain: CertificateChain) -> str:
    """`certificate 'CN=example.com' (SNI example.com, RSA)`: which chain we mean."""
    subject = repr(chain.certificates[0].subject) if chain.certificates else "(none sent)"
    context = [f"SNI {chain.server_name}" if chain.server_name else "no SNI"]
    if chain.requested_key_type:
        context.append(chain.requested_key_type)
    return f"certificate {subject} ({', '.join(context)})"


def _position(index: int, certificate: CertificateInfo) -> str:
    if index == 0:
        return "leaf"
    return "root" if certificate.self_issued and certificate.is_ca else f"intermediate #{index}"


def _is_root(certificate: CertificateInfo, index: int) -> bool:
    return index > 0 and certificate.self_issued and certificate.is_ca


def _chains(observations: Sequence[Observation]) -> list[CertificateChain]:
    """The chains a client of this target gets: with SNI when we sent a name.

    The server's default certificate for clients without SNI is judged apart
    (rule_no_sni_default): modern clients never see it.
    """
    chains = list(of_kind(observations, CertificateChain))
    with_sni = [chain for chain in chains if chain.server_name is not None]
    return with_sni or chains


def _without_sni(observations: Sequence[Observation]) -> list[CertificateChain]:
    chains = list(of_kind(observations, CertificateChain))
    if not any(chain.server_name is not None for chain in chains):
        return []
    return [chain for chain in chains if chain.server_name is None]


def _names(leaf: CertificateInfo) -> str:
    names = [*leaf.san_dns, *leaf.san_ip]
    if not names:
        return "no subject alternative names"
    shown = ", ".join(names[:_MAX_NAMES_SHOWN])
    more = len(names) - _MAX_NAMES_SHOWN
    return f"names: {shown}" + (f" and {more} more" if more > 0 else "")


def rule_untrusted(observations: Sequence[Observation]) -> list[Finding]:
    evidence = [
        f"{chain_label(chain)}: not trusted by {chain.trust_store}: "
        f"{chain.trust_error or 'no reason given'}"
        for chain in _chains(observations)
        if not chain.trusted
    ]
    return finding_for("tls.cert.untrusted", evidence)


def rule_expired(observations: Sequence[Observation]) -> list[Finding]:
    evidence = []
    for chain in _chains(observations):
        if not chain.expired:
            continue
        when = f" on {chain.certificates[0].not_after:%Y-%m-%d}" if chain.certificates else ""
        evidence.append(f"{chain_label(chain)}: expired{when} ({-chain.days_left} days ago)")
    return finding_for("tls.cert.expired", evidence)


def rule_not_yet_valid(observations: Sequence[Observation]) -> list[Finding]:
    evidence = []
    for chain in _chains(observations):
        if not chain.not_yet_valid:
            continue
        when = (
            f" until {chain.certificates[0].not_before:%Y-%m-%d %H:%M} UTC"
            if chain.certificates
            else ""
        )
        evidence.append(f"{chain_label(chain)}: not valid{when}")
    return finding_for("tls.cert.not_yet_valid", evidence)


def rule_expires_soon(observations: Sequence[Observation]) -> list[Finding]:
    limit = load_baseline().thresholds.expires_soon_days
    evidence = []
    for chain in _chains(observations):
        if chain.expired or chain.not_yet_valid or chain.days_left >= limit:
            continue
        when = f" on {chain.certificates[0].not_after:%Y-%m-%d}" if chain.certificates else ""
        evidence.append(f"{chain_label(chain)}: expires{when} ({chain.days_left} days left)")
    return finding_for("tls.cert.expires_soon", evidence)


def rule_self_signed(observations: Sequence[Observation]) -> list[Finding]:
    evidence = [
        f"{chain_label(chain)}: self-signed" for chain in _chains(observations) if chain.self_signed
    ]
    return finding_for("tls.cert.self_signed", evidence)


def rule_hostname_mismatch(observations: Sequence[Observation]) -> list[Finding]:
    evidence = []
    for chain in _chains(observations):
        if chain.hostname_matches:
            continue
        names = _names(chain.certificates[0]) if chain.certificates else "no certificate"
        evidence.append(
            f"{chain_label(chain)}: does not cover {chain.hostname_checked!r} ({names})"
        )
    return finding_for("tls.cert.hostname_mismatch", evidence)


def rule_incomplete_chain(observations: Sequence[Observation]) -> list[Finding]:
    evidence = [
        f"{chain_label(chain)}: the server sent {len(chain.certificates)} certificate(s) "
        "and the intermediates needed to reach a trusted root are missing"
        for chain in _chains(observations)
        if chain.chain_incomplete
    ]
    return finding_for("tls.cert.incomplete_chain", evidence)


def _key_is_weak(certificate: CertificateInfo, limits: Thresholds) -> bool:
    minimum = {
        "RSA": limits.rsa_key_bits_min,
        "DSA": limits.dsa_key_bits_min,
        "EC": limits.ec_key_bits_min,
    }.get(certificate.key_type.upper())
    return minimum is not None and certificate.key_bits < minimum


def rule_weak_key(observations: Sequence[Observation]) -> list[Finding]:
    limits = load_baseline().thresholds
    evidence = []
    for chain in _chains(observations):
        for index, certificate in enumerate(chain.certificates):
            if _is_root(certificate, index) or not _key_is_weak(certificate, limits):
                continue
            curve = f" ({certificate.curve})" if certificate.curve else ""
            evidence.append(
                f"{chain_label(chain)}: {_position(index, certificate)} "
                f"{certificate.subject!r} has a {certificate.key_bits}-bit "
                f"{certificate.key_type}{curve} key"
            )
    return finding_for("tls.cert.weak_key", evidence)


def _signature_hash(certificate: CertificateInfo) -> str:
    if certificate.signature_hash:
        return certificate.signature_hash.lower().replace("-", "")
    algorithm = certificate.signature_algorithm.lower().replace("-", "")
    for name in ("md2", "md4", "md5", "sha1"):
        if algorithm.startswith(name) or f"with{name}" in algorithm or f"{name}with" in algorithm:
            return name
    return algorithm


def rule_weak_signature(observations: Sequence[Observation]) -> list[Finding]:
    """SHA-1 or MD5 signatures on any certificate whose signature a client checks.

    A self-issued certificate's own signature is never relied on (trust in a
    root, or in a pinned self-signed leaf, is trust in its key), so it is skipped.
    """
    limits = load_baseline().thresholds
    evidence, high = [], False
    for chain in _chains(observations):
        for index, certificate in enumerate(chain.certificates):
            digest = _signature_hash(certificate)
            if certificate.self_issued or digest not in limits.weak_signature_hashes:
                continue
            high = high or digest in limits.weak_signature_high_hashes
            evidence.append(
                f"{chain_label(chain)}: {_position(index, certificate)} "
                f"{certificate.subject!r} is signed with {certificate.signature_algorithm}"
            )
    return finding_for("tls.cert.weak_signature", evidence, Severity.HIGH if high else None)


def rule_no_sct(observations: Sequence[Observation]) -> list[Finding]:
    """Only for publicly trusted chains: private PKI has no reason to log to CT."""
    evidence = [
        f"{chain_label(chain)}: the leaf certificate carries no SCTs"
        for chain in _chains(observations)
        if chain.trusted
        and chain.trust_store.startswith("Mozilla")
        and chain.certificates
        and chain.certificates[0].sct_count == 0
    ]
    return finding_for("tls.cert.no_sct", evidence)


def rule_no_sni_default(observations: Sequence[Observation]) -> list[Finding]:
    """Clients without SNI get another certificate; say whether it would hold up."""
    evidence = []
    for chain in _without_sni(observations):
        problems = [
            words
            for words, present in (
                (f"does not cover {chain.hostname_checked!r}", not chain.hostname_matches),
                ("is not trusted", not chain.trusted),
            )
            if present
        ]
        if problems:
            evidence.append(f"{chain_label(chain)}: " + " and ".join(problems))
    return finding_for("tls.cert.no_sni_default", evidence)


CERTIFICATE_RULES: tuple[Rule, ...] = (
    rule_untrusted,
    rule_expired,
    rule_not_yet_valid,
    rule_expires_soon,
    rule_self_signed,
    rule_hostname_mismatch,
    rule_incomplete_chain,
    rule_weak_key,
    rule_weak_signature,
    rule_no_sct,
    rule_no_sni_default,
)
