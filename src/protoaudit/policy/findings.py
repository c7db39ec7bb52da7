"""Finding: a judgement with a stable id, a severity and the evidence behind it."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from protoaudit.observations import Observation


class Severity(enum.IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Finding:
    id: str  # stable, e.g. "tls.version.tls1_0"; never renamed once released
    severity: Severity
    title: str
    evidence: tuple[str, ...]  # the observed facts, in words, that caused it
    explanation: str
    references: tuple[str, ...] = ()


# A rule judges one target's observations; it returns at most one finding per id.
Rule = Callable[[Sequence[Observation]], list[Finding]]
