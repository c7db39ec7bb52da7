"""Rules for the plaintext side of STARTTLS services (mail, FTP, LDAP, XMPP, databases).

What a passive eavesdropper or an active attacker on the path gets when the
upgrade to TLS is missing, refused, or optional with credentials allowed
first; when plaintext sent before the upgrade is run after it (command
injection); and, for FTP, when logins, anonymous access or the data channel
escape the TLS of the control connection.
"""

from __future__ import annotations

from collections.abc import Sequence

from protoaudit.observations import (
    ConnectionFailure,
    FtpFacts,
    Observation,
    StartTlsDialog,
    StartTlsInjection,
)
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
    # A stall or reset before the server said whether it offers STARTTLS is a
    # connection failure (tls.connection.failed), not this.
    cut_off = any(
        failure.stage == "starttls" and failure.reason != "starttls"
        for failure in of_kind(observations, ConnectionFailure)
    )
    evidence = [
        f"{dialog.protocol}: STARTTLS offered but the upgrade failed: {dialog.failure}"
        for dialog in _dialogs(observations)
        if not dialog.upgraded
        and (dialog.starttls_offered is True or (dialog.starttls_offered is None and not cut_off))
    ]
    # The server agreed, then no handshake completed (a missing certificate does that).
    no_tls = [
        failure.detail
        for failure in of_kind(observations, ConnectionFailure)
        if failure.stage == "tls" and failure.reason == "no-tls"
    ]
    evidence += [
        f"{dialog.protocol}: the server agreed to STARTTLS, then no TLS handshake "
        f"completed ({'; '.join(no_tls)})"
        for dialog in _dialogs(observations)
        if dialog.upgraded and no_tls
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


def rule_command_injection(observations: Sequence[Observation]) -> list[Finding]:
    evidence = [
        f"{probe.protocol}: {probe.detail}"
        + (
            f" (it had also sent in clear after its go-ahead: {probe.plaintext_answer})"
            if probe.plaintext_answer
            else ""
        )
        for probe in of_kind(observations, StartTlsInjection)
        if probe.vulnerable
    ]
    return finding_for("starttls.command_injection", evidence)


def _ftp(observations: Sequence[Observation]) -> list[FtpFacts]:
    return list(of_kind(observations, FtpFacts))


def rule_ftp_plaintext_login(observations: Sequence[Observation]) -> list[Finding]:
    evidence = [
        f"ftp: before AUTH TLS the server answered USER with {facts.plaintext_login_reply}"
        for facts in _ftp(observations)
        if facts.plaintext_login
    ]
    return finding_for("starttls.ftp_plaintext_login", evidence)


def rule_ftp_clear_data(observations: Sequence[Observation]) -> list[Finding]:
    evidence = [
        f"ftp: PROT C ({facts.prot_c_reply}) and a transfer on a clear data connection "
        "were accepted"
        for facts in _ftp(observations)
        if facts.clear_data
    ]
    return finding_for("starttls.ftp_clear_data", evidence)


def rule_ftp_anonymous(observations: Sequence[Observation]) -> list[Finding]:
    evidence = [
        f"ftp: USER anonymous was accepted over TLS: {facts.anonymous_login_reply}"
        for facts in _ftp(observations)
        if facts.anonymous_login
    ]
    return finding_for("starttls.ftp_anonymous", evidence)


STARTTLS_RULES: tuple[Rule, ...] = (
    rule_starttls_not_offered,
    rule_starttls_failed,
    rule_plaintext_auth,
    rule_command_injection,
    rule_ftp_plaintext_login,
    rule_ftp_clear_data,
    rule_ftp_anonymous,
)
