"""Hand-made certificate observations for the policy and report tests (no network).

LEAF, INTERMEDIATE and CHAIN are what a well-run public server sends: a trusted
TLS 1.3 chain for example.com, its leaf RSA-2048 with two SCTs. A test changes
only what it is about, with certificate(...) and chain(...).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from protoaudit.observations import CertificateChain, CertificateInfo
from protoaudit.proto.tls.constants import ProtocolVersion
from protoaudit.registry.tls import cipher_suite_by_name


def suite(name: str) -> int:
    return cipher_suite_by_name(name).code


LEAF = CertificateInfo(
    subject="CN=example.com",
    issuer="CN=Example Issuing CA,O=Example",
    serial_hex="01",
    not_before=datetime(2025, 1, 1, tzinfo=UTC),
    not_after=datetime(2026, 1, 1, tzinfo=UTC),
    key_type="RSA",
    key_bits=2048,
    curve=None,
    signature_algorithm="sha256WithRSAEncryption",
    signature_hash="sha256",
    san_dns=("example.com", "www.example.com"),
    san_ip=(),
    sha256_fingerprint="00" * 32,
    is_ca=False,
    self_issued=False,
    sct_count=2,
    must_staple=False,
    pem="-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
)

INTERMEDIATE = dataclasses.replace(
    LEAF,
    subject="CN=Example Issuing CA,O=Example",
    issuer="CN=Example Root CA,O=Example",
    is_ca=True,
    sct_count=0,
    san_dns=(),
)

CHAIN = CertificateChain(
    server_name="example.com",
    requested_key_type=None,
    version=ProtocolVersion.TLS1_3,
    cipher_suite=suite("TLS_AES_128_GCM_SHA256"),
    certificates=(LEAF, INTERMEDIATE),
    trust_store="Mozilla (certifi 2026.05.20)",
    trusted=True,
    trust_error=None,
    hostname_checked="example.com",
    hostname_matches=True,
    not_yet_valid=False,
    expired=False,
    days_left=200,
    self_signed=False,
    chain_incomplete=False,
    ocsp_stapled=False,
)


def certificate(**changes: object) -> CertificateInfo:
    """LEAF with `changes`."""
    return dataclasses.replace(LEAF, **changes)  # type: ignore[arg-type]


def chain(**changes: object) -> CertificateChain:
    """CHAIN with `changes`."""
    return dataclasses.replace(CHAIN, **changes)  # type: ignore[arg-type]
