"""IKE responders that misbehave: silence, a closed port, garbage, hostile payload lengths,
endless cookies and INVALID_KE_PAYLOAD loops, floods for other exchanges; on the NAT-T
port, answers without the non-ESP marker, garbage behind it, keepalives only; and an
IKEv1 responder whose only suites are made of values nobody tries first.

Each peer is a UDP socket on 127.0.0.1 in a thread of its own; the probe runs
through run_ike_probes with a ProbeContext made here. Every audit must end
within a bound, send a bounded number of packets, and record what happened as
observations (never an exception).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import astuple
from datetime import UTC, datetime

import pytest
from hostile_helpers import Answer, UdpPeer

from protoaudit.engine.limits import Limiter
from protoaudit.engine.transport import Timeouts
from protoaudit.observations import ConnectionFailure, Observation, ProbeFailure
from protoaudit.observations_ike import (
    IkeAdditionalKeyExchange,
    IkeAlgorithm,
    IkeNatTraversal,
    IkeV1MainMode,
    IkeV2SaInit,
)
from protoaudit.probes.context import ProbeContext
from protoaudit.probes.ike import MAX_PACKETS, V1_PACKETS, V2_PACKETS, run_ike_probes
from protoaudit.probes.ike_nat_t import NAT_T_PACKETS
from protoaudit.proto.ike.exchanges import suite_of
from protoaudit.proto.ike.message import decode_message, encode_message
from protoaudit.proto.ike.payloads import (
    KeyExchange,
    Nonce,
    Notify,
    Payload,
    Proposal,
    SecurityAssociation,
    Transform,
    V1Notification,
    V1Proposal,
    V1SecurityAssociation,
)

TIMEOUT = 0.2


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def audit(port: int, nat_t_port: int | None = None) -> tuple[list[Observation], float]:
    """The audit of 127.0.0.1:`port`; `nat_t_port` stands in for UDP 4500 (by default a
    closed port, so that no test ever sends to the real 4500)."""
    context = ProbeContext(
        host="127.0.0.1",
        address="127.0.0.1",
        port=port,
        server_name=None,
        timeouts=Timeouts(connect=TIMEOUT, read=TIMEOUT),
        limiter=Limiter(4, 2),
        ca_file=None,
        now=datetime.now(UTC),
        retries=1,
    )
    sink: list[Observation] = []
    started = time.monotonic()
    asyncio.run(run_ike_probes(context, sink, nat_t_port=nat_t_port or closed_port()))
    return sink, time.monotonic() - started


def reply(
    request: bytes,
    payloads: tuple[Payload, ...],
    *,
    version: int = 2,
    exchange_type: int | None = None,
) -> bytes:
    return encode_message(
        initiator_spi=request[:8],
        responder_spi=b"R" * 8,
        major_version=version,
        exchange_type=request[18] if exchange_type is None else exchange_type,
        flags=0x20 if version == 2 else 0,
        message_id=0,
        payloads=payloads,
    )


def v2_only(answer: Answer) -> Answer:
    """IKEv2 requests get `answer`; IKEv1 ones are ignored."""
    return lambda data: answer(data) if len(data) > 17 and data[17] == 0x20 else []


def test_a_silent_port_ends_as_no_answer_in_bounded_time(
    udp: Callable[[Answer], UdpPeer],
) -> None:
    silent = udp(lambda _: [])
    sink, elapsed = audit(silent.port)
    (failure,) = [o for o in sink if isinstance(o, ConnectionFailure)]
    assert failure.reason == "timeout"
    assert elapsed < 2 * 2 * TIMEOUT + 1
    assert silent.received == 4  # two tries per version, no more


def test_a_closed_port_is_refused_at_once() -> None:
    sink, elapsed = audit(closed_port())
    (failure,) = [o for o in sink if isinstance(o, ConnectionFailure)]
    assert failure.reason == "refused"
    assert elapsed < 1


@pytest.mark.parametrize(
    ("name", "answer"),
    [
        ("garbage", lambda data: [b"\xff" * 40]),
        ("short", lambda data: [data[:10]]),
        (
            "zero-length payload",
            lambda data: [
                data[:16] + bytes([43, 0x20, 34, 0x20, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0, 0, 0])
            ],
        ),
        (
            "overrunning length",
            lambda data: [
                data[:16] + bytes([43, 0x20, 34, 0x20, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0, 0xFF, 0xFF])
            ],
        ),
        ("length larger than datagram", lambda data: [data[:24] + (10_000).to_bytes(4, "big")]),
    ],
)
def test_malformed_answers_are_observations(
    udp: Callable[[Answer], UdpPeer], name: str, answer: Answer
) -> None:
    hostile = udp(answer)
    sink, elapsed = audit(hostile.port)
    failures = [o for o in sink if isinstance(o, ProbeFailure)]
    assert failures, name
    assert {f.reason for f in failures} == {"malformed"}
    v2 = next(o for o in sink if isinstance(o, IkeV2SaInit))
    assert v2.status == "malformed"
    assert elapsed < 1


def test_endless_cookies_end_the_exchange(udp: Callable[[Answer], UdpPeer]) -> None:
    hostile = udp(v2_only(lambda data: [reply(data, (Notify(0, b"", 16390, b"c" * 16),))]))
    sink, _ = audit(hostile.port)
    v2 = next(o for o in sink if isinstance(o, IkeV2SaInit))
    assert v2.status == "error"
    assert v2.cookie_required
    assert v2.packets_sent == 2


def test_invalid_ke_for_a_group_never_offered_stops(udp: Callable[[Answer], UdpPeer]) -> None:
    hostile = udp(
        v2_only(lambda data: [reply(data, (Notify(0, b"", 17, (999).to_bytes(2, "big")),))])
    )
    sink, _ = audit(hostile.port)
    v2 = next(o for o in sink if isinstance(o, IkeV2SaInit))
    assert v2.status == "error"
    assert "999" in v2.detail
    assert hostile.received <= 4


def test_invalid_ke_without_a_group_is_malformed(udp: Callable[[Answer], UdpPeer]) -> None:
    hostile = udp(v2_only(lambda data: [reply(data, (Notify(0, b"", 17, b"\x00"),))]))
    sink, _ = audit(hostile.port)
    assert next(o for o in sink if isinstance(o, IkeV2SaInit)).status == "malformed"


def test_a_flood_for_other_exchanges_is_ignored_and_bounded(
    udp: Callable[[Answer], UdpPeer],
) -> None:
    def flood(data: bytes) -> list[bytes]:
        other = b"X" * 8 + data[8:]
        return [reply(other, (Notify(0, b"", 14, b""),))] * 50

    hostile = udp(flood)
    sink, elapsed = audit(hostile.port)
    assert any(isinstance(o, ConnectionFailure) and o.reason == "timeout" for o in sink)
    assert elapsed < 3


def test_no_proposal_chosen_everywhere_is_a_plain_answer(
    udp: Callable[[Answer], UdpPeer],
) -> None:
    def refuse(data: bytes) -> list[bytes]:
        return [refuse_any(data)]

    hostile = udp(refuse)
    sink, _ = audit(hostile.port)
    assert next(o for o in sink if isinstance(o, IkeV2SaInit)).status == "no-proposal"
    main = next(o for o in sink if isinstance(o, IkeV1MainMode))
    assert main.status == "no-proposal"
    assert not [o for o in sink if isinstance(o, ConnectionFailure | ProbeFailure)]
    assert hostile.received < MAX_PACKETS


# --- NAT-T: the non-ESP marker (RFC 3948 2.2) -------------------------------------------

MARKER = bytes(4)
# What the well-behaved IKEv2 responder below accepts, per transform type.
V2_ACCEPTS: dict[int, set[tuple[int, int | None]]] = {
    1: {(12, 128)},  # AES-CBC-128
    2: {(5, None)},  # PRF_HMAC_SHA2_256
    3: {(12, None)},  # AUTH_HMAC_SHA2_256_128
    4: {(19, None)},  # P-256
}


def choose_v2(data: bytes) -> list[bytes]:
    """A small IKEv2 responder: the first proposal whose every type has a transform it takes."""
    request = decode_message(data)
    (sa,) = [p for p in request.payloads if isinstance(p, SecurityAssociation)]
    (ke,) = [p for p in request.payloads if isinstance(p, KeyExchange)]
    for proposal in sa.proposals:
        chosen: dict[int, Transform] = {}
        for transform in proposal.transforms:
            code = (transform.transform_id, transform.key_length)
            if code in V2_ACCEPTS.get(transform.transform_type, set()):
                chosen.setdefault(transform.transform_type, transform)
        types = {transform.transform_type for transform in proposal.transforms}
        if set(chosen) != types:
            continue
        if ke.dh_group_num != 19:
            return [reply(data, (Notify(0, b"", 17, (19).to_bytes(2, "big")),))]
        answer = Proposal(1, 1, b"", tuple(chosen.values()))
        payloads = (SecurityAssociation((answer,)), KeyExchange(19, bytes(64)), Nonce(bytes(32)))
        return [reply(data, payloads)]
    return [reply(data, (Notify(0, b"", 14, b""),))]


def behind_marker(answer: Answer) -> Answer:
    """`answer` as a NAT-T responder: requests must carry the marker, answers carry it too."""
    return lambda data: [MARKER + r for r in answer(data[4:])] if data[:4] == MARKER else []


def test_an_answer_without_the_marker_on_the_nat_t_port_is_malformed(
    udp: Callable[[Answer], UdpPeer],
) -> None:
    # Given a responder on the NAT-T port that answers as if it were port 500
    seen: list[bytes] = []

    def unmarked(data: bytes) -> list[bytes]:
        seen.append(data)
        return v2_only(choose_v2)(data[4:])

    hostile = udp(unmarked)

    # When that port is audited
    sink, elapsed = audit(hostile.port, nat_t_port=hostile.port)

    # Then every request carried the marker, and the unmarked answer is malformed data
    assert seen
    assert all(data[:4] == MARKER and data[4:12] != MARKER for data in seen)
    v2 = next(o for o in sink if isinstance(o, IkeV2SaInit))
    assert v2.status == "malformed"
    assert "non_esp_marker" in v2.detail
    assert {f.reason for f in sink if isinstance(f, ProbeFailure)} == {"malformed"}
    assert elapsed < 2


@pytest.mark.parametrize(
    ("name", "answer"),
    [
        ("garbage behind the marker", lambda data: [MARKER + b"\xff" * 40]),
        ("only the marker", lambda data: [MARKER]),
        ("an ESP packet", lambda data: [b"\x12\x34\x56\x78" + data[4:]]),
    ],
)
def test_garbage_on_the_nat_t_port_is_malformed(
    udp: Callable[[Answer], UdpPeer], name: str, answer: Answer
) -> None:
    hostile = udp(answer)
    sink, elapsed = audit(hostile.port, nat_t_port=hostile.port)
    v2 = next(o for o in sink if isinstance(o, IkeV2SaInit))
    assert v2.status == "malformed", name
    assert {f.reason for f in sink if isinstance(f, ProbeFailure)} == {"malformed"}
    assert elapsed < 2


def test_nat_keepalives_are_skipped_not_taken_for_answers(
    udp: Callable[[Answer], UdpPeer],
) -> None:
    # Given a NAT-T port that only ever sends NAT-keepalives (one 0xFF byte)
    hostile = udp(lambda data: [b"\xff"] * 3)

    # When it is audited
    sink, elapsed = audit(hostile.port, nat_t_port=hostile.port)

    # Then it is as silent as a port that sends nothing: no answer, in bounded time
    (failure,) = [o for o in sink if isinstance(o, ConnectionFailure)]
    assert failure.reason == "timeout"
    assert not [o for o in sink if isinstance(o, ProbeFailure)]
    assert hostile.received == 4
    assert elapsed < 2 * 2 * TIMEOUT + 1


def test_a_silent_nat_t_port_is_recorded_not_an_error(
    udp: Callable[[Answer], UdpPeer],
) -> None:
    # Given a responder that accepts one IKEv2 suite on "port 500", and a silent "4500"
    responder = udp(v2_only(choose_v2))
    silent = udp(lambda _: [])

    # When port 500 is audited
    sink, _ = audit(responder.port, nat_t_port=silent.port)

    # Then the NAT-T port got the accepted proposal, once retried, and its silence is data
    v2 = next(o for o in sink if isinstance(o, IkeV2SaInit))
    assert (v2.status, v2.complete) == ("enumerated", True)
    nat_t = next(o for o in sink if isinstance(o, IkeNatTraversal))
    assert (nat_t.port, nat_t.status, nat_t.answers_ike) == (silent.port, "no-answer", False)
    assert nat_t.version == 2
    assert silent.received == nat_t.packets_sent == 2
    assert not [o for o in sink if isinstance(o, ConnectionFailure | ProbeFailure)]


@pytest.mark.parametrize(
    ("name", "answer", "status", "answers"),
    [
        ("answers behind the marker", behind_marker(choose_v2), "answered", True),
        ("answers without the marker", lambda data: choose_v2(data[4:]), "malformed", False),
        ("garbage", lambda data: [MARKER + b"\x00" * 3], "malformed", False),
        ("floods", lambda data: [MARKER + b"\xff" * 28] * 40, "malformed", False),
    ],
)
def test_what_the_nat_t_port_answers_is_recorded_in_bounds(
    udp: Callable[[Answer], UdpPeer], name: str, answer: Answer, status: str, answers: bool
) -> None:
    responder = udp(v2_only(choose_v2))
    nat_t_peer = udp(answer)
    sink, elapsed = audit(responder.port, nat_t_port=nat_t_peer.port)
    nat_t = next(o for o in sink if isinstance(o, IkeNatTraversal))
    assert (nat_t.status, nat_t.answers_ike) == (status, answers), name
    assert nat_t_peer.received <= NAT_T_PACKETS
    assert not [o for o in sink if isinstance(o, ProbeFailure)]
    assert elapsed < 3


# --- IKEv1: suites nobody tries first --------------------------------------------------

# (cipher, key length, hash, method, group): Camellia-256/SHA2-512/PSK/ECP-521 and
# CAST/SHA2-384/PSK/MODP-3072. This responder checks the method in message 1.
UNCOMMON_V1 = {(8, 256, 6, 1, 21), (6, None, 5, 1, 15)}


def main_mode_responder(accepts: set[tuple[int, int | None, int, int, int]]) -> Answer:
    """IKEv1 Main Mode message 2 with the first offered transform it accepts, else
    NO-PROPOSAL-CHOSEN; IKEv2 and Aggressive Mode get NO_PROPOSAL_CHOSEN."""

    def answer(data: bytes) -> list[bytes]:
        if data[17] == 0x20 or data[18] != 2:
            return [refuse_any(data)]
        request = decode_message(data)
        (sa,) = [p for p in request.payloads if isinstance(p, V1SecurityAssociation)]
        for transform in sa.proposals[0].transforms:
            suite = suite_of(transform)
            if suite and astuple(suite) in accepts:
                chosen = V1Proposal(1, 1, b"", (transform,))
                return [reply(data, (V1SecurityAssociation(1, 1, (chosen,)),), version=1)]
        return [refuse_any(data)]

    return answer


def vars_of(suite: object) -> tuple[int | None, ...]:
    return tuple(
        getattr(suite, name) for name in ("encryption", "key_length", "hash", "auth", "group")
    )


def refuse_any(data: bytes) -> bytes:
    if data[17] == 0x20:
        return reply(data, (Notify(0, b"", 14, b""),))
    return reply(data, (V1Notification(1, 1, b"", 14, b""),), version=1, exchange_type=5)


def test_ikev1_suites_of_only_uncommon_values_are_all_found(
    udp: Callable[[Answer], UdpPeer],
) -> None:
    # Given a responder whose only suites share no value with the common ones
    responder = udp(main_mode_responder(UNCOMMON_V1))

    # When it is audited
    sink, _ = audit(responder.port)

    # Then Main Mode found exactly those suites, completely, within its budget
    main = next(o for o in sink if isinstance(o, IkeV1MainMode))
    assert (main.status, main.complete) == ("enumerated", True)
    found = {(s.encryption, s.key_length, s.hash, s.auth, s.group) for s in main.accepted}
    assert found == UNCOMMON_V1
    assert main.packets_sent <= V1_PACKETS


def test_a_main_mode_that_refuses_everything_costs_a_bounded_sweep(
    udp: Callable[[Answer], UdpPeer],
) -> None:
    responder = udp(main_mode_responder(set()))
    sink, _ = audit(responder.port)
    main = next(o for o in sink if isinstance(o, IkeV1MainMode))
    assert (main.status, main.accepted) == ("no-proposal", ())
    # The common suites (7 packets), then all 1,100 combinations with PSK and with RSA
    # signatures, less the common ones already refused: 33 packets each.
    assert main.packets_sent == 7 + 33 + 33
    assert responder.received < MAX_PACKETS


# --- RFC 9370: responders that require, allow or do not know additional key exchanges --------

NONE = 0
Config = dict[int, tuple[tuple[int, int | None], ...]]  # transform type -> (id, key length)
GCM256_SHA384_X25519: Config = {1: ((20, 256),), 2: ((6, None),), 4: ((31, None),)}
CBC128_SHA256_MODP2048: Config = {
    1: ((12, 128),),
    2: ((5, None),),
    3: ((12, None),),
    4: ((14, None),),
}


def _select(config: Config, offered: Proposal) -> list[Transform] | None:
    """strongSwan 6's rule: every type of either side must meet; an ADDKE type that one side
    lacks stands for NONE; the responder's own order decides."""
    by_type: dict[int, list[Transform]] = {}
    for transform in offered.transforms:
        by_type.setdefault(transform.transform_type, []).append(transform)
    chosen: list[Transform] = []
    for kind in sorted(set(config) | set(by_type)):
        if kind < 6 and (kind not in config or kind not in by_type):
            return None
        wanted = config.get(kind, ((NONE, None),))
        offers = by_type.get(kind, [Transform(kind, NONE)])
        pick = next(
            (o for w in wanted for o in offers if (o.transform_id, o.key_length) == w), None
        )
        if pick is None:
            return None
        if pick.transform_id != NONE:  # strongSwan leaves NONE out of its answer
            chosen.append(pick)
    return chosen


