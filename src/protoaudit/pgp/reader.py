"""Key bytes to observations: bound them, let Sequoia judge them, read each certificate.

The order matters for hostile input. Size first (16 MiB), then our own dearmoring and
packet framing with a packet bound (Sequoia's parse is superlinear in the packet count),
then Sequoia's verdict on whether this is a keyring at all, then our reading of the packets
in the order the input has them. Not Sequoia's canonical form: it moves a signature that
does not verify where it stands to the end of the certificate, where it would be blamed on
the last subkey; read in place, a forged or misplaced signature is reported where it is.
Secret key packets are read for their public part only.
Self-signatures are checked newest first, at most MAX_CHECKED_PER_COMPONENT per primary
key, user ID or subkey and MAX_CHECKED per input; the rest are listed as not checked.

"Current" follows RFC 9580 section 5.2.3.10 and 10.1, simplified: a component's binding
is its newest self-signature of the right type that did not fail to verify, is not dated
in the future and has not expired. A revocation counts unless it failed to verify.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pysequoia

from protoaudit.errors import DecodeError, ProtoauditError
from protoaudit.observations_pgp import PgpKey, PgpSignature, PgpSource, PgpSubkey, PgpUserId
from protoaudit.proto.openpgp import packets as pk
from protoaudit.proto.openpgp.armor import dearmor, looks_armored
from protoaudit.proto.openpgp.verify import Verdict, hashed_data, verify
from protoaudit.sanitize import for_terminal

__all__ = [
    "MAX_CERTIFICATES",
    "MAX_INPUT_BYTES",
    "MAX_PACKETS",
    "PgpInputError",
    "capabilities",
    "read_keys",
]

MAX_INPUT_BYTES = 16 * 1024 * 1024
MAX_PACKETS = 20_000
MAX_CERTIFICATES = 100
MAX_USER_IDS = 32
MAX_USER_ID_TEXT = 512
MAX_SUBKEYS = 64
MAX_SIGNATURES_LISTED = 16  # per component
MAX_CHECKED_PER_COMPONENT = 8
MAX_CHECKED = 2000  # checks per input, a 16384-bit RSA check or 256 KiB hashed counting as four
CLOCK_SKEW = timedelta(minutes=5)  # a signature this far in the future still counts

CERTIFICATIONS = frozenset({0x10, 0x11, 0x12, 0x13})
CERTIFICATION_REVOCATION = 0x30
SUBKEY_BINDING = 0x18
SUBKEY_REVOCATION = 0x28
DIRECT_KEY = 0x1F
KEY_REVOCATION = 0x20

# Key flags (RFC 9580 section 5.2.3.29), as one little-endian number.
_FLAG_NAMES = (
    (0x01, "certify"),
    (0x02, "sign"),
    (0x04, "encrypt-communications"),
    (0x08, "encrypt-storage"),
    (0x10, "split"),
    (0x20, "authenticate"),
    (0x80, "group"),
    (0x0400, "adsk"),
    (0x0800, "timestamp"),
)


class PgpInputError(ProtoauditError):
    """The input is not a key protoaudit can read; the message says why, in one line."""


def capabilities(flags: int | None) -> tuple[str, ...]:
    if flags is None:
        return ()
    return tuple(name for bit, name in _FLAG_NAMES if flags & bit)


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _hex(octets: bytes) -> str:
    return octets.hex().upper()


@dataclass
class _Component:
    kind: str  # "primary", "user_id", "user_attribute", "subkey"
    key: pk.KeyPacket | None = None
    data: bytes = b""
    signatures: list[pk.SignaturePacket] = field(default_factory=list)
    third_party: int = 0


@dataclass
class _Budget:
    left: int = MAX_CHECKED
    unchecked: int = 0
    malformed: int = 0  # signature and subkey packets we could not read (skipped)


@dataclass(frozen=True, slots=True)
class _Checked:
    packet: pk.SignaturePacket
    verdict: Verdict

    @property
    def failed(self) -> bool:
        return self.verdict.valid is False


def _fail(error: DecodeError, what: str) -> PgpInputError:
    return PgpInputError(f"{what}: {error}")


def _unarmor(data: bytes) -> tuple[bytes, bool, str | None]:
    if not looks_armored(data):
        return data, False, None
    try:
        dearmored = dearmor(data)
    except DecodeError as error:
        raise _fail(error, "not an armored OpenPGP key") from None
    return dearmored.data, True, dearmored.checksum


def _sequoia_count(binary: bytes) -> int:
    """How many certificates Sequoia finds; PgpInputError when it refuses the input."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return len(pysequoia.Cert.split_bytes(binary))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # noqa: BLE001 (RuntimeError; a Rust panic is a BaseException)
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise PgpInputError(f"not an OpenPGP key (Sequoia: {for_terminal(first)})") from None


