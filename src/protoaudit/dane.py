"""DANE (RFC 6698, RFC 7671): which TLSA record matches which certificate the server sent.

A TLSA record is (usage, selector, matching type, data). The selector picks what
is compared, the whole certificate in DER (0) or its SubjectPublicKeyInfo (1);
the matching type how, exactly (0), by SHA-256 (1) or SHA-512 (2). The usage
says which certificate may match and what else must hold:

- DANE-EE (3): the server's own certificate; nothing else is checked, not its
  names nor its dates (RFC 7671 section 5.1).
- DANE-TA (2): any certificate of the chain as served, which then stands as the
  trust anchor: the chain from the leaf up to it must verify signature by
  signature, and the leaf must carry the TLSA base domain (RFC 7671 5.2).
- PKIX-EE (1) and PKIX-TA (0): as 3 and 2, and the chain must also validate
  against the usual web trust store (the TLS core's verdict).

Only certificates the server sent can match: a DANE-TA record for a root the
server leaves out matches nothing (RFC 7671 5.2.2). This module finds facts;
whether a missing match matters is policy's question.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from protoaudit.observations import CertificateChain
from protoaudit.x509_checks import hostname_matches, signed_by

USAGES = {0: "PKIX-TA", 1: "PKIX-EE", 2: "DANE-TA", 3: "DANE-EE"}
SELECTORS = {0: "Cert", 1: "SPKI"}
MATCHING_TYPES = {0: "Full", 1: "SHA2-256", 2: "SHA2-512"}


@dataclass(frozen=True, slots=True)
class TlsaRecord:
    usage: int
    selector: int
    matching_type: int
    data_hex: str  # lower case

    @property
    def label(self) -> str:
        parts = (
            USAGES.get(self.usage, str(self.usage)),
            SELECTORS.get(self.selector, str(self.selector)),
            MATCHING_TYPES.get(self.matching_type, str(self.matching_type)),
        )
        return f"{self.usage} {self.selector} {self.matching_type} ({' '.join(parts)})"


@dataclass(frozen=True, slots=True)
class RecordCheck:
    record: TlsaRecord
    # Index in the served chain (0 = leaf) of the certificate it matches; None: none.
    matched_index: int | None
    usable: bool  # the record's parameters are ones RFC 6698 defines
    # Why a match does not authenticate the server ("the leaf does not name …"); None if it does.
    problem: str | None

    @property
    def authenticates(self) -> bool:
        return self.matched_index is not None and self.problem is None


@dataclass(frozen=True, slots=True)
class ChainCheck:
    verdict: str  # "validated", "name_mismatch", "no_match", "chain_invalid", "pkix_failed"
    records: tuple[RecordCheck, ...]


def parse_tlsa(text: str) -> TlsaRecord | None:
    """A TLSA RRset line's RDATA ("3 1 1 ABCD…", or the whole line); None if it is not one."""
    fields = text.split()
    if "TLSA" in fields:
        fields = fields[fields.index("TLSA") + 1 :]
    if len(fields) < 4 or not all(field.isdigit() for field in fields[:3]):
        return None
    data = "".join(fields[3:]).lower()
    try:
        bytes.fromhex(data)
    except ValueError:
        return None
    return TlsaRecord(int(fields[0]), int(fields[1]), int(fields[2]), data)


def _selected(certificate: x509.Certificate, selector: int) -> bytes | None:
    if selector == 0:
        return certificate.public_bytes(serialization.Encoding.DER)
    if selector == 1:
        return certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    return None


def _digest(data: bytes, matching_type: int) -> bytes | None:
    if matching_type == 0:
        return data
    if matching_type == 1:
        return hashlib.sha256(data).digest()
    if matching_type == 2:
        return hashlib.sha512(data).digest()
    return None


def matches(record: TlsaRecord, certificate: x509.Certificate) -> bool:
    selected = _selected(certificate, record.selector)
    if selected is None:
        return False
    digest = _digest(selected, record.matching_type)
    return digest is not None and digest.hex() == record.data_hex


def _path_problem(chain: Sequence[x509.Certificate], anchor: int) -> str | None:
    """Why the leaf does not chain up to chain[anchor] by signatures, or None when it does."""
    for index in range(anchor):
        if signed_by(chain[index], chain[index + 1]) is not True:
            return f"certificate {index} is not signed by certificate {index + 1}"
    return None


def check_record(
    record: TlsaRecord, chain: Sequence[x509.Certificate], base_domain: str, pkix_trusted: bool
) -> RecordCheck:
    usable = record.usage in USAGES and record.selector in SELECTORS
    usable = usable and record.matching_type in MATCHING_TYPES
    if not usable or not chain:
        return RecordCheck(record, None, usable, None)
    end_entity = record.usage in (1, 3)
    candidates = [0] if end_entity else range(len(chain))
    index = next((i for i in candidates if matches(record, chain[i])), None)
    if index is None:
        return RecordCheck(record, None, usable, None)
    problem = None
    if not end_entity:
        problem = _path_problem(chain, index)
        if problem is None and not hostname_matches(chain[0], base_domain):
            problem = f"the server's certificate does not name {base_domain}"
    if problem is None and record.usage in (0, 1) and not pkix_trusted:
        problem = "PKIX usage, and the chain does not validate against the trust store"
    return RecordCheck(record, index, usable, problem)


def check_chain(
    records: Sequence[TlsaRecord], chain: CertificateChain, base_domain: str
) -> ChainCheck:
    certificates = [x509.load_pem_x509_certificate(c.pem.encode()) for c in chain.certificates]
    checks = tuple(check_record(r, certificates, base_domain, chain.trusted) for r in records)
    if any(check.authenticates for check in checks):
        verdict = "validated"
    elif any(c.problem and "does not name" in c.problem for c in checks):
        verdict = "name_mismatch"
    elif any(c.problem and "signed by" in c.problem for c in checks):
        verdict = "chain_invalid"
    elif any(c.matched_index is not None for c in checks):
        verdict = "pkix_failed"
    else:
        verdict = "no_match"
    return ChainCheck(verdict, checks)
