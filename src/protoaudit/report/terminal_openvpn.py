"""The OpenVPN part of the terminal report: who answers a reset, and the TLS behind it.

Certificate subjects and issuers are the server's text and go through `wire`.
The words beside a silent server say what silence can and cannot mean; the
judgement is the policy's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rich.table import Table
from rich.text import Text

from protoaudit.observations import Observation
from protoaudit.observations_openvpn import OpenVpnReset, OpenVpnTlsHandshake, OpenVpnTlsVersion
from protoaudit.policy.facts import of_kind
from protoaudit.proto.openvpn.packets import opcode_name
from protoaudit.proto.tls.constants import version_name
from protoaudit.registry.tls import cipher_suite
from protoaudit.report.terminal_base import table, wire, words

OUTCOME_STYLES = {"answered": "yellow", "silent": "green", "closed": "green"}


def _resets(resets: Sequence[OpenVpnReset]) -> Table:
    shown = table("OpenVPN unauthenticated hard resets", "Sent", "Outcome", "Detail")
    for reset in resets:
        sent = f"{reset.transport.upper()} {opcode_name(reset.reset_opcode)}"
        if reset.sent > 1:
            sent += f" (x{reset.sent})"
        shown.add_row(
            words(sent),
            words(reset.outcome, OUTCOME_STYLES.get(reset.outcome, "red")),
            wire(reset.detail, 300),
        )
    return shown


def _versions(versions: Sequence[OpenVpnTlsVersion], verbose: bool) -> Table:
    shown = table("TLS in the OpenVPN control channel", "Version", "Accepted", "Detail")
    for version in versions:
        accepted = words("yes", "yellow" if version.version < 0x0303 else "green")
        if not version.supported:
            accepted = words("no", "dim")
        detail = version.detail if (version.supported or verbose) else version.detail[:80]
        shown.add_row(words(version_name(version.version)), accepted, wire(detail, 300))
    return shown


def _handshake(handshake: OpenVpnTlsHandshake, verbose: bool) -> Table:
    shown = table(f"OpenVPN TLS handshake ({handshake.transport.upper()})", "Field", "Value")
    if handshake.version is not None:
        shown.add_row(words("version"), words(version_name(handshake.version)))
    if handshake.cipher_suite is not None:
        shown.add_row(words("cipher suite"), words(cipher_suite(handshake.cipher_suite).name))
    elif handshake.cipher_name:
        shown.add_row(words("cipher (OpenSSL)"), wire(handshake.cipher_name))
    for position, certificate in enumerate(handshake.certificates):
        label = "server certificate" if position == 0 else f"chain [{position}]"
        key = f"{certificate.key_type} {certificate.key_bits} bits"
        lines = [
            f"subject {certificate.subject}",
            f"issuer  {certificate.issuer}",
            f"key {key}, signed {certificate.signature_algorithm}",
            f"valid {certificate.not_before:%Y-%m-%d} to {certificate.not_after:%Y-%m-%d}",
        ]
        if verbose:
            lines.append(f"SHA-256 {certificate.sha256_fingerprint}")
        cell = Text()
        for index, line in enumerate(lines):
            if index:
                cell.append_text(words("\n"))
            cell.append_text(wire(line, 400))  # subjects and issuers are the server's text
        shown.add_row(words(label), cell)
    if handshake.client_ca_names:
        shown.add_row(
            words("client certificates from"), wire("; ".join(handshake.client_ca_names), 600)
        )
    shown.add_row(words("ended"), wire(handshake.detail, 300))
    return shown


def openvpn_tables(observations: Sequence[Observation], verbose: bool) -> Iterator[Table]:
    """Every OpenVPN table this target's observations call for, in order."""
    resets = list(of_kind(observations, OpenVpnReset))
    if resets:
        yield _resets(resets)
    versions = list(of_kind(observations, OpenVpnTlsVersion))
    if versions:
        yield _versions(versions, verbose)
    for handshake in of_kind(observations, OpenVpnTlsHandshake):
        yield _handshake(handshake, verbose)
