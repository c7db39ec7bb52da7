"""protoaudit: audit the secure protocols a host exposes, with evidence.

result = await protoaudit.audit("127.0.0.1:4433", ca_file="lab-ca.pem")
for finding in result.findings: ...
"""

from __future__ import annotations

from dataclasses import replace

__version__ = "0.1.0"

from protoaudit.errors import ProtoauditError, TargetError
from protoaudit.policy.findings import Finding, Severity
from protoaudit.results import TargetResult
from protoaudit.scan import AuditOptions, audit_targets
from protoaudit.targets import Target, parse_target

__all__ = [
    "AuditOptions",
    "Finding",
    "ProtoauditError",
    "Severity",
    "Target",
    "TargetError",
    "TargetResult",
    "audit",
    "audit_targets",
    "parse_target",
]


async def audit(
    target: str | Target,
    *,
    sni: str | None = None,
    options: AuditOptions | None = None,
    **option_values: object,
) -> TargetResult:
    """Audit one target (`"host"`, `"host:port"`, `"https://host"`); raises TargetError if bad.

    Keyword arguments beyond `sni` and `options` set AuditOptions fields, e.g.
    `ca_file="ca.pem", timeout=3`.
    """
    parsed = target if isinstance(target, Target) else parse_target(target, sni=sni)
    chosen = replace(options or AuditOptions(), **option_values)  # type: ignore[arg-type]
    async for result in audit_targets([parsed], chosen):
        return result
    raise AssertionError("audit_targets yields one result per target")
