"""Policy: rules that turn observations into findings, and the letter grade.

Rules are small pure functions, one module per family (`evaluate.rules_for`
loads a family's when a target has its observations); what they
judge against (thresholds, severities, wording, references) is data in
`data/protoaudit_tls_baseline.json`. `evaluate` gives one target's findings,
`grade` its SSL Labs-like letter.
"""

from __future__ import annotations

from protoaudit.policy.evaluate import all_rules, evaluate
from protoaudit.policy.findings import Finding, Rule, Severity
from protoaudit.policy.grade import Grade, grade


def __getattr__(name: str) -> tuple[Rule, ...]:
    if name == "RULES":  # every rule, loaded on first use
        return all_rules()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["RULES", "Finding", "Grade", "Rule", "Severity", "all_rules", "evaluate", "grade"]