def rfc9370_responder(configs: list[Config], *, legacy: bool = False) -> Answer:
    """An IKEv2 responder with `configs` (its preference order). `legacy`: it predates RFC 9370
    and refuses every proposal with a transform type above 5 (RFC 7296 3.3.6)."""

    def answer(data: bytes) -> list[bytes]:
        request = decode_message(data)
        (sa,) = [p for p in request.payloads if isinstance(p, SecurityAssociation)]
        (ke,) = [p for p in request.payloads if isinstance(p, KeyExchange)]
        for config in configs:
            for proposal in sa.proposals:
                if legacy and any(t.transform_type > 5 for t in proposal.transforms):
                    continue
                chosen = _select(config, proposal)
                if chosen is None:
                    continue
                group = next(t.transform_id for t in chosen if t.transform_type == 4)
                if ke.dh_group_num != group:
                    return [reply(data, (Notify(0, b"", 17, group.to_bytes(2, "big")),))]
                answer = Proposal(proposal.proposal_num, 1, b"", tuple(chosen))
                payloads = (
                    SecurityAssociation((answer,)),
                    KeyExchange(group, bytes(32)),
                    Nonce(bytes(32)),
                )
                return [reply(data, payloads)]
        return [reply(data, (Notify(0, b"", 14, b""),))]

    return v2_only(answer)


