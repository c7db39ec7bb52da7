"""An SSL Labs-like letter grade for one TLS server.

The method follows the SSL Labs SSL Server Rating Guide: a numeric score made
of 30% protocol support, 30% key exchange and 40% cipher strength, turned
into a letter (A >= 80, B >= 65, C >= 50, D >= 35, E >= 20, else F), then
capped by what the findings say (SSLv2 or export suites give F, no TLS 1.2
gives C, TLS 1.0/1.1 or RC4 or no forward secrecy give B, ...). Trust
problems replace the letter with T and a name mismatch with M; the letter the
server would get otherwise is kept in `Grade.letter_ignoring_trust`.

What is not graded yet:
- A+ is never given: it needs a long HSTS max-age and TLS_FALLBACK_SCSV
  support, and neither HSTS nor the fallback SCSV is probed yet. A- (SSL Labs'
  "A with warnings") is not given either; such servers get A.
- Caps for vulnerabilities that are not probed yet (Heartbleed, CCS
  injection, ROBOT, DROWN beyond SSLv2 itself, CRIME, POODLE over TLS) and
  SSL Labs' later 3DES and weak-DH rules are not applied.

Every table below is data; the functions only look things up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from protoaudit.observations import (
    CertificateChain,
    CertificateInfo,
    EphemeralKeyExchange,
    KeyExchangeGroups,
    Observation,
)
from protoaudit.policy.facts import accepted_suites, of_kind, supported_versions
from protoaudit.policy.findings import Finding
from protoaudit.policy.names import group_name, lookup_group, version_name
from protoaudit.policy.tls_rules import is_finite_field
from protoaudit.proto.tls.constants import ProtocolVersion


@dataclass(frozen=True, slots=True)
class Grade:
    letter: str  # "A" … "F", or "T" (not trusted) / "M" (name mismatch)
    score: int  # 0-100, before caps
    reasons: tuple[str, ...]  # how the score was made and why the letter was capped
    letter_ignoring_trust: str  # what the letter would be without T and M


LETTERS = ("A", "B", "C", "D", "E", "F")

# Lowest score for each letter; anything below the last is F.
LETTER_SCORES: tuple[tuple[str, int], ...] = (
    ("A", 80),
    ("B", 65),
    ("C", 50),
    ("D", 35),
    ("E", 20),
)

WEIGHTS = {"protocol": 0.3, "key_exchange": 0.3, "cipher": 0.4}

# SSL Labs rating guide section 3 (TLS 1.3 scored like TLS 1.2).
PROTOCOL_SCORES: dict[int, int] = {
    ProtocolVersion.SSL2: 0,
    ProtocolVersion.SSL3: 80,
    ProtocolVersion.TLS1_0: 90,
    ProtocolVersion.TLS1_1: 95,
    ProtocolVersion.TLS1_2: 100,
    ProtocolVersion.TLS1_3: 100,
}

# Section 4: (RSA-equivalent bits below which, score); 100 above the last.
KEY_EXCHANGE_SCORES: tuple[tuple[int, int], ...] = ((512, 20), (1024, 40), (2048, 80), (4096, 90))
ANONYMOUS_KEY_EXCHANGE_SCORE = 0
EXPORT_KEY_EXCHANGE_BITS = 512  # export RSA and DH were limited to 512 bits: score 40

# Section 5: (cipher key bits below which, score); 100 above the last.
CIPHER_SCORES: tuple[tuple[int, int], ...] = ((1, 0), (128, 20), (256, 80))

# Security strength of elliptic-curve keys by curve size (NIST SP 800-57 Part 1
# Rev. 5, table 2): (curve bits at least, security bits), strongest first.
EC_KEY_SECURITY_BITS: tuple[tuple[int, int], ...] = (
    (512, 256),
    (384, 192),
    (256, 128),
    (224, 112),
    (160, 80),
    (0, 0),
)
EDWARDS_KEY_SECURITY_BITS = {"ED25519": 128, "ED448": 224}  # RFC 7748, RFC 8032

# RSA modulus of the same security strength (SP 800-57 table 2), so that
# curves and groups rate on the key-exchange scale: (security at least, bits).
RSA_EQUIVALENT_BITS: tuple[tuple[int, int], ...] = (
    (256, 15360),
    (192, 7680),
    (128, 3072),
    (112, 2048),
    (80, 1024),
    (0, 512),
)

# FFDHE groups rate by their modulus like explicit DH parameters; the registry
# gives RFC 7919 Appendix A's security estimates: (security at least, modulus bits).
FFDHE_MODULUS_BITS: tuple[tuple[int, int], ...] = (
    (192, 8192),
    (175, 6144),
    (150, 4096),
    (125, 3072),
    (103, 2048),
    (0, 1024),
)

MIN_CIPHER_BITS = 112  # below this the grade is F


@dataclass(frozen=True, slots=True)
class Cap:
    finding_id: str
    letter: str  # the best letter a server with this finding can get
    reason: str


CAPS: tuple[Cap, ...] = (
    Cap("tls.version.sslv2", "F", "SSLv2 is supported"),
    Cap("tls.cipher.export", "F", "export cipher suites are accepted"),
    Cap("tls.cipher.null", "F", "cipher suites without encryption are accepted"),
    Cap("tls.cipher.anonymous", "F", "anonymous cipher suites are accepted"),
    Cap("tls.version.sslv3", "C", "SSLv3 is supported (POODLE)"),
    Cap("tls.version.no_tls1_2", "C", "neither TLS 1.2 nor TLS 1.3 is supported"),
    Cap("tls.version.tls1_0", "B", "TLS 1.0 is supported"),
    Cap("tls.version.tls1_1", "B", "TLS 1.1 is supported"),
    Cap("tls.cipher.rc4", "B", "RC4 is accepted"),
    Cap("tls.cipher.no_forward_secrecy", "B", "suites without forward secrecy are accepted"),
    Cap("tls.cipher.cbc_only", "B", "no AEAD cipher suite is offered"),
    Cap("tls.cert.weak_key", "B", "a certificate key is too short"),
    Cap("tls.kex.weak_dh", "B", "Diffie-Hellman parameters are shorter than 2048 bits"),
    Cap("tls.cert.incomplete_chain", "B", "the certificate chain is incomplete"),
)

# Checked in this order; the first that applies replaces the letter.
TRUST_CAPS: tuple[Cap, ...] = (
    Cap("tls.cert.untrusted", "T", "the certificate is not trusted"),
    Cap("tls.cert.expired", "T", "the certificate has expired"),
    Cap("tls.cert.not_yet_valid", "T", "the certificate is not valid yet"),
    Cap("tls.cert.self_signed", "T", "the certificate is self-signed"),
    Cap("tls.cert.hostname_mismatch", "M", "the certificate does not match the host name"),
)


def _score_below(value: int, table: Iterable[tuple[int, int]]) -> int:
    for below, score in table:
        if value < below:
            return score
    return 100


def letter_for(score: float) -> str:
    for letter, lowest in LETTER_SCORES:
        if score >= lowest:
            return letter
    return "F"


def _at_least(value: int, table: Iterable[tuple[int, int]]) -> int:
    """The value for the first row whose lower bound `value` reaches (tables end at 0)."""
    for lowest, result in table:
        if value >= lowest:
            return result
    return 0


def _key_strength(certificate: CertificateInfo) -> int | None:
    """The certificate key's RSA-equivalent bits, None for a key type we cannot rate."""
    key_type = certificate.key_type.upper()
    if key_type in ("RSA", "DSA"):
        return certificate.key_bits
    if key_type in EDWARDS_KEY_SECURITY_BITS:
        return _at_least(EDWARDS_KEY_SECURITY_BITS[key_type], RSA_EQUIVALENT_BITS)
    if key_type == "EC":
        security = _at_least(certificate.key_bits, EC_KEY_SECURITY_BITS)
        return _at_least(security, RSA_EQUIVALENT_BITS)
    return None


