"""The terminal report, drawn with rich.

Safety: every string that came off the wire (certificate subjects, issuers,
names, probe and error details, and finding evidence, which quotes them) goes
through `sanitize.for_terminal` and reaches rich as a `rich.text.Text`, never
as a markup string, so `[bold red]` in a subject prints literally and no
escape sequence reaches the terminal. Our own words go in as `Text` too, so
nothing here is ever parsed as markup.

Colour comes from styles on `Text`; whether it is emitted is the Console's
choice (the CLI's `Console()` colours a terminal and not a pipe). Nothing here
forces it.

This module formats; it decides nothing: findings and the grade come with
each TargetResult.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from protoaudit.observations import (
    CertificateChain,
    CertificateInfo,
    CipherSuiteSupport,
    ConnectionFailure,
    EphemeralKeyExchange,
    FtpFacts,
    KeyExchangeGroups,
    Observation,
    ProbeFailure,
    ServiceDetected,
    StartTlsDialog,
    StartTlsInjection,
    TlsVersionSupport,
)
from protoaudit.policy.facts import of_kind
from protoaudit.policy.findings import Finding, Severity
from protoaudit.policy.grade import Grade
from protoaudit.policy.names import group_name, lookup_suite, scheme_name, suite_label
from protoaudit.proto.tls.constants import version_name
from protoaudit.report.terminal_base import table as _table
from protoaudit.report.terminal_base import wire
from protoaudit.report.terminal_base import words as _words
from protoaudit.report.terminal_ssh import ssh_tables
from protoaudit.results import TargetResult, UnscannedTarget

TablesOf = Callable[[Sequence[Observation], bool], Iterable[Table]]
# The tables of each family's observations ("module:function" under protoaudit.report),
# in the order they are drawn; a family's module is imported when a target has them.
FAMILY_TABLES = {
    "protoaudit.observations_dns": "terminal_dnssec:dnssec_tables",
    "protoaudit.observations_dane": "terminal_dnssec:dnssec_tables",
    "protoaudit.observations_ike": "terminal_ike:ike_tables",
    "protoaudit.observations_openvpn": "terminal_openvpn:openvpn_tables",
    "protoaudit.observations_socks": "terminal_socks:socks_tables",
    "protoaudit.observations_pgp": "terminal_pgp:pgp_tables",
}

__all__ = ["render"]

SEVERITY_STYLES: dict[Severity, str] = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}

GRADE_STYLES: dict[str, str] = {"A": "bold green", "B": "yellow"}  # anything else: red
_EVIDENCE_LIMIT = 1000  # characters per evidence line
EVIDENCE_LINES_SHOWN = 5  # per finding unless verbose; the JSON report has them all


def _yes_no(value: bool | None) -> Text:
    return _words("?" if value is None else "yes" if value else "no")


def _grade_text(result: Grade | None) -> Text:
    if result is None:
        return _words("not graded")
    style = GRADE_STYLES.get(result.letter, "bold red")
    text = Text.assemble(_words(f"grade {result.letter}", style), _words(f" ({result.score})"))
    if result.letter != result.letter_ignoring_trust:
        text.append(f", {result.letter_ignoring_trust} if trust issues were ignored")
    return text


def _header(result: TargetResult, graded: Grade | None) -> Text:
    target = result.target
    if not result.address:  # a name validated (dnssec:), or one that did not resolve
        return Text.assemble(
            wire(target.original or str(target), style="bold"),
            _words(f"  {target.service}  {result.duration_seconds:.2f} s"),
        )
    return Text.assemble(
        wire(target.original or str(target), style="bold"),
        _words(f"  {target.service} "),
        wire(str(target)),
        _words("  address "),
        wire(result.address),
        _words("  "),
        _grade_text(graded),
        _words(f"  {result.duration_seconds:.1f} s"),
    )


def _versions(observations: Sequence[Observation], verbose: bool) -> Table | None:
    verdicts = sorted(of_kind(observations, TlsVersionSupport), key=lambda item: item.version)
    if not verdicts:
        return None
    columns = ("Version", "Supported", "Detail") if verbose else ("Version", "Supported")
    table = _table("Protocol versions", *columns)
    for verdict in verdicts:
        row = [_words(version_name(verdict.version)), _yes_no(verdict.supported)]
        if verbose:
            row.append(wire(verdict.detail))
        table.add_row(*row)
    return table


def _family_renderers(observations: Sequence[Observation]) -> list[TablesOf]:
    modules = {type(o).__module__ for o in observations}
    specs = dict.fromkeys(spec for m, spec in FAMILY_TABLES.items() if m in modules)
    renderers = []
    for spec in specs:
        module, name = spec.split(":")
        renderers.append(getattr(importlib.import_module(f"protoaudit.report.{module}"), name))
    return renderers


def _order_note(support: CipherSuiteSupport) -> str:
    if support.server_order_enforced is None:
        return "order not determined"
    if support.server_order_enforced:
        return "in the server's order, which it enforces"
    return "the server follows the client's order"


def _suites(support: CipherSuiteSupport) -> Table:
    table = _table(
        f"{version_name(support.version)} cipher suites ({_order_note(support)})",
        "IANA name",
        "OpenSSL name",
        "Bits",
        "FS",
        "AEAD",
        whole=("IANA name",),
    )
    ordered = (
        support.server_order
        if support.server_order_enforced and support.server_order
        else support.accepted
    )
    for code in ordered:
        suite = lookup_suite(code)
        if suite is None:
            table.add_row(
                _words(suite_label(code)), _words(""), _words("?"), _words("?"), _words("?")
            )
            continue
        table.add_row(
            _words(suite.name),
            _words(suite.openssl_name or ""),
            _words(str(suite.bits)),
            _yes_no(suite.forward_secret),
            _yes_no(suite.aead),
        )
    return table


def _groups(observations: Sequence[Observation]) -> Table | None:
    seen = list(of_kind(observations, KeyExchangeGroups))
    if not seen:
        return None
    table = _table("Key exchange groups", "Version", "Accepted", "Server prefers")
    for groups in sorted(seen, key=lambda item: item.version):
        table.add_row(
            _words(version_name(groups.version)),
            _words(", ".join(group_name(code) for code in groups.accepted) or "none"),
            _words("" if groups.server_preferred is None else group_name(groups.server_preferred)),
        )
    return table


def _key_exchanges(observations: Sequence[Observation]) -> Table | None:
    seen = list(of_kind(observations, EphemeralKeyExchange))
    if not seen:
        return None
    table = _table(
        "Key exchange",
        "Version",
        "Cipher suite",
        "Group",
        "DH prime",
        "Signature",
        whole=("Cipher suite",),
    )
    for exchange in seen:
        table.add_row(
            _words(version_name(exchange.version)),
            _words(suite_label(exchange.cipher_suite)),
            _words("" if exchange.group is None else group_name(exchange.group)),
            _words("" if exchange.dh_prime_bits is None else f"{exchange.dh_prime_bits} bits"),
            _words(
                "" if exchange.signature_scheme is None else scheme_name(exchange.signature_scheme)
            ),
        )
    return table


def _key(certificate: CertificateInfo) -> Text:
    curve = f" {certificate.curve}" if certificate.curve else ""
    return Text.assemble(_words(f"{certificate.key_type} {certificate.key_bits}"), wire(curve))


def _verdict(chain: CertificateChain) -> Text:
    """The probe's validation verdicts for a chain, in words."""
    text = Text()
    if chain.trusted:
        text.append_text(_words("trusted", "green"))
        text.append_text(_words(" by "))
        text.append_text(wire(chain.trust_store))
    else:
        text.append_text(_words("NOT trusted", "bold red"))
        text.append_text(_words(" by "))
        text.append_text(wire(chain.trust_store))
        if chain.trust_error:
            text.append_text(_words(": "))
            text.append_text(wire(chain.trust_error, 300))
    states = [
        ("expired", chain.expired),
        ("not yet valid", chain.not_yet_valid),
        ("self-signed", chain.self_signed),
        ("incomplete chain", chain.chain_incomplete),
    ]
    for words, present in states:
        if present:
            text.append_text(_words(f"; {words}", "red"))
    text.append_text(_words("; name "))
    text.append_text(wire(chain.hostname_checked))
    text.append_text(
        _words(" matches", "green") if chain.hostname_matches else _words(" does NOT match", "red")
    )
    text.append_text(_words(f"; OCSP stapled: {'yes' if chain.ocsp_stapled else 'no'}"))
    return text


