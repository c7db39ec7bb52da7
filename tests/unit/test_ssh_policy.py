"""SSH policy: algorithm data, rules and hardening advice, from hand-made observations.

Most cases start from a hardened OpenSSH 9.2 server (Debian 12 with the
strict-kex backport, Ed25519 and RSA-3072 host keys, public keys only) and
change one thing; the legacy server is what an unmaintained OpenSSH 7.9
looks like after years of "make old clients work".
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

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
from protoaudit.policy import RULES, Finding, Severity, evaluate
from protoaudit.policy.baseline import (
    CATALOGUE_FILES,
    DNSSEC_BASELINE_FILE,
    SSH_BASELINE_FILE,
    load_baseline,
    load_catalogue,
    load_catalogue_file,
    parse_catalogue,
)
from protoaudit.policy.ssh_algorithms import (
    CATEGORIES,
    classify,
    load_algorithm_data,
    offered_algorithms,
    parse_algorithm_data,
)
from protoaudit.policy.ssh_config import SshHardening, openssh_version, ssh_hardening
from protoaudit.policy.ssh_rules import ssh_rules, ssh_thresholds

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
RULES_NOW = ssh_rules(lambda: NOW)
STRICT = "kex-strict-s-v00@openssh.com"
SSH_RULES_SOURCE = Path(__file__).resolve().parents[2] / "src/protoaudit/policy/ssh_rules.py"

# What a Debian 12 OpenSSH 9.2p1 (with the Terrapin backport) offers by default.
HARDENED_KEX = (
    "sntrup761x25519-sha512@openssh.com",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group14-sha256",
    "ext-info-s",
    STRICT,
)
HARDENED_HOST_KEYS = ("rsa-sha2-512", "rsa-sha2-256", "ecdsa-sha2-nistp256", "ssh-ed25519")
HARDENED_CIPHERS = (
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
)
HARDENED_MACS = (
    "umac-64-etm@openssh.com",
    "umac-128-etm@openssh.com",
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha1-etm@openssh.com",
    "umac-64@openssh.com",
    "umac-128@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
    "hmac-sha1",
)


def algorithms(
    *,
    kex: tuple[str, ...] = HARDENED_KEX,
    host_key: tuple[str, ...] = HARDENED_HOST_KEYS,
    ciphers: tuple[str, ...] = HARDENED_CIPHERS,
    macs: tuple[str, ...] = HARDENED_MACS,
    compression: tuple[str, ...] = ("none", "zlib@openssh.com"),
    **directional: tuple[str, ...],
) -> SshAlgorithms:
    """The same lists in both directions unless a direction is given by its field name."""
    lists = {
        "encryption_client_to_server": ciphers,
        "encryption_server_to_client": ciphers,
        "mac_client_to_server": macs,
        "mac_server_to_client": macs,
        "compression_client_to_server": compression,
        "compression_server_to_client": compression,
    }
    lists.update(directional)
    return SshAlgorithms(kex=kex, host_key=host_key, first_kex_packet_follows=False, **lists)


def identification(
    software: str = "OpenSSH_9.2p1", version: str = "2.0", comments: str | None = None
) -> SshIdentification:
    line = f"SSH-{version}-{software}" + (f" {comments}" if comments else "")
    return SshIdentification(version, software, comments, line, ())


def host_key(
    algorithm: str = "ssh-ed25519",
    key_type: str = "ssh-ed25519",
    bits: int = 256,
    fingerprint: str = "SHA256:ed25519key",
    certificate: SshHostCertificate | None = None,
) -> SshHostKey:
    return SshHostKey(algorithm, key_type, bits, fingerprint, certificate)


def host_certificate(**changes: object) -> SshHostCertificate:
    """A host certificate valid for a year around NOW, changed where a test says."""
    fields: dict[str, object] = {
        "key_id": "web01",
        "serial": 7,
        "principals": ("web01.example.com",),
        "valid_after": NOW - timedelta(days=180),
        "valid_before": NOW + timedelta(days=185),
        "ca_key_type": "ssh-ed25519",
        "ca_key_bits": 256,
        "ca_fingerprint_sha256": "SHA256:hostca",
        "signature_algorithm": "ssh-ed25519",
    }
    fields.update(changes)
    return SshHostCertificate(**fields)  # type: ignore[arg-type]


def certified_key(**changes: object) -> SshHostKey:
    return host_key(
        "ssh-ed25519-cert-v01@openssh.com",
        certificate=host_certificate(**changes),
    )


def auth(*methods: str, none_accepted: bool = False) -> SshAuthMethods:
    return SshAuthMethods("protoaudit-probe", methods, none_accepted)


def hardened_server(*changes: Observation) -> list[Observation]:
    """The hardened server; an observation of a kind already present replaces it."""
    base: list[Observation] = [
        identification(comments="Debian-2+deb12u3"),
        algorithms(),
        host_key(),
        host_key("rsa-sha2-512", "ssh-rsa", 3072, "SHA256:rsakey"),
        SshGexModulus("diffie-hellman-group-exchange-sha256", (2048, 2048, 8192), 2048),
        auth("publickey"),
    ]
    kinds = {type(change) for change in changes}
    return [item for item in base if type(item) not in kinds] + list(changes)


def legacy_server() -> list[Observation]:
    return [
        identification("OpenSSH_7.9p1", comments="Debian-10+deb10u2"),
        algorithms(
            kex=(
                "curve25519-sha256",
                "diffie-hellman-group-exchange-sha256",
                "diffie-hellman-group14-sha1",
                "diffie-hellman-group1-sha1",
            ),
            host_key=("rsa-sha2-512", "ssh-rsa", "ssh-dss"),
            ciphers=("aes128-ctr", "aes256-ctr", "3des-cbc", "aes128-cbc"),
            macs=("hmac-sha2-256", "hmac-sha1", "hmac-md5"),
        ),
        host_key("rsa-sha2-512", "ssh-rsa", 1024, "SHA256:smallrsa"),
        host_key("ssh-dss", "ssh-dss", 1024, "SHA256:dsakey"),
        auth("publickey", "password"),
    ]


def run(observations: Sequence[Observation]) -> tuple[Finding, ...]:
    return evaluate(observations, RULES_NOW)


def severities(findings: Sequence[Finding]) -> dict[str, Severity]:
    return {finding.id: finding.severity for finding in findings}


def found(findings: Sequence[Finding], finding_id: str) -> Finding:
    return next(finding for finding in findings if finding.id == finding_id)


def reason(category: str, name: str) -> str:
    return classify(category, name).reason  # type: ignore[arg-type]


# --- whole servers ------------------------------------------------------------------------


def test_hardened_server_has_no_findings() -> None:
    assert run(hardened_server()) == ()


def test_default_rules_include_the_ssh_rules() -> None:
    findings = evaluate([identification(version="1.99")], RULES)
    assert [finding.id for finding in findings] == ["ssh.protocol1"]


def test_legacy_server_findings() -> None:
    findings = run(legacy_server())

    assert severities(findings) == {
        "ssh.hostkey.dsa": Severity.HIGH,
        "ssh.kex.broken": Severity.HIGH,
        "ssh.rsa_key_small": Severity.HIGH,
        "ssh.cipher.weak": Severity.MEDIUM,
        "ssh.dh_group_small": Severity.MEDIUM,
        "ssh.hostkey.sha1": Severity.MEDIUM,
        "ssh.kex.weak": Severity.MEDIUM,
        "ssh.mac.md5": Severity.MEDIUM,
        "ssh.auth.password": Severity.LOW,
        "ssh.cipher.cbc": Severity.LOW,
        "ssh.no_post_quantum_kex": Severity.LOW,
    }
    assert found(findings, "ssh.kex.broken").evidence == (
        "kex: diffie-hellman-group1-sha1 — 1024-bit Oakley group 2 with SHA-1: within reach "
        "of a nation-state precomputation (Logjam); RFC 9142: SHOULD NOT",
    )
    assert found(findings, "ssh.kex.weak").evidence == (
        f"kex: diffie-hellman-group14-sha1 — {reason('kex', 'diffie-hellman-group14-sha1')}",
    )
    assert found(findings, "ssh.cipher.weak").evidence == (
        f"encryption (both directions): 3des-cbc — {reason('encryption', '3des-cbc')}",
    )
    assert found(findings, "ssh.cipher.cbc").evidence == (
        f"encryption (both directions): aes128-cbc — {reason('encryption', 'aes128-cbc')}",
    )
    assert found(findings, "ssh.mac.md5").evidence == (
        f"MAC (both directions): hmac-md5 — {reason('mac', 'hmac-md5')}",
    )
    assert found(findings, "ssh.hostkey.sha1").evidence == (
        f"host key: ssh-rsa — {reason('host_key', 'ssh-rsa')}",
    )
    assert found(findings, "ssh.hostkey.dsa").evidence == (
        f"host key: ssh-dss — {reason('host_key', 'ssh-dss')}",
        "host key SHA256:dsakey: the server signed with ssh-dss",
    )
    assert found(findings, "ssh.rsa_key_small").evidence == (
        "host key SHA256:smallrsa: 1024-bit RSA",
    )
    assert found(findings, "ssh.dh_group_small").evidence == (
        "kex: diffie-hellman-group1-sha1 uses a fixed 1024-bit group",
    )
    assert found(findings, "ssh.no_post_quantum_kex").evidence == (
        "kex: curve25519-sha256, diffie-hellman-group-exchange-sha256, "
        "diffie-hellman-group14-sha1, diffie-hellman-group1-sha1 (none is post-quantum)",
    )
    assert found(findings, "ssh.auth.password").evidence == (
        "the server offers password (methods listed: publickey, password)",
    )


def test_class_findings_cite_the_algorithms_references_after_the_catalogues() -> None:
    weak = found(run(legacy_server()), "ssh.cipher.weak")
    catalogue = load_catalogue()["ssh.cipher.weak"].references

    assert weak.references[: len(catalogue)] == catalogue
    assert set(classify("encryption", "3des-cbc").references) <= set(weak.references)
    assert len(set(weak.references)) == len(weak.references)


# --- Terrapin -----------------------------------------------------------------------------

NO_STRICT_KEX = tuple(name for name in HARDENED_KEX if name != STRICT)


def test_terrapin_chacha20_without_strict_kex() -> None:
    findings = run(hardened_server(algorithms(kex=NO_STRICT_KEX)))

    assert severities(findings) == {"ssh.terrapin": Severity.MEDIUM}
    assert found(findings, "ssh.terrapin").evidence == (
        "encryption (both directions): chacha20-poly1305@openssh.com; "
        "kex-strict-s-v00@openssh.com not offered",
    )


def test_strict_kex_closes_terrapin() -> None:
    assert "ssh.terrapin" not in severities(run(hardened_server()))


def test_terrapin_cbc_with_etm_without_strict_kex() -> None:
    server = algorithms(
        kex=NO_STRICT_KEX,
        ciphers=("aes128-ctr", "aes256-cbc"),
        macs=("hmac-sha2-256-etm@openssh.com", "hmac-sha2-256"),
    )
    findings = run(hardened_server(server))

    assert severities(findings) == {"ssh.terrapin": Severity.MEDIUM, "ssh.cipher.cbc": Severity.LOW}
    assert found(findings, "ssh.terrapin").evidence == (
        "encryption (both directions): CBC aes256-cbc with encrypt-then-MAC "
        "hmac-sha2-256-etm@openssh.com; kex-strict-s-v00@openssh.com not offered",
    )


@pytest.mark.parametrize(
    ("ciphers", "macs"),
    [
        (("aes256-cbc",), ("hmac-sha2-256",)),  # CBC with encrypt-and-MAC: not Terrapin
        (("aes128-ctr",), ("hmac-sha2-256-etm@openssh.com",)),  # CTR with EtM
        (("aes128-gcm@openssh.com",), ("hmac-sha2-256-etm@openssh.com",)),  # GCM
    ],
)
def test_not_terrapin_without_chacha20_or_cbc_etm(
    ciphers: tuple[str, ...], macs: tuple[str, ...]
) -> None:
    server = algorithms(kex=NO_STRICT_KEX, ciphers=ciphers, macs=macs)
    assert "ssh.terrapin" not in severities(run(hardened_server(server)))


def test_terrapin_evidence_per_direction_when_they_differ() -> None:
    server = algorithms(
        kex=NO_STRICT_KEX,
        ciphers=("aes128-ctr",),
        encryption_server_to_client=("chacha20-poly1305@openssh.com", "aes128-ctr"),
    )
    assert found(run(hardened_server(server)), "ssh.terrapin").evidence == (
        "encryption (server to client): chacha20-poly1305@openssh.com; "
        "kex-strict-s-v00@openssh.com not offered",
    )


# --- protocol, auth, host keys --------------------------------------------------------------


def test_ssh1_99_is_high_and_ssh1_only_is_critical() -> None:
    both = found(run(hardened_server(identification("OpenSSH_3.9p1", "1.99"))), "ssh.protocol1")
    only = found(run([identification("1.2.27", "1.5")]), "ssh.protocol1")

    assert both.severity == Severity.HIGH
    assert both.evidence == (
        "identification 'SSH-1.99-OpenSSH_3.9p1': version 1.99, SSH-1 next to SSH-2",
    )
    assert only.severity == Severity.CRITICAL
    assert only.evidence == ("identification 'SSH-1.5-1.2.27': version 1.5, SSH-1 only",)


def test_password_and_keyboard_interactive() -> None:
    findings = run(hardened_server(auth("publickey", "password", "keyboard-interactive")))

    assert severities(findings) == {"ssh.auth.password": Severity.LOW}
    assert found(findings, "ssh.auth.password").evidence == (
        "the server offers password, keyboard-interactive "
        "(methods listed: publickey, password, keyboard-interactive)",
    )
    assert "keys only" in found(findings, "ssh.auth.password").explanation


def test_none_authentication_is_critical() -> None:
    findings = run(hardened_server(auth(none_accepted=True)))

    assert severities(findings) == {"ssh.auth.none": Severity.CRITICAL}
    assert found(findings, "ssh.auth.none").evidence == (
        "user 'protoaudit-probe': the 'none' method succeeded, no credentials were asked for",
    )


CERTIFICATE = "host certificate 'web01' (serial 7, key SHA256:ed25519key, CA SHA256:hostca)"


@pytest.mark.parametrize(
    ("changes", "finding_id", "severity", "evidence"),
    [
        (
            {"valid_before": NOW - timedelta(days=3, hours=1)},
            "ssh.hostkey.certificate_expired",
            Severity.MEDIUM,
            f"{CERTIFICATE}: expired on 2026-11-25 (3 days ago)",
        ),
        (
            {"valid_after": NOW + timedelta(days=2)},
            "ssh.hostkey.certificate_not_yet_valid",
            Severity.MEDIUM,
            f"{CERTIFICATE}: not valid until 2026-11-30 12:00 UTC",
        ),
        (
            {"valid_before": NOW + timedelta(days=10, hours=1)},
            "ssh.hostkey.certificate_expires_soon",
            Severity.LOW,
            f"{CERTIFICATE}: expires on 2026-12-08 (10 days left)",
        ),
    ],
)
def test_host_certificate_validity(
    changes: dict[str, object], finding_id: str, severity: Severity, evidence: str
) -> None:
    findings = run(hardened_server(certified_key(**changes)))

    assert severities(findings) == {finding_id: severity}
    assert found(findings, finding_id).evidence == (evidence,)


def test_certificate_without_bounds_and_naive_times_do_not_crash() -> None:
    forever = certified_key(valid_after=None, valid_before=None)
    naive = certified_key(valid_before=datetime(2026, 1, 1))  # read as UTC

    assert run(hardened_server(forever)) == ()
    assert severities(run(hardened_server(naive))) == {
        "ssh.hostkey.certificate_expired": Severity.MEDIUM
    }


def test_certificate_signed_with_sha1_and_small_rsa_ca() -> None:
    key = certified_key(signature_algorithm="ssh-rsa", ca_key_type="ssh-rsa", ca_key_bits=2048)
    findings = run(hardened_server(key))

    assert severities(findings) == {
        "ssh.hostkey.sha1": Severity.MEDIUM,
        "ssh.rsa_key_small": Severity.LOW,
    }
    assert found(findings, "ssh.hostkey.sha1").evidence == (
        f"{CERTIFICATE}: the CA signed it with ssh-rsa",
    )
    assert found(findings, "ssh.rsa_key_small").evidence == (f"{CERTIFICATE}: 2048-bit RSA CA key",)


@pytest.mark.parametrize(
    ("bits", "severity"), [(3072, None), (2048, Severity.LOW), (1024, Severity.HIGH)]
)
def test_rsa_host_key_size(bits: int, severity: Severity | None) -> None:
    findings = run(hardened_server(host_key("rsa-sha2-512", "ssh-rsa", bits, "SHA256:rsa")))
    assert severities(findings).get("ssh.rsa_key_small") == severity


def test_small_group_exchange_prime() -> None:
    modulus = SshGexModulus("diffie-hellman-group-exchange-sha256", (768, 768, 1024), 768)
    finding = found(run(hardened_server(modulus)), "ssh.dh_group_small")

    assert finding.severity == Severity.HIGH  # below 1024 bits
    assert finding.evidence == (
        "diffie-hellman-group-exchange-sha256: asked for min 768, preferred 768, max 1024 bits; "
        "the server sent a 768-bit prime",
    )


def test_post_quantum_kex() -> None:
    classical = algorithms(kex=("curve25519-sha256", STRICT))
    mlkem_only = algorithms(kex=("mlkem768x25519-sha256", "curve25519-sha256", STRICT))

    assert severities(run(hardened_server(classical))) == {"ssh.no_post_quantum_kex": Severity.LOW}
    assert run(hardened_server(mlkem_only)) == ()


def test_pre_authentication_compression() -> None:
    findings = run(hardened_server(algorithms(compression=("none", "zlib"))))

    assert severities(findings) == {"ssh.compression.pre_auth": Severity.LOW}
    assert found(findings, "ssh.compression.pre_auth").evidence == (
        f"compression (both directions): zlib — {reason('compression', 'zlib')}",
    )


def test_none_cipher_and_mac() -> None:
    server = algorithms(ciphers=("aes128-ctr", "none"), macs=("hmac-sha2-256", "none"))
    assert severities(run(hardened_server(server))) == {
        "ssh.cipher.none": Severity.CRITICAL,
        "ssh.mac.none": Severity.HIGH,
    }


@pytest.mark.parametrize(
    ("protocol", "finding_id"),
    [
        ("telnet", "plaintext.telnet"),
        ("rlogin", "plaintext.rlogin"),
        ("rsh", "plaintext.rsh"),
        ("rexec", "plaintext.rexec"),
    ],
)
def test_plaintext_login_services(protocol: str, finding_id: str) -> None:
    service = PlaintextLoginService(protocol, "its greeting", "\x00login: ")
    findings = run([service])

    assert severities(findings) == {finding_id: Severity.HIGH}
    assert found(findings, finding_id).evidence == (
        f"{protocol}: confirmed by its greeting; it sent '\\x00login: '",
    )
    assert "SSH" in found(findings, finding_id).explanation


def test_long_plaintext_banner_is_shortened() -> None:
    service = PlaintextLoginService("telnet", "IAC DO TERMINAL-TYPE", "x" * 500)
    (line,) = found(run([service]), "plaintext.telnet").evidence
    assert line.endswith("x…'")
    assert len(line) < 150


# --- unknown names and markers ------------------------------------------------------------


def test_unknown_algorithms_are_info_and_never_crash() -> None:
    server = algorithms(
        kex=(*HARDENED_KEX, "frodokem976x25519-sha512@example.org", ""),
        ciphers=(*HARDENED_CIPHERS, "\x1b[31mred"),
        encryption_server_to_client=HARDENED_CIPHERS,
    )
    findings = run(hardened_server(server))

    assert severities(findings) == {"ssh.algorithm.unknown": Severity.INFO}
    data_file = "not in protoaudit's SSH algorithm data (ssh_algorithms.json)"
    assert found(findings, "ssh.algorithm.unknown").evidence == (
        f"kex: frodokem976x25519-sha512@example.org — {data_file}",
        f"kex:  — {data_file}",
        f"encryption (client to server): \x1b[31mred — {data_file}",
    )
    assert ssh_hardening(hardened_server(server)).keep["kex"][-1] == ""


def test_markers_are_not_algorithms() -> None:
    server = algorithms(
        kex=("curve25519-sha256", "ext-info-s", STRICT, "kexguess2@matt.ucc.asn.au")
    )
    names = [offer.name for offer in offered_algorithms(server) if offer.info.category == "kex"]
    assert names == ["curve25519-sha256"]


def test_gss_names_match_by_prefix() -> None:
    assert classify("kex", "gss-group1-sha1-toWM5Slw5Ew8Mqkay+al2g==").classification == "broken"
    assert classify("kex", "gss-curve25519-sha256-toWM5Slw5Ew8Mqkay+al2g==").classification == (
        "recommended"
    )
    assert classify("kex", "gss-").classification == "unknown"


# --- the data files -----------------------------------------------------------------------


def test_every_algorithm_has_a_class_reason_and_reference() -> None:
    data = load_algorithm_data()
    entries = data.entries()

    assert len(entries) > 150
    for info in entries:
        assert info.classification in ("recommended", "acceptable", "weak", "broken"), info.name
        assert info.reason.strip(), info.name
        assert info.references, info.name
        assert all(reference.strip() for reference in info.references), info.name
        assert (info.finding is not None) == info.needs_removal, info.name


def test_algorithm_data_names_its_sources_and_date() -> None:
    data = load_algorithm_data()
    sources = " ".join(data.sources)

    assert data.date == "2026-11-28"
    for source in ("RFC 9142", "RFC 8308", "RFC 8332", "RFC 4253", "RFC 8709", "RFC 8731"):
        assert source in sources
    for source in ("RFC 5656", "RFC 4344", "RFC 10042", "ntruprime", "NIST SP 800-131A"):
        assert source in sources
    for source in ("CVE-2023-48795", "SWEET32", "RFC 8758", "OpenSSH release notes"):
        assert source in sources


def test_well_known_classes() -> None:
    expected = {
        ("kex", "mlkem768x25519-sha256"): "recommended",
        ("kex", "sntrup761x25519-sha512@openssh.com"): "recommended",
        ("kex", "curve25519-sha256"): "recommended",
        ("kex", "diffie-hellman-group14-sha256"): "acceptable",
        ("kex", "diffie-hellman-group14-sha1"): "weak",
        ("kex", "diffie-hellman-group1-sha1"): "broken",
        ("host_key", "ssh-ed25519"): "recommended",
        ("host_key", "rsa-sha2-512"): "acceptable",
        ("host_key", "ssh-rsa"): "weak",
        ("host_key", "ssh-dss"): "broken",
        ("encryption", "aes256-gcm@openssh.com"): "recommended",
        ("encryption", "aes128-ctr"): "acceptable",
        ("encryption", "aes128-cbc"): "weak",
        ("encryption", "3des-cbc"): "weak",
        ("encryption", "arcfour"): "broken",
        ("mac", "hmac-sha2-256-etm@openssh.com"): "recommended",
        ("mac", "hmac-sha1"): "acceptable",
        ("mac", "hmac-md5"): "weak",
        ("compression", "zlib@openssh.com"): "acceptable",
    }
    actual = {key: classify(*key).classification for key in expected}  # type: ignore[arg-type]
    assert actual == expected


def test_post_quantum_flags() -> None:
    post_quantum = {info.name for info in load_algorithm_data().entries() if info.post_quantum}
    assert {"mlkem768x25519-sha256", "sntrup761x25519-sha512@openssh.com"} <= post_quantum
    assert {"sntrup761x25519-sha512", "mlkem768nistp256-sha256"} <= post_quantum
    assert "curve25519-sha256" not in post_quantum


def test_malformed_algorithm_data_names_the_entry() -> None:
    document: dict[str, Any] = {
        "_source": [],
        "_date": "2026-11-28",
        "markers": {},
        "algorithms": {category: {} for category in CATEGORIES},
    }
    document["algorithms"]["mac"] = {
        "hmac-foo": {"class": "weak", "reason": "r", "references": ["RFC 1"]}
    }
    with pytest.raises(ValueError, match=r"algorithms\.mac\.hmac-foo: weak and broken"):
        parse_algorithm_data(document)


def test_malformed_ssh_catalogue_entry_names_its_file() -> None:
    with pytest.raises(ValueError, match=f"{SSH_BASELINE_FILE}: findings.ssh.x: unknown severity"):
        parse_catalogue(
            {"ssh.x": {"severity": "dire", "title": "t", "explanation": "e"}}, SSH_BASELINE_FILE
        )


def test_catalogue_merges_files_and_keeps_tls_apart() -> None:
    files = [set(load_catalogue_file(name)) for name in CATALOGUE_FILES]
    tls, ssh = set(load_baseline().catalogue), set(load_catalogue_file(SSH_BASELINE_FILE))

    assert sum(len(ids) for ids in files) == len(set().union(*files))  # no id in two files
    assert set(load_catalogue()) == set().union(*files)
    assert {DNSSEC_BASELINE_FILE, SSH_BASELINE_FILE} <= set(CATALOGUE_FILES)
    assert not tls & ssh
    assert all(finding_id.startswith(("tls.", "starttls.")) for finding_id in tls)


def test_ssh_catalogue_ids_follow_the_dotted_scheme() -> None:
    for finding_id in load_catalogue_file(SSH_BASELINE_FILE):
        assert re.fullmatch(r"(ssh(\.[a-z0-9_]+){1,2})|(plaintext\.[a-z]+)", finding_id)


def test_ssh_thresholds() -> None:
    limits = ssh_thresholds()
    assert (limits.rsa_key_bits_min, limits.rsa_key_bits_high_below) == (3072, 2048)
    assert (limits.dh_group_bits_min, limits.dh_group_bits_high_below) == (2048, 1024)


def test_every_id_the_rules_name_is_in_the_catalogue() -> None:
    catalogue = set(load_catalogue_file(SSH_BASELINE_FILE))
    from_data = {info.finding for info in load_algorithm_data().entries() if info.finding}
    in_source = set(re.findall(r'"((?:ssh|plaintext)\.[a-z0-9_.]+)"', SSH_RULES_SOURCE.read_text()))

    assert from_data <= catalogue
    assert in_source <= catalogue
    assert in_source | from_data == catalogue  # and no id in the catalogue is orphaned


# Each catalogue id, and one target that shows it.
CASES: dict[str, Callable[[], list[Observation]]] = {
    "ssh.protocol1": lambda: hardened_server(identification(version="1.99")),
    "ssh.kex.broken": lambda: hardened_server(algorithms(kex=("rsa1024-sha1", STRICT))),
    "ssh.kex.weak": lambda: hardened_server(
        algorithms(kex=(*HARDENED_KEX, "diffie-hellman-group-exchange-sha1"))
    ),
    "ssh.dh_group_small": lambda: hardened_server(
        SshGexModulus("diffie-hellman-group-exchange-sha256", (1024, 1024, 1024), 1024)
    ),
    "ssh.no_post_quantum_kex": lambda: hardened_server(algorithms(kex=("curve25519-sha256",))),
    "ssh.terrapin": lambda: hardened_server(algorithms(kex=NO_STRICT_KEX)),
    "ssh.hostkey.dsa": lambda: hardened_server(algorithms(host_key=("ssh-ed25519", "ssh-dss"))),
    "ssh.hostkey.sha1": lambda: hardened_server(algorithms(host_key=("ssh-ed25519", "ssh-rsa"))),
    "ssh.rsa_key_small": lambda: hardened_server(host_key("rsa-sha2-256", "ssh-rsa", 2048)),
    "ssh.hostkey.certificate_expired": lambda: hardened_server(
        certified_key(valid_before=NOW - timedelta(days=1))
    ),
    "ssh.hostkey.certificate_not_yet_valid": lambda: hardened_server(
        certified_key(valid_after=NOW + timedelta(days=1))
    ),
    "ssh.hostkey.certificate_expires_soon": lambda: hardened_server(
        certified_key(valid_before=NOW + timedelta(days=1))
    ),
    "ssh.cipher.none": lambda: hardened_server(algorithms(ciphers=("aes128-ctr", "none"))),
    "ssh.cipher.broken": lambda: hardened_server(algorithms(ciphers=("aes128-ctr", "arcfour256"))),
    "ssh.cipher.weak": lambda: hardened_server(algorithms(ciphers=("aes128-ctr", "blowfish-cbc"))),
    "ssh.cipher.cbc": lambda: hardened_server(algorithms(ciphers=("aes128-ctr", "aes256-cbc"))),
    "ssh.mac.none": lambda: hardened_server(algorithms(macs=("hmac-sha2-256", "none"))),
    "ssh.mac.md5": lambda: hardened_server(algorithms(macs=("hmac-sha2-256", "hmac-md5-96"))),
    "ssh.mac.weak": lambda: hardened_server(algorithms(macs=("hmac-sha2-256", "hmac-sha1-96"))),
    "ssh.compression.pre_auth": lambda: hardened_server(algorithms(compression=("zlib",))),
    "ssh.algorithm.unknown": lambda: hardened_server(
        algorithms(macs=("hmac-sha2-256", "hmac-sha3-256"))
    ),
    "ssh.auth.password": lambda: hardened_server(auth("publickey", "password")),
    "ssh.auth.none": lambda: hardened_server(auth(none_accepted=True)),
    "plaintext.telnet": lambda: [PlaintextLoginService("telnet", "IAC DO", "")],
    "plaintext.rlogin": lambda: [PlaintextLoginService("rlogin", "a zero byte", "\x00")],
    "plaintext.rsh": lambda: [PlaintextLoginService("rsh", "a zero byte", "\x00")],
    "plaintext.rexec": lambda: [PlaintextLoginService("rexec", "a zero byte", "\x00")],
}


def test_every_ssh_catalogue_id_has_a_case() -> None:
    assert set(CASES) == set(load_catalogue_file(SSH_BASELINE_FILE))


@pytest.mark.parametrize("finding_id", sorted(CASES))
def test_each_case_finds_its_id_and_the_catalogue_text(finding_id: str) -> None:
    observations = CASES[finding_id]()
    findings = run(observations)
    finding = found(findings, finding_id)
    template = load_catalogue()[finding_id]

    assert (finding.title, finding.explanation) == (template.title, template.explanation)
    assert finding.references[: len(template.references)] == template.references
    assert finding.evidence
    assert template.references
    for rule in RULES_NOW:  # each rule gives at most one finding per id
        ids = [item.id for item in rule(observations)]
        assert len(ids) == len(set(ids)), rule.__name__


# --- hardening advice ---------------------------------------------------------------------


def test_no_advice_for_the_hardened_server() -> None:
    advice = ssh_hardening(hardened_server())

    assert not advice.changes_needed
    assert (advice.config_lines, advice.allow_list_lines, advice.notes) == ((), (), ())
    assert advice.config_file == "sshd_config"
    assert advice.keep["kex"] == HARDENED_KEX[:-2]  # without ext-info-s and the strict marker


def test_openssh_legacy_lines() -> None:
    advice = ssh_hardening(legacy_server())

    assert advice.software == "OpenSSH_7.9p1"
    assert advice.remove == {
        "kex": ("diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1"),
        "host_key": ("ssh-rsa", "ssh-dss"),
        "encryption": ("3des-cbc", "aes128-cbc"),
        "mac": ("hmac-md5",),
        "compression": (),
    }
    assert advice.config_lines == (
        "KexAlgorithms -diffie-hellman-group14-sha1,diffie-hellman-group1-sha1",
        "HostKeyAlgorithms -ssh-rsa,ssh-dss",
        "Ciphers -3des-cbc,aes128-cbc",
        "MACs -hmac-md5",
        "PasswordAuthentication no",
    )
    assert advice.allow_list_lines == (
        "KexAlgorithms curve25519-sha256,diffie-hellman-group-exchange-sha256",
        "HostKeyAlgorithms rsa-sha2-512",
        "Ciphers aes128-ctr,aes256-ctr",
        "MACs hmac-sha2-256,hmac-sha1",
        "PasswordAuthentication no",
    )
    notes = " ".join(advice.notes)
    assert "HostKey line for the DSA key" in notes
    assert "ssh-keygen -t rsa -b 3072" in notes
    assert "upgrade to 9.9 or later" in notes


def test_openssh_before_7_5_gets_explicit_lists() -> None:
    server = [
        identification("OpenSSH_6.6.1p1", comments="Ubuntu-2ubuntu2.13"),
        algorithms(
            kex=("curve25519-sha256@libssh.org", "diffie-hellman-group1-sha1"),
            ciphers=("aes128-ctr", "arcfour"),
            compression=("none", "zlib"),
        ),
        auth("publickey", "keyboard-interactive"),
    ]
    advice = ssh_hardening(server)

    assert (
        advice.config_lines
        == advice.allow_list_lines
        == (
            "KexAlgorithms curve25519-sha256@libssh.org",
            "Ciphers aes128-ctr",
            "Compression delayed",
            "ChallengeResponseAuthentication no",
        )
    )
    assert any("predates the '-' prefix" in note for note in advice.notes)


def test_openssh_terrapin_and_keyboard_interactive() -> None:
    server = hardened_server(
        identification("OpenSSH_9.3p1"),
        algorithms(kex=NO_STRICT_KEX),
        auth("publickey", "password", "keyboard-interactive"),
    )
    advice = ssh_hardening(server)

    assert advice.remove["encryption"] == ("chacha20-poly1305@openssh.com",)
    assert advice.config_lines == (
        "Ciphers -chacha20-poly1305@openssh.com",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
    )
    assert advice.allow_list_lines == (
        "Ciphers " + ",".join(HARDENED_CIPHERS[1:]),
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
    )
    assert any("OpenSSH 9.6 or later" in note for note in advice.notes)


def test_openssh_with_nothing_acceptable_in_a_category() -> None:
    server = hardened_server(identification("OpenSSH_8.4p1"), algorithms(macs=("hmac-md5",)))
    advice = ssh_hardening(server)

    assert advice.config_lines == ("MACs -hmac-md5",)
    assert advice.allow_list_lines == ()
    assert any("`ssh -Q mac`" in note for note in advice.notes)


def test_openssh_small_moduli_and_missing_post_quantum() -> None:
    server = hardened_server(
        identification("OpenSSH_9.2p1"),
        algorithms(kex=("curve25519-sha256", STRICT)),
        SshGexModulus("diffie-hellman-group-exchange-sha256", (1024, 1024, 1024), 1024),
    )
    advice = ssh_hardening(server)

    assert advice.config_lines == ()
    assert advice.notes == (
        "Remove primes under 2048 bits from /etc/ssh/moduli: awk '$5 >= 2047' /etc/ssh/moduli "
        "> /etc/ssh/moduli.new && mv /etc/ssh/moduli.new /etc/ssh/moduli",
        "OpenSSH 9.2 has sntrup761x25519-sha512@openssh.com built in (a default from 9.0): "
        "add it to KexAlgorithms, or upgrade to 9.9+ for mlkem768x25519-sha256.",
    )


def test_dropbear_build_options() -> None:
    server = [
        identification("dropbear_2020.81"),
        algorithms(
            kex=("curve25519-sha256", "diffie-hellman-group14-sha1", "kexguess2@matt.ucc.asn.au"),
            host_key=("ssh-ed25519", "ssh-rsa", "ssh-dss"),
            ciphers=("aes128-ctr", "3des-ctr", "aes128-cbc", "3des-cbc"),
            macs=("hmac-sha2-256", "hmac-sha1-96"),
        ),
        auth("publickey", "password"),
    ]
    advice = ssh_hardening(server)

    assert advice.config_file == "localoptions.h"
    assert advice.config_lines == (
        "#define DROPBEAR_DH_GROUP14_SHA1 0",
        "#define DROPBEAR_RSA_SHA1 0",
        "#define DROPBEAR_DSS 0",
        "#define DROPBEAR_3DES 0",
        "#define DROPBEAR_ENABLE_CBC_MODE 0",
        "#define DROPBEAR_SHA1_96_HMAC 0",
    )
    assert advice.allow_list_lines == ()
    assert "Start dropbear with -s to refuse password logins (-g: for root only)." in advice.notes


def test_other_servers_get_the_list_without_lines() -> None:
    server = [
        identification("Cisco-1.25"),
        algorithms(
            kex=("diffie-hellman-group14-sha1", "ecdh-sha2-nistp256"),
            ciphers=("aes128-cbc", "aes128-ctr"),
        ),
    ]
    advice = ssh_hardening(server)

    assert advice.config_file is None
    assert (advice.config_lines, advice.allow_list_lines) == ((), ())
    assert advice.remove["kex"] == ("diffie-hellman-group14-sha1",)
    assert advice.remove["encryption"] == ("aes128-cbc",)
    assert advice.notes == (
        "Cisco-1.25 is neither OpenSSH nor Dropbear: take the algorithms under `remove` out "
        "in its own configuration.",
    )


@pytest.mark.parametrize(
    ("software", "version"),
    [
        ("OpenSSH_9.2p1", (9, 2)),
        ("OpenSSH_10.0", (10, 0)),
        ("OpenSSH_for_Windows_8.1", (8, 1)),
        ("OpenSSH_x", None),
        ("dropbear_2022.83", None),
    ],
)
def test_openssh_version(software: str, version: tuple[int, int] | None) -> None:
    assert openssh_version(software) == version


def test_hardening_result_is_plain_data() -> None:
    advice = ssh_hardening(legacy_server())
    as_dict = dataclasses.asdict(advice)

    assert isinstance(advice, SshHardening)
    assert as_dict["remove"]["mac"] == ("hmac-md5",)
    assert set(as_dict) == {
        "software",
        "config_file",
        "remove",
        "keep",
        "config_lines",
        "allow_list_lines",
        "notes",
    }
