"""IKE code points and their names: IKEv2 transforms, key exchange methods, IKEv1 attributes,
notify types, and the Vendor IDs that name an implementation.

The facts live in the ``ike_*.csv`` files under ``data/`` (IANA's IKEv2, IKE-attribute and
ISAKMP registries; the Vendor ID table is compiled, as its header says). This module only reads
them, once each, on first use.

Lookups never raise: a code point the registry does not know comes back as a placeholder named
``UNKNOWN_<number>`` (``known`` False), so that whatever a peer sent survives into a report.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from protoaudit.registry.data_files import RegistryDataError, number, read_rows

__all__ = [
    "ENCRYPTION",
    "ESN",
    "INTEGRITY",
    "KEY_EXCHANGE",
    "PRF",
    "KeyExchangeMethod",
    "NotifyType",
    "RegistryDataError",
    "TransformId",
    "TransformType",
    "V1AttributeValue",
    "VendorId",
    "additional_key_exchange_types",
    "key_exchange_method",
    "key_exchange_methods",
    "notify_type",
    "transform_id",
    "transform_ids",
    "transform_type",
    "transform_types",
    "v1_attribute",
    "v1_attribute_value",
    "v1_attribute_values",
    "vendor_id",
    "vendor_ids",
    "vendor_version",
]

# IKEv2 transform types (RFC 7296 3.3.2): the structure a proposal is made of.
ENCRYPTION = 1
PRF = 2
INTEGRITY = 3
KEY_EXCHANGE = 4
ESN = 5

_LEVELS = frozenset({"MUST", "SHOULD+", "SHOULD", "MAY", "MUST-", "SHOULD NOT", "MUST NOT", ""})


def _flag(filename: str, text: str) -> bool:
    if text not in ("0", "1"):
        raise RegistryDataError(f"{filename}: expected 0 or 1, got {text!r}")
    return text == "1"


def _level(filename: str, text: str) -> str:
    if text not in _LEVELS:
        raise RegistryDataError(f"{filename}: bad requirement level {text!r}")
    return text


def _numbers(filename: str, text: str) -> tuple[int, ...]:
    return tuple(number(filename, part) for part in text.split())


# -- IKEv2 transform types and IDs -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransformType:
    type: int
    name: str
    shares: int | None  # the type whose IDs it uses (ADDKE1-7 use type 4's)
    reference: str

    @property
    def known(self) -> bool:
        return not self.name.startswith("UNKNOWN_")


@dataclass(frozen=True, slots=True)
class TransformId:
    type: int
    id: int
    name: str
    aead: bool
    key_lengths: tuple[int, ...]  # Key Length attribute values it takes; () for a fixed size
    rfc8247: str  # RFC 8247 requirement level, "" when it says nothing
    reference: str

    @property
    def known(self) -> bool:
        return not self.name.startswith("UNKNOWN_")


_TYPES_FILE = "ike_v2_transform_types.csv"
_IDS_FILE = "ike_v2_transform_ids.csv"


@functools.cache
def transform_types() -> Mapping[int, TransformType]:
    table: dict[int, TransformType] = {}
    for row in read_rows(_TYPES_FILE, ("type", "name", "shares", "reference")):
        code = number(_TYPES_FILE, row["type"])
        if code in table:
            raise RegistryDataError(f"{_TYPES_FILE}: duplicate type {code}")
        shares = number(_TYPES_FILE, row["shares"]) if row["shares"] else None
        table[code] = TransformType(code, row["name"], shares, row["reference"])
    return MappingProxyType(table)


def transform_type(code: int) -> TransformType:
    return transform_types().get(code) or TransformType(code, f"UNKNOWN_{code}", None, "")


def additional_key_exchange_types() -> tuple[int, ...]:
    """The transform types that take key exchange method IDs besides type 4 (RFC 9370)."""
    return tuple(code for code, entry in transform_types().items() if entry.shares == KEY_EXCHANGE)


@functools.cache
def transform_ids() -> Mapping[tuple[int, int], TransformId]:
    """Every ENCR, PRF, INTEG and ESN transform ID, by (type, id)."""
    f = _IDS_FILE
    table: dict[tuple[int, int], TransformId] = {}
    columns = ("type", "id", "name", "aead", "key_lengths", "rfc8247", "reference")
    for row in read_rows(f, columns):
        key = (number(f, row["type"]), number(f, row["id"]))
        if key in table:
            raise RegistryDataError(f"{f}: duplicate transform {key}")
        table[key] = TransformId(
            type=key[0],
            id=key[1],
            name=row["name"],
            aead=_flag(f, row["aead"]),
            key_lengths=_numbers(f, row["key_lengths"]),
            rfc8247=_level(f, row["rfc8247"]),
            reference=row["reference"],
        )
    return MappingProxyType(table)


def transform_id(transform_type_code: int, code: int) -> TransformId:
    """A transform ID of any type; key exchange types answer from the key exchange table."""
    shared = transform_type(transform_type_code).shares or transform_type_code
    if shared == KEY_EXCHANGE:
        method = key_exchange_method(code)
        return TransformId(
            transform_type_code, code, method.name, False, (), method.rfc8247, method.reference
        )
    found = transform_ids().get((transform_type_code, code))
    if found is not None:
        return found
    return TransformId(transform_type_code, code, f"UNKNOWN_{code}", False, (), "", "")


# -- key exchange methods (IKEv2 type 4 and ADDKE, IKEv1 Group Description) -----------------


@dataclass(frozen=True, slots=True)
class KeyExchangeMethod:
    id: int
    name: str
    kind: str  # modp, modp_subgroup, ecp, brainpool, ec2n, montgomery, gost, mlkem, none
    bits: int
    public_value_bytes: int  # 0 when unknown
    rfc8247: str
    ikev1: bool
    reference: str

    @property
    def known(self) -> bool:
        return not self.name.startswith("UNKNOWN_")


_KE_FILE = "ike_key_exchange_methods.csv"


@functools.cache
def key_exchange_methods() -> Mapping[int, KeyExchangeMethod]:
    f = _KE_FILE
    table: dict[int, KeyExchangeMethod] = {}
    columns = (
        "id",
        "name",
        "kind",
        "bits",
        "public_value_bytes",
        "rfc8247",
        "ikev1",
        "reference",
    )
    for row in read_rows(f, columns):
        code = number(f, row["id"])
        if code in table:
            raise RegistryDataError(f"{f}: duplicate id {code}")
        table[code] = KeyExchangeMethod(
            id=code,
            name=row["name"],
            kind=row["kind"],
            bits=number(f, row["bits"]),
            public_value_bytes=number(f, row["public_value_bytes"]),
            rfc8247=_level(f, row["rfc8247"]),
            ikev1=_flag(f, row["ikev1"]),
            reference=row["reference"],
        )
    return MappingProxyType(table)


def key_exchange_method(code: int) -> KeyExchangeMethod:
    found = key_exchange_methods().get(code)
    if found is not None:
        return found
    return KeyExchangeMethod(code, f"UNKNOWN_{code}", "unknown", 0, 0, "", False, "")


# -- IKEv1 attributes --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class V1AttributeValue:
    attribute: int
    value: int | None  # None: the row of the attribute class itself
    name: str
    format: str  # B (basic, TV) or V (variable, TLV) for a class row; "" for a value row
    reference: str

    @property
    def known(self) -> bool:
        return not self.name.startswith("UNKNOWN_")


_V1_FILE = "ike_v1_attributes.csv"


@functools.cache
def v1_attribute_values() -> Mapping[tuple[int, int | None], V1AttributeValue]:
    """IKEv1 SA attribute classes (value None) and the values of the enumerated classes."""
    f = _V1_FILE
    table: dict[tuple[int, int | None], V1AttributeValue] = {}
    for row in read_rows(f, ("attribute", "value", "name", "format", "reference")):
        attribute = number(f, row["attribute"])
        value = number(f, row["value"]) if row["value"] else None
        if (attribute, value) in table:
            raise RegistryDataError(f"{f}: duplicate row {(attribute, value)}")
        if (value is None) != (row["format"] in ("B", "V")):
            raise RegistryDataError(f"{f}: row {(attribute, value)}: bad format {row['format']!r}")
        table[(attribute, value)] = V1AttributeValue(
            attribute, value, row["name"], row["format"], row["reference"]
        )
    return MappingProxyType(table)


def v1_attribute(attribute: int) -> V1AttributeValue:
    """The attribute class (Encryption Algorithm, Hash Algorithm …)."""
    found = v1_attribute_values().get((attribute, None))
    return found or V1AttributeValue(attribute, None, f"UNKNOWN_{attribute}", "", "")


# The IKEv1 Group Description attribute (class 4) takes key exchange method numbers.
_V1_GROUP_DESCRIPTION = 4


def v1_attribute_value(attribute: int, value: int) -> V1AttributeValue:
    """One value of an enumerated class; group descriptions answer from the key exchange table."""
    if attribute == _V1_GROUP_DESCRIPTION:
        method = key_exchange_method(value)
        if method.known and method.ikev1:
            return V1AttributeValue(attribute, value, method.name, "", method.reference)
        return V1AttributeValue(attribute, value, f"UNKNOWN_{value}", "", "")
    found = v1_attribute_values().get((attribute, value))
    return found or V1AttributeValue(attribute, value, f"UNKNOWN_{value}", "", "")


# -- notify message types ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NotifyType:
    version: int  # 1 or 2: the two versions number independently
    code: int
    name: str
    reference: str

    @property
    def error(self) -> bool:
        """An error type: IKEv2 below 16384 (RFC 7296 3.10.1), IKEv1 below 8192 (RFC 2408)."""
        return self.code < (16384 if self.version == 2 else 8192)

    @property
    def known(self) -> bool:
        return not self.name.startswith("UNKNOWN_")


_NOTIFY_FILE = "ike_notify_types.csv"


@functools.cache
def _notify_types() -> Mapping[tuple[int, int], NotifyType]:
    f = _NOTIFY_FILE
    table: dict[tuple[int, int], NotifyType] = {}
    for row in read_rows(f, ("version", "code", "name", "reference")):
        key = (number(f, row["version"]), number(f, row["code"]))
        if key[0] not in (1, 2) or key in table:
            raise RegistryDataError(f"{f}: bad or duplicate row {key}")
        table[key] = NotifyType(key[0], key[1], row["name"], row["reference"])
    return MappingProxyType(table)


def notify_type(version: int, code: int) -> NotifyType:
    found = _notify_types().get((version, code))
    return found or NotifyType(version, code, f"UNKNOWN_{code}", "")


# -- vendor IDs --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VendorId:
    prefix: bytes
    name: str
    kind: str  # implementation, capability, client; "unknown" when nothing matched
    implementation: str
    version_from: str
    reference: str

    @property
    def known(self) -> bool:
        return self.kind != "unknown"


_VENDOR_FILE = "ike_vendor_ids.csv"
_VENDOR_KINDS = frozenset({"implementation", "capability", "client"})
_VERSION_FORMATS = frozenset({"", "ascii", "u16.u16", "u32"})


@functools.cache
def vendor_ids() -> tuple[VendorId, ...]:
    """Every known Vendor ID prefix, longest first (so the first match is the best)."""
    f = _VENDOR_FILE
    rows: dict[bytes, VendorId] = {}
    columns = ("prefix", "name", "kind", "implementation", "version_from", "reference")
    for row in read_rows(f, columns):
        try:
            prefix = bytes.fromhex(row["prefix"])
        except ValueError:
            raise RegistryDataError(f"{f}: bad hex {row['prefix']!r}") from None
        if not prefix or prefix in rows:
            raise RegistryDataError(f"{f}: empty or duplicate prefix {row['prefix']!r}")
        if row["kind"] not in _VENDOR_KINDS or row["version_from"] not in _VERSION_FORMATS:
            raise RegistryDataError(f"{f}: {row['prefix']}: bad kind or version_from")
        rows[prefix] = VendorId(
            prefix,
            row["name"],
            row["kind"],
            row["implementation"],
            row["version_from"],
            row["reference"],
        )
    return tuple(sorted(rows.values(), key=lambda entry: -len(entry.prefix)))


def vendor_id(data: bytes) -> VendorId:
    """The longest known prefix of `data`, else a placeholder whose `known` is False."""
    for entry in vendor_ids():
        if data.startswith(entry.prefix):
            return entry
    return VendorId(b"", "unknown vendor ID", "unknown", "", "", "")


def vendor_version(entry: VendorId, data: bytes) -> str:
    """The version the bytes after a known prefix carry, in words; "" when there is none."""
    rest = data[len(entry.prefix) :]
    if entry.version_from == "ascii" and rest and all(0x20 <= b < 0x7F for b in rest):
        return rest.decode("ascii")
    if entry.version_from == "u16.u16" and len(rest) == 4:
        return f"{int.from_bytes(rest[:2], 'big')}.{int.from_bytes(rest[2:], 'big')}"
    if entry.version_from == "u16.u16" and len(rest) == 2:
        return f"{rest[0]}.{rest[1]}"
    if entry.version_from == "u32" and len(rest) == 4:
        return str(int.from_bytes(rest, "big"))
    return ""