def _chain(chain: CertificateChain, verbose: bool) -> Table:
    """One chain as a two-column table, a section per certificate, leaf first.

    Vertical so that a long subject wraps across the width instead of being cut.
    """
    context = [f"SNI {chain.server_name}" if chain.server_name else "no SNI"]
    if chain.requested_key_type:
        context.append(f"{chain.requested_key_type} requested")
    suite = "unknown suite" if chain.cipher_suite is None else suite_label(chain.cipher_suite)
    context.append(f"{version_name(chain.version)}, {suite}")
    table = Table(
        title=wire(f"Certificate chain ({'; '.join(context)})", 300, "bold"),
        title_justify="left",
        show_header=False,
    )
    table.add_column(_words("Field"), style="bold", no_wrap=True)
    table.add_column(_words("Value"), overflow="fold")
    last = len(chain.certificates) - 1
    for index, certificate in enumerate(chain.certificates):
        role = "leaf" if index == 0 else f"#{index}"
        rows = [
            (f"{role} subject", wire(certificate.subject)),
            ("issuer", wire(certificate.issuer)),
            ("key", _key(certificate)),
            (
                "valid",
                _words(f"{certificate.not_before:%Y-%m-%d} to {certificate.not_after:%Y-%m-%d}"),
            ),
        ]
        if index == 0:
            rows.append(("days left", _words(str(chain.days_left))))
        if verbose:
            rows.append(("signature", wire(certificate.signature_algorithm)))
            rows.append(("SHA-256", wire(certificate.sha256_fingerprint)))
            if index == 0:
                names = ", ".join([*certificate.san_dns, *certificate.san_ip]) or "none"
                rows.append(("names", wire(names, 1000)))
        for number, (field, value) in enumerate(rows):
            table.add_row(
                _words(field), value, end_section=number == len(rows) - 1 and index != last
            )
    return table


