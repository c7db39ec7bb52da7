"""The DNSSEC part of the terminal report: the verdict, then the chain of trust zone by zone.

Names, records and details come from DNS servers and go through `wire`. Algorithm
and digest names are the registry's, looked up here; whether they are wise is the
findings' business.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rich.table import Table
from rich.text import Text

from protoaudit.observations import Observation
from protoaudit.observations_dane import CaaCheck, DaneCheck
from protoaudit.observations_dns import DnssecSignature, DnssecStatus, DnssecZone
from protoaudit.policy.facts import of_kind
from protoaudit.registry.dnssec import dnssec_algorithm, ds_digest_type
from protoaudit.report.terminal_base import table, wire, words

STATUS_STYLES = {
    "secure": "bold green",
    "insecure": "yellow",
    "bogus": "bold red",
    "indeterminate": "magenta",
}
ANSWER_LINES = 8


def _status(status: str, reason: str | None) -> Text:
    text = words(status, STATUS_STYLES.get(status, ""))
    if reason:
        text.append_text(words(f" ({reason})"))
    return text


def _signatures(signatures: Sequence[DnssecSignature], verbose: bool) -> Text:
    if not signatures:
        return words("none", "dim")
    shown = signatures if verbose else signatures[:2]
    text = Text()
    for index, signature in enumerate(shown):
        if index:
            text.append_text(words("\n"))
        verdict = "valid" if signature.valid else signature.problem or "not checked"
        style = "green" if signature.valid else "red" if signature.problem else "dim"
        text.append_text(words(f"key {signature.key_tag} "))
        text.append_text(words(verdict, style))
        text.append_text(words(f", until {signature.expiration:%Y-%m-%d %H:%M}Z"))
    if len(signatures) > len(shown):
        text.append_text(words(f"\n… {len(signatures) - len(shown)} more (-v)", "dim"))
    return text


def _keys(zone: DnssecZone) -> Text:
    if not zone.dnskeys:
        return words("none seen", "dim")
    text = Text()
    for index, key in enumerate(zone.dnskeys):
        if index:
            text.append_text(words("\n"))
        role = "KSK" if key.sep else "ZSK" if key.zone_key else "key"
        revoked = ", revoked" if key.revoked else ""
        algorithm = dnssec_algorithm(key.algorithm).mnemonic
        text.append_text(words(f"{key.key_tag} {role} {algorithm} {key.key_bits} bits{revoked}"))
    return text


def _ds(zone: DnssecZone) -> Text:
    if zone.ds_denial is not None:
        proof = zone.ds_denial
        text = words(f"none, proven by {proof.mechanism.upper()}", "yellow")
        if proof.opt_out:
            text.append_text(words(" (opt-out)"))
        return text
    if not zone.ds:
        return words("trust anchor" if zone.trust_anchor else "none", "dim")
    text = words("trust anchor: " if zone.trust_anchor else "")
    for index, ds in enumerate(zone.ds):
        if index:
            text.append_text(words("\n"))
        digest = ds_digest_type(ds.digest_type).description
        matched = f"→ key {ds.matched_key_tag}" if ds.matched_key_tag is not None else "no key"
        style = "" if ds.matched_key_tag is not None else "red"
        text.append_text(words(f"{ds.key_tag} {digest} {matched}", style))
    return text


def _chain(status: DnssecStatus, verbose: bool) -> Table:
    shown = table("Chain of trust", "Zone", "Status", "DS at parent", "DNSKEYs", "DNSKEY RRSIG")
    for zone in status.chain:
        name = wire(zone.zone, 120)
        if zone.nsec3_iterations is not None:
            salt = zone.nsec3_salt_hex or "-"
            name.append_text(words(f"\nNSEC3 {zone.nsec3_iterations} it. salt {salt}", "dim"))
        shown.add_row(
            name,
            _status(zone.status, zone.reason),
            _ds(zone),
            _keys(zone),
            _signatures(zone.dnskey_signatures, verbose),
        )
    return shown


def _answer(status: DnssecStatus, verbose: bool) -> Table:
    shown = table(f"DNSSEC {status.name} {status.rdtype}", "Field", "Value")
    shown.add_row(words("status"), _status(status.status, status.reason))
    if status.detail:
        shown.add_row(words("why"), wire(status.detail, 500))
    if status.cname_chain:
        shown.add_row(words("CNAMEs followed"), wire(" → ".join(status.cname_chain), 500))
    if status.rcode:
        shown.add_row(words("answer code"), words(status.rcode))
    if status.answer:
        lines = status.answer if verbose else status.answer[:ANSWER_LINES]
        more = len(status.answer) - len(lines)
        text = wire("\n".join(lines), 4000)
        if more:
            text.append_text(words(f"\n… {more} more (-v)", "dim"))
        shown.add_row(words("answer"), text)
        shown.add_row(words("signatures"), _signatures(status.answer_signatures, verbose))
    if status.denial is not None:
        denial = status.denial
        verdict = "valid" if denial.valid else "not valid"
        text = words(f"{denial.mechanism.upper()} proves {denial.proves}, {verdict}")
        if denial.opt_out:
            text.append_text(words(", opt-out"))
        text.append_text(words("\n"))
        text.append_text(wire(denial.detail, 300))
        shown.add_row(words("denial of existence"), text)
    shown.add_row(words("queries"), words(f"{status.queries} to {len(status.servers)} servers"))
    return shown


DANE_STYLES = {"validated": "bold green", "name_mismatch": "bold red", "no_match": "bold red"}


def _dane(check: DaneCheck) -> Table:
    shown = table(f"DANE {check.tlsa_name}", "Chain", "Verdict", "TLSA records")
    if not check.chains:
        verdict = (
            "no TLSA records" if not check.records else f"not in force ({check.dnssec_status})"
        )
        shown.add_row(words("—"), words(verdict, "yellow" if check.records else "dim"), words(""))
    for chain in check.chains:
        lines = Text()
        for index, match in enumerate(chain.matches):
            if index:
                lines.append_text(words("\n"))
            lines.append_text(wire(match.record[:24] + ("…" if len(match.record) > 24 else "")))
            if match.certificate_index is None:
                lines.append_text(words(" matches nothing", "dim"))
            else:
                lines.append_text(words(f" matches certificate {match.certificate_index}"))
            if match.problem:
                lines.append_text(words(", but ", "red"))
                lines.append_text(wire(match.problem, 200, "red"))
        label = f"{chain.requested_key_type or 'default'}\nleaf {chain.leaf_sha256[:16]}…"
        shown.add_row(
            words(label), words(chain.verdict, DANE_STYLES.get(chain.verdict, "red")), lines
        )
    return shown


def dnssec_tables(observations: Sequence[Observation], verbose: bool) -> Iterator[Table]:
    statuses = list(of_kind(observations, DnssecStatus))
    # Beside a TLS audit (addresses, TLSA) the chains repeat: one line each, unless -v.
    compact = len(statuses) > 1 and not verbose
    for status in statuses:
        yield _answer(status, verbose)
        if status.chain and not compact:
            yield _chain(status, verbose)
        elif status.chain:
            zones = " → ".join(f"{z.zone} {z.status}" for z in status.chain)
            yield _summary(zones)
    for check in of_kind(observations, DaneCheck):
        yield _dane(check)
    for caa in of_kind(observations, CaaCheck):
        yield _caa(caa)


def _caa(check: CaaCheck) -> Table:
    shown = table(f"CAA {check.host}", "Field", "Value")
    if check.found_at is None:
        shown.add_row(words("records"), words("none up to the TLD: any CA may issue", "yellow"))
    else:
        where = f"{check.found_at} ({check.dnssec_status})"
        shown.add_row(words("found at"), wire(where))
        shown.add_row(words("records"), wire("\n".join(check.records), 2000))
    issuer = check.issuer_organization or "unknown"
    domains = ", ".join(check.issuer_domains) or "its CAA domain is not known (--caa-issuer)"
    shown.add_row(words("issuer"), wire(f"{issuer}: {domains}"))
    if check.issuer_allowed is not None:
        verdict = "allowed" if check.issuer_allowed else "not allowed"
        shown.add_row(words("verdict"), words(verdict, "green" if check.issuer_allowed else "red"))
    return shown


def _summary(zones: str) -> Table:
    shown = table("Chain of trust (-v for keys and signatures)", "Zones")
    shown.add_row(wire(zones, 1000))
    return shown