def _certificates(packets: list[pk.RawPacket]) -> list[list[pk.RawPacket]]:
    """The packets of each certificate: a keyring is certificates one after another."""
    groups: list[list[pk.RawPacket]] = []
    for packet in packets:
        if packet.tag in pk.PRIMARY_TAGS or not groups:
            groups.append([])
        groups[-1].append(packet)
    return groups


def _components(
    packets: list[pk.RawPacket], budget: _Budget
) -> tuple[pk.KeyPacket, list[_Component]]:
    """The primary key and its components; unreadable signatures and subkeys are skipped.

    A third party can append junk to a key on a keyserver; that must not make the rest of
    the key unreadable, so a signature or subkey packet that does not parse is counted and
    left out (a subkey's signatures with it). Only an unreadable primary key raises.
    """
    primary = pk.parse_key(packets[0].tag, packets[0].body)
    current = _Component("primary", primary)
    found = [current]
    for packet in packets[1:]:
        if packet.tag == pk.SIGNATURE:
            try:
                signature = pk.parse_signature(packet.body)
            except DecodeError:
                budget.malformed += 1
                continue
            issuers = signature.issuers
            if issuers and primary.fingerprint not in issuers and primary.key_id not in issuers:
                current.third_party += 1
            else:
                current.signatures.append(signature)
        elif packet.tag == pk.USER_ID:
            current = _Component("user_id", data=packet.body)
            found.append(current)
        elif packet.tag == pk.USER_ATTRIBUTE:
            current = _Component("user_attribute", data=packet.body)
            found.append(current)
        elif packet.tag in (pk.PUBLIC_SUBKEY, pk.SECRET_SUBKEY):
            try:
                current = _Component("subkey", pk.parse_key(packet.tag, packet.body))
            except DecodeError:
                budget.malformed += 1
                current = _Component("unreadable")
            found.append(current)
    return primary, found


