"""What an audit of one target returns: its observations and the findings judged from them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from protoaudit.observations import ConnectionFailure, Observation
from protoaudit.policy.findings import Finding
from protoaudit.policy.grade import Grade
from protoaudit.targets import Target


@dataclass(frozen=True, slots=True)
class TargetResult:
    target: Target
    address: str  # the IP address actually scanned
    started: datetime
    duration_seconds: float
    observations: tuple[Observation, ...]
    findings: tuple[Finding, ...]
    grade: Grade | None  # None when no TLS version answered

    @property
    def closed(self) -> bool:
        """A port of a whole-host audit (--all-services) that no connection reached."""
        return (
            self.target.sweep
            and bool(self.observations)
            and all(
                isinstance(o, ConnectionFailure) and o.stage == "connect" for o in self.observations
            )
        )


@dataclass(frozen=True, slots=True)
class UnscannedTarget:
    """A target that could not be audited at all, e.g. it did not parse or resolve."""

    text: str
    reason: str
