"""IKE responders that misbehave: silence, a closed port, garbage, hostile payload lengths,
endless cookies and INVALID_KE_PAYLOAD loops, floods for other exchanges.

Each peer is a UDP socket on 127.0.0.1 in a thread of its own; the probe runs
through run_ike_probes with a ProbeContext made here. Every audit must end
within a bound, send a bounded number of packets, and record what happened as
observations (never an exception).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from protoaudit.engine.limits import Limiter
from protoaudit.engine.transport import Timeouts
from protoaudit.observations import ConnectionFailure, Observation, ProbeFailure
from protoaudit.observations_ike import IkeV1MainMode, IkeV2SaInit
from protoaudit.probes.context import ProbeContext
from protoaudit.probes.ike import MAX_PACKETS, run_ike_probes
from protoaudit.proto.ike.message import encode_message
from protoaudit.proto.ike.payloads import Notify, V1Notification

Answer = Callable[[bytes], list[bytes]]  # request -> datagrams to send back
TIMEOUT = 0.2


class UdpPeer:
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self.received = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, sender = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            self.received += 1
            for reply in self.answer(data):
                self.sock.sendto(reply, sender)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def peer() -> Iterator[Callable[[Answer], UdpPeer]]:
    peers: list[UdpPeer] = []

    def start(answer: Answer) -> UdpPeer:
        made = UdpPeer(answer)
        peers.append(made)
        return made

    yield start
    for made in peers:
        made.stop()


def audit(port: int) -> tuple[list[Observation], float]:
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
    asyncio.run(run_ike_probes(context, sink))
    return sink, time.monotonic() - started


def reply(request: bytes, payloads: tuple[Notify, ...], *, version: int = 2) -> bytes:
    return encode_message(
        initiator_spi=request[:8],
        responder_spi=b"R" * 8,
        major_version=version,
        exchange_type=request[18],
        flags=0x20 if version == 2 else 0,
        message_id=0,
        payloads=payloads,
    )


def v2_only(answer: Answer) -> Answer:
    """IKEv2 requests get `answer`; IKEv1 ones are ignored."""
    return lambda data: answer(data) if len(data) > 17 and data[17] == 0x20 else []


def test_a_silent_port_ends_as_no_answer_in_bounded_time(
    peer: Callable[[Answer], UdpPeer],
) -> None:
    silent = peer(lambda _: [])
    sink, elapsed = audit(silent.port)
    (failure,) = [o for o in sink if isinstance(o, ConnectionFailure)]
    assert failure.reason == "timeout"
    assert elapsed < 2 * 2 * TIMEOUT + 1
    assert silent.received == 4  # two tries per version, no more


def test_a_closed_port_is_refused_at_once() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink, elapsed = audit(port)
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
    peer: Callable[[Answer], UdpPeer], name: str, answer: Answer
) -> None:
    hostile = peer(answer)
    sink, elapsed = audit(hostile.port)
    failures = [o for o in sink if isinstance(o, ProbeFailure)]
    assert failures, name
    assert {f.reason for f in failures} == {"malformed"}
    v2 = next(o for o in sink if isinstance(o, IkeV2SaInit))
    assert v2.status == "malformed"
    assert elapsed < 1


def test_endless_cookies_end_the_exchange(peer: Callable[[Answer], UdpPeer]) -> None:
    hostile = peer(v2_only(lambda data: [reply(data, (Notify(0, b"", 16390, b"c" * 16),))]))
    sink, _ = audit(hostile.port)
    v2 = next(o for o in sink if isinstance(o, IkeV2SaInit))
    assert v2.status == "error"
    assert v2.cookie_required
    assert v2.packets_sent == 2


def test_invalid_ke_for_a_group_never_offered_stops(peer: Callable[[Answer], UdpPeer]) -> None:
    hostile = peer(
        v2_only(lambda data: [reply(data, (Notify(0, b"", 17, (999).to_bytes(2, "big")),))])
    )
    sink, _ = audit(hostile.port)
    v2 = next(o for o in sink if isinstance(o, IkeV2SaInit))
    assert v2.status == "error"
    assert "999" in v2.detail
    assert hostile.received <= 4


def test_invalid_ke_without_a_group_is_malformed(peer: Callable[[Answer], UdpPeer]) -> None:
    hostile = peer(v2_only(lambda data: [reply(data, (Notify(0, b"", 17, b"\x00"),))]))
    sink, _ = audit(hostile.port)
    assert next(o for o in sink if isinstance(o, IkeV2SaInit)).status == "malformed"


def test_a_flood_for_other_exchanges_is_ignored_and_bounded(
    peer: Callable[[Answer], UdpPeer],
) -> None:
    def flood(data: bytes) -> list[bytes]:
        other = b"X" * 8 + data[8:]
        return [reply(other, (Notify(0, b"", 14, b""),))] * 50

    hostile = peer(flood)
    sink, elapsed = audit(hostile.port)
    assert any(isinstance(o, ConnectionFailure) and o.reason == "timeout" for o in sink)
    assert elapsed < 3


def test_no_proposal_chosen_everywhere_is_a_plain_answer(
    peer: Callable[[Answer], UdpPeer],
) -> None:
    def refuse(data: bytes) -> list[bytes]:
        if data[17] == 0x20:
            return [reply(data, (Notify(0, b"", 14, b""),))]
        return [
            encode_message(
                initiator_spi=data[:8],
                responder_spi=b"R" * 8,
                major_version=1,
                exchange_type=5,
                flags=0,
                message_id=0,
                payloads=(V1Notification(1, 1, b"", 14, b""),),
            )
        ]

    hostile = peer(refuse)
    sink, _ = audit(hostile.port)
    assert next(o for o in sink if isinstance(o, IkeV2SaInit)).status == "no-proposal"
    main = next(o for o in sink if isinstance(o, IkeV1MainMode))
    assert main.status == "no-proposal"
    assert not [o for o in sink if isinstance(o, ConnectionFailure | ProbeFailure)]
    assert hostile.received < MAX_PACKETS