def _group_strength(code: int) -> int | None:
    """A named group's RSA-equivalent bits (its modulus for FFDHE)."""
    group = lookup_group(code)
    if group is None or group.bits == 0:
        return None
    if is_finite_field(group):
        return _at_least(group.bits, FFDHE_MODULUS_BITS)
    return _at_least(group.bits, RSA_EQUIVALENT_BITS)


def _protocol_score(versions: frozenset[int]) -> tuple[float, str]:
    scored = sorted(version for version in versions if version in PROTOCOL_SCORES)
    best, worst = PROTOCOL_SCORES[scored[-1]], PROTOCOL_SCORES[scored[0]]
    return (best + worst) / 2, (
        f"protocol {(best + worst) / 2:g}: best {version_name(scored[-1])} ({best}), "
        f"worst {version_name(scored[0])} ({worst})"
    )


def _rated(bits: int, what: str) -> tuple[int, str]:
    return _score_below(bits, KEY_EXCHANGE_SCORES), what


def _key_exchange_strengths(observations: Sequence[Observation]) -> list[tuple[int, str]]:
    """(score, what) for every key exchange strength seen: certificate keys, DH, groups."""
    strengths: list[tuple[int, str]] = []
    for chain in of_kind(observations, CertificateChain):
        leaf = chain.certificates[0] if chain.certificates else None
        if leaf is not None and (bits := _key_strength(leaf)) is not None:
            strengths.append(_rated(bits, f"{leaf.key_bits}-bit {leaf.key_type} certificate key"))
    for _, _, suite in accepted_suites(observations):
        if suite is None or suite.tls13:
            continue
        if suite.authentication == "anon":
            strengths.append((ANONYMOUS_KEY_EXCHANGE_SCORE, "anonymous key exchange"))
        elif suite.export:
            strengths.append(_rated(EXPORT_KEY_EXCHANGE_BITS, "export key exchange"))
    groups = [group.accepted for group in of_kind(observations, KeyExchangeGroups)]
    named = [code for accepted in groups for code in accepted]
    for exchange in of_kind(observations, EphemeralKeyExchange):
        if exchange.dh_prime_bits is not None:
            bits = exchange.dh_prime_bits
            strengths.append(_rated(bits, f"{bits}-bit DH parameters"))
        if exchange.group is not None:
            named.append(exchange.group)
    group_bits = [(code, _group_strength(code)) for code in dict.fromkeys(named)]
    strengths.extend(
        _rated(bits, f"{group_name(code)} (~{bits}-bit RSA equivalent)")
        for code, bits in group_bits
        if bits is not None
    )
    return strengths