def _check(component: _Component, primary: pk.KeyPacket, budget: _Budget) -> list[_Checked]:
    """The component's self-signatures, newest first, each with its verdict."""
    ordered = sorted(component.signatures, key=lambda item: item.created or 0, reverse=True)
    checked: list[_Checked] = []
    for index, signature in enumerate(ordered):
        if index >= MAX_CHECKED_PER_COMPONENT or budget.left <= 0:
            budget.unchecked += 1
            checked.append(_Checked(signature, Verdict.unchecked("not checked: too many")))
            continue
        if component.kind == "subkey":
            data = hashed_data(signature, primary, subkey=component.key)
        elif component.kind == "user_id":
            data = hashed_data(signature, primary, user_id=component.data)
        elif component.kind == "user_attribute":
            data = hashed_data(signature, primary, user_attribute=component.data)
        else:
            data = hashed_data(signature, primary)
        # Large RSA and DSA keys and large hashed data cost more per check: one unit per
        # 4096 bits of key, or per 64 KiB hashed (a v6 key of unknown algorithm or a user ID
        # can be megabytes).
        budget.left -= max(1, (primary.bits or 0) // 4096, len(data or b"") >> 16)
        checked.append(_Checked(signature, verify(signature, primary, data)))
    return checked


def _signature(item: _Checked) -> PgpSignature:
    packet = item.packet
    return PgpSignature(
        signature_type=packet.signature_type,
        version=packet.version,
        hash_algorithm=packet.hash_algorithm,
        public_key_algorithm=packet.public_key_algorithm,
        created=_utc(packet.created) if packet.created is not None else None,
        verified=item.verdict.valid,
        problem=item.verdict.problem,
    )


def _usable(item: _Checked, now: datetime) -> bool:
    """Not failed, not from the future, not expired."""
    packet = item.packet
    if item.failed:
        return False
    created = packet.created or 0
    if _utc(created) > now + CLOCK_SKEW:
        return False
    lifetime = packet.signature_expiration_seconds
    return not (lifetime and _utc(created + lifetime) <= now)


def _newest(checked: list[_Checked], types: frozenset[int], now: datetime) -> _Checked | None:
    return next(
        (item for item in checked if item.packet.signature_type in types and _usable(item, now)),
        None,
    )


def _revocation(checked: list[_Checked], kind: int) -> _Checked | None:
    return next(
        (item for item in checked if item.packet.signature_type == kind and not item.failed),
        None,
    )


def _reason(revocation: _Checked | None) -> tuple[int | None, str | None]:
    """(code, text) of a revocation; (None, None) without one or without a reason."""
    reason = revocation.packet.revocation_reason if revocation is not None else None
    return (None, None) if reason is None else reason


def _expiry(key: pk.KeyPacket, *bindings: _Checked | None) -> datetime | None:
    for binding in bindings:
        if binding is None:
            continue
        seconds = binding.packet.key_expiration_seconds
        if seconds is not None:
            return _utc(key.created + seconds) if seconds else None
    return None


def _flags(*bindings: _Checked | None) -> int | None:
    return next(
        (
            binding.packet.key_flags
            for binding in bindings
            if binding is not None and binding.packet.key_flags is not None
        ),
        None,
    )


def _listed(checked: list[_Checked]) -> tuple[PgpSignature, ...]:
    return tuple(_signature(item) for item in checked[:MAX_SIGNATURES_LISTED])


def _subkey(component: _Component, checked: list[_Checked], now: datetime) -> PgpSubkey:
    key = component.key
    assert key is not None
    binding = _newest(checked, frozenset({SUBKEY_BINDING}), now)
    revocation = _revocation(checked, SUBKEY_REVOCATION)
    flags = _flags(binding)
    code, text = _reason(revocation)
    return PgpSubkey(
        fingerprint=_hex(key.fingerprint),
        version=key.version,
        algorithm=key.algorithm,
        bits=key.bits,
        curve_oid=key.curve_oid,
        created=_utc(key.created),
        expires=_expiry(key, binding),
        revoked=revocation is not None,
        revocation_code=code,
        revocation_reason=text,
        key_flags=flags,
        capabilities=capabilities(flags),
        binding=_signature(binding) if binding is not None else None,
        signatures=_listed(checked),
    )


def _user_id(
    component: _Component, checked: list[_Checked], now: datetime
) -> tuple[PgpUserId, _Checked | None]:
    binding = _newest(checked, CERTIFICATIONS, now)
    revocation = _revocation(checked, CERTIFICATION_REVOCATION)
    revoked = revocation is not None and (
        binding is None or (revocation.packet.created or 0) >= (binding.packet.created or 0)
    )
    text = component.data[: MAX_USER_ID_TEXT * 4].decode("utf-8", "replace")[:MAX_USER_ID_TEXT]
    user_id = PgpUserId(
        text=text,
        primary=binding is not None and binding.packet.primary_user_id,
        revoked=revoked,
        binding=_signature(binding) if binding is not None else None,
        signatures=_listed(checked),
        certifications=component.third_party,
    )
    return user_id, None if revoked else binding


def _certificate(
    packets: list[pk.RawPacket],
    *,
    now: datetime,
    budget: _Budget,
    origin: str,
    name: str,
    secret: bool,
) -> PgpKey:
    primary, components = _components(packets, budget)
    unchecked_before = budget.unchecked
    primary_checked = _check(components[0], primary, budget)
    user_ids: list[PgpUserId] = []
    bindings: list[_Checked] = []
    subkeys: list[PgpSubkey] = []
    hashes: dict[int, None] = {}
    attributes = 0
    for item in primary_checked:
        hashes[item.packet.hash_algorithm] = None
    for component in components[1:]:
        if component.kind == "user_attribute":
            attributes += 1
            continue
        if component.kind == "unreadable":
            continue
        listed = component.kind == "user_id" and len(user_ids) < MAX_USER_IDS
        listed = listed or (component.kind == "subkey" and len(subkeys) < MAX_SUBKEYS)
        if not listed:
            continue
        checked = _check(component, primary, budget)
        for item in checked:
            hashes[item.packet.hash_algorithm] = None
        if component.kind == "subkey":
            subkeys.append(_subkey(component, checked, now))
        else:
            user_id, binding = _user_id(component, checked, now)
            user_ids.append(user_id)
            if binding is not None:
                bindings.append(binding)
    direct = _newest(primary_checked, frozenset({DIRECT_KEY}), now)
    marked = [item for item in bindings if item.packet.primary_user_id] or bindings
    uid_binding = max(marked, key=lambda item: item.packet.created or 0, default=None)
    binding = (direct or uid_binding) if primary.version >= 5 else (uid_binding or direct)
    other = uid_binding if binding is direct else direct
    revocation = _revocation(primary_checked, KEY_REVOCATION)
    flags = _flags(binding, other)
    code, text = _reason(revocation)
    return PgpKey(
        origin=origin,
        source=name,
        fingerprint=_hex(primary.fingerprint),
        key_id=_hex(primary.key_id),
        version=primary.version,
        algorithm=primary.algorithm,
        bits=primary.bits,
        curve_oid=primary.curve_oid,
        created=_utc(primary.created),
        expires=_expiry(primary, binding, other),
        revoked=revocation is not None,
        revocation_code=code,
        revocation_reason=text,
        key_flags=flags,
        capabilities=capabilities(flags),
        binding=_signature(binding) if binding is not None else None,
        self_signature_hashes=tuple(hashes),
        signatures=_listed(primary_checked),
        user_ids=tuple(user_ids),
        user_ids_total=sum(1 for item in components if item.kind == "user_id"),
        user_attributes=attributes,
        subkeys=tuple(subkeys),
        subkeys_total=sum(1 for item in components if item.kind == "subkey"),
        secret=secret,
        signatures_unchecked=budget.unchecked - unchecked_before,
    )


def read_keys(
    data: bytes,
    *,
    now: datetime,
    origin: str = "file",
    name: str = "-",
    address: str | None = None,
) -> tuple[PgpSource, list[PgpKey]]:
    """The source and every certificate in `data`; PgpInputError when it holds none."""
    if len(data) > MAX_INPUT_BYTES:
        raise PgpInputError(f"{len(data)} octets: more than the {MAX_INPUT_BYTES} read")
    if not data.strip():
        raise PgpInputError("empty input: no key")
    binary, armored, checksum = _unarmor(data)
    try:
        packets = pk.split_packets(binary, max_packets=MAX_PACKETS)
    except DecodeError as error:
        raise _fail(error, "not an OpenPGP key") from None
    if not packets:
        raise PgpInputError("the armor holds no packets")
    # Marker and padding packets carry nothing and are to be ignored (RFC 9580 5.8, 5.14).
    packets = [packet for packet in packets if packet.tag not in (pk.MARKER, pk.PADDING)]
    if not packets:
        raise PgpInputError("holds no key packet")
    if packets[0].tag not in pk.PRIMARY_TAGS:
        raise PgpInputError(f"starts with a packet of tag {packets[0].tag}, not with a key")
    sequoia_count = _sequoia_count(binary)
    groups = _certificates(packets)
    budget = _Budget()
    keys: list[PgpKey] = []
    unreadable: list[str] = []
    for group in groups[:MAX_CERTIFICATES]:
        secret = any(packet.tag in pk.SECRET_TAGS for packet in group)
        try:
            keys.append(
                _certificate(group, now=now, budget=budget, origin=origin, name=name, secret=secret)
            )
        except DecodeError as error:
            unreadable.append(str(error))
    if not keys:
        raise PgpInputError(f"no readable key: {unreadable[0] if unreadable else 'none found'}")
    notes: list[str] = []
    if len(groups) > MAX_CERTIFICATES:
        notes.append(
            f"{len(groups) - MAX_CERTIFICATES} certificates after the first "
            f"{MAX_CERTIFICATES} were not read"
        )
    if sequoia_count != len(groups):
        notes.append(f"Sequoia counts {sequoia_count} certificates, protoaudit {len(groups)}")
    if budget.unchecked:
        notes.append(f"{budget.unchecked} self-signatures were not checked (too many)")
    if budget.malformed:
        notes.append(f"{budget.malformed} signature or subkey packets could not be read")
    if unreadable:
        notes.append(f"{len(unreadable)} certificates could not be read: {unreadable[0]}")
    source = PgpSource(
        origin=origin,
        name=name,
        address=address,
        size=len(data),
        armored=armored,
        armor_checksum=checksum,
        packets=len(packets),
        certificates=len(groups),
        certificates_read=len(keys),
        checked_at=now,
        notes=tuple(notes),
    )
    return source, keys