def _findings(findings: Sequence[Finding], verbose: bool) -> Table | None:
    if not findings:
        return None
    table = _table("Findings", "Severity", "Finding")
    for finding in sorted(findings, key=lambda item: (-item.severity, item.id)):
        style = SEVERITY_STYLES.get(finding.severity, "")
        body = Text.assemble(_words(finding.title, "bold"), _words(f"  {finding.id}", "dim"))
        shown = finding.evidence if verbose else finding.evidence[:EVIDENCE_LINES_SHOWN]
        for line in shown:
            body.append_text(_words("\n  - "))
            body.append_text(wire(line, _EVIDENCE_LIMIT))
        if len(shown) < len(finding.evidence):
            hidden = len(finding.evidence) - len(shown)
            body.append_text(_words(f"\n  ... and {hidden} more (--verbose shows all)", "dim"))
        if verbose:
            body.append_text(_words(f"\n  {finding.explanation}"))
            if finding.references:
                body.append_text(_words(f"\n  see {', '.join(finding.references)}", "dim"))
        table.add_row(_words(finding.severity.label, style), body)
    return table


def _failures(observations: Sequence[Observation]) -> Iterable[Text]:
    for failure in of_kind(observations, ConnectionFailure):
        yield Text.assemble(
            _words("  connection failed: ", "red"),
            wire(f"{failure.stage}: {failure.reason}: {failure.detail}", 300),
        )
    for problem in of_kind(observations, ProbeFailure):
        yield Text.assemble(
            _words("  probe did not finish: ", "yellow"),
            wire(f"{problem.probe}: {problem.reason}: {problem.detail}", 300),
        )


def _dialog(dialog: StartTlsDialog, verbose: bool) -> Table:
    """The plaintext side of a STARTTLS service, as the server showed it."""
    table = _table(f"{dialog.protocol.upper()} before TLS", "Field", "Value")
    offered = (
        "unknown" if dialog.starttls_offered is None else "yes" if dialog.starttls_offered else "no"
    )
    table.add_row(_words("banner"), wire(dialog.banner, 300 if verbose else 120))
    table.add_row(_words("STARTTLS offered"), _words(offered))
    table.add_row(_words("upgraded to TLS"), _yes_no(dialog.upgraded))
    if dialog.capabilities_before:
        shown = dialog.capabilities_before if verbose else dialog.capabilities_before[:20]
        table.add_row(_words("capabilities"), wire(", ".join(shown), 2000))
    if dialog.capabilities_after is not None:
        after = dialog.capabilities_after if verbose else dialog.capabilities_after[:20]
        table.add_row(
            _words("capabilities after TLS"), wire(", ".join(after) or "none listed", 2000)
        )
    if dialog.plaintext_auth_offered:
        table.add_row(
            _words("login in clear", "bold red"), wire(", ".join(dialog.plaintext_auth_offered))
        )
    if dialog.failure:
        table.add_row(_words("failure"), wire(dialog.failure, 300))
    return table


def _injection(probe: StartTlsInjection) -> Table:
    """What became of a command sent in the same write as STARTTLS."""
    table = _table(f"{probe.protocol.upper()} STARTTLS command injection", "Field", "Value")
    if probe.vulnerable is None:
        verdict = _words("could not tell", "yellow")
    elif probe.vulnerable:
        verdict = _words("VULNERABLE: answered over TLS", "bold red")
    else:
        verdict = _words("not vulnerable", "green")
    table.add_row(_words("pipelined after STARTTLS"), wire(probe.injected or "(not sent)"))
    table.add_row(_words("verdict"), verdict)
    table.add_row(_words("what happened"), wire(probe.detail, 500))
    if probe.plaintext_answer:
        table.add_row(
            _words("sent in clear after the go-ahead", "yellow"),
            wire(probe.plaintext_answer, 300),
        )
    return table


