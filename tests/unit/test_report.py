"""Reports: the JSON document against its schema, and the terminal report's safety."""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import jsonschema
import pytest
from rich.console import Console

import observation_helpers
from dnssec_observations import NO_DS_PROOF, status, zone
from observation_helpers import suite
from protoaudit.observations import (
    CertificateChain,
    CertificateInfo,
    CipherSuiteSupport,
    ConnectionFailure,
    EphemeralKeyExchange,
    FtpFacts,
    KeyExchangeGroups,
    Observation,
    PlaintextLoginService,
    ProbeFailure,
    SshAlgorithms,
    SshAuthMethods,
    SshGexModulus,
    SshHostCertificate,
    SshHostKey,
    SshIdentification,
    StartTlsDialog,
    StartTlsInjection,
    TlsVersionSupport,
)
from protoaudit.policy import evaluate, grade
from protoaudit.proto.tls.constants import ProtocolVersion
from protoaudit.registry.tls import group_by_name
from protoaudit.report import json_report, terminal
from protoaudit.results import TargetResult, UnscannedTarget
from protoaudit.targets import Target
from schema_defs import NEW_KINDS, definitions

TLS10, TLS12, TLS13 = ProtocolVersion.TLS1_0, ProtocolVersion.TLS1_2, ProtocolVersion.TLS1_3
GENERATED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
HOSTILE_SUBJECT = "CN=[bold red]evil[/bold red]\x1b]0;pwned\x07\x1b[2J\u202etxt.exe\x00"


# The leaf an ECDSA handshake finds: from "Example CA", with an IP address among its names
EC_LEAF = observation_helpers.certificate(
    issuer="CN=Example CA",
    serial_hex="0a1b",
    key_type="EC",
    key_bits=256,
    curve="secp256r1",
    signature_algorithm="ecdsa-with-SHA256",
    san_dns=("example.com",),
    san_ip=("192.0.2.1",),
    sha256_fingerprint="ab" * 32,
)


def certificate(subject: str = "CN=example.com", **changes: object) -> CertificateInfo:
    return dataclasses.replace(EC_LEAF, subject=subject, **changes)  # type: ignore[arg-type]


EC_CHAIN = observation_helpers.chain(
    requested_key_type="ECDSA",
    certificates=(EC_LEAF, certificate("CN=Example CA", is_ca=True, san_dns=())),
    trust_store="certifi",
    days_left=150,
    ocsp_stapled=True,
)


def chain(leaf: CertificateInfo, **changes: object) -> CertificateChain:
    changes.setdefault("certificates", (leaf, *EC_CHAIN.certificates[1:]))
    return dataclasses.replace(EC_CHAIN, **changes)  # type: ignore[arg-type]


