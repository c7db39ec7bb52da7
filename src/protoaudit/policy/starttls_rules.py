"""Rules for the plaintext side of STARTTLS services (mail, FTP, LDAP, XMPP, databases).

What a passive eavesdropper or an active attacker on the path gets when the
upgrade to TLS is missing, refused, or optional with credentials allowed first.
"""

from __future__ import annotations

from collections.abc import Sequence

from protoaudit.observations import Observation, StartTlsDialog
from protoaudit.policy.baseline import finding_for
from protoaudit.policy.facts import of_kind
from protoaudit.policy.findings import Finding, Rule


def _dialogs(observations: Sequence[Observation]) -> list[StartTlsDialog]:
    return list(of_kind(observations, StartTlsDialog))


def rule_starttls_not_offered(observations: Sequence[Observation]) -> list[Finding]:
    evidence = [
        f"{dialog.protocol}: the server does not offer STARTTLS"
        + (
            f" (capabilities: {', '.join(dialog.capabilities_before[:12])})"
            if dialog.capabilities_before
            else ""
        )
        for dialog in _dialogs(observations)
        if dialog.starttls_offered is False
    ]
    return finding_for("starttls.not_offered", evidence)


def rule_starttls_failed(observations: Sequence[Observation]) -> list[Finding]:
    evidence = [
        f"{dialog.protocol}: STARTTLS offered but the upgrade failed: {dialog.failure}"
        for dialog in _dialogs(observations)
        if not dialog.upgraded and dialog.starttls_offered is not False
    ]
    return finding_for("starttls.failed", evidence)


def rule_plaintext_auth(observations: Sequence[Observation]) -> list[Finding]:
    evidence = [
        f"{dialog.protocol}: before TLS the server accepts "
        + ", ".join(dialog.plaintext_auth_offered)
        for dialog in _dialogs(observations)
        if dialog.plaintext_auth_offered
    ]
    return finding_for("starttls.plaintext_auth", evidence)


STARTTLS_RULES: tuple[Rule, ...] = (
    rule_starttls_not_offered,
    rule_starttls_failed,
    rule_plaintext_auth,
)
