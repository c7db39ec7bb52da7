"""The DNSSEC registry: algorithm and digest tables, the root anchors, the root hints."""

from __future__ import annotations

import re
from importlib import resources

import dns.dnssec
import dns.name
import dns.rdata
import pytest

from protoaudit.proto.dnssec.algorithms import algorithm_supported, digest_supported, key_bits
from protoaudit.proto.dnssec.anchors import iana_root_anchors
from protoaudit.registry import dnssec as registry

DATA_FILES = ("dnssec-algorithms.csv", "ds-digest-types.csv", "root-anchors.txt", "root-hints.txt")


def text(filename: str) -> str:
    return resources.files("protoaudit.registry").joinpath("data", filename).read_text("utf-8")


@pytest.mark.parametrize("filename", DATA_FILES)
def test_every_data_file_names_its_source_and_snapshot(filename: str) -> None:
    comment = "#" if filename.endswith(".csv") else ";"
    header = [line for line in text(filename).splitlines() if line.startswith(comment)]
    assert text(filename).startswith(comment)
    assert any("Source:" in line for line in header)
    assert any(
        re.search(r"https://(www|data)\.(iana|internic)\.(org|net)/", line) for line in header
    )
    assert any(re.search(r"Snapshot: .*\d{4}-\d{2}-\d{2}", line) for line in header)


def test_algorithm_table() -> None:
    table = registry.dnssec_algorithms()
    assert table is registry.dnssec_algorithms()
    assert registry.dnssec_algorithm(13).mnemonic == "ECDSAP256SHA256"
    assert (registry.dnssec_algorithm(8).signing, registry.dnssec_algorithm(8).validation) == (
        "MUST",
        "MUST",
    )
    assert registry.dnssec_algorithm(1).validation == "MUST NOT"
    assert registry.dnssec_algorithm(5).deprecated_by == "RFC 9905"
    assert registry.dnssec_algorithm(15).signing == "RECOMMENDED"
    unknown = registry.dnssec_algorithm(99)
    assert not unknown.known
    assert unknown.mnemonic == "UNKNOWN_99"
    with pytest.raises(TypeError):
        table[99] = unknown  # type: ignore[index]


def test_algorithm_numbers_agree_with_dnspython() -> None:
    for number, entry in registry.dnssec_algorithms().items():
        theirs = dns.dnssec.Algorithm(number).name
        if theirs.isdigit():  # dnspython has no name for it
            continue
        assert theirs.replace("_", "") == entry.mnemonic.replace("-", ""), number


def test_digest_table() -> None:
    assert registry.ds_digest_type(2).description == "SHA-256"
    assert registry.ds_digest_type(1).validation == "MUST"
    assert registry.ds_digest_type(1).signing == "MUST NOT"
    assert registry.ds_digest_type(4).validation == "RECOMMENDED"
    assert not registry.ds_digest_type(200).known


def test_support_follows_the_registry_and_dnspython() -> None:
    supported = [number for number in range(256) if algorithm_supported(number)]
    assert supported == [5, 7, 8, 10, 13, 14, 15, 16]  # RSAMD5, DSA: MUST NOT; GOST: no code
    assert [number for number in range(256) if digest_supported(number)] == [1, 2, 4]


def test_key_bits() -> None:
    rsa = dns.rdata.from_text("IN", "DNSKEY", "256 3 8 AwEAAQ==")  # exponent only: no modulus
    assert key_bits(8, bytes(rsa.key)) == 0
    assert key_bits(13, b"\x00" * 64) == 256
    assert key_bits(15, b"\x00" * 32) == 256
    assert key_bits(99, b"") == 0
    assert key_bits(8, bytes([0, 0, 1, 3]) + b"\x80" + bytes(127)) == 1024  # long exponent form


def test_root_anchors_are_ksk_2017_and_ksk_2024() -> None:
    anchors = registry.root_anchors()
    assert [(a.key_tag, a.algorithm, a.digest_type) for a in anchors] == [
        (20326, 8, 2),
        (38696, 8, 2),
    ]
    assert anchors[0].digest_hex.startswith("E06D44B80B8F1D39")
    assert anchors[1].digest_hex.endswith("4C0FB2B16")
    parsed = iana_root_anchors().for_zone(dns.name.root)
    assert [ds.key_tag for ds in parsed] == [20326, 38696]
    assert parsed[1].digest.hex().upper() == anchors[1].digest_hex


def test_root_hints() -> None:
    servers = registry.root_servers()
    assert [server.name for server in servers] == [
        f"{letter}.root-servers.net." for letter in "abcdefghijklm"
    ]
    assert all(len(server.ipv4) == 1 and len(server.ipv6) == 1 for server in servers)
    assert servers[0].ipv4 == ("198.41.0.4",)
    assert servers[1].ipv4 == ("170.247.170.2",)  # b-root moved in 2023
