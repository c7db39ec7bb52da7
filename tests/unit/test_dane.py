"""DANE matching (dane.py): every usage, selector and matching type, and every way to miss."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import replace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from observation_helpers import certificate, chain
from pki_helpers import Issuer, make_chain
from protoaudit.dane import TlsaRecord, check_chain, parse_tlsa
from protoaudit.observations import CertificateChain

NOW = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)


@functools.cache
def pki() -> tuple[Issuer, Issuer, Issuer]:
    return make_chain(
        "Dane",
        "www.example.test",
        not_before=NOW - dt.timedelta(days=1),
        not_after=NOW + dt.timedelta(days=30),
        san_dns=["www.example.test"],
    )


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def served(*certs: x509.Certificate, trusted: bool = True) -> CertificateChain:
    infos = tuple(replace(certificate(), pem=pem(c)) for c in certs)
    return replace(chain(), certificates=infos, trusted=trusted)


def record(usage: int, selector: int, matching: int, cert: x509.Certificate) -> TlsaRecord:
    data = (
        cert.public_bytes(serialization.Encoding.DER)
        if selector == 0
        else cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    if matching == 1:
        data = hashlib.sha256(data).digest()
    elif matching == 2:
        data = hashlib.sha512(data).digest()
    return TlsaRecord(usage, selector, matching, data.hex())


@pytest.mark.parametrize("selector", [0, 1])
@pytest.mark.parametrize("matching", [0, 1, 2])
def test_dane_ee_matches_the_leaf_by_every_selector_and_matching_type(
    selector: int, matching: int
) -> None:
    _, intermediate, leaf = pki()
    result = check_chain(
        [record(3, selector, matching, leaf[0])], served(leaf[0], intermediate[0]), "x.other"
    )

    # DANE-EE checks neither names nor the trust store
    assert result.verdict == "validated"
    assert result.records[0].matched_index == 0


def test_dane_ee_for_an_intermediate_matches_nothing() -> None:
    _, intermediate, leaf = pki()
    result = check_chain(
        [record(3, 1, 1, intermediate[0])], served(leaf[0], intermediate[0]), "www.example.test"
    )
    assert result.verdict == "no_match"


def test_dane_ta_for_the_intermediate_validates_when_the_leaf_names_the_base_domain() -> None:
    _, intermediate, leaf = pki()
    chain_seen = served(leaf[0], intermediate[0], trusted=False)
    ta = record(2, 0, 1, intermediate[0])

    assert check_chain([ta], chain_seen, "www.example.test").verdict == "validated"
    other = check_chain([ta], chain_seen, "mail.example.test")
    assert other.verdict == "name_mismatch"
    assert other.records[0].matched_index == 1


def test_dane_ta_for_a_root_the_server_leaves_out_matches_nothing() -> None:
    root, intermediate, leaf = pki()
    result = check_chain(
        [record(2, 0, 1, root[0])], served(leaf[0], intermediate[0]), "www.example.test"
    )
    assert result.verdict == "no_match"


def test_dane_ta_needs_the_signatures_up_to_the_anchor() -> None:
    # Given an intermediate that did not sign this leaf (another chain's)
    _, _, leaf = pki()
    _, stranger, _ = make_chain(
        "Other", "www.example.test", not_before=NOW, not_after=NOW + dt.timedelta(days=9)
    )
    result = check_chain(
        [record(2, 1, 1, stranger[0])], served(leaf[0], stranger[0]), "www.example.test"
    )
    assert result.verdict == "chain_invalid"


def test_pkix_usages_need_the_trust_store_too() -> None:
    _, intermediate, leaf = pki()
    records = [record(1, 1, 1, leaf[0])]
    assert (
        check_chain(records, served(leaf[0], intermediate[0]), "www.example.test").verdict
        == "validated"
    )
    untrusted = check_chain(
        records, served(leaf[0], intermediate[0], trusted=False), "www.example.test"
    )
    assert untrusted.verdict == "pkix_failed"


def test_unknown_parameters_are_unusable_and_match_nothing() -> None:
    _, intermediate, leaf = pki()
    odd = replace(record(3, 1, 1, leaf[0]), usage=4)
    result = check_chain([odd], served(leaf[0], intermediate[0]), "www.example.test")
    assert result.verdict == "no_match"
    assert not result.records[0].usable


def test_one_matching_record_among_others_is_enough() -> None:
    root, intermediate, leaf = pki()
    records = [record(3, 1, 1, root[0]), record(3, 1, 2, leaf[0])]
    result = check_chain(records, served(leaf[0], intermediate[0]), "www.example.test")
    assert result.verdict == "validated"
    assert [c.matched_index for c in result.records] == [None, 0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 1 1 ABCDEF", TlsaRecord(3, 1, 1, "abcdef")),
        ("_443._tcp.x. 300 IN TLSA 2 0 1 ab cd", TlsaRecord(2, 0, 1, "abcd")),
        ("3 1 1 XYZ", None),
        ("3 1", None),
    ],
)
def test_parse_tlsa(text: str, expected: TlsaRecord | None) -> None:
    assert parse_tlsa(text) == expected
