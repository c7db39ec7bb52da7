"""Policy: rules that turn observations into findings, and the letter grade.

Rules are small pure functions registered in `evaluate.RULES`; what they
judge against (thresholds, severities, wording, references) is data in
`data/protoaudit_tls_baseline.json`. `evaluate` gives one target's findings,
`grade` its SSL Labs-like letter.
"""

from __future__ import annotations

from protoaudit.policy.evaluate import RULES, evaluate
from protoaudit.policy.findings import Finding, Rule, Severity
from protoaudit.policy.grade import Grade, grade

__all__ = ["RULES", "Finding", "Grade", "Rule", "Severity", "evaluate", "grade"]
