"""The TLS registry: the packaged IANA data and its typed loader."""

import csv
import os
import re
import shutil
import subprocess
from importlib import resources

import pytest

from protoaudit.registry import tls

DATA_FILES = (
    "tls_cipher_suites.csv",
    "tls_groups.csv",
    "tls_signature_schemes.csv",
    "tls_extensions.csv",
    "tls_alerts.csv",
)
LEGAL_MIN_VERSIONS = {0x0002, 0x0300, 0x0303, 0x0304}
OPENSSL_CIPHER_STRING = "ALL:COMPLEMENTOFALL:@SECLEVEL=0"


def raw_rows(filename: str) -> list[dict[str, str]]:
    text = (
        resources.files("protoaudit.registry")
        .joinpath("data")
        .joinpath(filename)
        .read_text("utf-8")
    )
    return list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))


def tls_suites() -> list[tls.CipherSuite]:
    return [s for s in tls.cipher_suites().values() if not s.sslv2]


# -- the data files ----------------------------------------------------------------------


@pytest.mark.parametrize("filename", DATA_FILES)
def test_every_data_file_names_its_source_and_snapshot(filename: str) -> None:
    text = (
        resources.files("protoaudit.registry")
        .joinpath("data")
        .joinpath(filename)
        .read_text("utf-8")
    )
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert text.startswith("#")
    assert any("https://www.iana.org/assignments/" in line for line in header)
    assert any(re.search(r"Snapshot: .*\d{4}", line) for line in header)


@pytest.mark.parametrize("filename", DATA_FILES)
def test_no_duplicate_codes_or_names_in_the_files(filename: str) -> None:
    rows = raw_rows(filename)
    name_column = "iana_name" if "iana_name" in rows[0] else "name"
    codes = [int(row["code"], 0) for row in rows]
    names = [row[name_column] for row in rows]
    assert len(codes) == len(set(codes))
    assert len(names) == len(set(names))


def test_no_duplicate_openssl_names_among_tls_suites() -> None:
    names = [s.openssl_name for s in tls_suites() if s.openssl_name]
    assert len(names) == len(set(names))


def test_counts() -> None:
    assert len(tls_suites()) >= 340
    assert len([s for s in tls.cipher_suites().values() if s.sslv2]) == 8
    assert len(tls.groups()) >= 50
    assert len(tls.signature_schemes()) >= 40
    assert len(tls.extensions()) >= 60
    assert len(tls.alerts()) >= 35


def test_tables_are_read_only_and_loaded_once() -> None:
    assert tls.cipher_suites() is tls.cipher_suites()
    with pytest.raises(TypeError):
        tls.groups()[0x1234] = tls.group(0x1234)  # type: ignore[index]


