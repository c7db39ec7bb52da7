"""The OpenPGP part of the terminal report: where the key came from, then each key.

User IDs, revocation reasons, file names, URLs and error texts come from whoever made the
key or runs the server, and go through `wire`. Algorithm, hash and curve names are the
OpenPGP registries'; which ones are weak or deprecated is the policy data's, looked up here
only to colour them (the findings say why).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from rich.table import Table
from rich.text import Text

from protoaudit.observations import Observation
from protoaudit.observations_pgp import (
    OpenPgpKeyRecord,
    PgpKey,
    PgpSignature,
    PgpSource,
    PgpSubkey,
    PgpUserId,
    WkdLookup,
)
from protoaudit.policy.facts import of_kind
from protoaudit.policy.pgp_rules import legacy_algorithms, weak_hashes
from protoaudit.proto.openpgp.names import (
    REVOCATION_REASONS,
    curve,
    hash_algorithm,
    public_key_algorithm,
)
from protoaudit.report.terminal_base import table, wire, words
from protoaudit.sanitize import for_terminal

__all__ = ["pgp_tables"]

STATUS_STYLES = {
    "secure": "bold green",
    "insecure": "yellow",
    "bogus": "bold red",
    "indeterminate": "magenta",
}
USER_IDS_SHOWN = 8
SIGNATURES_SHOWN = 3
_ORIGINS = {"file": "file", "openpgpkey": "DNS OPENPGPKEY record", "wkd": "Web Key Directory"}


def _date(moment: datetime | None, never: str = "never") -> str:
    return never if moment is None else f"{moment:%Y-%m-%d}"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _source(source: PgpSource) -> Table:
    shown = table("OpenPGP input", "Field", "Value")
    shown.add_row(words("from"), words(_ORIGINS.get(source.origin, source.origin)))
    shown.add_row(words("name"), wire(source.name, 300))
    if source.address is not None:
        shown.add_row(words("address"), wire(source.address))
    packing = "binary"
    if source.armored:
        packing = f"ASCII armor, checksum {source.armor_checksum or '?'}"
    style = "yellow" if source.armor_checksum == "mismatch" else ""
    shown.add_row(words("format"), words(f"{packing}, {source.size} octets", style))
    read = f"{source.certificates}"
    if source.certificates_read < source.certificates:
        read += f" ({source.certificates_read} read)"
    shown.add_row(words("certificates"), words(f"{read} in {source.packets} packets"))
    for note in source.notes:
        shown.add_row(words("note"), words(note, "dim"))
    return shown


def _record(record: OpenPgpKeyRecord) -> Table:
    shown = table(f"OPENPGPKEY for {for_terminal(record.address)}", "Field", "Value")
    shown.add_row(words("owner name"), wire(record.owner, 300))
    status = words(record.dnssec_status, STATUS_STYLES.get(record.dnssec_status, ""))
    if record.dnssec_reason:
        status.append_text(words(f" ({record.dnssec_reason})"))
    shown.add_row(words("DNSSEC"), status)
    shown.add_row(
        words("key authenticated"),
        words("yes", "green") if record.authenticated else words("no", "bold red"),
    )
    sizes = ", ".join(f"{size} octets" for size in record.record_sizes)
    shown.add_row(words("records"), words(f"{record.records}" + (f" ({sizes})" if sizes else "")))
    if record.problem:
        shown.add_row(words("problem"), wire(record.problem, 500, "yellow"))
    if record.detail:
        shown.add_row(words("detail"), wire(record.detail, 300, "dim"))
    return shown


def _wkd(lookup: WkdLookup) -> Table:
    shown = table(
        f"Web Key Directory for {for_terminal(lookup.address)}", "Field", "Value", whole=("Value",)
    )
    shown.add_row(words("hashed local part"), words(lookup.hashed_local_part))
    shown.add_row(words("advanced URL"), wire(lookup.advanced_url, 400))
    shown.add_row(words("direct URL"), wire(lookup.direct_url, 400))
    if not lookup.fetched:
        shown.add_row(words("fetched"), words("no (not allowed for this run)", "dim"))
    for fetch in lookup.fetches:
        outcome = Text()
        if fetch.status is not None:
            outcome.append_text(words(f"HTTP {fetch.status}, {fetch.size} octets"))
            if fetch.content_type:
                outcome.append_text(words(", "))
                outcome.append_text(wire(fetch.content_type, 80))
        if fetch.error:
            if outcome:
                outcome.append_text(words("; "))
            outcome.append_text(wire(fetch.error, 300, "yellow"))
        if fetch.key_read:
            outcome.append_text(words("; key read", "green"))
        shown.add_row(words(f"{fetch.method} method"), outcome)
    return shown


def _algorithm(number: int, bits: int | None, curve_oid: str | None) -> Text:
    entry = public_key_algorithm(number)
    style = "yellow" if number in legacy_algorithms() or not entry.known else ""
    text = words(entry.name, style)
    if curve_oid is not None:
        known = curve(curve_oid)
        text.append_text(words(f" {known.name}" if known.known else f" curve {curve_oid}"))
    if bits is not None:
        text.append_text(words(f" {bits} bits"))
    return text


def _signature(signature: PgpSignature | None) -> Text:
    if signature is None:
        return words("none valid", "bold red")
    entry = hash_algorithm(signature.hash_algorithm)
    text = words(entry.name, "yellow" if signature.hash_algorithm in weak_hashes() else "")
    text.append_text(words(f" v{signature.version}"))
    if signature.verified is True:
        text.append_text(words(", verified", "green"))
    elif signature.verified is False:
        text.append_text(words(", does not verify", "bold red"))
    else:
        text.append_text(words(", not checked", "dim"))
        if signature.problem:
            text.append_text(words(" (", "dim"))
            text.append_text(wire(signature.problem, 300, "dim"))
            text.append_text(words(")", "dim"))
    return text


def _usage(flags: tuple[str, ...]) -> str:
    names = [
        "encrypt" if flag.startswith("encrypt") else flag
        for flag in flags
        if flag != "encrypt-storage" or "encrypt-communications" not in flags
    ]
    return ", ".join(dict.fromkeys(names)) or "none stated"


def _state(revoked: bool, code: int | None, reason: str | None, expires: datetime | None,
           now: datetime | None) -> Text:  # fmt: skip
    if revoked:
        text = words("revoked", "bold red")
        if code is not None:
            text.append_text(words(f": {REVOCATION_REASONS.get(code, f'code {code}')}"))
        if reason:
            text.append_text(words(" "))
            text.append_text(wire(repr(reason), 120))
        return text
    if expires is not None and now is not None and _aware(expires) <= now:
        return words(f"expired {_date(expires)}", "red")
    return words("no expiry" if expires is None else f"until {_date(expires)}")


def _parts(key: PgpKey, now: datetime | None, verbose: bool) -> Table:
    shown = table(
        f"OpenPGP key {key.fingerprint}",
        "Part",
        "Algorithm",
        "Created",
        "Valid",
        "Usage",
        "Self-signature",
    )
    shown.add_row(
        words(f"primary (v{key.version})"),
        _algorithm(key.algorithm, key.bits, key.curve_oid),
        words(_date(key.created)),
        _state(key.revoked, key.revocation_code, key.revocation_reason, key.expires, now),
        words(_usage(key.capabilities)),
        _signature(key.binding),
    )
    subkeys: Sequence[PgpSubkey] = key.subkeys
    for subkey in subkeys:
        state = _state(
            subkey.revoked, subkey.revocation_code, subkey.revocation_reason, subkey.expires, now
        )
        shown.add_row(
            words(f"subkey {subkey.fingerprint[-16:]}"),
            _algorithm(subkey.algorithm, subkey.bits, subkey.curve_oid),
            words(_date(subkey.created)),
            state,
            words(_usage(subkey.capabilities)),
            _signature(subkey.binding),
        )
    if key.subkeys_total > len(subkeys):
        more = key.subkeys_total - len(subkeys)
        shown.add_row(words(f"… {more} more subkeys (not read)", "dim"), *[words("")] * 5)
    if verbose:
        for signature in key.signatures[:SIGNATURES_SHOWN]:
            kind = f"0x{signature.signature_type:02x} on the primary key"
            shown.add_row(words(kind, "dim"), *[words("")] * 4, _signature(signature))
    notes = []
    if key.secret:
        notes.append("the input held secret key material (not read)")
    if key.signatures_unchecked:
        notes.append(f"{key.signatures_unchecked} self-signatures not checked")
    if key.user_attributes:
        notes.append(f"{key.user_attributes} user attributes (photo IDs)")
    for note in notes:
        shown.add_row(words("note", "dim"), words(note, "yellow"), *[words("")] * 4)
    return shown


def _user_id_state(user_id: PgpUserId) -> Text:
    if user_id.revoked:
        return words("revoked", "red")
    if user_id.binding is None:
        return words("not bound", "red")
    return words("primary" if user_id.primary else "valid")


def _user_ids(key: PgpKey, verbose: bool) -> Table | None:
    if not key.user_ids:
        return None
    shown = table(
        f"User IDs of {key.fingerprint[-16:]}", "User ID", "State", "Self-signature", "Others"
    )
    listed = key.user_ids if verbose else key.user_ids[:USER_IDS_SHOWN]
    for user_id in listed:
        shown.add_row(
            wire(user_id.text, 200),
            _user_id_state(user_id),
            _signature(user_id.binding),
            words(f"{user_id.certifications} certifications" if user_id.certifications else ""),
        )
    hidden = key.user_ids_total - len(listed)
    if hidden > 0:
        more = "(-v shows those read)" if len(listed) < len(key.user_ids) else "(not read)"
        shown.add_row(words(f"… {hidden} more {more}", "dim"), words(""), words(""), words(""))
    return shown


def pgp_tables(observations: Sequence[Observation], verbose: bool) -> Iterator[Table]:
    """Every OpenPGP table this target's observations call for, in order."""
    sources = list(of_kind(observations, PgpSource))
    for record in of_kind(observations, OpenPgpKeyRecord):
        yield _record(record)
    for lookup in of_kind(observations, WkdLookup):
        yield _wkd(lookup)
    for source in sources:
        yield _source(source)
        now = _aware(source.checked_at)
        for key in of_kind(observations, PgpKey):
            if key.origin != source.origin or key.source != source.name:
                continue
            yield _parts(key, now, verbose)
            user_ids = _user_ids(key, verbose)
            if user_ids is not None:
                yield user_ids
