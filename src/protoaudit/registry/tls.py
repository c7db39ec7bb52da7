"""TLS code points and their names: cipher suites, groups, signature schemes, extensions, alerts.

The facts live in the CSV files under ``data/`` (IANA registries; each file's header says
which registry, which snapshot and what was derived). This module only reads them, once
each, on first use.

Lookups by code never raise: a code point the registry does not know comes back as a
placeholder named ``UNKNOWN_0x....`` so that whatever a peer sent survives into a report.
Lookups by name raise ``KeyError``; they try the exact spelling first, then ignore case.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Generic, TypeVar

from protoaudit.registry.data_files import RegistryDataError, number, read_rows

__all__ = [
    "UNKNOWN",
    "Alert",
    "CipherSuite",
    "Extension",
    "Group",
    "RegistryDataError",
    "SignatureScheme",
    "alert",
    "alerts",
    "cipher_suite",
    "cipher_suite_by_name",
    "cipher_suites",
    "display_name",
    "extension",
    "extension_by_name",
    "extensions",
    "group",
    "group_by_name",
    "groups",
    "signature_scheme",
    "signature_scheme_by_name",
    "signature_schemes",
]

# Protocol versions as min_version spells them (the codec's constants own the full list).
_SSL2_VERSION = 0x0002
_SSL3_VERSION = 0x0300
_TLS1_2_VERSION = 0x0303
_TLS1_3_VERSION = 0x0304
UNKNOWN = "UNKNOWN"

_MIN_VERSIONS = frozenset({_SSL2_VERSION, _SSL3_VERSION, _TLS1_2_VERSION, _TLS1_3_VERSION})
_RECOMMENDED = frozenset({"Y", "N", "D"})
_T = TypeVar("_T")
# Ephemeral (EC)DH in the handshake; TLS 1.3 suites are added by CipherSuite.forward_secret.
_FORWARD_SECRET_KEY_EXCHANGES = frozenset({"DHE", "ECDHE", "DHE_PSK", "ECDHE_PSK"})


@dataclass(frozen=True, slots=True)
class CipherSuite:
    """One cipher suite, or one SSL 2.0 cipher kind (3-byte code)."""

    code: int
    name: str
    openssl_name: str | None
    key_exchange: str
    authentication: str
    encryption: str
    mac: str
    bits: int
    export: bool
    min_version: int
    recommended: str | None

    @property
    def tls13(self) -> bool:
        return self.min_version == _TLS1_3_VERSION

    @property
    def sslv2(self) -> bool:
        return self.code > 0xFFFF

    @property
    def forward_secret(self) -> bool:
        """Ephemeral key exchange. Says nothing about authentication: anon suites count."""
        return self.tls13 or self.key_exchange in _FORWARD_SECRET_KEY_EXCHANGES

    @property
    def aead(self) -> bool:
        return self.mac == "AEAD"

    @property
    def scsv(self) -> bool:
        """A signalling value (RFC 5746, RFC 7507), not a real cipher suite."""
        return self.key_exchange == "SCSV"


@dataclass(frozen=True, slots=True)
class Group:
    """A supported group (named curve, finite-field group, KEM or hybrid)."""

    code: int
    name: str
    kind: str
    bits: int
    recommended: str | None


@dataclass(frozen=True, slots=True)
class SignatureScheme:
    code: int
    name: str
    recommended: str | None


@dataclass(frozen=True, slots=True)
class Extension:
    code: int
    name: str
    recommended: str | None


@dataclass(frozen=True, slots=True)
class Alert:
    code: int
    name: str


def _unknown_name(code: int) -> str:
    return f"UNKNOWN_0x{code:04X}"


# -- reading the files -------------------------------------------------------------------


def _code(filename: str, text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise RegistryDataError(f"{filename}: bad code {text!r}") from None


def _recommended(filename: str, text: str) -> str | None:
    if not text:
        return None
    if text not in _RECOMMENDED:
        raise RegistryDataError(f"{filename}: bad recommended value {text!r}")
    return text


def _by_code(filename: str, entries: Iterable[tuple[int, str, _T]]) -> Mapping[int, _T]:
    """Index (code, name, entry) triples by code; codes and names must be unique."""
    table: dict[int, _T] = {}
    names: set[str] = set()
    for code, name, entry in entries:
        if code in table:
            raise RegistryDataError(f"{filename}: duplicate code 0x{code:04X}")
        if name in names:
            raise RegistryDataError(f"{filename}: duplicate name {name}")
        table[code] = entry
        names.add(name)
    return MappingProxyType(table)


class _NameIndex(Generic[_T]):
    """Name lookup: the exact spelling first, then the same name in any case."""

    def __init__(self, what: str, pairs: Iterable[tuple[str, _T]]) -> None:
        self._what = what
        self._exact: dict[str, _T] = {}
        self._folded: dict[str, _T] = {}
        for name, entry in pairs:
            # First one wins, so callers list the preferred owner of a shared name first.
            self._exact.setdefault(name, entry)
            self._folded.setdefault(name.casefold(), entry)

    def __getitem__(self, name: str) -> _T:
        found = self._exact.get(name)
        if found is None:
            found = self._folded.get(name.casefold())
        if found is None:
            raise KeyError(f"no {self._what} named {name!r}")
        return found


# -- cipher suites -----------------------------------------------------------------------

_SUITES_FILE = "tls_cipher_suites.csv"
_SUITE_COLUMNS = (
    "code",
    "iana_name",
    "openssl_name",
    "key_exchange",
    "authentication",
    "encryption",
    "mac",
    "bits",
    "export",
    "min_version",
    "recommended",
)


def _suite_from_row(row: dict[str, str]) -> CipherSuite:
    f = _SUITES_FILE
    min_version = _code(f, row["min_version"])
    if min_version not in _MIN_VERSIONS:
        raise RegistryDataError(f"{f}: {row['iana_name']}: bad min_version {min_version:#06x}")
    if row["export"] not in ("0", "1"):
        raise RegistryDataError(f"{f}: {row['iana_name']}: export must be 0 or 1")
    return CipherSuite(
        code=_code(f, row["code"]),
        name=row["iana_name"],
        openssl_name=row["openssl_name"] or None,
        key_exchange=row["key_exchange"],
        authentication=row["authentication"],
        encryption=row["encryption"],
        mac=row["mac"],
        bits=number(f, row["bits"]),
        export=row["export"] == "1",
        min_version=min_version,
        recommended=_recommended(f, row["recommended"]),
    )


@functools.cache
def cipher_suites() -> Mapping[int, CipherSuite]:
    """Every cipher suite IANA lists, the SCSVs, and the SSL 2.0 cipher kinds, by code."""
    suites = [_suite_from_row(row) for row in read_rows(_SUITES_FILE, _SUITE_COLUMNS)]
    return _by_code(_SUITES_FILE, ((s.code, s.name, s) for s in suites))


@functools.cache
def _suite_names() -> _NameIndex[CipherSuite]:
    suites = sorted(cipher_suites().values(), key=lambda s: (s.sslv2, s.code))
    # IANA names before OpenSSL aliases, and TLS suites before SSL 2.0 kinds: OpenSSL gave
    # RC4-MD5, EXP-RC4-MD5 and EXP-RC2-CBC-MD5 to both, and the TLS suite is the one meant.
    pairs = [(s.name, s) for s in suites]
    pairs += [(s.openssl_name, s) for s in suites if s.openssl_name]
    return _NameIndex("cipher suite", pairs)


def cipher_suite(code: int) -> CipherSuite:
    """The suite with this code; an UNKNOWN placeholder if the registry has none."""
    found = cipher_suites().get(code)
    if found is not None:
        return found
    return CipherSuite(
        code=code,
        name=_unknown_name(code),
        openssl_name=None,
        key_exchange=UNKNOWN,
        authentication=UNKNOWN,
        encryption=UNKNOWN,
        mac=UNKNOWN,
        bits=0,
        export=False,
        min_version=0,
        recommended=None,
    )


def cipher_suite_by_name(name: str) -> CipherSuite:
    """The suite with this IANA or OpenSSL name. Raises KeyError if there is none."""
    return _suite_names()[name]


def display_name(code: int) -> str:
    """The IANA name of a cipher suite code, for reports (UNKNOWN_0x.... if unassigned)."""
    return cipher_suite(code).name


# -- supported groups --------------------------------------------------------------------

_GROUPS_FILE = "tls_groups.csv"


@functools.cache
def groups() -> Mapping[int, Group]:
    """Every supported group IANA lists, by code."""
    rows = read_rows(_GROUPS_FILE, ("code", "name", "kind", "bits", "recommended"))
    entries = [
        Group(
            code=_code(_GROUPS_FILE, row["code"]),
            name=row["name"],
            kind=row["kind"],
            bits=number(_GROUPS_FILE, row["bits"]),
            recommended=_recommended(_GROUPS_FILE, row["recommended"]),
        )
        for row in rows
    ]
    return _by_code(_GROUPS_FILE, ((g.code, g.name, g) for g in entries))


@functools.cache
def _group_names() -> _NameIndex[Group]:
    return _NameIndex("group", ((g.name, g) for g in groups().values()))


def group(code: int) -> Group:
    found = groups().get(code)
    if found is not None:
        return found
    return Group(code=code, name=_unknown_name(code), kind=UNKNOWN, bits=0, recommended=None)


def group_by_name(name: str) -> Group:
    return _group_names()[name]


# -- signature schemes -------------------------------------------------------------------

_SCHEMES_FILE = "tls_signature_schemes.csv"


@functools.cache
def signature_schemes() -> Mapping[int, SignatureScheme]:
    """TLS 1.3 signature schemes and the TLS 1.2 hash/signature pairs, by code."""
    rows = read_rows(_SCHEMES_FILE, ("code", "name", "recommended"))
    entries = [
        SignatureScheme(
            code=_code(_SCHEMES_FILE, row["code"]),
            name=row["name"],
            recommended=_recommended(_SCHEMES_FILE, row["recommended"]),
        )
        for row in rows
    ]
    return _by_code(_SCHEMES_FILE, ((s.code, s.name, s) for s in entries))


@functools.cache
def _scheme_names() -> _NameIndex[SignatureScheme]:
    return _NameIndex("signature scheme", ((s.name, s) for s in signature_schemes().values()))


def signature_scheme(code: int) -> SignatureScheme:
    found = signature_schemes().get(code)
    if found is not None:
        return found
    return SignatureScheme(code=code, name=_unknown_name(code), recommended=None)


def signature_scheme_by_name(name: str) -> SignatureScheme:
    return _scheme_names()[name]


# -- extensions --------------------------------------------------------------------------

_EXTENSIONS_FILE = "tls_extensions.csv"


@functools.cache
def extensions() -> Mapping[int, Extension]:
    """Every extension type IANA lists (not GREASE or reserved values), by code."""
    rows = read_rows(_EXTENSIONS_FILE, ("code", "name", "recommended"))
    entries = [
        Extension(
            code=_code(_EXTENSIONS_FILE, row["code"]),
            name=row["name"],
            recommended=_recommended(_EXTENSIONS_FILE, row["recommended"]),
        )
        for row in rows
    ]
    return _by_code(_EXTENSIONS_FILE, ((e.code, e.name, e) for e in entries))


@functools.cache
def _extension_names() -> _NameIndex[Extension]:
    return _NameIndex("extension", ((e.name, e) for e in extensions().values()))


def extension(code: int) -> Extension:
    found = extensions().get(code)
    if found is not None:
        return found
    return Extension(code=code, name=_unknown_name(code), recommended=None)


def extension_by_name(name: str) -> Extension:
    return _extension_names()[name]


# -- alerts ------------------------------------------------------------------------------

_ALERTS_FILE = "tls_alerts.csv"


@functools.cache
def alerts() -> Mapping[int, Alert]:
    """Every alert description IANA lists, by code."""
    rows = read_rows(_ALERTS_FILE, ("code", "name"))
    entries = [Alert(code=_code(_ALERTS_FILE, row["code"]), name=row["name"]) for row in rows]
    return _by_code(_ALERTS_FILE, ((a.code, a.name, a) for a in entries))


def alert(code: int) -> Alert:
    found = alerts().get(code)
    if found is not None:
        return found
    return Alert(code=code, name=_unknown_name(code))
