"""JSON schema definitions derived from observation dataclasses (draft 2020-12).

Used once to write the definitions of the SSH and DNSSEC kinds into
src/protoaudit/report/schema.json, and by tests to prove that the file still
matches the dataclasses field by field. Run it to print the definitions:

    python3 tests/schema_defs.py
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import types
import typing
from datetime import datetime
from typing import Any, get_args, get_origin, get_type_hints

from protoaudit.observations import Observation
from protoaudit.report import json_report

# Every observation module after the first one: each of their kinds is in schema.json
# field by field, written from this module and checked against it by the tests.
MODULES = ("dns", "dane", "ike", "openvpn", "socks", "pgp")


def _kinds(suffix: str) -> tuple[type[Observation], ...]:
    module = importlib.import_module(f"protoaudit.observations_{suffix}")
    return tuple(
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, Observation) and cls.__module__ == module.__name__
    )


NEW_KINDS: tuple[type[Observation], ...] = tuple(k for m in MODULES for k in _kinds(m))


def def_name(cls: type) -> str:
    kind = getattr(cls, "kind", None)
    if isinstance(kind, str) and kind != "observation":
        return kind
    # Nested value types: "DnssecDs" -> "dnssec_ds"
    out = "".join(f"_{c.lower()}" if c.isupper() else c for c in cls.__name__)
    return out.lstrip("_")


def type_schema(hint: Any, nested: dict[str, type]) -> dict[str, Any]:
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [type_schema(arg, nested) for arg in get_args(hint)]}
    if hint is type(None):
        return {"type": "null"}
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return {"type": "integer"}
    if hint is float:
        return {"type": "number"}
    if hint is str:
        return {"type": "string"}
    if hint is datetime:
        return {"type": "string", "format": "date-time"}
    if origin is tuple:
        args = get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": type_schema(args[0], nested)}
        return {
            "type": "array",
            "prefixItems": [type_schema(arg, nested) for arg in args],
            "minItems": len(args),
            "maxItems": len(args),
        }
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        nested[def_name(hint)] = hint
        return {"$ref": f"#/$defs/{def_name(hint)}"}
    raise TypeError(f"no schema for {hint!r}")


def object_schema(cls: type, nested: dict[str, type]) -> dict[str, Any]:
    hints = get_type_hints(cls)
    names = [field.name for field in dataclasses.fields(cls)]
    properties: dict[str, Any] = {}
    required = list(names)
    if issubclass(cls, Observation):
        properties["kind"] = {"const": cls.kind}
        required = ["kind", *names]
    for name in names:
        properties[name] = type_schema(hints[name], nested)
        encode = json_report._CODE_FIELDS.get((getattr(cls, "kind", ""), name))
        if encode is not None:  # a code point written as {code, name}: the shared definition
            properties[name] = _code_schema(properties[name], CODE_DEFINITIONS[encode])
    return {
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": False,
    }


CODE_DEFINITIONS = {
    json_report.version_json: "version",
    json_report.suite_json: "cipher_suite",
    json_report.group_json: "group",
    json_report.scheme_json: "signature_scheme",
}


def _code_schema(plain: dict[str, Any], definition: str) -> dict[str, Any]:
    reference = {"$ref": f"#/$defs/{definition}"}
    if plain.get("type") == "array":
        return {"type": "array", "items": reference}
    if "anyOf" in plain:
        return {"anyOf": [reference, {"type": "null"}]}
    return reference


def definitions(classes: tuple[type, ...]) -> dict[str, Any]:
    """The $defs entries for `classes` and every dataclass they hold, by name."""
    nested: dict[str, type] = {}
    out = {def_name(cls): object_schema(cls, nested) for cls in classes}
    while missing := [name for name in nested if name not in out]:
        for name in missing:
            out[name] = object_schema(nested[name], nested)
    return out


if __name__ == "__main__":
    print(json.dumps(definitions(NEW_KINDS), indent=2))
