"""Policy rules and the grade, judged from hand-made observations (no network).

Every case starts from a server that meets the baseline (TLS 1.2 + 1.3, ECDHE
with AEAD, a trusted RSA-2048 chain) and changes one thing.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence

import pytest

from observation_helpers import INTERMEDIATE, certificate, chain, suite
from protoaudit.observations import (
    CertificateChain,
    CipherSuiteSupport,
    ConnectionFailure,
    EphemeralKeyExchange,
    FtpFacts,
    KeyExchangeGroups,
    Observation,
    ProbeFailure,
    StartTlsDialog,
    StartTlsInjection,
    TlsVersionSupport,
)
from protoaudit.policy import RULES, Finding, Severity, evaluate, grade
from protoaudit.policy.baseline import load_baseline
from protoaudit.proto.tls.constants import ProtocolVersion
from protoaudit.registry.tls import group_by_name

SSL2, SSL3 = ProtocolVersion.SSL2, ProtocolVersion.SSL3
TLS10, TLS11 = ProtocolVersion.TLS1_0, ProtocolVersion.TLS1_1
TLS12, TLS13 = ProtocolVersion.TLS1_2, ProtocolVersion.TLS1_3


def group(name: str) -> int:
    return group_by_name(name).code


GOOD_TLS12 = (
    suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    suite("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    suite("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
)
GOOD_TLS13 = (
    suite("TLS_AES_128_GCM_SHA256"),
    suite("TLS_AES_256_GCM_SHA384"),
    suite("TLS_CHACHA20_POLY1305_SHA256"),
)


def versions(*supported: int) -> list[Observation]:
    return [
        TlsVersionSupport(
            version, version in supported, "ServerHello" if version in supported else "alert"
        )
        for version in (SSL2, SSL3, TLS10, TLS11, TLS12, TLS13)
    ]


def dialog(**changes: object) -> StartTlsDialog:
    """A clean SMTP STARTTLS dialog, changed where a test says."""
    fields: dict[str, object] = {
        "protocol": "smtp",
        "banner": "220 mx.example.com ESMTP",
        "capabilities_before": ("PIPELINING", "STARTTLS"),
        "starttls_offered": True,
        "plaintext_auth_offered": (),
        "upgraded": True,
        "failure": None,
    }
    fields.update(changes)
    return StartTlsDialog(**fields)  # type: ignore[arg-type]


def injection(**changes: object) -> StartTlsInjection:
    """Postfix's answer to STARTTLS with a NOOP pipelined after it, changed where a test says."""
    fields: dict[str, object] = {
        "protocol": "smtp",
        "injected": "NOOP",
        "vulnerable": False,
        "detail": "nothing arrived over TLS within 0.25s: the pipelined NOOP was not run",
        "plaintext_answer": None,
    }
    fields.update(changes)
    return StartTlsInjection(**fields)  # type: ignore[arg-type]


def ftp_facts(**changes: object) -> FtpFacts:
    """A strict explicit-FTPS server (vsftpd with TLS forced), changed where a test says."""
    fields: dict[str, object] = {
        "implicit_tls": False,
        "plaintext_login": False,
        "plaintext_login_reply": "530 Non-anonymous sessions must use encryption.",
        "anonymous_login": False,
        "anonymous_login_reply": "530 Anonymous sessions may not use encryption.",
        "prot_c_reply": "200 PROT now Clear.",
        "clear_data": None,
        "data_channel_tls": None,
        "data_tls_version": None,
        "data_cipher_suite": None,
        "data_session_reused": None,
        "listing": (),
        "passive_host_named": None,
        "notes": ("PROT C was accepted as a command, but a transfer needs a login",),
    }
    fields.update(changes)
    return FtpFacts(**fields)  # type: ignore[arg-type]


def test_a_clean_starttls_dialog_has_no_findings() -> None:
    assert evaluate([*good_server(), dialog()]) == ()


