"""The JSON report: a versioned document that scripts can rely on.

Shape (`schema.json` next to this file is the contract, draft 2020-12):

    {"schema_version": "1.0", "tool": {"name", "version"}, "generated": ISO 8601 UTC,
     "targets": [{"target", "host", "port", "service", "address", "started",
                  "duration_seconds", "grade", "observations", "findings"}],
     "errors": [{"target", "reason"}]}

Keys are only ever added within a schema version; renaming or removing one
means a new major `schema_version`. Code points are written as objects that
carry both the code and its IANA name (`{"code": "0x1301", "name":
"TLS_AES_128_GCM_SHA256", ...}`) so a reader needs no registry; a code the
registry does not know is named `UNKNOWN_0x....`. Text from the
wire is written as is: JSON string escaping makes it safe, and `ensure_ascii`
keeps bidi and C1 control characters out of the file's raw bytes.

This module formats; it decides nothing: findings and the grade come with
each TargetResult.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from protoaudit.observations import Observation
from protoaudit.policy.findings import Finding
from protoaudit.policy.grade import Grade
from protoaudit.policy.names import code_hex, group_name, scheme_name
from protoaudit.proto.tls.constants import version_name
from protoaudit.registry.tls import cipher_suite
from protoaudit.results import TargetResult, UnscannedTarget

__all__ = ["SCHEMA_VERSION", "dumps", "load_schema", "to_document"]

SCHEMA_VERSION = "1.0"
TOOL_NAME = "protoaudit"

JsonObject = dict[str, Any]


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def version_json(code: int) -> JsonObject:
    return {"code": code_hex(code), "name": version_name(code)}


def suite_json(code: int) -> JsonObject:
    suite = cipher_suite(code)
    return {"code": code_hex(code), "name": suite.name, "openssl_name": suite.openssl_name}


def group_json(code: int) -> JsonObject:
    return {"code": code_hex(code), "name": group_name(code)}


def scheme_json(code: int) -> JsonObject:
    return {"code": code_hex(code), "name": scheme_name(code)}


# How a code-point field is written, per (observation kind, field). Fields not
# listed are written by type (`_plain`).
_CODE_FIELDS: dict[tuple[str, str], Callable[[int], JsonObject]] = {
    ("tls_version", "version"): version_json,
    ("cipher_suites", "version"): version_json,
    ("cipher_suites", "accepted"): suite_json,
    ("cipher_suites", "server_order"): suite_json,
    ("key_exchange_groups", "version"): version_json,
    ("key_exchange_groups", "accepted"): group_json,
    ("key_exchange_groups", "server_preferred"): group_json,
    ("ephemeral_key_exchange", "version"): version_json,
    ("ephemeral_key_exchange", "cipher_suite"): suite_json,
    ("ephemeral_key_exchange", "group"): group_json,
    ("ephemeral_key_exchange", "signature_scheme"): scheme_json,
    ("certificate_chain", "version"): version_json,
    ("certificate_chain", "cipher_suite"): suite_json,
    ("ftp_facts", "data_tls_version"): version_json,
    ("openvpn_tls_version", "version"): version_json,
    ("openvpn_tls_version", "cipher_suite"): suite_json,
    ("openvpn_tls_handshake", "version"): version_json,
    ("openvpn_tls_handshake", "cipher_suite"): suite_json,
    ("ftp_facts", "data_cipher_suite"): suite_json,
}


def _plain(value: object) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, Observation):  # one held by another (a DNSSEC chain's zones)
        return observation_json(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {item.name: _plain(getattr(value, item.name)) for item in dataclasses.fields(value)}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def observation_json(observation: Observation) -> JsonObject:
    document: JsonObject = {"kind": observation.kind}
    for item in dataclasses.fields(observation):
        value = getattr(observation, item.name)
        encode = _CODE_FIELDS.get((observation.kind, item.name))
        if encode is None or value is None:
            document[item.name] = _plain(value)
        elif isinstance(value, tuple):
            document[item.name] = [encode(code) for code in value]
        else:
            document[item.name] = encode(value)
    return document


def finding_json(finding: Finding) -> JsonObject:
    return {
        "id": finding.id,
        "severity": finding.severity.label,
        "title": finding.title,
        "evidence": list(finding.evidence),
        "explanation": finding.explanation,
        "references": list(finding.references),
    }


def grade_json(result: Grade | None) -> JsonObject | None:
    if result is None:
        return None
    return {
        "letter": result.letter,
        "score": result.score,
        "letter_ignoring_trust": result.letter_ignoring_trust,
        "reasons": list(result.reasons),
    }


def target_json(result: TargetResult) -> JsonObject:
    target = result.target
    return {
        "target": target.original or str(target),
        "host": target.host,
        "port": target.port,
        "service": target.service,
        "address": result.address,
        "started": iso_utc(result.started),
        "duration_seconds": round(result.duration_seconds, 3),
        "grade": grade_json(result.grade),
        "observations": [observation_json(item) for item in result.observations],
        "findings": [finding_json(item) for item in result.findings],
    }


def to_document(
    results: Sequence[TargetResult],
    unscanned: Sequence[UnscannedTarget],
    *,
    tool_version: str,
    generated: datetime,
) -> JsonObject:
    """The whole report as plain JSON-ready data (dicts, lists, strings, numbers)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": tool_version},
        "generated": iso_utc(generated),
        "targets": [target_json(result) for result in results],
        "errors": [{"target": item.text, "reason": item.reason} for item in unscanned],
    }


def dumps(
    results: Sequence[TargetResult],
    unscanned: Sequence[UnscannedTarget],
    *,
    tool_version: str,
    generated: datetime,
    indent: int | None = 2,
) -> str:
    """The report as JSON text, ASCII only, without a trailing newline (like `json.dumps`)."""
    document = to_document(results, unscanned, tool_version=tool_version, generated=generated)
    return json.dumps(document, indent=indent, ensure_ascii=True)


def load_schema() -> Mapping[str, Any]:
    """The JSON Schema (draft 2020-12) that every document from `to_document` satisfies."""
    text = resources.files("protoaudit.report").joinpath("schema.json").read_text("utf-8")
    schema: Mapping[str, Any] = json.loads(text)
    return schema
