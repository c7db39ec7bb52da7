"""DNSSEC algorithm numbers, DS digest types, the root trust anchors and the root hints.

The facts live in ``data/``: ``dnssec-algorithms.csv`` and ``ds-digest-types.csv`` (the IANA
registries, with the RFC 8624 implementation requirements as columns), ``root-anchors.txt``
(IANA's root KSK digests as DS records) and ``root-hints.txt`` (InterNIC's named.root). Each
file's header names its source and snapshot. This module only reads them, once each, on first
use; it knows nothing of dnspython, so the types here are plain.

Lookups never raise: a number the registry does not list comes back as a placeholder whose
``known`` is False, so that whatever a zone publishes survives into a report.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

from protoaudit.registry.data_files import RegistryDataError, number, read_rows

__all__ = [
    "REQUIREMENTS",
    "UNKNOWN",
    "DigestType",
    "DnssecAlgorithm",
    "RegistryDataError",
    "RootAnchor",
    "RootServer",
    "dnssec_algorithm",
    "dnssec_algorithms",
    "ds_digest_type",
    "ds_digest_types",
    "root_anchors",
    "root_servers",
]

UNKNOWN = "UNKNOWN"
# RFC 8624's words, strongest first; "" where it lists no requirement.
REQUIREMENTS = ("MUST", "RECOMMENDED", "MAY", "NOT RECOMMENDED", "MUST NOT", "")

_ALGORITHM_FILE = "dnssec-algorithms.csv"
_ALGORITHM_COLUMNS = (
    "number",
    "mnemonic",
    "description",
    "zone_signing",
    "signing",
    "validation",
    "reference",
    "deprecated_by",
)
_DIGEST_FILE = "ds-digest-types.csv"
_DIGEST_COLUMNS = ("number", "description", "signing", "validation", "reference")
_ANCHOR_FILE = "root-anchors.txt"
_HINTS_FILE = "root-hints.txt"
_MAX_U8 = 255


@dataclass(frozen=True, slots=True)
class DnssecAlgorithm:
    number: int
    mnemonic: str  # "ECDSAP256SHA256"; UNKNOWN_<n> when the registry does not list it
    description: str
    zone_signing: bool
    signing: str  # RFC 8624 requirement for signing (one of REQUIREMENTS)
    validation: str  # RFC 8624 requirement for validation
    reference: str
    deprecated_by: str  # "RFC 9905", or ""

    @property
    def known(self) -> bool:
        return self.reference != UNKNOWN


@dataclass(frozen=True, slots=True)
class DigestType:
    number: int
    description: str  # "SHA-256"; UNKNOWN_<n> when the registry does not list it
    signing: str  # RFC 8624 requirement for creating DS records
    validation: str
    reference: str

    @property
    def known(self) -> bool:
        return self.reference != UNKNOWN


@dataclass(frozen=True, slots=True)
class RootAnchor:
    """One DS record of the root trust anchor, as IANA publishes it."""

    owner: str  # "."
    key_tag: int
    algorithm: int
    digest_type: int
    digest_hex: str  # upper case, as published

    def presentation(self) -> str:
        """The record in zone-file presentation format."""
        fields = (self.key_tag, self.algorithm, self.digest_type, self.digest_hex)
        return f"{self.owner} IN DS {' '.join(str(field) for field in fields)}"


@dataclass(frozen=True, slots=True)
class RootServer:
    name: str  # "a.root-servers.net." (lower case)
    ipv4: tuple[str, ...]
    ipv6: tuple[str, ...]


def _text(filename: str) -> str:
    return resources.files("protoaudit.registry").joinpath("data", filename).read_text("utf-8")


def _requirement(filename: str, text: str) -> str:
    if text not in REQUIREMENTS:
        raise RegistryDataError(f"{filename}: bad requirement {text!r}")
    return text


def _u8(filename: str, text: str) -> int:
    value = number(filename, text)
    if not 0 <= value <= _MAX_U8:
        raise RegistryDataError(f"{filename}: {value} is not an 8-bit number")
    return value


@functools.cache
def dnssec_algorithms() -> Mapping[int, DnssecAlgorithm]:
    """Every DNSSEC algorithm number the registry assigns, by number."""
    f = _ALGORITHM_FILE
    table: dict[int, DnssecAlgorithm] = {}
    for row in read_rows(f, _ALGORITHM_COLUMNS):
        code = _u8(f, row["number"])
        if code in table or row["zone_signing"] not in ("Y", "N"):
            raise RegistryDataError(f"{f}: duplicate number or bad zone_signing at {code}")
        table[code] = DnssecAlgorithm(
            number=code,
            mnemonic=row["mnemonic"],
            description=row["description"],
            zone_signing=row["zone_signing"] == "Y",
            signing=_requirement(f, row["signing"]),
            validation=_requirement(f, row["validation"]),
            reference=row["reference"],
            deprecated_by=row["deprecated_by"],
        )
    return MappingProxyType(table)


def dnssec_algorithm(code: int) -> DnssecAlgorithm:
    found = dnssec_algorithms().get(code)
    if found is not None:
        return found
    return DnssecAlgorithm(code, f"{UNKNOWN}_{code}", "", False, "", "", UNKNOWN, "")


@functools.cache
def ds_digest_types() -> Mapping[int, DigestType]:
    """Every DS digest type the registry assigns, by number."""
    f = _DIGEST_FILE
    table: dict[int, DigestType] = {}
    for row in read_rows(f, _DIGEST_COLUMNS):
        code = _u8(f, row["number"])
        if code in table:
            raise RegistryDataError(f"{f}: duplicate number {code}")
        table[code] = DigestType(
            number=code,
            description=row["description"],
            signing=_requirement(f, row["signing"]),
            validation=_requirement(f, row["validation"]),
            reference=row["reference"],
        )
    return MappingProxyType(table)


def ds_digest_type(code: int) -> DigestType:
    found = ds_digest_types().get(code)
    if found is not None:
        return found
    return DigestType(code, f"{UNKNOWN}_{code}", "", "", UNKNOWN)


def _records(filename: str) -> list[list[str]]:
    """The whitespace-separated fields of each line, without `;` comments and blank lines."""
    lines = (line.split(";", 1)[0].split() for line in _text(filename).splitlines())
    return [fields for fields in lines if fields]


@functools.cache
def root_anchors() -> tuple[RootAnchor, ...]:
    """IANA's root trust anchors (KSK-2017 and KSK-2024) as DS records."""
    anchors: list[RootAnchor] = []
    for fields in _records(_ANCHOR_FILE):
        if (
            len(fields) != 7
            or fields[0] != "."
            or [part.upper() for part in fields[1:3]]
            != [
                "IN",
                "DS",
            ]
        ):
            raise RegistryDataError(f"{_ANCHOR_FILE}: not a root DS record: {fields!r}")
        digest = fields[6]
        try:
            bytes.fromhex(digest)
        except ValueError:
            raise RegistryDataError(f"{_ANCHOR_FILE}: bad digest {digest!r}") from None
        key_tag = number(_ANCHOR_FILE, fields[3])
        algorithm = _u8(_ANCHOR_FILE, fields[4])
        digest_type = _u8(_ANCHOR_FILE, fields[5])
        anchors.append(RootAnchor(".", key_tag, algorithm, digest_type, digest.upper()))
    if not anchors:
        raise RegistryDataError(f"{_ANCHOR_FILE}: no anchors")
    return tuple(anchors)