def v2_audit(udp: Callable[[Answer], UdpPeer], configs: list[Config], **kw: bool) -> IkeV2SaInit:
    responder = udp(rfc9370_responder(configs, **kw))
    sink, _ = audit(responder.port)
    assert not [o for o in sink if isinstance(o, ProbeFailure)]
    seen = next(o for o in sink if isinstance(o, IkeV2SaInit))
    assert seen.packets_sent <= V2_PACKETS
    return seen


def test_a_responder_that_requires_ml_kem_is_enumerated(
    udp: Callable[[Answer], UdpPeer],
) -> None:
    # Given strongSwan's aes256gcm16-prfsha384-x25519-ke1_mlkem768, which refuses any
    # proposal without ML-KEM-768 in ADDKE1
    config = {**GCM256_SHA384_X25519, 6: ((36, None),)}

    # When it is audited
    seen = v2_audit(udp, [config])

    # Then the offers carried ADDKE, so it answered: the whole suite, ML-KEM-768 in ADDKE1
    # (also in the first choice), and that it takes no IKE SA without it
    assert (seen.status, seen.complete) == ("enumerated", True)
    assert seen.encryption == (IkeAlgorithm(20, 256),)
    assert (seen.prf, seen.key_exchange) == ((6,), (31,))
    assert seen.additional_key_exchange == (36,)
    assert seen.additional_key_exchange_slots == (IkeAdditionalKeyExchange(6, (36,)),)
    assert seen.first_choice is not None
    assert seen.first_choice.additional_key_exchanges == (36,)
    assert seen.additional_key_exchange_required is True
    assert seen.first_choice_additional_required is True


