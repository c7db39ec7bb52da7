"""The SSH and plaintext remote-login parts of the terminal report.

Everything the server sent (identification, names, key ids, principals) goes
through `wire`, which sanitises it. The class beside each algorithm name is
the policy data's, looked up, not decided here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rich.table import Table
from rich.text import Text

from protoaudit.observations import (
    Observation,
    PlaintextLoginService,
    SshAlgorithms,
    SshAuthMethods,
    SshGexModulus,
    SshHostKey,
    SshIdentification,
)
from protoaudit.policy.facts import of_kind
from protoaudit.policy.ssh_algorithms import Category, classify, is_marker
from protoaudit.report.terminal_base import table, wire, words

CLASS_STYLES = {
    "recommended": "green",
    "acceptable": "",
    "weak": "yellow",
    "broken": "bold red",
    "unknown": "magenta",
}


def _server(identification: SshIdentification, auth: SshAuthMethods | None) -> Table:
    shown = table("SSH server", "Field", "Value")
    shown.add_row(words("identification"), wire(identification.line, 255))
    shown.add_row(words("protocol version"), wire(identification.protocol_version))
    if identification.pre_banner:
        lines = " | ".join(identification.pre_banner[:4])
        shown.add_row(words(f"lines before it ({len(identification.pre_banner)})"), wire(lines))
    if auth is not None:
        listed = ", ".join(auth.methods) or "none needed"
        shown.add_row(words(f"auth methods for {auth.username}"), wire(listed))
    return shown


def _names(category: Category, names: Sequence[str]) -> Text:
    text = Text()
    for index, name in enumerate(names):
        if index:
            text.append_text(words(", "))
        if is_marker(category, name):
            text.append_text(wire(name, 100, "dim"))
        else:
            label = classify(category, name).classification
            text.append_text(wire(name, 100, CLASS_STYLES[label]))
            if label in ("weak", "broken", "unknown"):
                text.append_text(words(f" ({label})", CLASS_STYLES[label]))
    return text


def _lists(algorithms: SshAlgorithms) -> Iterator[tuple[str, Category, tuple[str, ...]]]:
    yield "key exchange", "kex", algorithms.kex
    yield "host key", "host_key", algorithms.host_key
    pairs: tuple[tuple[str, Category, tuple[str, ...], tuple[str, ...]], ...] = (
        (
            "encryption",
            "encryption",
            algorithms.encryption_client_to_server,
            algorithms.encryption_server_to_client,
        ),
        ("MAC", "mac", algorithms.mac_client_to_server, algorithms.mac_server_to_client),
        (
            "compression",
            "compression",
            algorithms.compression_client_to_server,
            algorithms.compression_server_to_client,
        ),
    )
    for label, category, outgoing, incoming in pairs:
        if outgoing == incoming:
            yield label, category, outgoing
        else:
            yield f"{label} (client to server)", category, outgoing
            yield f"{label} (server to client)", category, incoming


def _algorithms(algorithms: SshAlgorithms) -> Table:
    shown = table("SSH algorithms (server's order)", "Kind", "Algorithms")
    for label, category, names in _lists(algorithms):
        shown.add_row(words(label), _names(category, names))
    return shown


def _host_keys(keys: Sequence[SshHostKey]) -> Table:
    shown = table(
        "SSH host keys",
        "Algorithm",
        "Key",
        "SHA256 fingerprint",
        "Notes",
        whole=("SHA256 fingerprint",),
    )
    for key in keys:
        notes: list[str] = []
        if not key.signature_valid:
            notes.append(f"signature does not verify: {key.signature_problem or '?'}")
        certificate = key.certificate
        if certificate is not None:
            valid = (
                f"{certificate.valid_after:%Y-%m-%d}" if certificate.valid_after else "always"
            ) + (f" to {certificate.valid_before:%Y-%m-%d}" if certificate.valid_before else "")
            notes.append(
                f"certificate {certificate.key_id!r} serial {certificate.serial}, "
                f"principals {', '.join(certificate.principals) or 'any'}, valid {valid}, "
                f"CA {certificate.ca_key_type} {certificate.ca_fingerprint_sha256}"
            )
            if not certificate.host_certificate:
                notes.append("a user certificate, not a host certificate")
            if not certificate.ca_signature_valid:
                notes.append("the CA's signature does not verify")
        shown.add_row(
            wire(key.algorithm),
            wire(f"{key.key_type} {key.bits} bits"),
            wire(key.fingerprint_sha256),
            wire("; ".join(notes), 600),
        )
    return shown


def _gex(moduli: Sequence[SshGexModulus]) -> Table:
    shown = table("SSH group exchange", "Method", "Asked (min, n, max)", "Prime bits")
    for modulus in moduli:
        asked = ", ".join(str(bits) for bits in modulus.requested_bits)
        shown.add_row(wire(modulus.kex), words(asked), words(str(modulus.modulus_bits)))
    return shown


def _plaintext(service: PlaintextLoginService) -> Table:
    shown = table(f"{service.protocol} (credentials and traffic in clear)", "Field", "Value")
    shown.add_row(words("confirmed by"), wire(service.confirmed_by, 300))
    if service.banner:
        shown.add_row(words("first bytes"), wire(service.banner, 200))
    return shown


def ssh_tables(observations: Sequence[Observation]) -> Iterator[Table]:
    """Every SSH or remote-login table this target's observations call for, in order."""
    auth = next(iter(of_kind(observations, SshAuthMethods)), None)
    for identification in of_kind(observations, SshIdentification):
        yield _server(identification, auth)
    for algorithms in of_kind(observations, SshAlgorithms):
        yield _algorithms(algorithms)
    keys = list(of_kind(observations, SshHostKey))
    if keys:
        yield _host_keys(keys)
    moduli = list(of_kind(observations, SshGexModulus))
    if moduli:
        yield _gex(moduli)
    for service in of_kind(observations, PlaintextLoginService):
        yield _plaintext(service)