@functools.cache
def root_servers() -> tuple[RootServer, ...]:
    """The thirteen root servers of named.root, in the file's order, with their addresses."""
    ipv4: dict[str, list[str]] = {}
    ipv6: dict[str, list[str]] = {}
    for fields in _records(_HINTS_FILE):
        if len(fields) != 4:
            raise RegistryDataError(f"{_HINTS_FILE}: expected NAME TTL TYPE DATA: {fields!r}")
        name, _ttl, rdtype, data = fields
        kind = rdtype.upper()
        if kind == "NS":
            ipv4.setdefault(data.lower(), [])
            ipv6.setdefault(data.lower(), [])
            continue
        try:
            address = ipaddress.ip_address(data)
        except ValueError:
            raise RegistryDataError(f"{_HINTS_FILE}: bad address {data!r}") from None
        expected = 4 if kind == "A" else 6 if kind == "AAAA" else 0
        if address.version != expected:
            raise RegistryDataError(f"{_HINTS_FILE}: {kind} record with address {data!r}")
        (ipv4 if expected == 4 else ipv6).setdefault(name.lower(), []).append(str(address))
    servers = tuple(RootServer(name, tuple(ipv4[name]), tuple(ipv6.get(name, ()))) for name in ipv4)
    if not servers or any(not server.ipv4 and not server.ipv6 for server in servers):
        raise RegistryDataError(f"{_HINTS_FILE}: a server without an address")
    return servers
