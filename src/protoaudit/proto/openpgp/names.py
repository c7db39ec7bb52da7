"""OpenPGP code points by name: public key algorithms, hash algorithms and curves.

The facts are the IANA registries, in ``data/`` beside this module (each file's header
names its source and snapshot); this module only reads them, once each. Lookups never
raise: a number or OID the registry does not list comes back as a placeholder whose
``known`` is False, so that whatever a key carries survives into a report.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

from protoaudit.errors import ProtoauditError

__all__ = [
    "REVOCATION_REASONS",
    "SIGNATURE_TYPES",
    "Curve",
    "HashAlgorithm",
    "OpenPgpRegistryError",
    "PublicKeyAlgorithm",
    "curve",
    "hash_algorithm",
    "public_key_algorithm",
]

UNKNOWN = "UNKNOWN"
_ALGORITHM_COLUMNS = ("number", "name", "description", "status", "family", "uses", "reference")
_HASH_COLUMNS = ("number", "name", "text_name", "digest_bytes", "reference")
_CURVE_COLUMNS = ("oid", "name", "bits", "usage", "reference")
_STATUSES = ("current", "deprecated", "reserved")


# Small registries kept here rather than in data files: RFC 9580 section 5.2.3.31 (IANA
# "Reason for Revocation Code") and section 5.2.1 (IANA "OpenPGP Signature Types"), the
# entries a key audit shows.
REVOCATION_REASONS = MappingProxyType(
    {
        0: "no reason specified",
        1: "key is superseded",
        2: "key material has been compromised",
        3: "key is retired and no longer used",
        32: "user ID information is no longer valid",
    }
)
SIGNATURE_TYPES = MappingProxyType(
    {
        0x10: "generic certification",
        0x11: "persona certification",
        0x12: "casual certification",
        0x13: "positive certification",
        0x18: "subkey binding",
        0x19: "primary key binding",
        0x1F: "direct key",
        0x20: "key revocation",
        0x28: "subkey revocation",
        0x30: "certification revocation",
    }
)


class OpenPgpRegistryError(ProtoauditError):
    """A packaged OpenPGP registry file is malformed: a bug in protoaudit, not in the key."""


@dataclass(frozen=True, slots=True)
class PublicKeyAlgorithm:
    number: int
    name: str  # "RSA", "EdDSALegacy"; UNKNOWN_<n> when the registry does not list it
    description: str
    status: str  # "current", "deprecated", "reserved"; "" when unknown
    family: str  # how the key material is laid out; "" when unknown
    uses: frozenset[str]  # {"sign", "encrypt"}
    reference: str

    @property
    def known(self) -> bool:
        return self.reference != UNKNOWN


@dataclass(frozen=True, slots=True)
class HashAlgorithm:
    number: int
    name: str  # "SHA2-256"; UNKNOWN_<n> when unknown
    text_name: str
    digest_bytes: int  # 0 when unknown
    reference: str

    @property
    def known(self) -> bool:
        return self.reference != UNKNOWN


@dataclass(frozen=True, slots=True)
class Curve:
    oid: str  # dotted
    name: str  # "NIST P-256"; the OID itself when unknown
    bits: int | None
    usage: frozenset[str]
    reference: str

    @property
    def known(self) -> bool:
        return self.reference != UNKNOWN


def _rows(filename: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    text = resources.files("protoaudit.proto.openpgp").joinpath("data", filename).read_text("utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(lines)
    if tuple(reader.fieldnames or ()) != columns:
        raise OpenPgpRegistryError(f"{filename}: header is {reader.fieldnames}, not {columns}")
    rows = list(reader)
    for index, row in enumerate(rows, start=1):
        if None in row or any(value is None for value in row.values()):
            raise OpenPgpRegistryError(f"{filename}: row {index} has the wrong number of fields")
    return rows


def _number(filename: str, text: str, maximum: int = 255) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise OpenPgpRegistryError(f"{filename}: bad number {text!r}") from None
    if not 0 <= value <= maximum:
        raise OpenPgpRegistryError(f"{filename}: {value} is out of range")
    return value


@functools.cache
def _algorithms() -> Mapping[int, PublicKeyAlgorithm]:
    filename = "openpgp-public-key-algorithms.csv"
    table: dict[int, PublicKeyAlgorithm] = {}
    for row in _rows(filename, _ALGORITHM_COLUMNS):
        code = _number(filename, row["number"])
        if code in table or row["status"] not in _STATUSES:
            raise OpenPgpRegistryError(f"{filename}: duplicate number or bad status at {code}")
        table[code] = PublicKeyAlgorithm(
            code,
            row["name"],
            row["description"],
            row["status"],
            row["family"],
            frozenset(row["uses"].split()),
            row["reference"],
        )
    return MappingProxyType(table)


@functools.cache
def _hashes() -> Mapping[int, HashAlgorithm]:
    filename = "openpgp-hash-algorithms.csv"
    table: dict[int, HashAlgorithm] = {}
    for row in _rows(filename, _HASH_COLUMNS):
        code = _number(filename, row["number"])
        if code in table:
            raise OpenPgpRegistryError(f"{filename}: duplicate number {code}")
        table[code] = HashAlgorithm(
            code,
            row["name"],
            row["text_name"],
            _number(filename, row["digest_bytes"]),
            row["reference"],
        )
    return MappingProxyType(table)


@functools.cache
def _curves() -> Mapping[str, Curve]:
    filename = "openpgp-ecc-curves.csv"
    table: dict[str, Curve] = {}
    for row in _rows(filename, _CURVE_COLUMNS):
        oid = row["oid"]
        if oid in table or not all(part.isdigit() for part in oid.split(".")):
            raise OpenPgpRegistryError(f"{filename}: duplicate or malformed OID {oid!r}")
        table[oid] = Curve(
            oid,
            row["name"],
            _number(filename, row["bits"], 1024),
            frozenset(row["usage"].split()),
            row["reference"],
        )
    return MappingProxyType(table)


def public_key_algorithm(number: int) -> PublicKeyAlgorithm:
    found = _algorithms().get(number)
    if found is not None:
        return found
    return PublicKeyAlgorithm(number, f"{UNKNOWN}_{number}", "", "", "", frozenset(), UNKNOWN)


def hash_algorithm(number: int) -> HashAlgorithm:
    found = _hashes().get(number)
    if found is not None:
        return found
    return HashAlgorithm(number, f"{UNKNOWN}_{number}", "", 0, UNKNOWN)


def curve(oid: str) -> Curve:
    found = _curves().get(oid)
    if found is not None:
        return found
    return Curve(oid, oid, None, frozenset(), UNKNOWN)
