"""IKEv1: Main Mode transform enumeration and the Aggressive Mode pre-shared-key exposure.

Theory of operation. In IKEv1 every transform is a whole suite (cipher, hash,
authentication method, group) and the responder picks one transform of the
proposal in its message 2; message 1 carries no key exchange, so asking costs
the responder nothing but a half-open SA. A transform cannot offer a list of
values, so finding a suite nobody would guess means offering it: the space is
every cipher x hash x group of the registry (11 x 5 x 20 = 1,100 combinations),
MAX_TRANSFORMS (32) to a datagram so that it stays under 1500 bytes. The probe:

1. finds one accepted suite among common ones (AES-CBC 128/256, 3DES, DES;
   SHA2-256, SHA1, MD5; pre-shared key, RSA signatures, XAUTH with PSK; MODP
   768-2048, ECP 256/384: at most 7 packets). When none is accepted, it sweeps
   (below) the rest of the space with the method held at pre-shared key, then,
   if that finds nothing either, at RSA signatures;
2. per attribute (cipher, hash, method, group), offers every value not found
   yet combined with the values found for the others; each answer adds one
   value; NO-PROPOSAL-CHOSEN ends that attribute. Rounds repeat until one
   finds nothing new (a value only accepted beside another unfound value is
   found in the next round). Suites already refused or accepted are not
   offered again;
3. sweeps every cipher x hash x group combination not yet refused or accepted,
   with the method held at the first one found. This finds what step 2 cannot:
   a suite sharing no value (or only one) with the suites found, such as
   camellia-sha512-ecp521 beside aes-sha256-modp2048;
4. sends one Aggressive Mode message 1 with pre-shared-key suites in one group
   and an identity. A responder that answers with HASH_R exposes a hash keyed
   with its PSK to offline guessing. Message 3 is never sent.

A sweep offers each batch of 32 again without the suite the responder picked,
until NO-PROPOSAL-CHOSEN: it costs one packet per batch (35 for the whole space)
plus one per suite found, and leaves every suite it offered either accepted or
refused. So the enumeration is complete for the cipher, hash and group
combinations with the held method, whatever their values; methods other than
the held one are enumerated (step 2) beside the suites found before step 3 only.
The Main Mode budget is V1_PACKETS (probes/ike.py: 84 of the probe's 190): a
strongSwan with common and uncommon suites (lab target ike) takes 1 + 35 + 23
= 59 packets (steps 1, 2, 3), one with only uncommon suites (ike-cookie) 7 + 35
+ 15 + 0 = 57, one that refuses everything 7 + 33 + 33 = 73. Past the budget
the observation says complete=False.

Message 1 offers the NAT-T, DPD, XAUTH and fragmentation Vendor IDs, so that a
responder that echoes what it supports shows it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from protoaudit.errors import ProtocolViolation
from protoaudit.observations_ike import (
    IkeAlgorithm,
    IkeV1AggressiveMode,
    IkeV1MainMode,
    IkeV1Suite,
)
from protoaudit.probes.ike_transport import (
    Answered,
    Exhausted,
    IkeChannel,
    Malformed,
    Refused,
    Silent,
)
from protoaudit.proto.ike.constants import ExchangeType, IdType, V1Attribute, V1Notify
from protoaudit.proto.ike.exchanges import (
    V1Response,
    V1Suite,
    aggressive_mode_request,
    main_mode_request,
    read_v1_response,
)
from protoaudit.proto.ike.keyexchange import SECRET_LENGTH, can_generate, public_value
from protoaudit.registry import ike as registry

Random = Callable[[int], bytes]
MAX_TRANSFORMS = 32  # per datagram: about 1.2 KB
DEFAULT_IDENTITY = "protoaudit@example.invalid"
FALLBACK_GROUP = 2  # aggressive mode when Main Mode found no group we can make
# The methods a sweep holds when no suite was found yet (step 1), in this order.
SWEEP_METHODS = ("pre-shared key", "RSA signatures")
COMMON_GROUPS = (
    "2048-bit MODP Group",
    "1024-bit MODP Group",
    "1536-bit MODP Group",
    "768-bit MODP Group",
    "256-bit random ECP group",
    "384-bit random ECP group",
)

# Vendor IDs we send, by the registry's name, with the bytes some carry after the prefix.
OFFERED_VENDOR_IDS: tuple[tuple[str, bytes], ...] = (
    ("RFC 3947 NAT-T", b""),
    ("draft-ietf-ipsec-nat-t-ike-02\\n", b""),
    ("Dead Peer Detection", b"\x01\x00"),
    ("XAUTH", b""),
    ("IKE Fragmentation (Cisco)", b""),
)


def offered_vendor_ids() -> tuple[bytes, ...]:
    by_name = {entry.name: entry.prefix for entry in registry.vendor_ids()}
    return tuple(by_name[name] + suffix for name, suffix in OFFERED_VENDOR_IDS if name in by_name)


def _attribute_values(attribute: int, exclude: Iterable[str] = ()) -> list[int]:
    skipped = tuple(exclude)
    return [
        entry.value
        for (code, value), entry in registry.v1_attribute_values().items()
        if code == attribute
        and entry.value is not None
        and entry.name not in skipped
        and value is not None
    ]


@dataclass(frozen=True, slots=True)
class Space:
    """The values the probe tries per attribute, most likely first."""

    encryption: tuple[tuple[int, int | None], ...]
    hash: tuple[int, ...]
    auth: tuple[int, ...]
    group: tuple[int, ...]


def space() -> Space:
    encryption: list[tuple[int, int | None]] = []
    for code in _attribute_values(V1Attribute.ENCRYPTION_ALGORITHM, ("RC5-R16-B64-CBC",)):
        name = registry.v1_attribute_value(V1Attribute.ENCRYPTION_ALGORITHM, code).name
        sized = name.startswith(("AES", "CAMELLIA"))
        encryption += [(code, bits) for bits in (256, 128, 192)] if sized else [(code, None)]
    encryption.sort(key=lambda unit: -(unit[1] or 0))  # the AES and Camellia sizes first
    hashes = _attribute_values(V1Attribute.HASH_ALGORITHM, ("Tiger",))
    # Initiator methods only: the Resp* XAUTH and hybrid values describe the other side.
    auth = [
        code
        for code in _attribute_values(V1Attribute.AUTHENTICATION_METHOD)
        if "Resp" not in registry.v1_attribute_value(V1Attribute.AUTHENTICATION_METHOD, code).name
        and "El-Gamal" not in registry.v1_attribute_value(3, code).name
    ]
    groups = [
        code
        for code, method in registry.key_exchange_methods().items()
        if method.ikev1 and method.kind in ("modp", "modp_subgroup", "ecp", "brainpool")
    ]
    return Space(tuple(encryption), tuple(hashes), tuple(auth), tuple(groups))


def _common(full: Space) -> Space:
    """The suites most responders accept, tried first."""

    def named(attribute: int, names: Sequence[str]) -> tuple[int, ...]:
        values = {
            registry.v1_attribute_value(attribute, v).name: v for v in _attribute_values(attribute)
        }
        return tuple(values[n] for n in names if n in values)

    encryption = tuple(
        unit
        for unit in full.encryption
        if registry.v1_attribute_value(V1Attribute.ENCRYPTION_ALGORITHM, unit[0]).name
        in ("AES-CBC", "3DES-CBC", "DES-CBC")
        and unit[1] in (None, 128, 256)
    )
    hashes = named(V1Attribute.HASH_ALGORITHM, ("SHA2-256", "SHA", "MD5"))
    auth = named(
        V1Attribute.AUTHENTICATION_METHOD,
        ("pre-shared key", "RSA signatures", "XAUTHInitPreShared"),
    )
    by_name = {registry.key_exchange_method(code).name: code for code in full.group}
    groups = tuple(by_name[name] for name in COMMON_GROUPS if name in by_name)
    return Space(encryption, hashes, auth, groups)


def _suites(space_: Space) -> Iterator[V1Suite]:
    for (encryption, bits), hash_, auth, group in itertools.product(
        space_.encryption, space_.hash, space_.auth, space_.group
    ):
        yield V1Suite(encryption, bits, hash_, auth, group)


def _chunks(suites: Iterable[V1Suite]) -> Iterator[list[V1Suite]]:
    iterator = iter(suites)
    while batch := list(itertools.islice(iterator, MAX_TRANSFORMS)):
        yield batch


@dataclass(frozen=True, slots=True)
class Stop:
    status: str
    detail: str


def _stop_for(outcome: Silent | Refused | Malformed | Exhausted) -> Stop:
    if isinstance(outcome, Silent):
        return Stop("no-answer", f"no answer after {outcome.attempts} tries")
    if isinstance(outcome, Refused):
        return Stop("refused", outcome.detail)
    if isinstance(outcome, Malformed):
        return Stop("malformed", str(outcome.error))
    return Stop("budget", outcome.what)


@dataclass
class _Found:
    accepted: list[V1Suite] = field(default_factory=list)
    vendor_ids: list[str] = field(default_factory=list)
    answered: bool = False


class MainModeProber:
    def __init__(self, channel: IkeChannel, rng: Random) -> None:
        self.channel = channel
        self.rng = rng
        self.found = _Found()
        self.vendor_ids = offered_vendor_ids()
        self.packets_before = channel.packets_sent
        self.excluded: dict[str, set[object]] = {}
        self.notes: list[str] = []
        # Every suite offered in a message answered with NO-PROPOSAL-CHOSEN.
        self.refused: set[V1Suite] = set()
        # The suite of ours the responder picked in its last answer (by transform number
        # when it answered other values than we offered).
        self.picked: V1Suite | None = None

    async def ask(self, suites: Sequence[V1Suite]) -> V1Suite | Stop | None:
        """The suite the responder picks from `suites`, None for NO-PROPOSAL-CHOSEN."""
        cookie = self.rng(8)
        request = main_mode_request(
            initiator_cookie=cookie, suites=suites, vendor_ids=self.vendor_ids
        )
        outcome = await self.channel.exchange(request, cookie)
        self.picked = None
        if not isinstance(outcome, Answered):
            return _stop_for(outcome)
        try:
            response = read_v1_response(outcome.message)
        except ProtocolViolation as error:
            return Stop("malformed", str(error))
        self.found.answered = True
        for value in response.vendor_ids:
            if value.hex() not in self.found.vendor_ids:
                self.found.vendor_ids.append(value.hex())
        if response.chosen is not None:
            self.picked = response.chosen
            if response.chosen not in suites:
                stopped = self._rewritten(suites, response)
                if stopped is not None:
                    return stopped
            if response.chosen not in self.found.accepted:
                self.found.accepted.append(response.chosen)
            return response.chosen
        if response.notification == V1Notify.NO_PROPOSAL_CHOSEN:
            self.refused.update(suites)
            return None
        if response.notification is not None:
            name = registry.notify_type(1, response.notification).name
            return Stop("error", f"the responder answered {name}")
        if response.encrypted:
            return Stop("error", "the responder answered with an encrypted message")
        return Stop("error", "the responder's answer has neither an SA nor a notification")

    def _rewritten(self, suites: Sequence[V1Suite], response: V1Response) -> Stop | None:
        """A responder that answers another value than it was offered (strongSwan answers
        the RSA encryption methods with pre-shared key): the transform number says which
        suite it took; the values it changed are not accepted, and are not offered again."""
        assert response.chosen is not None
        assert response.chosen_transform is not None
        number = response.chosen_transform.transform_number
        if not 1 <= number <= len(suites):
            return Stop("malformed", "the responder chose a transform we did not offer")
        self.picked = suites[number - 1]
        offered, answered = (
            _as_dict(_space_of(suites[number - 1])),
            _as_dict(_space_of(response.chosen)),
        )
        for attribute, value in offered.items():
            if value != answered[attribute]:
                self.excluded.setdefault(attribute, set()).add(value[0])
                self.notes.append(
                    f"offered {attribute} {_show(value[0])}, the responder answered "
                    f"{_show(answered[attribute][0])}"
                )
        return None

    def _untried(self, suites: Iterable[V1Suite]) -> Iterator[V1Suite]:
        """`suites` without those already refused or accepted: their answer is known."""
        accepted = set(self.found.accepted)
        return (s for s in suites if s not in self.refused and s not in accepted)

    async def pick(self, suites: Iterable[V1Suite]) -> V1Suite | Stop | None:
        for batch in _chunks(self._untried(suites)):
            answer = await self.ask(batch)
            if answer is not None:
                return answer
        return None

    async def sweep(self, suites: Iterable[V1Suite]) -> Stop | None:
        """Every suite of `suites` the responder takes (those not refused or accepted yet).

        Each batch is offered again without the suite the responder picked, until
        NO-PROPOSAL-CHOSEN: one packet per batch, plus one per suite found.
        """
        for batch in _chunks(self._untried(suites)):
            offered = batch
            while offered:
                answer = await self.ask(offered)
                if isinstance(answer, Stop):
                    return answer
                if answer is None or self.picked not in offered:
                    break
                offered = [s for s in offered if s != self.picked]
        return None

    def _values(self) -> Space:
        accepted = self.found.accepted
        return Space(
            tuple(dict.fromkeys((s.encryption, s.key_length) for s in accepted)),
            tuple(dict.fromkeys(s.hash for s in accepted)),
            tuple(dict.fromkeys(s.auth for s in accepted)),
            tuple(dict.fromkeys(s.group for s in accepted)),
        )

    async def run(self) -> IkeV1MainMode:
        full = space()
        common = _common(full)
        base = await self.pick(_suites(common))
        if isinstance(base, Stop):
            return self.observation(base.status, base.detail, complete=False)
        if base is None:
            for method in _methods(SWEEP_METHODS):
                stopped = await self.sweep(_suites(replace(full, auth=(method,))))
                if stopped is not None:
                    status = "enumerated" if self.found.accepted else stopped.status
                    return self.observation(status, stopped.detail, complete=False)
                if self.found.accepted:
                    break
            else:
                return self.observation(
                    "no-proposal",
                    "NO-PROPOSAL-CHOSEN to every cipher, hash and group with "
                    + " or ".join(SWEEP_METHODS),
                )
        for attribute in ("encryption", "hash", "group", "auth"):
            stopped = await self._enumerate(full, common, attribute)
            if stopped is not None:
                return self.observation("enumerated", stopped.detail, complete=False)
        held = self._values().auth[:1]
        stopped = await self.sweep(_suites(replace(full, auth=held)))
        if stopped is not None:
            return self.observation("enumerated", stopped.detail, complete=False)
        return self.observation("enumerated", "")

    async def _enumerate(self, full: Space, common: Space, attribute: str) -> Stop | None:
        """Every value of `attribute` the responder takes, with the others as found.

        First beside the values found for the other attributes (one packet, most
        often); when that finds nothing, beside the common values too, since a
        responder's suites need not be a product (aes128-sha1-modp1024 and
        aes256-sha256-modp2048 accept neither aes128-sha256 nor aes256-sha1). The
        method is held at the first one found: methods are enumerated last, on
        their own, as most responders choose them apart from the algorithms.
        """
        while True:
            found = _as_dict(self._values())
            excluded = self.excluded.get(attribute, set())
            rest = tuple(
                v
                for v in _as_dict(full)[attribute]
                if v not in found[attribute] and v not in excluded
            )
            if not rest:
                return None
            narrow = {**found, attribute: rest}
            if attribute != "auth":
                narrow["auth"] = found["auth"][:1]
            narrow_suites = list(self._untried(_suites(_space(narrow))))
            answer = await self.pick(narrow_suites)
            if isinstance(answer, Stop):
                return answer
            if answer is not None:
                continue
            if attribute == "auth":
                return None
            wide = {
                name: tuple(dict.fromkeys((*found[name], *values)))
                for name, values in _as_dict(common).items()
            }
            wide[attribute] = rest
            wide["auth"] = found["auth"][:1]
            tried = set(narrow_suites)
            answer = await self.pick(s for s in _suites(_space(wide)) if s not in tried)
            if isinstance(answer, Stop):
                return answer
            if answer is None:
                return None

    def observation(self, status: str, detail: str, *, complete: bool = True) -> IkeV1MainMode:
        found = self._values()
        return IkeV1MainMode(
            status=status,
            detail=detail,
            accepted=tuple(_suite(s) for s in self.found.accepted),
            encryption=tuple(IkeAlgorithm(code, bits) for code, bits in found.encryption),
            hash=found.hash,
            auth=found.auth,
            groups=found.group,
            vendor_ids=tuple(self.found.vendor_ids),
            packets_sent=self.channel.packets_sent - self.packets_before,
            complete=complete,
            notes=tuple(dict.fromkeys(self.notes)),
        )


def _space(values: dict[str, tuple[Any, ...]]) -> Space:
    return Space(values["encryption"], values["hash"], values["auth"], values["group"])


def _as_dict(space_: Space) -> dict[str, tuple[Any, ...]]:
    return {
        "encryption": space_.encryption,
        "hash": space_.hash,
        "auth": space_.auth,
        "group": space_.group,
    }


def _space_of(suite: V1Suite) -> Space:
    return Space(
        ((suite.encryption, suite.key_length),), (suite.hash,), (suite.auth,), (suite.group,)
    )


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return f"{value[0]}" if value[1] is None else f"{value[0]}/{value[1]}"
    return str(value)


def _suite(suite: V1Suite) -> IkeV1Suite:
    return IkeV1Suite(suite.encryption, suite.key_length, suite.hash, suite.auth, suite.group)


def _methods(names: Sequence[str]) -> tuple[int, ...]:
    by_name = {
        registry.v1_attribute_value(V1Attribute.AUTHENTICATION_METHOD, code).name: code
        for code in _attribute_values(V1Attribute.AUTHENTICATION_METHOD)
    }
    return tuple(by_name[name] for name in names if name in by_name)


def _psk_methods() -> tuple[int, ...]:
    return tuple(
        code
        for code in _attribute_values(V1Attribute.AUTHENTICATION_METHOD)
        if registry.v1_attribute_value(V1Attribute.AUTHENTICATION_METHOD, code).name
        in ("pre-shared key", "XAUTHInitPreShared")
    )


async def aggressive_mode(
    channel: IkeChannel,
    rng: Random,
    main_mode: IkeV1MainMode,
    identity: str = DEFAULT_IDENTITY,
) -> IkeV1AggressiveMode:
    """One Aggressive Mode message 1 with pre-shared-key suites, and what came back."""
    before = channel.packets_sent
    groups = [g for g in main_mode.groups if can_generate(g)]
    group = groups[0] if groups else FALLBACK_GROUP
    full = space()
    encryption = (
        tuple((a.id, a.key_length) for a in main_mode.encryption) or _common(full).encryption
    )
    hashes = main_mode.hash or _common(full).hash
    suites = list(_suites(Space(encryption, hashes, _psk_methods(), (group,))))[:MAX_TRANSFORMS]
    cookie = rng(8)
    request = aggressive_mode_request(
        initiator_cookie=cookie,
        suites=suites,
        key_exchange_data=public_value(group, rng(SECRET_LENGTH)),
        nonce=rng(32),
        id_type=IdType.USER_FQDN,
        identification=identity.encode(),
        vendor_ids=offered_vendor_ids(),
    )
    outcome = await channel.exchange(request, cookie)

    def result(status: str, detail: str, response: V1Response | None = None) -> IkeV1AggressiveMode:
        chosen = response.chosen if response is not None else None
        responder = response.responder_id if response is not None else None
        return IkeV1AggressiveMode(
            status=status,
            detail=detail,
            identity_type=IdType.USER_FQDN,
            identity=identity,
            accepted=_suite(chosen) if chosen is not None else None,
            hash_length=response.hash_length if response is not None else None,
            signature=response.signature if response is not None else False,
            responder_identity_type=responder.id_type if responder else None,
            responder_identity=(
                responder.identification_data.decode("latin-1")[:255] if responder else ""
            ),
            vendor_ids=tuple(v.hex() for v in response.vendor_ids) if response else (),
            packets_sent=channel.packets_sent - before,
        )

    if not isinstance(outcome, Answered):
        stop = _stop_for(outcome)
        return result("error" if stop.status == "budget" else stop.status, stop.detail)
    try:
        response = read_v1_response(outcome.message)
    except ProtocolViolation as error:
        return result("malformed", str(error))
    if response.chosen is not None and response.exchange_type == ExchangeType.AGGRESSIVE:
        if response.chosen not in suites:
            return result("malformed", "the responder chose a transform we did not offer", response)
        return result("enumerated", "", response)
    if response.notification == V1Notify.NO_PROPOSAL_CHOSEN:
        return result("no-proposal", "NO-PROPOSAL-CHOSEN", response)
    if response.notification is not None:
        name = registry.notify_type(1, response.notification).name
        return result("error", f"the responder answered {name}", response)
    return result("error", "the answer has neither an SA nor a notification", response)
