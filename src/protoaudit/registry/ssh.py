"""SSH algorithm names by category, and SSH_MSG_DISCONNECT reason codes.

The facts live in the ``ssh_*.csv`` files under ``data/`` (IANA "Secure Shell (SSH) Protocol
Parameters" registries plus the OpenSSH and dropbear names outside them; each file's header
says which registry, which snapshot and what was derived). This module only reads them, once
each, on first use.

SSH names are case-sensitive (RFC 4251 6), so lookups are exact. A row whose name ends in
"-*" names a family (``ecdh-sha2-*``: the rest is a curve OID; ``gss-group14-sha256-*``: the
rest is a GSS-API mechanism hash) and matches any name with that prefix that has no row of
its own. Lookups never raise: a name the registry does not know comes back as a placeholder
whose ``known`` is False, so that whatever a peer sent survives into a report.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeVar

from protoaudit.registry.data_files import RegistryDataError, number, read_rows

__all__ = [
    "UNKNOWN",
    "CompressionAlgorithm",
    "DisconnectReason",
    "EncryptionAlgorithm",
    "HostKeyAlgorithm",
    "KexMethod",
    "MacAlgorithm",
    "RegistryDataError",
    "compression_algorithm",
    "compression_algorithms",
    "disconnect_reason",
    "disconnect_reasons",
    "encryption_algorithm",
    "encryption_algorithms",
    "host_key_algorithm",
    "host_key_algorithms",
    "kex_method",
    "kex_methods",
    "mac_algorithm",
    "mac_algorithms",
]

UNKNOWN = "UNKNOWN"
_FAMILY_SUFFIX = "*"
_SUPPORT_VALUES = frozenset({"default", "supported", "later", "removed", ""})
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class KexMethod:
    name: str
    kind: str  # dh, gex, ecdh, curve, hybrid, rsa, gss, ecmqv, marker; UNKNOWN if not listed
    hash: str  # the exchange hash ("sha256"), empty when the family decides it
    reference: str
    iana: bool
    openssh: str  # default, supported, later, removed, or empty (see the file's header)
    dropbear: str

    @property
    def known(self) -> bool:
        return self.kind != UNKNOWN

    @property
    def marker(self) -> bool:
        """A signal such as ext-info-c or kex-strict-s-v00@openssh.com, not a method."""
        return self.kind == "marker"


@dataclass(frozen=True, slots=True)
class HostKeyAlgorithm:
    name: str
    key_type: str  # the type string opening the key blob sent for this algorithm
    signature: str  # the type string opening the signature blob
    certificate: bool
    reference: str
    iana: bool
    openssh: str
    dropbear: str

    @property
    def known(self) -> bool:
        return self.key_type != UNKNOWN


@dataclass(frozen=True, slots=True)
class EncryptionAlgorithm:
    name: str
    aead: bool  # authenticates packets itself: the MAC lists are not negotiated
    key_bits: int
    block_bits: int  # 0 for stream ciphers and none
    mode: str
    reference: str
    iana: bool
    openssh: str
    dropbear: str

    @property
    def known(self) -> bool:
        return self.mode != UNKNOWN


@dataclass(frozen=True, slots=True)
class MacAlgorithm:
    name: str
    etm: bool
    tag_bits: int
    hash: str
    reference: str
    iana: bool
    openssh: str
    dropbear: str

    @property
    def known(self) -> bool:
        return self.hash != UNKNOWN


@dataclass(frozen=True, slots=True)
class CompressionAlgorithm:
    name: str
    reference: str
    iana: bool
    openssh: str
    dropbear: str

    @property
    def known(self) -> bool:
        return self.reference != UNKNOWN


@dataclass(frozen=True, slots=True)
class DisconnectReason:
    code: int
    name: str


# -- reading the files -------------------------------------------------------------------


def _flag(filename: str, text: str, *, true: str, false: str) -> bool:
    if text not in (true, false):
        raise RegistryDataError(f"{filename}: expected {true!r} or {false!r}, got {text!r}")
    return text == true


def _support(filename: str, text: str) -> str:
    if text not in _SUPPORT_VALUES:
        raise RegistryDataError(f"{filename}: bad support value {text!r}")
    return text


def _by_name(
    filename: str, columns: tuple[str, ...], build: Callable[[dict[str, str]], _T]
) -> Mapping[str, _T]:
    table: dict[str, _T] = {}
    for row in read_rows(filename, columns):
        name = row["name"]
        if not name or name in table:
            raise RegistryDataError(f"{filename}: empty or duplicate name {name!r}")
        table[name] = build(row)
    return MappingProxyType(table)


def _lookup(table: Mapping[str, _T], name: str) -> _T | None:
    """The exact row, else the longest family prefix ("ecdh-sha2-*") that matches."""
    found = table.get(name)
    if found is not None:
        return found
    best: tuple[int, _T] | None = None
    for key, entry in table.items():
        prefix = key[: -len(_FAMILY_SUFFIX)]
        matches = key.endswith(_FAMILY_SUFFIX) and name.startswith(prefix) and name != prefix
        if matches and (best is None or len(prefix) > best[0]):
            best = (len(prefix), entry)
    return None if best is None else best[1]


# -- key exchange ------------------------------------------------------------------------

_KEX_FILE = "ssh_kex_methods.csv"
_KEX_COLUMNS = ("name", "kind", "hash", "reference", "iana", "openssh", "dropbear")


def _kex_from_row(row: dict[str, str]) -> KexMethod:
    f = _KEX_FILE
    return KexMethod(
        name=row["name"],
        kind=row["kind"],
        hash=row["hash"],
        reference=row["reference"],
        iana=_flag(f, row["iana"], true="Y", false="N"),
        openssh=_support(f, row["openssh"]),
        dropbear=_support(f, row["dropbear"]),
    )


@functools.cache
def kex_methods() -> Mapping[str, KexMethod]:
    """Every key exchange method name and marker listed, by name (families end in "-*")."""
    return _by_name(_KEX_FILE, _KEX_COLUMNS, _kex_from_row)


def kex_method(name: str) -> KexMethod:
    found = _lookup(kex_methods(), name)
    if found is not None:
        return found
    return KexMethod(name, UNKNOWN, "", "", iana=False, openssh="", dropbear="")


# -- host keys ---------------------------------------------------------------------------

_HOST_KEY_FILE = "ssh_host_key_algorithms.csv"
_HOST_KEY_COLUMNS = (
    "name",
    "key_type",
    "signature",
    "certificate",
    "reference",
    "iana",
    "openssh",
    "dropbear",
)


def _host_key_from_row(row: dict[str, str]) -> HostKeyAlgorithm:
    f = _HOST_KEY_FILE
    return HostKeyAlgorithm(
        name=row["name"],
        key_type=row["key_type"],
        signature=row["signature"],
        certificate=_flag(f, row["certificate"], true="1", false="0"),
        reference=row["reference"],
        iana=_flag(f, row["iana"], true="Y", false="N"),
        openssh=_support(f, row["openssh"]),
        dropbear=_support(f, row["dropbear"]),
    )


@functools.cache
def host_key_algorithms() -> Mapping[str, HostKeyAlgorithm]:
    """Every public key algorithm name listed, by name (families end in "-*")."""
    return _by_name(_HOST_KEY_FILE, _HOST_KEY_COLUMNS, _host_key_from_row)


def host_key_algorithm(name: str) -> HostKeyAlgorithm:
    found = _lookup(host_key_algorithms(), name)
    if found is None:
        return HostKeyAlgorithm(name, UNKNOWN, UNKNOWN, False, "", False, "", "")
    if found.name.endswith(_FAMILY_SUFFIX):
        # A family row stands for every member: the member's blob and signature carry its name.
        return HostKeyAlgorithm(
            name,
            name,
            name,
            found.certificate,
            found.reference,
            found.iana,
            found.openssh,
            found.dropbear,
        )
    return found


# -- encryption, MAC, compression --------------------------------------------------------

_ENCRYPTION_FILE = "ssh_encryption_algorithms.csv"
_ENCRYPTION_COLUMNS = (
    "name",
    "aead",
    "key_bits",
    "block_bits",
    "mode",
    "reference",
    "iana",
    "openssh",
    "dropbear",
)


def _encryption_from_row(row: dict[str, str]) -> EncryptionAlgorithm:
    f = _ENCRYPTION_FILE
    return EncryptionAlgorithm(
        name=row["name"],
        aead=_flag(f, row["aead"], true="1", false="0"),
        key_bits=number(f, row["key_bits"]),
        block_bits=number(f, row["block_bits"]),
        mode=row["mode"],
        reference=row["reference"],
        iana=_flag(f, row["iana"], true="Y", false="N"),
        openssh=_support(f, row["openssh"]),
        dropbear=_support(f, row["dropbear"]),
    )


@functools.cache
def encryption_algorithms() -> Mapping[str, EncryptionAlgorithm]:
    return _by_name(_ENCRYPTION_FILE, _ENCRYPTION_COLUMNS, _encryption_from_row)


def encryption_algorithm(name: str) -> EncryptionAlgorithm:
    found = _lookup(encryption_algorithms(), name)
    if found is not None:
        return found
    return EncryptionAlgorithm(name, False, 0, 0, UNKNOWN, "", False, "", "")


_MAC_FILE = "ssh_mac_algorithms.csv"
_MAC_COLUMNS = ("name", "etm", "tag_bits", "hash", "reference", "iana", "openssh", "dropbear")


def _mac_from_row(row: dict[str, str]) -> MacAlgorithm:
    f = _MAC_FILE
    return MacAlgorithm(
        name=row["name"],
        etm=_flag(f, row["etm"], true="1", false="0"),
        tag_bits=number(f, row["tag_bits"]),
        hash=row["hash"],
        reference=row["reference"],
        iana=_flag(f, row["iana"], true="Y", false="N"),
        openssh=_support(f, row["openssh"]),
        dropbear=_support(f, row["dropbear"]),
    )


@functools.cache
def mac_algorithms() -> Mapping[str, MacAlgorithm]:
    return _by_name(_MAC_FILE, _MAC_COLUMNS, _mac_from_row)


def mac_algorithm(name: str) -> MacAlgorithm:
    found = _lookup(mac_algorithms(), name)
    if found is not None:
        return found
    return MacAlgorithm(name, False, 0, UNKNOWN, "", False, "", "")


_COMPRESSION_FILE = "ssh_compression_algorithms.csv"
_COMPRESSION_COLUMNS = ("name", "reference", "iana", "openssh", "dropbear")


def _compression_from_row(row: dict[str, str]) -> CompressionAlgorithm:
    f = _COMPRESSION_FILE
    return CompressionAlgorithm(
        name=row["name"],
        reference=row["reference"],
        iana=_flag(f, row["iana"], true="Y", false="N"),
        openssh=_support(f, row["openssh"]),
        dropbear=_support(f, row["dropbear"]),
    )


@functools.cache
def compression_algorithms() -> Mapping[str, CompressionAlgorithm]:
    return _by_name(_COMPRESSION_FILE, _COMPRESSION_COLUMNS, _compression_from_row)


def compression_algorithm(name: str) -> CompressionAlgorithm:
    found = _lookup(compression_algorithms(), name)
    if found is not None:
        return found
    return CompressionAlgorithm(name, UNKNOWN, False, "", "")


# -- disconnect reasons ------------------------------------------------------------------

_DISCONNECT_FILE = "ssh_disconnect_reasons.csv"


@functools.cache
def disconnect_reasons() -> Mapping[int, DisconnectReason]:
    table: dict[int, DisconnectReason] = {}
    for row in read_rows(_DISCONNECT_FILE, ("code", "name")):
        code = number(_DISCONNECT_FILE, row["code"])
        if code in table:
            raise RegistryDataError(f"{_DISCONNECT_FILE}: duplicate code {code}")
        table[code] = DisconnectReason(code, row["name"])
    return MappingProxyType(table)


def disconnect_reason(code: int) -> DisconnectReason:
    found = disconnect_reasons().get(code)
    if found is not None:
        return found
    return DisconnectReason(code, f"UNKNOWN_{code}")
