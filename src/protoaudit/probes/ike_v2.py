"""IKEv2: which transforms an IKE_SA_INIT responder accepts, found in a few dozen packets.

Theory of operation. RFC 7296 lets a responder pick one transform of each
type from a proposal, and tells an initiator whose KE payload is for the
wrong group which group it wants (INVALID_KE_PAYLOAD). So:

1. Offer every algorithm we know in one SA (AEAD ciphers in one proposal,
   classic ciphers with integrity in another), with a KE for P-256. Each
   proposal carries ADDKE1-7 (RFC 9370) as {ML-KEM-512/768/1024, NONE} and is
   sent again without them: a responder that requires an additional key
   exchange answers the first, one that predates RFC 9370 (and refuses
   proposals with transform types it does not know) the copy. The answer is
   the responder's first choice, or the group it wants; with a KE for that
   group (when we can make one) it becomes a chosen proposal.
2. Per transform type, offer everything again minus what was found of that
   type: each answer names one more accepted transform, until
   NO_PROPOSAL_CHOSEN. Groups need no KE at all: offered groups that exclude
   the KE's group make the responder name its next group in INVALID_KE_PAYLOAD.
3. Per additional key exchange type (ADDKE1-7), everything again with that
   type offering only the methods not yet found there (no NONE, no copy
   without): each answer names one more, until NO_PROPOSAL_CHOSEN. Then,
   if it took any, whether it also accepts an IKE SA without one: a chosen
   proposal without one on the way says so; otherwise everything offered
   without additional key exchanges, and the first choice's transforms
   alone likewise (a responder may require ML-KEM with one suite only).

A COOKIE answer is honoured once per exchange (RFC 7296 2.6: the same request
again, the cookie first) and recorded; a second COOKIE ends the exchange. Against
a responder that demands cookies (lab/ike's ike-cookie) every exchange costs two
packets, which V2_PACKETS (probes/ike.py) allows for.
Every exchange goes through IkeChannel (deadline, retries, packet budget).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from protoaudit.errors import DecodeError, ProtocolViolation
from protoaudit.observations_ike import (
    IkeAdditionalKeyExchange,
    IkeAlgorithm,
    IkeV2Choice,
    IkeV2SaInit,
)
from protoaudit.probes.ike_transport import (
    Answered,
    Exhausted,
    IkeChannel,
    Malformed,
    Refused,
    Silent,
)
from protoaudit.proto.ike.constants import V2Notify
from protoaudit.proto.ike.exchanges import (
    Offer,
    SaInitResponse,
    chosen_additional,
    chosen_transforms,
    nat_detection_hash,
    proposals_for,
    read_sa_init_response,
    sa_init_request,
    u16_list,
)
from protoaudit.proto.ike.keyexchange import SECRET_LENGTH, can_generate, public_value
from protoaudit.registry import ike as registry

Random = Callable[[int], bytes]
FIRST_GROUP = 19  # P-256: cheap to make, RFC 8247 SHOULD
MAX_REDIRECTS = 24  # INVALID_KE_PAYLOAD answers followed within one choice
DH_KINDS = ("modp", "modp_subgroup", "ecp", "brainpool", "montgomery")
# Offered as additional key exchanges: the post-quantum KEMs of the registry.
ADDITIONAL_KINDS = ("mlkem",)
NONE = 0  # RFC 9370 2.2.1: "no additional key exchange" in an ADDKE type
_NOT_FOR_IKE = ("_IIV", "GMAC", "KTREE")  # ESP-only or GOST-only ciphers


def _encryption_candidates() -> tuple[tuple[int, int | None], ...]:
    found: list[tuple[int, int | None]] = []
    for (kind, code), entry in registry.transform_ids().items():
        if kind != registry.ENCRYPTION or any(part in entry.name for part in _NOT_FOR_IKE):
            continue
        found += [(code, bits) for bits in entry.key_lengths] or [(code, None)]
    return tuple(found)


def candidates() -> Offer:
    """Every transform this probe offers, from the registry."""
    ids = registry.transform_ids()
    prf = tuple(c for (k, c), e in ids.items() if k == registry.PRF and "STREEBOG" not in e.name)
    integrity = tuple(
        c for (k, c), e in ids.items() if k == registry.INTEGRITY and c and "GMAC" not in e.name
    )
    groups = tuple(
        code for code, m in registry.key_exchange_methods().items() if m.kind in DH_KINDS
    )
    optional = (*additional_methods(), NONE)
    return Offer(
        _encryption_candidates(),
        prf,
        integrity,
        groups,
        additional=tuple((kind, optional) for kind in registry.additional_key_exchange_types()),
        also_without_additional=True,
    )


def additional_methods() -> tuple[int, ...]:
    """The methods offered in each additional key exchange type (RFC 9370)."""
    methods = registry.key_exchange_methods().items()
    return tuple(code for code, m in methods if m.kind in ADDITIONAL_KINDS)


@dataclass(frozen=True, slots=True)
class Stop:
    status: str
    detail: str


@dataclass(frozen=True, slots=True)
class NoProposal:
    pass


@dataclass
class _Found:
    encryption: list[IkeAlgorithm] = field(default_factory=list)
    prf: list[int] = field(default_factory=list)
    integrity: list[int] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)
    additional: list[int] = field(default_factory=list)
    # ADDKE transform type -> methods it took there, in the order found
    additional_slots: dict[int, list[int]] = field(default_factory=dict)
    # A chosen proposal without additional key exchange: classic-only IKE SAs are accepted.
    chose_without_additional: bool = False
    additional_required: bool | None = None
    first_choice_additional_required: bool | None = None
    cookie_required: bool = False
    fragmentation: bool = False
    nat_detection: bool = False
    nat_detected: bool | None = None
    signature_hashes: tuple[int, ...] = ()
    notifies: list[int] = field(default_factory=list)
    certificate_requests: list[int] = field(default_factory=list)
    vendor_ids: list[str] = field(default_factory=list)

    def add(self, values: list[int], value: int) -> None:
        if value not in values:
            values.append(value)


def _unit(transform_id: int, key_length: int | None) -> IkeAlgorithm:
    return IkeAlgorithm(transform_id, key_length)


class V2Prober:
    def __init__(self, channel: IkeChannel, rng: Random) -> None:
        self.channel = channel
        self.rng = rng
        self.found = _Found()
        self.first_choice: IkeV2Choice | None = None
        self.requested_group: int | None = None
        self.answered = False
        self.packets_before = channel.packets_sent

    # -- one exchange --------------------------------------------------------------------

    async def sa_init(self, offer: Offer, group: int) -> SaInitResponse | Stop:
        spi, nonce = self.rng(8), self.rng(32)
        key_exchange_data = public_value(group, self.rng(SECRET_LENGTH))
        local, remote = self.channel.local_address, self.channel.remote_address
        cookie: bytes | None = None
        for _ in range(2):  # the first try, and once more with a cookie
            request = sa_init_request(
                initiator_spi=spi,
                proposals=proposals_for(offer),
                dh_group_num=group,
                key_exchange_data=key_exchange_data,
                nonce=nonce,
                nat_source_hash=nat_detection_hash(spi, bytes(8), *local),
                nat_destination_hash=nat_detection_hash(spi, bytes(8), *remote),
                cookie=cookie,
                intermediate=bool(offer.additional),
            )
            outcome = await self.channel.exchange(request, spi)
            if isinstance(outcome, Silent):
                return Stop("no-answer", f"no answer after {outcome.attempts} tries")
            if isinstance(outcome, Refused):
                return Stop("refused", outcome.detail)
            if isinstance(outcome, Malformed):
                return Stop("malformed", str(outcome.error))
            if isinstance(outcome, Exhausted):
                return Stop("budget", outcome.what)
            assert isinstance(outcome, Answered)
            try:
                response = read_sa_init_response(outcome.message)
            except (ProtocolViolation, DecodeError) as error:
                return Stop("malformed", str(error))
            self.answered = True
            if response.cookie is not None and response.chosen is None and cookie is None:
                self.found.cookie_required = True
                cookie = response.cookie[:64]  # RFC 7296 3.10.1: 1-64 bytes
                continue
            self._note(response, spi, local)
            return response
        return Stop("error", "the responder asked for a cookie again after we returned one")

    def _note(self, response: SaInitResponse, spi: bytes, local: tuple[str, int]) -> None:
        found = self.found
        for value in response.vendor_ids:
            if value.hex() not in found.vendor_ids:
                found.vendor_ids.append(value.hex())
        if response.chosen is None:
            return
        responder_spi = response.message.header.responder_spi
        for notify in response.notifies:
            code = notify.notify_message_type
            if code == V2Notify.IKEV2_FRAGMENTATION_SUPPORTED:
                found.fragmentation = True
            elif code == V2Notify.NAT_DETECTION_DESTINATION_IP:
                found.nat_detection = True
                expected = nat_detection_hash(spi, responder_spi, *local)
                found.nat_detected = (
                    bool(found.nat_detected) or notify.notification_data != expected
                )
            elif code == V2Notify.NAT_DETECTION_SOURCE_IP:
                found.nat_detection = True
            elif code == V2Notify.SIGNATURE_HASH_ALGORITHMS:
                try:
                    found.signature_hashes = u16_list(notify.notification_data, "hashes")
                except DecodeError:
                    found.signature_hashes = ()
            elif code != V2Notify.COOKIE:
                found.add(found.notifies, code)
        for encoding in response.certificate_requests:
            found.add(found.certificate_requests, encoding)

    # -- one choice, following INVALID_KE_PAYLOAD ------------------------------------------

    async def choose(self, offer: Offer, group: int) -> IkeV2Choice | NoProposal | Stop:
        for _ in range(MAX_REDIRECTS):
            response = await self.sa_init(offer, group)
            if isinstance(response, Stop):
                return response
            if response.chosen is not None:
                return self._record(response)
            wanted = response.requested_group
            if wanted is not None:
                if self.requested_group is None:
                    self.requested_group = wanted
                if wanted not in offer.groups or wanted == group:
                    return Stop("error", f"INVALID_KE_PAYLOAD asks for group {wanted}, not offered")
                self.found.add(self.found.groups, wanted)
                if can_generate(wanted):
                    group = wanted
                else:  # we cannot make its KE: learn it, and offer the others
                    offer = replace(offer, groups=tuple(g for g in offer.groups if g != wanted))
                    if group not in offer.groups:
                        return NoProposal()
                continue
            if response.error == V2Notify.NO_PROPOSAL_CHOSEN:
                return NoProposal()
            name = registry.notify_type(2, response.error or 0).name
            return Stop("error", f"the responder answered {name}")
        return Stop("error", f"more than {MAX_REDIRECTS} INVALID_KE_PAYLOAD answers")

    def _record(self, response: SaInitResponse) -> IkeV2Choice | Stop:
        assert response.chosen is not None
        by_type = chosen_transforms(response.chosen)
        try:
            (encryption,) = by_type[registry.ENCRYPTION]
            (prf,) = by_type[registry.PRF]
            (group,) = by_type[registry.KEY_EXCHANGE]
        except (KeyError, ValueError):
            return Stop("malformed", "the chosen proposal lacks a transform type or repeats one")
        integrity = by_type.get(registry.INTEGRITY, [])
        slots = sorted(chosen_additional(response.chosen))
        if len({kind for kind, _ in slots}) != len(slots):
            return Stop("malformed", "the chosen proposal repeats an additional key exchange type")
        additional = [method for _, method in slots]
        choice = IkeV2Choice(
            encryption=_unit(encryption.transform_id, encryption.key_length),
            prf=prf.transform_id,
            integrity=integrity[0].transform_id if integrity else None,
            key_exchange=group.transform_id,
            additional_key_exchanges=tuple(additional),
        )
        found = self.found
        if choice.encryption not in found.encryption:
            found.encryption.append(choice.encryption)
        found.add(found.prf, choice.prf)
        if choice.integrity:
            found.add(found.integrity, choice.integrity)
        found.add(found.groups, choice.key_exchange)
        for kind, method in slots:
            found.add(found.additional, method)
            found.add(found.additional_slots.setdefault(kind, []), method)
        if not slots:
            found.chose_without_additional = True
        return choice

    # -- the whole enumeration -----------------------------------------------------------

    def _usable_group(self) -> int:
        return next((g for g in self.found.groups if can_generate(g)), FIRST_GROUP)

    async def run(self) -> IkeV2SaInit:
        full = candidates()
        first = await self.choose(full, FIRST_GROUP)
        if isinstance(first, Stop):
            status = "error" if first.status == "budget" else first.status
            return self.observation(status, first.detail, complete=False)
        if isinstance(first, NoProposal):
            return self.observation("no-proposal", "NO_PROPOSAL_CHOSEN to every transform")
        self.first_choice = first
        stopped: Stop | None = None
        for dimension in ("encryption", "prf", "integrity", "groups"):
            stopped = await self._enumerate(full, dimension)
            if stopped is not None:
                break
        if stopped is None:
            stopped = await self._additional(full, first)
        if stopped is not None:
            return self.observation("enumerated", stopped.detail, complete=False)
        return self.observation("enumerated", "")

    async def _enumerate(self, full: Offer, dimension: str) -> Stop | None:
        found = self.found
        while True:
            if dimension == "encryption":
                rest = tuple(e for e in full.encryption if _unit(*e) not in found.encryption)
                offer = replace(full, encryption=rest)
            elif dimension == "prf":
                offer = replace(full, prf=tuple(c for c in full.prf if c not in found.prf))
            elif dimension == "integrity":
                classic = tuple(
                    e
                    for e in full.encryption
                    if not registry.transform_id(registry.ENCRYPTION, e[0]).aead
                )
                rest_integrity = tuple(c for c in full.integrity if c not in found.integrity)
                offer = replace(full, encryption=classic, integrity=rest_integrity)
            else:
                rest_groups = tuple(g for g in full.groups if g not in found.groups)
                offer = replace(full, groups=rest_groups)
            if not proposals_for(offer) or not offer.groups or not offer.prf:
                return None
            outcome: IkeV2Choice | int | NoProposal | Stop
            if dimension == "groups":
                outcome = await self._next_group(offer)
            else:
                outcome = await self.choose(offer, self._usable_group())
            if isinstance(outcome, Stop):
                return outcome
            if isinstance(outcome, NoProposal):
                return None

    async def _next_group(self, offer: Offer) -> int | NoProposal | Stop:
        """The next accepted group, from INVALID_KE_PAYLOAD with a KE outside the offer."""
        group = self._usable_group()
        before = len(self.found.groups)
        response = await self.sa_init(offer, group)
        if isinstance(response, Stop):
            return response
        if response.chosen is not None:  # it ignored our KE's group: take what it chose
            choice = self._record(response)
            if isinstance(choice, Stop):
                return choice
            return choice.key_exchange if len(self.found.groups) > before else NoProposal()
        wanted = response.requested_group
        if wanted is not None:
            if wanted not in offer.groups:
                return Stop("error", f"INVALID_KE_PAYLOAD asks for group {wanted}, not offered")
            self.found.add(self.found.groups, wanted)
            return NoProposal() if len(self.found.groups) == before else wanted
        if response.error == V2Notify.NO_PROPOSAL_CHOSEN:
            return NoProposal()
        return Stop("error", f"the responder answered {response.error}")

    async def _additional(self, full: Offer, first: IkeV2Choice) -> Stop | None:
        """Each ADDKE type's methods, then whether the responder insists on one (RFC 9370)."""
        methods = additional_methods()
        kinds = registry.additional_key_exchange_types()
        optional = (*methods, NONE)
        for kind in kinds:
            taken = self.found.additional_slots.setdefault(kind, [])
            while rest := tuple(m for m in methods if m not in taken):
                slots = tuple((k, rest if k == kind else optional) for k in kinds)
                offer = replace(full, additional=slots, also_without_additional=False)
                before = len(taken)
                outcome = await self.choose(offer, self._usable_group())
                if isinstance(outcome, Stop):
                    return outcome
                if isinstance(outcome, NoProposal) or len(taken) == before:
                    break  # nothing (more) there; or it ignored the type asked about
        if not self.found.additional:
            return None
        return await self._required(full, first)

    async def _required(self, full: Offer, first: IkeV2Choice) -> Stop | None:
        """Whether an IKE SA without an additional key exchange is refused, overall and for the
        first choice's transforms."""
        found = self.found
        if found.chose_without_additional:
            found.additional_required = False
        else:
            outcome = await self.choose(replace(full, additional=()), self._usable_group())
            if isinstance(outcome, Stop):
                return outcome
            found.additional_required = isinstance(outcome, NoProposal)
        if not first.additional_key_exchanges:
            return None
        alone = Offer(
            encryption=((first.encryption.id, first.encryption.key_length),),
            prf=(first.prf,),
            integrity=(first.integrity,) if first.integrity else (),
            groups=(first.key_exchange,),
        )
        if not can_generate(first.key_exchange):
            return None
        outcome = await self.choose(alone, first.key_exchange)
        if isinstance(outcome, Stop):
            return outcome
        found.first_choice_additional_required = isinstance(outcome, NoProposal)
        return None

    def observation(self, status: str, detail: str, *, complete: bool = True) -> IkeV2SaInit:
        found = self.found
        return IkeV2SaInit(
            status=status,
            detail=detail,
            encryption=tuple(found.encryption),
            prf=tuple(found.prf),
            integrity=tuple(found.integrity),
            key_exchange=tuple(found.groups),
            additional_key_exchange=tuple(found.additional),
            additional_key_exchange_slots=tuple(
                IkeAdditionalKeyExchange(kind, tuple(methods))
                for kind, methods in sorted(found.additional_slots.items())
                if methods
            ),
            additional_key_exchange_required=found.additional_required,
            first_choice_additional_required=found.first_choice_additional_required,
            first_choice=self.first_choice,
            requested_group=self.requested_group,
            cookie_required=found.cookie_required,
            fragmentation_supported=found.fragmentation,
            nat_detection=found.nat_detection,
            nat_detected=found.nat_detected,
            signature_hash_algorithms=found.signature_hashes,
            status_notifies=tuple(found.notifies),
            certificate_requests=tuple(found.certificate_requests),
            vendor_ids=tuple(found.vendor_ids),
            packets_sent=self.channel.packets_sent - self.packets_before,
            complete=complete,
        )