def _said(value: bool | None, yes: str, no: str, unknown: str = "not tested") -> Text:
    if value is None:
        return _words(unknown)
    return _words(yes, "red") if value else _words(no, "green")


def _ftp_facts(facts: FtpFacts, verbose: bool) -> Table:
    """An FTP server's logins and data channel, as the FTP probe found them."""
    table = _table("FTP logins and data channel", "Field", "Value")
    if not facts.implicit_tls:
        login = _said(facts.plaintext_login, "accepted", "refused")
        if facts.plaintext_login_reply:
            login.append_text(_words(": "))
            login.append_text(wire(facts.plaintext_login_reply))
        table.add_row(_words("login before AUTH TLS"), login)
    anonymous = _said(facts.anonymous_login, "allowed", "refused")
    if facts.anonymous_login_reply:
        anonymous.append_text(_words(": "))
        anonymous.append_text(wire(facts.anonymous_login_reply))
    table.add_row(_words("anonymous login (over TLS)"), anonymous)
    if facts.prot_c_reply:
        table.add_row(_words("reply to PROT C"), wire(facts.prot_c_reply))
    table.add_row(
        _words("data in clear (PROT C)"),
        _said(facts.clear_data, "transfer accepted", "refused", "not tested (needs a login)"),
    )
    if facts.data_channel_tls:
        channel = f"TLS: {version_name(facts.data_tls_version or 0)}"
        if facts.data_cipher_suite is not None:
            channel += f", {suite_label(facts.data_cipher_suite)}"
        if facts.data_session_reused is not None:
            channel += ", session resumed" if facts.data_session_reused else ", new session"
        table.add_row(_words("data channel (PROT P)"), _words(channel, "green"))
        names = facts.listing if verbose else facts.listing[:5]
        table.add_row(_words("listed over TLS"), wire(", ".join(names) or "nothing", 1000))
    elif facts.data_channel_tls is None:
        table.add_row(_words("data channel (PROT P)"), _words("not tested (needs a login)"))
    else:
        table.add_row(_words("data channel (PROT P)"), _words("no listing over TLS", "red"))
    if facts.passive_host_named:
        table.add_row(
            _words("PASV named another host", "yellow"),
            Text.assemble(
                wire(facts.passive_host_named), _words(" (not contacted: the control address was)")
            ),
        )
    for note in facts.notes if verbose else facts.notes[:3]:
        table.add_row(_words("note"), wire(note, 500))
    return table


def _render_target(result: TargetResult, console: Console, verbose: bool) -> None:
    observations = result.observations
    console.print(_header(result, result.grade))
    for line in _failures(observations):
        console.print(line)
    for detected in of_kind(observations, ServiceDetected):
        console.print(
            Text.assemble(
                _words(f"  no TLS at first; its greeting is {detected.service.upper()}'s: "),
                wire(detected.greeting, 120),
            )
        )
    for dialog in of_kind(observations, StartTlsDialog):
        console.print(_dialog(dialog, verbose))
    for probe in of_kind(observations, StartTlsInjection):
        console.print(_injection(probe))
    for facts in of_kind(observations, FtpFacts):
        console.print(_ftp_facts(facts, verbose))
    for ssh_table in ssh_tables(observations):
        console.print(ssh_table)
    for family_tables in _family_renderers(observations):
        for family_table in family_tables(observations, verbose):
            console.print(family_table)
    versions = _versions(observations, verbose)
    if versions is not None:
        console.print(versions)
    for support in sorted(
        of_kind(observations, CipherSuiteSupport), key=lambda item: -item.version
    ):
        if support.accepted:
            console.print(_suites(support))
    for table in (_groups(observations), _key_exchanges(observations)):
        if table is not None:
            console.print(table)
    for chain in of_kind(observations, CertificateChain):
        console.print(_chain(chain, verbose))
        console.print(_verdict(chain))
    findings = _findings(result.findings, verbose)
    if findings is not None:
        console.print(findings)
    else:
        console.print(_words("  no findings"))
    console.print()


def render(
    results: Sequence[TargetResult],
    unscanned: Sequence[UnscannedTarget],
    console: Console,
    *,
    verbose: bool,
) -> None:
    """Draw every target's report on `console`, then one line per target not scanned."""
    closed: dict[str, list[int]] = {}
    for result in results:
        if result.closed:
            closed.setdefault(result.target.host, []).append(result.target.port)
            continue
        _render_target(result, console, verbose)
    for host, ports in closed.items():
        listed = ", ".join(str(port) for port in sorted(ports))
        console.print(Text.assemble(wire(host), _words(f": closed or filtered: {listed}")))
    if unscanned:
        console.print(_words("Not scanned", "bold"))
        for item in unscanned:
            console.print(
                Text.assemble(_words("  "), wire(item.text), _words(": "), wire(item.reason, 300))
            )