def test_a_clean_injection_probe_and_strict_ftp_have_no_findings() -> None:
    # PROT C answered 200 without a transfer tried is no evidence of clear data.
    clean = [*good_server(), dialog(protocol="ftp"), injection(protocol="ftp"), ftp_facts()]
    assert evaluate(clean) == ()


def good_server() -> list[Observation]:
    return [
        *versions(TLS12, TLS13),
        CipherSuiteSupport(TLS12, GOOD_TLS12, True, GOOD_TLS12),
        CipherSuiteSupport(TLS13, GOOD_TLS13, False, ()),
        KeyExchangeGroups(TLS13, (group("x25519"), group("secp256r1")), None),
        EphemeralKeyExchange(TLS12, GOOD_TLS12[0], group("x25519"), None, None),
        chain(),
    ]


def replaced(observations: list[Observation], kind: type, new: Observation) -> list[Observation]:
    """`observations` with the first of `kind` for the same version (if any) replaced."""
    version = getattr(new, "version", None)
    for index, old in enumerate(observations):
        if isinstance(old, kind) and getattr(old, "version", None) == version:
            return [*observations[:index], new, *observations[index + 1 :]]
    return [*observations, new]


def with_versions(*supported: int) -> list[Observation]:
    rest = [item for item in good_server() if not isinstance(item, TlsVersionSupport)]
    return [*versions(*supported), *rest]


def with_tls12_suites(*codes: int, enforced: bool | None = True) -> list[Observation]:
    order = codes if enforced else ()
    return replaced(
        good_server(), CipherSuiteSupport, CipherSuiteSupport(TLS12, codes, enforced, order)
    )


def with_suites(version: int, *codes: int) -> list[Observation]:
    base = with_versions(TLS12, TLS13, version)
    return replaced(base, CipherSuiteSupport, CipherSuiteSupport(version, codes, True, codes))


def with_chain(**changes: object) -> list[Observation]:
    return replaced(good_server(), CertificateChain, chain(**changes))


def ids(findings: Sequence[Finding]) -> list[str]:
    return [finding.id for finding in findings]


# --- a clean server ----------------------------------------------------------------------


def test_a_server_meeting_the_baseline_has_no_findings() -> None:
    assert evaluate(good_server()) == ()


def test_a_server_meeting_the_baseline_grades_a() -> None:
    observations = good_server()
    result = grade(observations, evaluate(observations))
    assert result is not None
    assert result.letter == "A"
    assert result.score >= 80


# --- one case per finding id -------------------------------------------------------------

