"""Rules over OpenPGP keys, and over how a key is published for an address.

The facts are `PgpKey` (one certificate, with its user IDs and subkeys and the
self-signatures that bind them), `PgpSource` (where it came from, and when it was read),
`OpenPgpKeyRecord` (the DNS lookup and its DNSSEC status) and `WkdLookup`. Thresholds,
severities and wording are in data/protoaudit_pgp_baseline.json; algorithm names come
from the OpenPGP registries (proto/openpgp/data).

Expiry is judged at the time the key was read (PgpSource.checked_at), so a report says
the same thing tomorrow; without a source, at the wall clock. Only what is current counts:
a revoked subkey or user ID is not judged for its algorithm or hash, and a binding that
a newer one replaced is not judged at all. Evidence names keys by fingerprint; user IDs
are quoted (reports make them safe).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from protoaudit.observations import Observation
from protoaudit.observations_pgp import (
    OpenPgpKeyRecord,
    PgpKey,
    PgpSignature,
    PgpSource,
    PgpSubkey,
)
from protoaudit.policy.baseline import load_catalogue_file, read_data_file, read_int_thresholds
from protoaudit.policy.facts import of_kind
from protoaudit.policy.findings import Finding, Rule, Severity
from protoaudit.proto.openpgp.names import (
    REVOCATION_REASONS,
    curve,
    hash_algorithm,
    public_key_algorithm,
)

PGP_BASELINE_FILE = "protoaudit_pgp_baseline.json"
PUBLISHED = ("openpgpkey", "wkd")
KEY_COMPROMISED = 2
ENCRYPTION_FLAGS = 0x04 | 0x08
_USER_ID_SHOWN = 80


@dataclass(frozen=True, slots=True)
class PgpThresholds:
    rsa_key_bits_min: int
    rsa_key_bits_high_below: int
    legacy_key_bits_high_below: int
    expires_soon_days: int


@cache
def pgp_thresholds() -> PgpThresholds:
    return read_int_thresholds(PGP_BASELINE_FILE, PgpThresholds)


@cache
def weak_hashes() -> dict[int, Severity]:
    """Hash algorithm number -> the severity of a current binding made with it."""
    raw = read_data_file(PGP_BASELINE_FILE)["weak_hash_algorithms"]
    return {int(number): Severity[label.upper()] for number, label in raw.items()}


@cache
def legacy_algorithms() -> frozenset[int]:
    raw = read_data_file(PGP_BASELINE_FILE)["legacy_public_key_algorithms"]
    return frozenset(int(number) for number in raw)


def _finding(
    finding_id: str, evidence: Iterable[str], severity: Severity | None = None
) -> list[Finding]:
    lines = list(dict.fromkeys(evidence))
    if not lines:
        return []
    return [load_catalogue_file(PGP_BASELINE_FILE)[finding_id].finding(lines, severity=severity)]


def _quoted(text: str) -> str:
    shown = text if len(text) <= _USER_ID_SHOWN else text[:_USER_ID_SHOWN] + "…"
    return repr(shown)


def _algorithm(number: int, bits: int | None, curve_oid: str | None) -> str:
    name = public_key_algorithm(number).name
    if curve_oid is not None:
        return f"{name} {curve(curve_oid).name}"
    return f"{bits}-bit {name}" if bits is not None else name


def _subkey_label(key: PgpKey, subkey: PgpSubkey) -> str:
    return f"subkey {subkey.fingerprint} of key {key.fingerprint}"


def _judged_at(observations: Sequence[Observation], key: PgpKey) -> datetime:
    for source in of_kind(observations, PgpSource):
        if source.origin == key.origin and source.name == key.source:
            moment = source.checked_at
            return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return datetime.now(UTC)


def _live_subkeys(key: PgpKey) -> Iterator[PgpSubkey]:
    return (subkey for subkey in key.subkeys if not subkey.revoked)


# --- algorithms and sizes -----------------------------------------------------------------


def _components(key: PgpKey) -> Iterator[tuple[str, int, int | None, str | None]]:
    """(label, algorithm, bits, curve) of the primary key and each unrevoked subkey."""
    yield f"key {key.fingerprint}", key.algorithm, key.bits, key.curve_oid
    for subkey in _live_subkeys(key):
        yield _subkey_label(key, subkey), subkey.algorithm, subkey.bits, subkey.curve_oid


def rule_rsa_small(observations: Sequence[Observation]) -> list[Finding]:
    limits = pgp_thresholds()
    evidence, high = [], False
    for key in of_kind(observations, PgpKey):
        if key.revoked:
            continue
        for label, algorithm, bits, _ in _components(key):
            family = public_key_algorithm(algorithm).family
            if family == "rsa" and bits is not None and bits < limits.rsa_key_bits_min:
                evidence.append(f"{label}: {bits}-bit RSA")
                high = high or bits < limits.rsa_key_bits_high_below
    return _finding("pgp.key.rsa_small", evidence, Severity.HIGH if high else None)


def rule_legacy_algorithm(observations: Sequence[Observation]) -> list[Finding]:
    limits, legacy = pgp_thresholds(), legacy_algorithms()
    evidence, high = [], False
    for key in of_kind(observations, PgpKey):
        if key.revoked:
            continue
        for label, algorithm, bits, oid in _components(key):
            if algorithm in legacy:
                evidence.append(f"{label}: {_algorithm(algorithm, bits, oid)}")
                high = high or (bits is not None and bits < limits.legacy_key_bits_high_below)
    return _finding("pgp.key.legacy_algorithm", evidence, Severity.HIGH if high else None)


# --- signatures -----------------------------------------------------------------------------


def _bindings(key: PgpKey) -> Iterator[tuple[str, PgpSignature]]:
    """(where, signature) for every current binding of the key."""
    if key.binding is not None:
        yield f"key {key.fingerprint}: its self-signature", key.binding
    for user_id in key.user_ids:
        if not user_id.revoked and user_id.binding is not None and user_id.binding != key.binding:
            yield f"key {key.fingerprint}, user ID {_quoted(user_id.text)}", user_id.binding
    for subkey in _live_subkeys(key):
        if subkey.binding is not None:
            yield _subkey_label(key, subkey) + ": its binding", subkey.binding


def rule_weak_hash(observations: Sequence[Observation]) -> list[Finding]:
    weak = weak_hashes()
    evidence: list[str] = []
    worst: Severity | None = None
    for key in of_kind(observations, PgpKey):
        if key.revoked:
            continue
        for where, signature in _bindings(key):
            severity = weak.get(signature.hash_algorithm)
            if severity is None:
                continue
            evidence.append(f"{where} uses {hash_algorithm(signature.hash_algorithm).name}")
            worst = severity if worst is None else max(worst, severity)
    return _finding("pgp.signature.weak_hash", evidence, worst)


def _signatures(key: PgpKey) -> Iterator[tuple[str, PgpSignature]]:
    for signature in key.signatures:
        yield f"key {key.fingerprint}", signature
    for user_id in key.user_ids:
        for signature in user_id.signatures:
            yield f"key {key.fingerprint}, user ID {_quoted(user_id.text)}", signature
    for subkey in key.subkeys:
        for signature in subkey.signatures:
            yield _subkey_label(key, subkey), signature


def rule_invalid_signature(observations: Sequence[Observation]) -> list[Finding]:
    evidence = []
    for key in of_kind(observations, PgpKey):
        for where, signature in _signatures(key):
            if signature.verified is False:
                kind = f"0x{signature.signature_type:02x}"
                evidence.append(f"{where}: signature type {kind}: {signature.problem}")
        evidence.extend(
            f"{_subkey_label(key, subkey)}: no binding signature"
            for subkey in key.subkeys
            if not subkey.signatures
        )
        if not key.signatures and not any(user_id.signatures for user_id in key.user_ids):
            evidence.append(f"key {key.fingerprint}: no self-signature at all")
    return _finding("pgp.signature.invalid", evidence)


# --- validity -------------------------------------------------------------------------------


def rule_revoked(observations: Sequence[Observation]) -> list[Finding]:
    evidence, compromised = [], False
    for key in of_kind(observations, PgpKey):
        if not key.revoked:
            continue
        line = f"key {key.fingerprint} is revoked"
        if key.revocation_code is not None:
            reason = REVOCATION_REASONS.get(key.revocation_code, f"code {key.revocation_code}")
            line += f": {reason}"
            if key.revocation_reason:
                line += f" ({_quoted(key.revocation_reason)})"
        evidence.append(line)
        compromised = compromised or key.revocation_code == KEY_COMPROMISED
    return _finding("pgp.key.revoked", evidence, Severity.CRITICAL if compromised else None)


def rule_expired(observations: Sequence[Observation]) -> list[Finding]:
    evidence = []
    for key in of_kind(observations, PgpKey):
        if key.revoked or key.expires is None:
            continue
        now = _judged_at(observations, key)
        if key.expires <= now:
            days = (now - key.expires) // timedelta(days=1)
            evidence.append(
                f"key {key.fingerprint} expired on {key.expires:%Y-%m-%d} ({days} days ago)"
            )
    return _finding("pgp.key.expired", evidence)


def rule_expires_soon(observations: Sequence[Observation]) -> list[Finding]:
    soon = timedelta(days=pgp_thresholds().expires_soon_days)
    evidence = []
    for key in of_kind(observations, PgpKey):
        if key.revoked or key.expires is None:
            continue
        now = _judged_at(observations, key)
        if now < key.expires <= now + soon:
            days = (key.expires - now) // timedelta(days=1)
            evidence.append(
                f"key {key.fingerprint} expires on {key.expires:%Y-%m-%d} ({days} days left)"
            )
    return _finding("pgp.key.expires_soon", evidence)


# --- publication ----------------------------------------------------------------------------


def _valid_at(expires: datetime | None, now: datetime) -> bool:
    return expires is None or expires > now


def _encrypts(key: PgpKey, now: datetime) -> bool:
    if key.revoked or not _valid_at(key.expires, now):
        return False
    primary = key.binding is not None and key.binding.verified is not False
    if primary and key.key_flags is not None and key.key_flags & ENCRYPTION_FLAGS:
        return True
    return any(
        subkey.binding is not None
        and subkey.key_flags is not None
        and subkey.key_flags & ENCRYPTION_FLAGS
        and _valid_at(subkey.expires, now)
        for subkey in _live_subkeys(key)
    )


def _published(observations: Sequence[Observation]) -> Iterator[PgpKey]:
    return (key for key in of_kind(observations, PgpKey) if key.origin in PUBLISHED)


def _where(key: PgpKey) -> str:
    place = "OPENPGPKEY record" if key.origin == "openpgpkey" else "WKD"
    return f"{place} {key.source}"


def rule_no_encryption_key(observations: Sequence[Observation]) -> list[Finding]:
    evidence = [
        f"{_where(key)}: key {key.fingerprint} has no valid encryption key now"
        for key in _published(observations)
        if not key.revoked and not _encrypts(key, _judged_at(observations, key))
    ]
    return _finding("pgp.key.no_encryption_key", evidence)


def _addresses(observations: Sequence[Observation]) -> dict[tuple[str, str], str]:
    return {
        (source.origin, source.name): source.address
        for source in of_kind(observations, PgpSource)
        if source.address is not None
    }


def _holds(text: str, address: str) -> bool:
    wanted = address.lower()
    lowered = text.lower()
    return lowered == wanted or f"<{wanted}>" in lowered


def rule_address_missing(observations: Sequence[Observation]) -> list[Finding]:
    addresses = _addresses(observations)
    evidence = []
    for key in _published(observations):
        address = addresses.get((key.origin, key.source))
        if address is None:
            continue
        live = [u for u in key.user_ids if not u.revoked and u.binding is not None]
        if not any(_holds(user_id.text, address) for user_id in live):
            shown = ", ".join(_quoted(user_id.text) for user_id in live[:5]) or "none"
            evidence.append(
                f"{_where(key)}: key {key.fingerprint} for {address}: valid user IDs {shown}"
            )
    return _finding("pgp.published.address_missing", evidence)


def rule_secret_material(observations: Sequence[Observation]) -> list[Finding]:
    evidence = [
        f"{_where(key)}: key {key.fingerprint} came with its secret key packets"
        for key in _published(observations)
        if key.secret
    ]
    return _finding("pgp.published.secret_material", evidence)


def rule_openpgpkey_not_authenticated(observations: Sequence[Observation]) -> list[Finding]:
    evidence, bogus = [], False
    for record in of_kind(observations, OpenPgpKeyRecord):
        if record.records == 0 or record.authenticated:
            continue
        reason = f" ({record.dnssec_reason})" if record.dnssec_reason else ""
        line = f"{record.owner}: DNSSEC {record.dnssec_status}{reason}"
        if record.dnssec_status == "secure" and record.problem:
            line += f"; {record.problem}"
        evidence.append(line)
        bogus = bogus or record.dnssec_status == "bogus"
    return _finding("pgp.openpgpkey.not_authenticated", evidence, Severity.HIGH if bogus else None)


PGP_RULES: tuple[Rule, ...] = (
    rule_rsa_small,
    rule_legacy_algorithm,
    rule_weak_hash,
    rule_invalid_signature,
    rule_revoked,
    rule_expired,
    rule_expires_soon,
    rule_no_encryption_key,
    rule_address_missing,
    rule_secret_material,
    rule_openpgpkey_not_authenticated,
)
