"""IKE observations: what an IPsec responder accepted before anyone authenticated. No judgement.

Code points stay ints (IKEv2 transform IDs; IKEv1 attribute values; key exchange
method numbers, which both versions share); names come from
`protoaudit.registry.ike` when a report shows them. Vendor IDs are kept as the
hex the responder sent; which implementation they name is the registry's to say.

`status` says how an exchange ended, in one word:
    enumerated      the responder answered and the lists are what it accepted
    no-proposal     it answered, and accepted nothing we offered (NO_PROPOSAL_CHOSEN)
    no-answer       nothing came back within the deadline, after every retry
    refused         the port is closed (ICMP port unreachable)
    malformed       it answered with bytes that are not IKE (detail quotes the error)
    error           it answered with another error notify (detail names it)
    not-tried       the probe did not get that far (detail says why)
    answered        (IkeNatTraversal only) it answered the one exchange sent there
`complete` is False when the probe stopped before the enumeration ended (the
packet budget, a responder that went silent or started demanding what we
cannot give): the lists then hold what was found so far.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from protoaudit.observations import Observation

__all__ = [
    "IkeAdditionalKeyExchange",
    "IkeAlgorithm",
    "IkeNatTraversal",
    "IkeV1AggressiveMode",
    "IkeV1MainMode",
    "IkeV1Suite",
    "IkeV2Choice",
    "IkeV2SaInit",
]


@dataclass(frozen=True, slots=True)
class IkeAlgorithm:
    """An encryption algorithm and its key length (None: the algorithm has a fixed size)."""

    id: int
    key_length: int | None


@dataclass(frozen=True, slots=True)
class IkeAdditionalKeyExchange:
    """The key exchange methods a responder took in one additional key exchange (RFC 9370).

    `transform_type` is 6-12 (ADDKE1-ADDKE7); NONE is never listed.
    """

    transform_type: int
    methods: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class IkeV2Choice:
    """The transforms a responder chose from one proposal of ours."""

    encryption: IkeAlgorithm
    prf: int
    integrity: int | None  # None with an AEAD cipher
    key_exchange: int
    additional_key_exchanges: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class IkeV2SaInit(Observation):
    """IKEv2 IKE_SA_INIT: every transform of each type the responder accepted, and its notifies."""

    kind: ClassVar[str] = "ike_v2_sa_init"
    status: str
    detail: str
    encryption: tuple[IkeAlgorithm, ...]
    prf: tuple[int, ...]
    integrity: tuple[int, ...]
    key_exchange: tuple[int, ...]  # transform type 4, in the order found
    additional_key_exchange: tuple[int, ...]  # RFC 9370 types 6-12 (ML-KEM …), any slot
    # What it picked when offered everything we know (its preference, or ours if it follows
    # the initiator's order), and the group its first INVALID_KE_PAYLOAD asked for.
    first_choice: IkeV2Choice | None
    requested_group: int | None
    cookie_required: bool  # it answered with a COOKIE notify (RFC 7296 2.6) at least once
    fragmentation_supported: bool  # IKEV2_FRAGMENTATION_SUPPORTED (RFC 7383)
    nat_detection: bool  # it sent NAT_DETECTION_*_IP notifies
    # Its NAT_DETECTION_DESTINATION_IP did not hash our address and port as we sent them:
    # something between us rewrote them. None: it sent no NAT detection.
    nat_detected: bool | None
    signature_hash_algorithms: tuple[int, ...]  # RFC 7427, as the responder listed them
    status_notifies: tuple[int, ...]  # every other status notify type it sent
    certificate_requests: tuple[int, ...]  # certificate encodings it asked for
    vendor_ids: tuple[str, ...]  # hex, as sent
    packets_sent: int
    complete: bool
    # RFC 9370: what each additional key exchange (ADDKE1-7) took, in transform type order.
    additional_key_exchange_slots: tuple[IkeAdditionalKeyExchange, ...] = ()
    # True: it took an additional key exchange and refused every offer of ours without one
    # (no IKE SA from it without, say, ML-KEM); False: it also accepted a proposal without
    # one; None: it never took one (or the probe stopped first).
    additional_key_exchange_required: bool | None = None
    # The same question for the first choice's own transforms alone (a responder may require
    # ML-KEM with one suite and allow it with another). None: the first choice has none.
    first_choice_additional_required: bool | None = None


@dataclass(frozen=True, slots=True)
class IkeV1Suite:
    """One IKEv1 Phase 1 transform: the four attributes that choose the algorithms."""

    encryption: int
    key_length: int | None
    hash: int
    auth: int
    group: int


@dataclass(frozen=True, slots=True)
class IkeV1MainMode(Observation):
    """IKEv1 Main Mode message 2: the transforms the responder picked, and the values found.

    The per-attribute lists are the union over the accepted transforms. A responder
    that checks the authentication method only later (strongSwan does, at message 5)
    accepts here every method it parses: `auth` is then what it did not refuse, not
    what it can complete.
    """

    kind: ClassVar[str] = "ike_v1_main_mode"
    status: str
    detail: str
    accepted: tuple[IkeV1Suite, ...]  # every transform it picked, in the order found
    encryption: tuple[IkeAlgorithm, ...]
    hash: tuple[int, ...]
    auth: tuple[int, ...]
    groups: tuple[int, ...]
    vendor_ids: tuple[str, ...]
    packets_sent: int
    complete: bool
    # Oddities seen on the way, in words (a responder that answered another value than the
    # one offered, which the probe then counts as refused).
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IkeV1AggressiveMode(Observation):
    """IKEv1 Aggressive Mode message 2 for a pre-shared-key transform, and what it revealed.

    A responder that answers with its HASH_R has keyed that hash with the
    pre-shared key (RFC 2409 5.4): anyone who saw the exchange can test guesses of
    the key offline (ike-scan's psk-crack does). No message 3 is ever sent.
    """

    kind: ClassVar[str] = "ike_v1_aggressive_mode"
    status: str
    detail: str
    identity_type: int  # the ID we sent (RFC 2407 4.6.2.1)
    identity: str
    accepted: IkeV1Suite | None
    hash_length: int | None  # bytes of HASH_R; None: no hash came back
    signature: bool  # a SIG payload came back instead (a signature method)
    responder_identity_type: int | None
    responder_identity: str  # as sent (reports sanitise); "" when none
    vendor_ids: tuple[str, ...]
    packets_sent: int


@dataclass(frozen=True, slots=True)
class IkeNatTraversal(Observation):
    """Whether the responder answers IKE on the NAT-T port, asked once beside an audit of another.

    On UDP 4500 every IKE message follows a 4-byte zero non-ESP marker (RFC 3948 2.2,
    RFC 7296 2.23). The probe sends one request there that the responder accepted on
    the audited port (IKEv2 IKE_SA_INIT with its first choice; IKEv1 Main Mode with a
    suite it picked, when IKEv2 found none). A port that stays silent or refuses is
    recorded here, not counted as a failure of the audit.
    """

    kind: ClassVar[str] = "ike_nat_t"
    port: int
    status: str  # answered, no-proposal, error, no-answer, refused, malformed, not-tried
    detail: str
    version: int | None  # the IKE version of the request sent; None: nothing was sent
    answers_ike: bool | None  # an IKE answer came back (of any kind); None: not tried
    cookie_required: bool  # it answered with a COOKIE notify first (IKEv2)
    packets_sent: int