CASES: dict[str, Callable[[], list[Observation]]] = {
    "tls.version.sslv2": lambda: with_versions(SSL2, TLS12, TLS13),
    "tls.version.sslv3": lambda: with_versions(SSL3, TLS12, TLS13),
    "tls.version.tls1_0": lambda: with_versions(TLS10, TLS12, TLS13),
    "tls.version.tls1_1": lambda: with_versions(TLS11, TLS12, TLS13),
    "tls.version.no_tls1_2": lambda: with_versions(TLS10, TLS11),
    "tls.version.no_tls1_3": lambda: with_versions(TLS12),
    "tls.cipher.null": lambda: with_tls12_suites(*GOOD_TLS12, suite("TLS_RSA_WITH_NULL_SHA256")),
    "tls.cipher.anonymous": lambda: with_tls12_suites(
        *GOOD_TLS12, suite("TLS_DH_anon_WITH_AES_128_GCM_SHA256")
    ),
    "tls.cipher.export": lambda: with_suites(TLS10, suite("TLS_RSA_EXPORT_WITH_RC4_40_MD5")),
    "tls.cipher.rc4": lambda: with_tls12_suites(*GOOD_TLS12, suite("TLS_RSA_WITH_RC4_128_SHA")),
    "tls.cipher.des": lambda: with_tls12_suites(*GOOD_TLS12, suite("TLS_RSA_WITH_DES_CBC_SHA")),
    "tls.cipher.3des_sweet32": lambda: with_tls12_suites(
        *GOOD_TLS12, suite("TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA")
    ),
    "tls.cipher.cbc_only": lambda: with_tls12_suites(
        suite("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"),
        suite("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"),
    ),
    "tls.cipher.no_forward_secrecy": lambda: with_tls12_suites(
        *GOOD_TLS12, suite("TLS_RSA_WITH_AES_128_GCM_SHA256")
    ),
    "tls.cipher.client_order": lambda: with_tls12_suites(
        *GOOD_TLS12, suite("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"), enforced=False
    ),
    "tls.kex.weak_dh": lambda: [
        *good_server(),
        EphemeralKeyExchange(TLS12, suite("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"), None, 1024, None),
    ],
    "tls.kex.weak_group": lambda: replaced(
        good_server(),
        KeyExchangeGroups,
        KeyExchangeGroups(TLS13, (group("x25519"), group("secp192r1")), None),
    ),
    "tls.cert.untrusted": lambda: with_chain(
        trusted=False, trust_error="unable to get local issuer certificate"
    ),
    "tls.cert.expired": lambda: with_chain(expired=True, days_left=-3),
    "tls.cert.not_yet_valid": lambda: with_chain(not_yet_valid=True),
    "tls.cert.expires_soon": lambda: with_chain(days_left=12),
    "tls.cert.self_signed": lambda: with_chain(
        self_signed=True, certificates=(certificate(issuer="CN=example.com", self_issued=True),)
    ),
    "tls.cert.hostname_mismatch": lambda: with_chain(
        hostname_matches=False, hostname_checked="mail.example.org"
    ),
    "tls.cert.incomplete_chain": lambda: with_chain(
        chain_incomplete=True, certificates=(certificate(),)
    ),
    "tls.cert.weak_key": lambda: with_chain(
        certificates=(certificate(key_bits=1024), INTERMEDIATE)
    ),
    "tls.cert.weak_signature": lambda: with_chain(
        certificates=(
            certificate(),
            dataclasses.replace(
                INTERMEDIATE, signature_algorithm="sha1WithRSAEncryption", signature_hash="sha1"
            ),
        )
    ),
    "tls.cert.no_sct": lambda: with_chain(certificates=(certificate(sct_count=0), INTERMEDIATE)),
    "tls.cert.no_sni_default": lambda: [
        *good_server(),
        chain(server_name=None, hostname_matches=False, hostname_checked="example.com"),
    ],
    "starttls.not_offered": lambda: [
        *good_server(),
        dialog(starttls_offered=False, upgraded=False, failure="STARTTLS not offered"),
    ],
    "starttls.failed": lambda: [
        *good_server(),
        dialog(upgraded=False, failure="STARTTLS refused: 454 TLS not available"),
    ],
    "starttls.plaintext_auth": lambda: [*good_server(), dialog(plaintext_auth_offered=("PLAIN",))],
    "starttls.command_injection": lambda: [
        *good_server(),
        dialog(),
        injection(vulnerable=True, detail="NOOP was answered over TLS: 250 2.0.0 Ok"),
    ],
    "starttls.ftp_plaintext_login": lambda: [
        *good_server(),
        ftp_facts(plaintext_login=True, plaintext_login_reply="331 Please specify the password."),
    ],
    "starttls.ftp_clear_data": lambda: [
        *good_server(),
        ftp_facts(anonymous_login=None, clear_data=True),
    ],
    "starttls.ftp_anonymous": lambda: [
        *good_server(),
        ftp_facts(anonymous_login=True, anonymous_login_reply="230 Login successful."),
    ],
    "tls.connection.failed": lambda: [
        ConnectionFailure("connect", "refused", "connection refused by 192.0.2.1:443")
    ],
    "tls.probe.failed": lambda: [
        *good_server(),
        ProbeFailure("cipher_suites", "timeout", "no answer within 5 s"),
    ],
}


def test_every_catalogue_id_has_a_case() -> None:
    assert set(CASES) == set(load_baseline().catalogue)


