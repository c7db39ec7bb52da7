"""The IKE part of the terminal report: what the responder accepted, per version, and what
an unauthenticated probe cannot see.

Names come from the registry; Vendor IDs and identities come from the peer and
go through `wire`, which sanitises them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rich.table import Table

from protoaudit.observations import Observation
from protoaudit.observations_ike import (
    IkeAlgorithm,
    IkeNatTraversal,
    IkeV1AggressiveMode,
    IkeV1MainMode,
    IkeV2SaInit,
)
from protoaudit.policy.facts import of_kind
from protoaudit.registry import ike as registry
from protoaudit.report.terminal_base import table, wire, words

__all__ = ["UNSEEN", "ike_tables"]

UNSEEN = (
    "Not visible without authenticating: the ESP/AH proposals (IKEv2 IKE_AUTH and IKEv1 Quick "
    "Mode are encrypted), the authentication the responder really completes (certificates, "
    "EAP, XAUTH), traffic selectors and the responder's identity in IKEv2. This audit shows "
    "only what IKE_SA_INIT and the first IKEv1 messages reveal."
)


def _v2_cipher(algorithm: IkeAlgorithm) -> str:
    name = registry.transform_id(registry.ENCRYPTION, algorithm.id).name
    return name if algorithm.key_length is None else f"{name} ({algorithm.key_length})"


def _v1_cipher(algorithm: IkeAlgorithm) -> str:
    name = registry.v1_attribute_value(1, algorithm.id).name
    return name if algorithm.key_length is None else f"{name} ({algorithm.key_length})"


def _group(code: int) -> str:
    return f"{code} {registry.key_exchange_method(code).name}"


def _join(items: Sequence[str]) -> str:
    return ", ".join(items) or "none"


def _vendor(value: str) -> str:
    try:
        data = bytes.fromhex(value)
    except ValueError:
        return value
    entry = registry.vendor_id(data)
    if not entry.known:
        return f"{value} (unknown)"
    version = registry.vendor_version(entry, data)
    return f"{value} ({entry.name}{' ' + version if version else ''})"


def _status(status: str, detail: str, complete: bool) -> str:
    text = status + (f": {detail}" if detail else "")
    return text + ("" if complete else " (incomplete)")


def _v2_table(seen: IkeV2SaInit, verbose: bool) -> Table:
    shown = table("IKEv2 IKE_SA_INIT (what the responder accepts)", "Field", "Value")
    shown.add_row(words("status"), wire(_status(seen.status, seen.detail, seen.complete), 300))
    rows = (
        ("encryption", _join([_v2_cipher(a) for a in seen.encryption])),
        ("PRF", _join([registry.transform_id(2, c).name for c in seen.prf])),
        ("integrity", _join([registry.transform_id(3, c).name for c in seen.integrity])),
        ("key exchange", _join([_group(c) for c in seen.key_exchange])),
        ("additional key exchange", _join([_group(c) for c in seen.additional_key_exchange])),
    )
    for label, value in rows:
        shown.add_row(words(label), words(value))
    for slot in seen.additional_key_exchange_slots:
        shown.add_row(
            words(f"  {registry.transform_type(slot.transform_type).name}"),
            words(_join([_group(c) for c in slot.methods])),
        )
    if seen.additional_key_exchange_required is not None:
        required = "required" if seen.additional_key_exchange_required else "optional"
        if seen.first_choice_additional_required and not seen.additional_key_exchange_required:
            required += " (required with the first choice's transforms)"
        shown.add_row(words("additional key exchange is"), words(required))
    if seen.first_choice is not None:
        choice = seen.first_choice
        integrity = (
            registry.transform_id(3, choice.integrity).name if choice.integrity else "(AEAD)"
        )
        shown.add_row(
            words("first choice"),
            words(
                f"{_v2_cipher(choice.encryption)}, {registry.transform_id(2, choice.prf).name}, "
                f"{integrity}, {_group(choice.key_exchange)}"
                + "".join(f" + {_group(c)}" for c in choice.additional_key_exchanges)
            ),
        )
    if seen.requested_group is not None:
        shown.add_row(words("INVALID_KE_PAYLOAD asked for"), words(_group(seen.requested_group)))
    shown.add_row(words("cookie required"), words("yes" if seen.cookie_required else "no"))
    shown.add_row(
        words("fragmentation (RFC 7383)"), words("yes" if seen.fragmentation_supported else "no")
    )
    nat = (
        "not offered"
        if not seen.nat_detection
        else ("NAT detected" if seen.nat_detected else "no NAT")
    )
    shown.add_row(words("NAT detection"), words(nat))
    if seen.signature_hash_algorithms:
        shown.add_row(
            words("signature hashes (RFC 7427)"),
            words(", ".join(str(c) for c in seen.signature_hash_algorithms)),
        )
    if seen.status_notifies:
        names = [registry.notify_type(2, c).name for c in seen.status_notifies]
        shown.add_row(words("other notifies"), words(", ".join(names)))
    if seen.vendor_ids:
        shown.add_row(
            words("vendor IDs"), wire("; ".join(_vendor(v) for v in seen.vendor_ids), 600)
        )
    if verbose:
        shown.add_row(words("packets sent"), words(str(seen.packets_sent)))
    return shown


def _v1_table(main: IkeV1MainMode, aggressive: IkeV1AggressiveMode | None, verbose: bool) -> Table:
    shown = table("IKEv1 (Main Mode and Aggressive Mode)", "Field", "Value")
    shown.add_row(words("Main Mode"), wire(_status(main.status, main.detail, main.complete), 300))
    rows = (
        ("encryption", _join([_v1_cipher(a) for a in main.encryption])),
        ("hash", _join([registry.v1_attribute_value(2, c).name for c in main.hash])),
        (
            "authentication (not refused)",
            _join([registry.v1_attribute_value(3, c).name for c in main.auth]),
        ),
        ("groups", _join([_group(c) for c in main.groups])),
    )
    for label, value in rows:
        shown.add_row(words(label), words(value))
    if verbose:
        for suite in main.accepted:
            shown.add_row(
                words("accepted transform"),
                words(
                    f"{_v1_cipher(IkeAlgorithm(suite.encryption, suite.key_length))}, "
                    f"{registry.v1_attribute_value(2, suite.hash).name}, "
                    f"{registry.v1_attribute_value(3, suite.auth).name}, {_group(suite.group)}"
                ),
            )
        for note in main.notes:
            shown.add_row(words("note"), words(note))
        shown.add_row(words("packets sent"), words(str(main.packets_sent)))
    if main.vendor_ids:
        shown.add_row(
            words("vendor IDs"), wire("; ".join(_vendor(v) for v in main.vendor_ids), 600)
        )
    if aggressive is not None:
        if aggressive.hash_length:
            text = (
                f"answers with a {aggressive.hash_length}-byte HASH_R: the pre-shared key can "
                "be cracked offline"
            )
        else:
            text = _status(aggressive.status, aggressive.detail, True)
        shown.add_row(words("Aggressive Mode"), wire(text, 300))
        if aggressive.responder_identity:
            shown.add_row(words("responder identity"), wire(aggressive.responder_identity, 200))
    return shown


def _nat_t_table(seen: IkeNatTraversal, verbose: bool) -> Table:
    shown = table(f"IKE on the NAT-T port (UDP {seen.port}, RFC 3948)", "Field", "Value")
    if seen.answers_ike is None:
        answer = "not tried"
    elif seen.answers_ike:
        answer = f"yes (IKEv{seen.version}, behind the non-ESP marker)"
    else:
        answer = "no"
    shown.add_row(words("answers IKE"), words(answer))
    shown.add_row(words("status"), wire(_status(seen.status, seen.detail, True), 300))
    if seen.cookie_required:
        shown.add_row(words("cookie required"), words("yes"))
    if verbose:
        shown.add_row(words("packets sent"), words(str(seen.packets_sent)))
    return shown


def ike_tables(observations: Sequence[Observation], verbose: bool) -> Iterator[Table]:
    v2 = list(of_kind(observations, IkeV2SaInit))
    main = list(of_kind(observations, IkeV1MainMode))
    aggressive = list(of_kind(observations, IkeV1AggressiveMode))
    nat_t = list(of_kind(observations, IkeNatTraversal))
    if not (v2 or main or aggressive or nat_t):
        return
    for seen in v2:
        yield _v2_table(seen, verbose)
    for index, seen_main in enumerate(main):
        yield _v1_table(seen_main, aggressive[index] if index < len(aggressive) else None, verbose)
    for seen_nat_t in nat_t:
        yield _nat_t_table(seen_nat_t, verbose)
    note = table("IKE: what this audit cannot see", "Note")
    note.add_row(words(UNSEEN))
    yield note