def _key_exchange_score(observations: Sequence[Observation]) -> tuple[float, str]:
    """The weakest key exchange the server allows, rated by RSA-equivalent bits."""
    strengths = _key_exchange_strengths(observations)
    if not strengths:
        assumed = _score_below(2048, KEY_EXCHANGE_SCORES)
        return assumed, f"key exchange {assumed}: not observed, 2048-bit RSA assumed"
    score, what = min(strengths)
    return score, f"key exchange {score}: weakest is {what}"


def _cipher_score(observations: Sequence[Observation]) -> tuple[float, str, int | None]:
    bits = [suite.bits for _, _, suite in accepted_suites(observations) if suite is not None]
    if not bits:
        return 80, "cipher strength 80: no cipher suites observed, 128-bit assumed", None
    strongest = _score_below(max(bits), CIPHER_SCORES)
    weakest = _score_below(min(bits), CIPHER_SCORES)
    score = (strongest + weakest) / 2
    return (
        score,
        (
            f"cipher strength {score:g}: strongest {max(bits)}-bit ({strongest}), "
            f"weakest {min(bits)}-bit ({weakest})"
        ),
        min(bits),
    )


def _worst(first: str, second: str) -> str:
    return max(first, second, key=LETTERS.index)


def grade(observations: Sequence[Observation], findings: Sequence[Finding]) -> Grade | None:
    """The grade of one TLS server, or None when no protocol version was supported."""
    versions = supported_versions(observations)
    if not any(version in PROTOCOL_SCORES for version in versions):
        return None
    protocol, protocol_reason = _protocol_score(versions)
    key_exchange, key_exchange_reason = _key_exchange_score(observations)
    cipher, cipher_reason, weakest_bits = _cipher_score(observations)
    total = round(
        WEIGHTS["protocol"] * protocol
        + WEIGHTS["key_exchange"] * key_exchange
        + WEIGHTS["cipher"] * cipher
    )
    letter = letter_for(total)
    reasons = [f"score {total} ({letter})", protocol_reason, key_exchange_reason, cipher_reason]

    found = {finding.id for finding in findings}
    caps = [cap for cap in CAPS if cap.finding_id in found]
    if weakest_bits is not None and weakest_bits < MIN_CIPHER_BITS:
        caps.append(Cap("", "F", f"a {weakest_bits}-bit cipher is accepted"))
    binding = [cap for cap in caps if LETTERS.index(cap.letter) > LETTERS.index(letter)]
    for cap in sorted(binding, key=lambda cap: -LETTERS.index(cap.letter)):
        reasons.append(f"capped at {cap.letter}: {cap.reason}")
        letter = _worst(letter, cap.letter)

    ignoring_trust = letter
    for cap in TRUST_CAPS:
        if cap.finding_id in found:
            reasons.append(f"{cap.letter}: {cap.reason} ({ignoring_trust} otherwise)")
            letter = cap.letter
            break
    return Grade(letter, total, tuple(reasons), ignoring_trust)