@pytest.mark.parametrize("finding_id", sorted(CASES))
def test_each_rule_finds_its_case(finding_id: str) -> None:
    findings = evaluate(CASES[finding_id]())

    assert finding_id in ids(findings)
    found = next(finding for finding in findings if finding.id == finding_id)
    template = load_baseline().catalogue[finding_id]
    assert found.title == template.title
    assert found.explanation == template.explanation
    assert found.references == template.references
    assert found.evidence
    assert all(isinstance(line, str) and line for line in found.evidence)


@pytest.mark.parametrize("finding_id", sorted(CASES))
def test_each_case_triggers_little_else(finding_id: str) -> None:
    # Each case changes one thing: its finding may bring related ones, never unrelated ones.
    related = {
        "tls.version.no_tls1_2": {
            "tls.version.tls1_0",
            "tls.version.tls1_1",
            "tls.version.no_tls1_3",
        },
        "tls.version.no_tls1_3": set(),
        "tls.cipher.null": {"tls.cipher.no_forward_secrecy", "tls.cipher.client_order"},
        "tls.cipher.export": {
            "tls.version.tls1_0",
            "tls.cipher.rc4",
            "tls.cipher.no_forward_secrecy",
        },
        "tls.cipher.rc4": {"tls.cipher.no_forward_secrecy"},
        "tls.cipher.des": {"tls.cipher.no_forward_secrecy"},
        "tls.version.sslv2": set(),
        "tls.cert.self_signed": {"tls.cert.no_sct"},
        "tls.connection.failed": set(),
    }.get(finding_id, set())
    unexpected = set(ids(evaluate(CASES[finding_id]()))) - {finding_id} - related
    assert not unexpected


# --- evidence and merging ------------------------------------------------------------------


def test_evidence_names_version_suite_and_code() -> None:
    observations = with_suites(TLS10, suite("TLS_RSA_WITH_3DES_EDE_CBC_SHA"))
    (sweet32,) = [f for f in evaluate(observations) if f.id == "tls.cipher.3des_sweet32"]
    assert sweet32.evidence == ("TLS 1.0: server accepted TLS_RSA_WITH_3DES_EDE_CBC_SHA (0x000A)",)


def test_one_finding_per_id_with_every_version_as_evidence() -> None:
    triple_des = suite("TLS_RSA_WITH_3DES_EDE_CBC_SHA")
    observations = [
        *versions(TLS10, TLS11, TLS12),
        CipherSuiteSupport(TLS10, (triple_des,), None, ()),
        CipherSuiteSupport(TLS11, (triple_des,), None, ()),
        CipherSuiteSupport(TLS12, (*GOOD_TLS12, triple_des), True, (*GOOD_TLS12, triple_des)),
    ]
    findings = evaluate(observations)

    assert ids(findings).count("tls.cipher.3des_sweet32") == 1
    (sweet32,) = [f for f in findings if f.id == "tls.cipher.3des_sweet32"]
    assert [line.split(":")[0] for line in sweet32.evidence] == ["TLS 1.0", "TLS 1.1", "TLS 1.2"]


def test_repeated_observations_do_not_repeat_evidence() -> None:
    observations = with_chain(expired=True, days_left=-3)
    findings = evaluate([*observations, observations[-1]])
    (expired,) = [f for f in findings if f.id == "tls.cert.expired"]
    assert len(expired.evidence) == 1


def test_findings_are_sorted_by_severity_then_id() -> None:
    observations = with_versions(SSL2, SSL3, TLS10, TLS11, TLS12)
    findings = evaluate(observations)
    keys = [(-finding.severity, finding.id) for finding in findings]
    assert keys == sorted(keys)
    assert ids(findings)[:2] == ["tls.version.sslv2", "tls.version.sslv3"]


def test_rules_are_pure() -> None:
    observations = CASES["tls.cipher.client_order"]()
    assert evaluate(observations) == evaluate(tuple(observations))


def test_every_rule_is_a_plain_function_of_observations() -> None:
    for rule in RULES:
        assert rule([]) == []


# --- rule details -----------------------------------------------------------------------