TLS12_SUITES = (
    suite("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    suite("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"),
    suite("TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
)


def observations(subject: str = "CN=example.com") -> tuple[Observation, ...]:
    return (
        TlsVersionSupport(TLS10, True, "ServerHello"),
        TlsVersionSupport(TLS12, True, "ServerHello"),
        TlsVersionSupport(TLS13, True, "ServerHello"),
        CipherSuiteSupport(TLS10, (suite("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"),), None, ()),
        CipherSuiteSupport(TLS12, TLS12_SUITES, True, TLS12_SUITES),
        CipherSuiteSupport(
            TLS13, (suite("TLS_AES_128_GCM_SHA256"), suite("TLS_AES_256_GCM_SHA384")), False, ()
        ),
        KeyExchangeGroups(
            TLS13,
            (group_by_name("x25519").code, group_by_name("secp256r1").code),
            group_by_name("x25519").code,
        ),
        EphemeralKeyExchange(TLS12, TLS12_SUITES[0], group_by_name("x25519").code, None, 0x0403),
        chain(certificate(subject)),
    )


def result(subject: str = "CN=example.com", **changes: object) -> TargetResult:
    seen = observations(subject)
    fields: dict[str, object] = {
        "target": Target("example.com", 443, "https", None, "https://example.com"),
        "address": "192.0.2.1",
        "started": datetime(2025, 6, 1, 11, 59, 58, tzinfo=UTC),
        "duration_seconds": 1.23456,
        "observations": seen,
        "findings": evaluate(seen),
    }
    fields.update(changes)
    fields.setdefault(
        "grade",
        grade(fields["observations"], fields["findings"]),  # type: ignore[arg-type]
    )
    return TargetResult(**fields)  # type: ignore[arg-type]


def failed_result() -> TargetResult:
    seen: tuple[Observation, ...] = (
        ConnectionFailure("tls", "no-tls", "peer sent \x1b[31mHTTP/1.1 400\x1b[0m"),
    )
    return result(observations=seen, findings=evaluate(seen))


UNSCANNED = (UnscannedTarget("bad host!", "'bad host!' is not a host name or IP address"),)


def document(*results: TargetResult) -> dict[str, Any]:
    return json_report.to_document(
        results or (result(),), UNSCANNED, tool_version="0.1.0", generated=GENERATED
    )


def only_target(*results: TargetResult) -> dict[str, Any]:
    (target,) = document(*results)["targets"]
    assert isinstance(target, dict)
    return target


# --- JSON ------------------------------------------------------------------------------


def validate(instance: object) -> None:
    schema = json_report.load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(instance)


def test_document_validates_against_the_schema() -> None:
    validate(document(result(), result(HOSTILE_SUBJECT), failed_result()))


def test_document_survives_a_round_trip_through_json_text() -> None:
    text = json_report.dumps(
        [result(HOSTILE_SUBJECT)], UNSCANNED, tool_version="0.1.0", generated=GENERATED
    )
    assert text.isascii()
    parsed = json.loads(text)
    validate(parsed)
    assert parsed == document(result(HOSTILE_SUBJECT))
    subject = parsed["targets"][0]["observations"][-1]["certificates"][0]["subject"]
    assert subject == HOSTILE_SUBJECT  # JSON keeps the exact text; escaping is JSON's


def test_document_top_level() -> None:
    doc = document()
    assert doc["schema_version"] == "1.0"
    assert doc["tool"] == {"name": "protoaudit", "version": "0.1.0"}
    assert doc["generated"] == "2025-06-01T12:00:00Z"
    assert doc["errors"] == [
        {"target": "bad host!", "reason": "'bad host!' is not a host name or IP address"}
    ]


def test_target_entry() -> None:
    target = only_target()
    assert target["target"] == "https://example.com"
    assert (target["host"], target["port"], target["service"]) == ("example.com", 443, "https")
    assert target["address"] == "192.0.2.1"
    assert target["started"] == "2025-06-01T11:59:58Z"
    assert target["duration_seconds"] == pytest.approx(1.235)
    assert target["grade"]["letter"] == "B"


def test_code_points_carry_their_names() -> None:
    target = only_target()
    by_kind = {item["kind"]: item for item in target["observations"][3:]}
    suites = [item for item in target["observations"] if item["kind"] == "cipher_suites"]
    tls13 = suites[-1]
    assert tls13["version"] == {"code": "0x0304", "name": "TLS 1.3"}
    assert tls13["accepted"][0] == {
        "code": "0x1301",
        "name": "TLS_AES_128_GCM_SHA256",
        "openssl_name": "TLS_AES_128_GCM_SHA256",
    }
    assert suites[1]["accepted"][2] == {
        "code": "0x000A",
        "name": "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        "openssl_name": "DES-CBC3-SHA",
    }
    groups = by_kind["key_exchange_groups"]
    assert groups["accepted"][0] == {"code": "0x001D", "name": "x25519"}
    assert groups["server_preferred"] == {"code": "0x001D", "name": "x25519"}
    exchange = by_kind["ephemeral_key_exchange"]
    assert exchange["signature_scheme"] == {"code": "0x0403", "name": "ecdsa_secp256r1_sha256"}
    assert exchange["dh_prime_bits"] is None


def test_certificates_are_written_in_full() -> None:
    target = only_target()
    chain_json = target["observations"][-1]
    assert chain_json["kind"] == "certificate_chain"
    leaf = chain_json["certificates"][0]
    assert leaf["not_after"] == "2026-01-01T00:00:00Z"
    assert leaf["pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert leaf["san_ip"] == ["192.0.2.1"]


def test_findings_are_written_with_lowercase_severity() -> None:
    target = only_target()
    sweet32 = next(f for f in target["findings"] if f["id"] == "tls.cipher.3des_sweet32")
    assert sweet32["severity"] == "medium"
    assert sweet32["evidence"] == [
        "TLS 1.2: server accepted TLS_RSA_WITH_3DES_EDE_CBC_SHA (0x000A)"
    ]
    assert "CVE-2016-2183" in sweet32["references"]


def test_a_target_that_failed_has_no_grade() -> None:
    target = only_target(failed_result())
    assert target["grade"] is None
    assert target["findings"][0]["id"] == "tls.connection.failed"


def test_unknown_codes_are_named_placeholders() -> None:
    seen = (
        TlsVersionSupport(TLS12, True, "ServerHello"),
        CipherSuiteSupport(TLS12, (0xFAFA,), None, ()),
    )
    doc = document(result(observations=seen, findings=evaluate(seen)))
    validate(doc)
    accepted = doc["targets"][0]["observations"][1]["accepted"]
    assert accepted == [{"code": "0xFAFA", "name": "UNKNOWN_0xFAFA", "openssl_name": None}]


def test_times_are_converted_to_utc() -> None:
    paris = timezone(timedelta(hours=2))
    assert json_report.iso_utc(datetime(2025, 6, 1, 14, 0, tzinfo=paris)) == "2025-06-01T12:00:00Z"
    assert json_report.iso_utc(datetime(2025, 6, 1, 12, 0)) == "2025-06-01T12:00:00Z"


def test_schema_rejects_a_renamed_key() -> None:
    doc = document()
    doc["target_list"] = doc.pop("targets")
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


# --- terminal ----------------------------------------------------------------------------


def rendered(*results: TargetResult, verbose: bool = False) -> str:
    console = Console(record=True, width=120, force_terminal=False)
    terminal.render(results, UNSCANNED, console, verbose=verbose)
    return console.export_text()


def test_terminal_shows_suites_by_iana_and_openssl_name() -> None:
    text = rendered(result())
    for name in (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        "DES-CBC3-SHA",
        "TLS_AES_128_GCM_SHA256",
    ):
        assert name in text
    assert "TLS 1.2 cipher suites (in the server's order, which it enforces)" in text
    assert "TLS 1.3 cipher suites (the server follows the client's order)" in text
    assert "x25519" in text


def test_terminal_shows_header_grade_and_time() -> None:
    text = rendered(result())
    first = text.splitlines()[0]
    assert "https://example.com" in first
    assert "192.0.2.1" in first
    assert "grade B" in first
    assert "1.2 s" in first


def test_terminal_shows_chain_and_verdict() -> None:
    text = rendered(result())
    assert "CN=example.com" in text
    assert "CN=Example CA" in text
    assert "EC 256 secp256r1" in text
    assert "2026-01-01" in text
    assert "150" in text
    assert "trusted by certifi" in text


def test_terminal_lists_findings_worst_first() -> None:
    seen = (*observations(), TlsVersionSupport(ProtocolVersion.SSL3, True, "ServerHello"))
    text = rendered(result(observations=seen, findings=evaluate(seen)))
    order = ["critical", "high", "medium", "low", "info"]
    shown = [
        cells[1].strip()
        for line in text.splitlines()
        if len(cells := line.split("│")) > 2 and cells[1].strip() in order
    ]
    assert shown[0] == "high"  # SSLv3
    assert "medium" in shown
    assert shown == sorted(shown, key=order.index)


def test_terminal_lists_unscanned_targets() -> None:
    text = rendered(result())
    assert "Not scanned" in text
    assert "bad host!: 'bad host!' is not a host name or IP address" in text


def test_hostile_subject_prints_literally() -> None:
    text = rendered(result(HOSTILE_SUBJECT), verbose=True)
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\x00" not in text
    assert "\u202e" not in text
    assert "[bold red]evil[/bold red]" in text  # markup shown, not applied
    assert "\\x1b]0;pwned\\x07" in text
    assert "\\u202etxt.exe" in text


def test_hostile_error_detail_prints_literally() -> None:
    text = rendered(failed_result())
    assert "\x1b" not in text
    assert "\\x1b[31mHTTP/1.1 400\\x1b[0m" in text
    assert "not graded" in text


def test_hostile_probe_detail_and_trust_error_print_literally() -> None:
    seen = (
        *observations(),
        ProbeFailure("certificate", "decode", "bad [link=http://x]name[/link]\x1b[8m"),
        chain(certificate(), trusted=False, trust_error="[red]issuer\x1b[5m unknown"),
    )
    text = rendered(result(observations=seen, findings=evaluate(seen)))
    assert "\x1b" not in text
    assert "[link=http://x]name[/link]\\x1b[8m" in text
    assert "[red]issuer\\x1b[5m" in text


def test_plain_console_gets_no_escape_codes() -> None:
    # Given a console on a pipe (what the CLI's Console() sees with `| less`)
    output = io.StringIO()
    console = Console(file=output, width=120)

    terminal.render([result(HOSTILE_SUBJECT)], UNSCANNED, console, verbose=True)

    # Then neither our colours nor the peer's escapes reach it
    assert "\x1b" not in output.getvalue()


def test_terminal_console_gets_colour_but_not_the_peer_s_escapes() -> None:
    output = io.StringIO()
    console = Console(file=output, width=120, force_terminal=True, color_system="standard")

    terminal.render([result(HOSTILE_SUBJECT)], UNSCANNED, console, verbose=False)

    text = output.getvalue()
    assert "\x1b[" in text  # rich's own styling
    assert "\x1b]0;pwned" not in text
    assert "\x1b[2J" not in text


def test_verbose_adds_explanations_and_references() -> None:
    quiet, verbose = rendered(result()), rendered(result(), verbose=True)
    assert "SWEET32" not in quiet
    assert "SWEET32" in verbose
    assert "CVE-2016-2183" in verbose
    assert "ab" * 32 in verbose  # fingerprint


def test_render_of_nothing_prints_nothing() -> None:
    console = Console(record=True, width=120, force_terminal=False)
    terminal.render([], [], console, verbose=False)
    assert console.export_text() == ""


def test_long_evidence_is_shortened_unless_verbose() -> None:
    # Given a finding with ten evidence lines
    many = tuple(
        CipherSuiteSupport(version, (suite("TLS_RSA_WITH_AES_128_CBC_SHA"),), None, ())
        for version in range(0x0300, 0x0300 + 10)
    )
    seen = (*observations(), *many)
    target = result(observations=seen, findings=evaluate(seen))

    quiet, verbose = rendered(target), rendered(target, verbose=True)

    assert "more (--verbose shows all)" in quiet
    assert "more (--verbose shows all)" not in verbose


# --- STARTTLS: capabilities after TLS, command injection, FTP ---------------------------

HOSTILE_REPLY = "250 [bold]ok[/bold]\x1b[2J\u202e"


def ftp_result(**changes: object) -> TargetResult:
    """An ftp:// target with the flaws an FTP audit reports, some text from the wire hostile."""
    facts: dict[str, object] = {
        "implicit_tls": False,
        "plaintext_login": True,
        "plaintext_login_reply": "331 Please specify the password.",
        "anonymous_login": True,
        "anonymous_login_reply": "230 Login successful.",
        "prot_c_reply": "200 PROT now Clear.",
        "clear_data": True,
        "data_channel_tls": True,
        "data_tls_version": TLS13,
        "data_cipher_suite": suite("TLS_AES_256_GCM_SHA384"),
        "data_session_reused": True,
        "listing": ("hello.txt", "\x1b]0;pwned\x07.txt"),
        "passive_host_named": "10.0.0.9",
        "notes": ("NLST after PROT C was answered in clear",),
    }
    facts.update(changes)
    seen = (
        *observations(),
        StartTlsDialog(
            protocol="ftp",
            banner="220 (vsFTPd 3.0.3)",
            capabilities_before=("AUTH TLS", "PBSZ", "PROT"),
            starttls_offered=True,
            plaintext_auth_offered=(),
            upgraded=True,
            failure=None,
            capabilities_after=("PBSZ", "PROT", "UTF8"),
        ),
        StartTlsInjection(
            protocol="ftp",
            injected="NOOP",
            vulnerable=True,
            detail=f"NOOP was answered over TLS: {HOSTILE_REPLY}",
            plaintext_answer="500 OOPS",
        ),
        FtpFacts(**facts),  # type: ignore[arg-type]
    )
    target = Target("ftp.example.com", 21, "ftp", None, "ftp://ftp.example.com")
    return result(observations=seen, findings=evaluate(seen), target=target)


def test_starttls_observations_validate_and_carry_their_names() -> None:
    doc = document(ftp_result())
    validate(doc)
    by_kind = {o["kind"]: o for o in doc["targets"][0]["observations"]}
    assert by_kind["starttls_dialog"]["capabilities_after"] == ["PBSZ", "PROT", "UTF8"]
    assert by_kind["starttls_injection"]["vulnerable"] is True
    facts = by_kind["ftp_facts"]
    assert facts["data_tls_version"] == {"code": "0x0304", "name": "TLS 1.3"}
    assert facts["data_cipher_suite"]["name"] == "TLS_AES_256_GCM_SHA384"
    findings = {f["id"] for f in doc["targets"][0]["findings"]}
    assert {"starttls.command_injection", "starttls.ftp_clear_data"} <= findings


def test_ftp_facts_not_tested_validate_with_nulls() -> None:
    untested = ftp_result(
        plaintext_login=None,
        anonymous_login=None,
        clear_data=None,
        data_channel_tls=None,
        data_tls_version=None,
        data_cipher_suite=None,
        data_session_reused=None,
        listing=(),
        passive_host_named=None,
    )
    validate(document(untested))


def test_schema_rejects_an_injection_without_its_verdict() -> None:
    doc = document(ftp_result())
    for item in doc["targets"][0]["observations"]:
        if item["kind"] == "starttls_injection":
            del item["vulnerable"]
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


def test_terminal_shows_capabilities_after_injection_and_ftp_facts() -> None:
    text = rendered(ftp_result(), verbose=True)
    assert "capabilities after TLS" in text
    assert "PBSZ, PROT, UTF8" in text
    assert "VULNERABLE: answered over TLS" in text
    assert "sent in clear after the go-ahead" in text
    assert "login before AUTH TLS" in text
    assert "TLS: TLS 1.3, TLS_AES_256_GCM_SHA384" in text
    assert "session resumed" in text
    assert "10.0.0.9 (not contacted" in text


def test_terminal_says_what_was_not_tested() -> None:
    text = rendered(ftp_result(anonymous_login=False, clear_data=None, data_channel_tls=None))
    assert "not tested (needs a login)" in text


def test_starttls_text_from_the_wire_prints_literally() -> None:
    text = rendered(ftp_result(), verbose=True)
    assert "\x1b" not in text
    assert "\u202e" not in text
    assert "[bold]ok[/bold]\\x1b[2J" in text
    assert "\\x1b]0;pwned\\x07.txt" in text


def ssh_result() -> TargetResult:
    certificate = SshHostCertificate(
        key_id="host \x1b[2J",
        serial=7,
        principals=("localhost",),
        valid_after=datetime(2025, 1, 1, tzinfo=UTC),
        valid_before=None,
        ca_key_type="ssh-ed25519",
        ca_key_bits=256,
        ca_fingerprint_sha256="SHA256:ca",
        signature_algorithm="ssh-ed25519",
    )
    names = ("aes128-ctr",)
    seen: tuple[Observation, ...] = (
        SshIdentification("2.0", "OpenSSH_9.2p1", None, "SSH-2.0-OpenSSH_9.2p1", ("hello",)),
        SshAlgorithms(
            ("curve25519-sha256",), ("ssh-ed25519",), names, names, (), (), (), (), False
        ),
        SshHostKey("ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519", 256, "SHA256:k", certificate),
        SshGexModulus("diffie-hellman-group-exchange-sha256", (2048, 3072, 8192), 3072),
        SshAuthMethods("protoaudit-nosuchuser", ("publickey", "password"), none_accepted=False),
        PlaintextLoginService("telnet", "telnet option negotiation", "\xff\xfb\x25"),
    )
    return result(observations=seen, findings=evaluate(seen))


def test_ssh_observations_validate_against_the_schema() -> None:
    doc = document(ssh_result())
    validate(doc)
    kinds = {o["kind"] for o in doc["targets"][0]["observations"]}
    assert {"ssh_host_key", "ssh_gex_modulus", "plaintext_login_service"} <= kinds


def test_schema_rejects_an_ssh_host_key_without_its_fingerprint() -> None:
    doc = document(ssh_result())
    key = next(o for o in doc["targets"][0]["observations"] if o["kind"] == "ssh_host_key")
    del key["fingerprint_sha256"]
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


# --- DNSSEC ----------------------------------------------------------------------------------


def dnssec_result() -> TargetResult:
    seen: tuple[Observation, ...] = (
        status(),
        status(
            zone("island.test.", status="insecure", reason="unsigned_delegation", ds=(),
                 ds_denial=NO_DS_PROOF),
            name="island.test.", status="insecure", reason="unsigned_delegation",
            detail="\x1b[31mtest. proves there is no DS\x1b[0m",
        ),
    )  # fmt: skip
    target = Target("www.example.test", 53, "dnssec", original="dnssec:www.example.test")
    return TargetResult(target, "", GENERATED, 0.05, seen, evaluate(seen), None)


def test_dnssec_observations_validate_against_the_schema() -> None:
    doc = document(dnssec_result())
    validate(doc)
    (status, _) = doc["targets"][0]["observations"]
    assert status["kind"] == "dnssec_status"
    assert status["chain"][0]["ds"][0]["digest_type"] == 2
    assert status["answer_signatures"][0]["expiration"].endswith("Z")


def test_schema_rejects_a_dnssec_status_without_its_chain() -> None:
    doc = document(dnssec_result())
    del doc["targets"][0]["observations"][0]["chain"]
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


def test_schema_definitions_match_the_dataclasses() -> None:
    ssh_kinds = (
        SshIdentification, SshAlgorithms, SshHostKey, SshGexModulus, SshAuthMethods,
        PlaintextLoginService,
    )  # fmt: skip
    defs = json_report.load_schema()["$defs"]
    for name, definition in definitions((*ssh_kinds, *NEW_KINDS)).items():
        assert defs[name] == definition, name


def test_dnssec_terminal_report_shows_the_chain_and_escapes_the_wire() -> None:
    out = io.StringIO()
    terminal.render([dnssec_result()], [], Console(file=out, width=120), verbose=True)
    text = out.getvalue()
    short = io.StringIO()
    terminal.render([dnssec_result()], [], Console(file=short, width=120), verbose=False)
    assert "example.test. secure" in short.getvalue()  # two names: one line per chain

    assert "DNSSEC www.example.test. A" in text
    assert "Chain of trust" in text
    assert "none, proven by NSEC" in text
    assert "dnssec.island" in text
    assert "\x1b" not in text


def test_every_observation_kind_is_in_the_schema() -> None:
    schema = json_report.load_schema()["$defs"]
    listed = {item["if"]["properties"]["kind"]["const"] for item in schema["observation"]["allOf"]}
    assert {kind.kind for kind in NEW_KINDS} <= listed