# -- cipher suites -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "iana_name", "openssl_name"),
    [
        (0x1301, "TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"),
        (0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"),
        (0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA"),
        (0x0004, "TLS_RSA_WITH_RC4_128_MD5", "RC4-MD5"),
        (0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5", "EXP-RC4-MD5"),
        (0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"),
        (0x5600, "TLS_FALLBACK_SCSV", None),
        (0x00FF, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV", None),
        (0x010080, "SSL_CK_RC4_128_WITH_MD5", "RC4-MD5"),
        (0x0700C0, "SSL_CK_DES_192_EDE3_CBC_WITH_MD5", "DES-CBC3-MD5"),
        (0x080080, "SSL_CK_RC4_64_WITH_MD5", "RC4-64-MD5"),
    ],
)
def test_known_code_points(code: int, iana_name: str, openssl_name: str | None) -> None:
    suite = tls.cipher_suite(code)
    assert (suite.code, suite.name, suite.openssl_name) == (code, iana_name, openssl_name)
    assert tls.display_name(code) == iana_name


def test_derived_columns_of_well_known_suites() -> None:
    modern = tls.cipher_suite(0xC02F)
    assert (modern.key_exchange, modern.authentication) == ("ECDHE", "RSA")
    assert (modern.encryption, modern.mac, modern.bits) == ("AES_128_GCM", "AEAD", 128)
    assert modern.forward_secret
    assert modern.aead
    assert modern.min_version == 0x0303
    assert modern.recommended == "Y"

    export = tls.cipher_suite(0x0003)
    assert export.export
    assert (export.key_exchange, export.encryption, export.bits) == ("RSA_EXPORT", "RC4_40", 40)
    assert not export.forward_secret
    assert export.min_version == 0x0300

    triple_des = tls.cipher_suite(0x000A)
    assert (triple_des.encryption, triple_des.mac, triple_des.bits) == ("3DES_EDE_CBC", "SHA", 112)

    tls13 = tls.cipher_suite(0x1302)
    assert tls13.tls13
    assert tls13.forward_secret
    assert (tls13.key_exchange, tls13.authentication) == ("ANY", "ANY")

    fallback = tls.cipher_suite(0x5600)
    assert fallback.scsv
    assert not tls.cipher_suite(0x002F).scsv

    sslv2 = tls.cipher_suite(0x020080)
    assert sslv2.sslv2
    assert sslv2.export
    assert sslv2.min_version == 0x0002
    assert sslv2.recommended is None


def test_every_min_version_is_legal_and_consistent() -> None:
    for suite in tls.cipher_suites().values():
        assert suite.min_version in LEGAL_MIN_VERSIONS, suite.name
        assert suite.sslv2 == (suite.min_version == 0x0002), suite.name
        if suite.aead and not suite.tls13:
            assert suite.min_version == 0x0303, suite.name
        if suite.tls13:
            assert suite.key_exchange == "ANY", suite.name


def test_column_values_stay_in_their_vocabulary() -> None:
    for suite in tls.cipher_suites().values():
        assert suite.recommended in {"Y", "N", "D", None}, suite.name
        assert (suite.recommended is None) == suite.sslv2, suite.name
        assert suite.aead == (suite.mac == "AEAD")
        assert 0 <= suite.bits <= 256, suite.name
        if suite.export:
            assert suite.bits == 40, suite.name
        if suite.encryption == "NULL":
            assert suite.bits == 0, suite.name


def test_recommended_follows_the_registry() -> None:
    recommended = {s.name for s in tls.cipher_suites().values() if s.recommended == "Y"}
    assert "TLS_AES_256_GCM_SHA384" in recommended
    assert "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" in recommended
    assert "TLS_RSA_WITH_AES_128_GCM_SHA256" not in recommended
    assert tls.cipher_suite(0xC011).recommended == "D"  # TLS_ECDHE_RSA_WITH_RC4_128_SHA


def test_lookup_by_iana_or_openssl_name() -> None:
    by_iana = tls.cipher_suite_by_name("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    assert by_iana is tls.cipher_suite_by_name("ECDHE-RSA-AES128-GCM-SHA256")
    assert by_iana.code == 0xC02F
    assert tls.cipher_suite_by_name("ecdhe-rsa-aes128-gcm-sha256").code == 0xC02F
    assert tls.cipher_suite_by_name("SSL_CK_RC4_128_WITH_MD5").code == 0x010080
    # OpenSSL used RC4-MD5 for the SSL 2.0 kind too; by name it means the TLS suite.
    assert tls.cipher_suite_by_name("RC4-MD5").code == 0x0004
    with pytest.raises(KeyError):
        tls.cipher_suite_by_name("NO-SUCH-CIPHER")


def test_every_suite_openssl_lists_is_present_with_the_same_names() -> None:
    if shutil.which("openssl") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("openssl is not installed on the CI machine")
        pytest.skip("openssl is not installed")
    # Given the suites this machine's OpenSSL knows, with IANA and OpenSSL names
    listing = subprocess.run(
        ["openssl", "ciphers", "-V", "-stdname", OPENSSL_CIPHER_STRING],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    pattern = re.compile(r"^\s*0x([0-9A-Fa-f]{2}),0x([0-9A-Fa-f]{2}) - (\S+)\s+- (\S+)\s")
    seen = [pattern.match(line) for line in listing.splitlines() if line.strip()]
    assert seen
    assert all(seen), listing
    for match in seen:
        assert match is not None
        code = int(match[1] + match[2], 16)
        # Then the registry has each one, under both names
        suite = tls.cipher_suites().get(code)
        assert suite is not None, f"0x{code:04X} {match[3]} missing"
        assert (suite.name, suite.openssl_name) == (match[3], match[4])


# -- groups, signature schemes, extensions, alerts ---------------------------------------


def test_groups() -> None:
    assert tls.group_by_name("x25519").code == 29
    assert tls.group_by_name("X25519MLKEM768").code == 0x11EC
    assert tls.group_by_name("SecP256r1MLKEM768").code == 0x11EB
    assert tls.group_by_name("SecP384r1MLKEM1024").code == 0x11ED
    assert tls.group(23).name == "secp256r1"
    assert tls.group(0x0100).name == "ffdhe2048"
    assert tls.group(0x001F).name == "brainpoolP256r1tls13"
    assert tls.group(0xFF01).name == "arbitrary_explicit_prime_curves"
    assert (tls.group(29).bits, tls.group(24).bits, tls.group(0x0100).bits) == (128, 192, 103)
    assert {g.kind for g in tls.groups().values()} == {"ecdhe", "ffdhe", "hybrid", "kem"}
    assert tls.group(0x11EC).kind == "hybrid"
    assert tls.group(0x0201).kind == "kem"
    assert tls.group(1).recommended == "D"  # sect163k1
    with pytest.raises(KeyError):
        tls.group_by_name("secp999r1")


def test_signature_schemes() -> None:
    assert tls.signature_scheme(0x0401).name == "rsa_pkcs1_sha256"
    assert tls.signature_scheme(0x0403).name == "ecdsa_secp256r1_sha256"
    assert tls.signature_scheme(0x0804).name == "rsa_pss_rsae_sha256"
    assert tls.signature_scheme(0x0807).name == "ed25519"
    assert tls.signature_scheme(0x0201).name == "rsa_pkcs1_sha1"
    assert tls.signature_scheme(0x0203).name == "ecdsa_sha1"
    assert tls.signature_scheme(0x0905).name == "mldsa65"
    legacy = tls.signature_scheme(0x0101)
    assert (legacy.name, legacy.recommended) == ("rsa_md5", None)
    assert tls.signature_scheme(0x0202).name == "dsa_sha1"
    assert tls.signature_scheme_by_name("rsa_pss_rsae_sha384").code == 0x0805


def test_extensions() -> None:
    expected = {
        0: "server_name",
        10: "supported_groups",
        11: "ec_point_formats",
        13: "signature_algorithms",
        16: "application_layer_protocol_negotiation",
        22: "encrypt_then_mac",
        23: "extended_master_secret",
        35: "session_ticket",
        41: "pre_shared_key",
        43: "supported_versions",
        45: "psk_key_exchange_modes",
        51: "key_share",
        0xFF01: "renegotiation_info",
        0xFE0D: "encrypted_client_hello",
    }
    for code, name in expected.items():
        assert tls.extension(code).name == name
        assert tls.extension_by_name(name).code == code
    assert tls.extension(4).recommended == "D"  # truncated_hmac


def test_alerts() -> None:
    expected = {
        0: "close_notify",
        10: "unexpected_message",
        40: "handshake_failure",
        70: "protocol_version",
        71: "insufficient_security",
        86: "inappropriate_fallback",
        112: "unrecognized_name",
        120: "no_application_protocol",
    }
    for code, name in expected.items():
        assert tls.alert(code).name == name


# -- unknown code points -----------------------------------------------------------------


@pytest.mark.parametrize("code", [0x0A0A, 0x1308, 0xFFFF, 0x0000_FEFE, 0x0B0B0B])
def test_unknown_cipher_suites_do_not_raise(code: int) -> None:
    suite = tls.cipher_suite(code)
    assert suite.name == f"UNKNOWN_0x{code:04X}"
    assert (suite.key_exchange, suite.encryption, suite.mac) == ("UNKNOWN",) * 3
    assert suite.bits == 0
    assert suite.recommended is None
    assert not suite.forward_secret
    assert tls.display_name(code) == suite.name


def test_other_unknown_code_points_do_not_raise() -> None:
    assert tls.group(0x0A0A).name == "UNKNOWN_0x0A0A"
    assert tls.group(0x0A0A).kind == "UNKNOWN"
    assert tls.signature_scheme(0xFE00).name == "UNKNOWN_0xFE00"
    assert tls.extension(0xFF00).name == "UNKNOWN_0xFF00"
    assert tls.alert(255).name == "UNKNOWN_0x00FF"