@pytest.mark.parametrize("vulnerable", [False, None])
def test_injection_is_a_finding_only_when_answered_over_tls(vulnerable: bool | None) -> None:
    # Given a server that answered the pipelined command in clear, or could not be judged
    seen = injection(vulnerable=vulnerable, plaintext_answer="250 2.0.0 Ok")
    assert "starttls.command_injection" not in ids(evaluate([*good_server(), seen]))


def test_injection_evidence_names_the_protocol_and_a_plaintext_answer_too() -> None:
    seen = injection(
        protocol="pop3", vulnerable=True, detail="CAPA was answered", plaintext_answer="+OK"
    )
    (finding,) = [f for f in evaluate([seen]) if f.id == "starttls.command_injection"]
    assert finding.severity is Severity.HIGH
    assert finding.evidence[0].startswith("pop3: CAPA was answered")
    assert "+OK" in finding.evidence[0]
    assert "CVE-2011-0411" in finding.references


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"plaintext_login": None, "clear_data": False}, set()),
        ({"anonymous_login": None, "data_channel_tls": False}, set()),
        (
            {"plaintext_login": True, "anonymous_login": True, "clear_data": True},
            {"starttls.ftp_plaintext_login", "starttls.ftp_anonymous", "starttls.ftp_clear_data"},
        ),
    ],
)
def test_ftp_findings_need_the_fact_proven(changes: dict[str, object], expected: set[str]) -> None:
    found = {f.id for f in evaluate([ftp_facts(**changes)]) if f.id.startswith("starttls.")}
    assert found == expected


def test_ftp_severities() -> None:
    seen = ftp_facts(plaintext_login=True, anonymous_login=True, clear_data=True)
    severity = {f.id: f.severity for f in evaluate([seen])}
    assert severity["starttls.ftp_plaintext_login"] is Severity.HIGH
    assert severity["starttls.ftp_clear_data"] is Severity.MEDIUM
    assert severity["starttls.ftp_anonymous"] is Severity.INFO


def test_versions_not_tested_are_not_reported_missing() -> None:
    observations = [TlsVersionSupport(TLS12, True, "ServerHello")]
    assert "tls.version.no_tls1_3" not in ids(evaluate(observations))


def test_tls13_only_server_is_not_missing_tls12() -> None:
    assert "tls.version.no_tls1_2" not in ids(evaluate(with_versions(TLS13)))


def test_nothing_supported_is_not_reported_as_missing_versions() -> None:
    found = ids(evaluate(versions()))
    assert "tls.version.no_tls1_2" not in found
    assert "tls.version.no_tls1_3" not in found


def test_client_order_with_only_strong_suites_is_fine() -> None:
    observations = with_tls12_suites(*GOOD_TLS12, enforced=False)
    assert "tls.cipher.client_order" not in ids(evaluate(observations))