def test_an_optional_ml_kem_shows_in_the_first_choice(
    udp: Callable[[Answer], UdpPeer],
) -> None:
    # Given ke1_mlkem768-ke1_none beside a classic suite: ML-KEM whenever it is offered
    optional = {**GCM256_SHA384_X25519, 6: ((36, None), (NONE, None))}

    seen = v2_audit(udp, [optional, CBC128_SHA256_MODP2048])

    assert (seen.status, seen.complete) == ("enumerated", True)
    assert seen.first_choice is not None
    assert seen.first_choice.additional_key_exchanges == (36,)
    assert seen.additional_key_exchange == (36,)
    assert seen.additional_key_exchange_required is False
    assert seen.first_choice_additional_required is False
    assert set(seen.key_exchange) == {31, 14}


def test_addke2_on_another_proposal_is_found(udp: Callable[[Answer], UdpPeer]) -> None:
    # Given a responder whose first suite has no additional exchange, and whose second
    # takes ML-KEM-1024 or -768 in ADDKE2 only (ADDKE1 NONE)
    second: Config = {
        1: ((20, 128),),
        2: ((5, None),),
        4: ((19, None),),
        6: ((NONE, None),),
        7: ((37, None), (36, None), (NONE, None)),
    }

    seen = v2_audit(udp, [GCM256_SHA384_X25519, second])

    # Then both ADDKE2 methods are found, in that type, though the first choice has none
    assert (seen.status, seen.complete) == ("enumerated", True)
    assert seen.first_choice is not None
    assert seen.first_choice.additional_key_exchanges == ()
    assert seen.additional_key_exchange_slots == (IkeAdditionalKeyExchange(7, (37, 36)),)
    assert set(seen.additional_key_exchange) == {36, 37}
    assert seen.additional_key_exchange_required is False
    assert seen.first_choice_additional_required is None


def test_a_responder_that_predates_rfc_9370_answers_the_copy_without(
    udp: Callable[[Answer], UdpPeer],
) -> None:
    # Given a responder that refuses every proposal with a transform type it does not know
    seen = v2_audit(udp, [GCM256_SHA384_X25519, CBC128_SHA256_MODP2048], legacy=True)

    # Then the copies without ADDKE are what it answers, and nothing is found beyond them
    assert (seen.status, seen.complete) == ("enumerated", True)
    assert set(seen.encryption) == {IkeAlgorithm(20, 256), IkeAlgorithm(12, 128)}
    assert set(seen.key_exchange) == {31, 14}
    assert seen.additional_key_exchange == ()
    assert seen.additional_key_exchange_slots == ()
    assert seen.additional_key_exchange_required is None