def test_client_order_before_tls12_does_not_count_cbc_as_weak() -> None:
    observations = replaced(
        with_versions(TLS10, TLS12, TLS13),
        CipherSuiteSupport,
        CipherSuiteSupport(
            TLS10,
            (
                suite("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
                suite("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
            ),
            False,
            (),
        ),
    )
    assert "tls.cipher.client_order" not in ids(evaluate(observations))


def test_cbc_only_is_about_tls12_and_newer() -> None:
    observations = with_suites(TLS10, suite("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"))
    assert "tls.cipher.cbc_only" not in ids(evaluate(observations))


def test_scsv_and_unknown_codes_are_not_judged() -> None:
    observations = with_tls12_suites(*GOOD_TLS12, suite("TLS_FALLBACK_SCSV"), 0xFAFA)
    assert evaluate(observations) == ()


def test_tls13_suites_have_forward_secrecy() -> None:
    assert "tls.cipher.no_forward_secrecy" not in ids(evaluate(good_server()))


@pytest.mark.parametrize(("bits", "severity"), [(1024, Severity.MEDIUM), (768, Severity.HIGH)])
def test_weak_dh_severity_depends_on_size(bits: int, severity: Severity) -> None:
    observations = [
        *good_server(),
        EphemeralKeyExchange(TLS12, suite("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"), None, bits, None),
    ]
    (weak_dh,) = [f for f in evaluate(observations) if f.id == "tls.kex.weak_dh"]
    assert weak_dh.severity == severity
    assert f"{bits}-bit DH prime" in weak_dh.evidence[0]


def test_dh_2048_is_fine() -> None:
    observations = [
        *good_server(),
        EphemeralKeyExchange(TLS12, suite("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"), None, 2048, None),
    ]
    assert "tls.kex.weak_dh" not in ids(evaluate(observations))


@pytest.mark.parametrize("name", ["x25519", "secp256r1", "x448", "X25519MLKEM768", "ffdhe2048"])
def test_strong_groups_are_fine(name: str) -> None:
    observations = replaced(
        good_server(), KeyExchangeGroups, KeyExchangeGroups(TLS13, (group(name),), None)
    )
    assert "tls.kex.weak_group" not in ids(evaluate(observations))


@pytest.mark.parametrize("name", ["secp224r1", "secp160r1", "sect163k1"])
def test_curves_below_256_bits_are_weak(name: str) -> None:
    observations = replaced(
        good_server(), KeyExchangeGroups, KeyExchangeGroups(TLS12, (group(name),), None)
    )
    assert "tls.kex.weak_group" in ids(evaluate(observations))


@pytest.mark.parametrize(
    ("key_type", "bits", "weak"),
    [
        ("RSA", 2048, False),
        ("RSA", 1024, True),
        ("EC", 256, False),
        ("EC", 224, True),
        ("Ed25519", 256, False),
        ("DSA", 1024, True),
    ],
)
def test_weak_key_thresholds(key_type: str, bits: int, weak: bool) -> None:
    leaf = certificate(key_type=key_type, key_bits=bits)
    findings = evaluate(with_chain(certificates=(leaf, INTERMEDIATE)))
    assert ("tls.cert.weak_key" in ids(findings)) is weak


def test_a_weak_root_key_is_not_the_server_s_problem() -> None:
    root = certificate(
        subject="CN=Old Root", issuer="CN=Old Root", is_ca=True, self_issued=True, key_bits=1024
    )
    findings = evaluate(with_chain(certificates=(certificate(), INTERMEDIATE, root)))
    assert "tls.cert.weak_key" not in ids(findings)


def test_sha1_on_a_root_is_not_a_weak_signature() -> None:
    root = certificate(
        subject="CN=Old Root",
        issuer="CN=Old Root",
        is_ca=True,
        self_issued=True,
        signature_algorithm="sha1WithRSAEncryption",
        signature_hash="sha1",
    )
    findings = evaluate(with_chain(certificates=(certificate(), INTERMEDIATE, root)))
    assert "tls.cert.weak_signature" not in ids(findings)


def test_md5_signature_is_high() -> None:
    leaf = certificate(signature_algorithm="md5WithRSAEncryption", signature_hash="md5")
    (weak,) = [
        f
        for f in evaluate(with_chain(certificates=(leaf, INTERMEDIATE)))
        if f.id == "tls.cert.weak_signature"
    ]
    assert weak.severity == Severity.HIGH


def test_no_sct_only_for_publicly_trusted_chains() -> None:
    observations = with_chain(
        trusted=False,
        trust_error="self-signed",
        certificates=(certificate(sct_count=0), INTERMEDIATE),
    )
    assert "tls.cert.no_sct" not in ids(evaluate(observations))


def test_expires_soon_is_not_reported_for_an_expired_certificate() -> None:
    findings = ids(evaluate(with_chain(expired=True, days_left=-1)))
    assert "tls.cert.expired" in findings
    assert "tls.cert.expires_soon" not in findings


def test_certificate_evidence_quotes_the_subject_and_sni() -> None:
    hostile = "CN=\x1b]0;pwned\x07[bold]evil"
    observations = with_chain(
        hostname_matches=False,
        hostname_checked="example.com",
        certificates=(certificate(subject=hostile), INTERMEDIATE),
    )
    (mismatch,) = [f for f in evaluate(observations) if f.id == "tls.cert.hostname_mismatch"]
    # Evidence keeps the raw text (repr-quoted); making it safe is each report's job.
    assert repr(hostile) in mismatch.evidence[0]
    assert "SNI example.com" in mismatch.evidence[0]


# --- the baseline data file ----------------------------------------------------------------


def test_catalogue_ids_follow_the_dotted_scheme() -> None:
    for finding_id in load_baseline().catalogue:
        assert re.fullmatch(r"(tls(\.[a-z0-9_]+){2})|(starttls\.[a-z0-9_]+)", finding_id), (
            finding_id
        )


def test_baseline_names_its_sources() -> None:
    sources = " ".join(load_baseline().sources)
    for source in (
        "Mozilla",
        "NIST SP 800-52",
        "RFC 8996",
        "RFC 7568",
        "RFC 6176",
        "RFC 7465",
        "CVE-2016-2183",
        "Logjam",
        "RFC 9325",
    ):
        assert source in sources


def test_findings_about_weaknesses_cite_references() -> None:
    for template in load_baseline().catalogue.values():
        if not template.id.startswith(("tls.connection.", "tls.probe.")):
            assert template.references, template.id


# --- grade --------------------------------------------------------------------------------


def graded(observations: list[Observation]) -> tuple[str, str]:
    result = grade(observations, evaluate(observations))
    assert result is not None
    return result.letter, result.letter_ignoring_trust


@pytest.mark.parametrize(
    ("case", "letter"),
    [
        ("tls.version.sslv2", "F"),
        ("tls.cipher.export", "F"),
        ("tls.cipher.null", "F"),
        ("tls.cipher.anonymous", "F"),
        ("tls.cipher.des", "F"),  # 56-bit: below 112 bits
        ("tls.version.sslv3", "C"),
        ("tls.version.no_tls1_2", "C"),
        ("tls.version.tls1_0", "B"),
        ("tls.version.tls1_1", "B"),
        ("tls.cipher.rc4", "B"),
        ("tls.cipher.no_forward_secrecy", "B"),
        ("tls.cipher.cbc_only", "B"),
        ("tls.cert.weak_key", "B"),
        ("tls.cert.incomplete_chain", "B"),
        ("tls.kex.weak_dh", "B"),
        ("tls.version.no_tls1_3", "A"),
        ("tls.cert.no_sct", "A"),
    ],
)
def test_grade_caps(case: str, letter: str) -> None:
    assert graded(CASES[case]())[0] == letter


@pytest.mark.parametrize(
    "case",
    ["tls.cert.untrusted", "tls.cert.expired", "tls.cert.not_yet_valid", "tls.cert.self_signed"],
)
def test_trust_problems_grade_t(case: str) -> None:
    assert graded(CASES[case]()) == ("T", "A")


def test_name_mismatch_grades_m() -> None:
    assert graded(CASES["tls.cert.hostname_mismatch"]()) == ("M", "A")


def test_t_wins_over_m_and_keeps_the_capped_letter() -> None:
    observations = with_chain(trusted=False, trust_error="self-signed", hostname_matches=False)
    observations = replaced(observations, TlsVersionSupport, TlsVersionSupport(TLS10, True, "x"))
    assert graded(observations) == ("T", "B")


def test_cap_reasons_are_given() -> None:
    observations = CASES["tls.version.sslv2"]()
    result = grade(observations, evaluate(observations))
    assert result is not None
    assert "capped at F: SSLv2 is supported" in result.reasons


def test_score_follows_the_documented_weights() -> None:
    # Given TLS 1.0-1.3 (protocol (100 + 90) / 2 = 95), a 2048-bit RSA key (key exchange 90)
    # and 128- and 256-bit ciphers (cipher strength (80 + 100) / 2 = 90)
    observations = with_versions(TLS10, TLS11, TLS12, TLS13)

    result = grade(observations, evaluate(observations))

    # Then 0.3 * 95 + 0.3 * 90 + 0.4 * 90 = 91.5, and TLS 1.0 caps the letter at B
    assert result is not None
    assert result.score == 92
    assert result.letter == "B"


def test_weak_ciphers_lower_the_score() -> None:
    observations = with_suites(TLS10, suite("TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"))
    result = grade(observations, evaluate(observations))
    assert result is not None
    assert result.letter == "F"
    assert any("40-bit cipher" in reason for reason in result.reasons)


def test_nothing_to_grade_without_a_supported_version() -> None:
    observations = CASES["tls.connection.failed"]()
    assert grade(observations, evaluate(observations)) is None


def test_no_sct_is_only_asked_of_publicly_trusted_chains() -> None:
    # Given a chain trusted through a private CA file, with no SCTs
    private = with_chain(
        certificates=(certificate(sct_count=0), INTERMEDIATE),
        trust_store="ca-file lab-ca.pem (instead of the Mozilla roots)",
    )
    # Then Certificate Transparency is not asked for
    assert "tls.cert.no_sct" not in ids(evaluate(private))


def test_default_certificate_without_sni_is_judged_apart() -> None:
    # Given the SNI chain is fine and the no-SNI default chain is untrusted and mismatched
    observations = [
        *good_server(),
        chain(server_name=None, trusted=False, hostname_matches=False, trust_error="self-signed"),
    ]
    found = ids(evaluate(observations))
    # Then only the informational no-SNI finding is raised, not the main ones
    assert "tls.cert.no_sni_default" in found
    assert "tls.cert.untrusted" not in found
    assert "tls.cert.hostname_mismatch" not in found


def test_without_any_sni_chain_every_chain_is_judged() -> None:
    # Given an IP target (no SNI sent at all) with a mismatched chain
    observations = with_chain(server_name=None, hostname_matches=False)
    found = ids(evaluate(observations))
    assert "tls.cert.hostname_mismatch" in found
    assert "tls.cert.no_sni_default" not in found


def test_starttls_agreed_then_no_handshake_is_a_failed_upgrade() -> None:
    # Given a server that said 220 to STARTTLS but completed no TLS handshake
    observations = [
        dialog(),
        ConnectionFailure("tls", "no-tls", "alert handshake_failure"),
    ]
    # Then the upgrade counts as failed, with what the handshakes got
    (found,) = [f for f in evaluate(observations) if f.id == "starttls.failed"]
    assert found.evidence == (
        "smtp: the server agreed to STARTTLS, then no TLS handshake completed "
        "(alert handshake_failure)",
    )


def test_a_refused_connection_is_no_failed_upgrade() -> None:
    observations = [ConnectionFailure("connect", "refused", "connection refused")]
    assert "starttls.failed" not in ids(evaluate(observations))


def test_every_observation_module_has_its_rules_and_tables() -> None:
    # rules_for and the terminal load a family's rules and tables by the module of its
    # observations: a new observations_*.py module must be registered in both
    from pathlib import Path  # noqa: PLC0415

    from protoaudit.policy.evaluate import FAMILY_RULES  # noqa: PLC0415
    from protoaudit.report.terminal import FAMILY_TABLES  # noqa: PLC0415

    package = Path(evaluate.__code__.co_filename).parents[1]
    modules = {f"protoaudit.{path.stem}" for path in package.glob("observations_*.py")}
    assert modules == set(FAMILY_RULES)
    assert modules == set(FAMILY_TABLES)


def test_rules_for_a_target_are_the_base_and_its_families_only() -> None:
    from protoaudit.observations_socks import SocksMethods  # noqa: PLC0415
    from protoaudit.policy.evaluate import all_rules, rules_for  # noqa: PLC0415
    from protoaudit.policy.socks_rules import SOCKS_RULES  # noqa: PLC0415
    from protoaudit.policy.tls_rules import TLS_RULES  # noqa: PLC0415

    socks = SocksMethods.__new__(SocksMethods)
    chosen = rules_for([socks])
    assert set(TLS_RULES) <= set(chosen)
    assert set(SOCKS_RULES) <= set(chosen)
    assert len(chosen) < len(all_rules())
    assert [r for r in all_rules() if r in chosen] == list(chosen)  # in RULES' order
