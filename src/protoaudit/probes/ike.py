"""An IPsec responder from the outside: IKEv2 IKE_SA_INIT, IKEv1 Main and Aggressive Mode.

Theory of operation. One UDP socket, connected to the target (port 500 by
default), carries every exchange, one after another, inside the host's
concurrency slot: IKEv2 first (probes/ike_v2.py), then IKEv1 Main Mode and
one Aggressive Mode message (probes/ike_v1.py), then one request on the NAT-T
port (probes/ike_nat_t.py), to say whether the responder answers IKE there
too. Each exchange has a deadline per attempt and a retry count
(context.retries); the whole probe sends at most MAX_PACKETS datagrams (IKEv2
at most V2_PACKETS, Main Mode V1_PACKETS, Aggressive Mode AGGRESSIVE_PACKETS,
the NAT-T port NAT_T_PACKETS; about 60-100 against a typical responder) and
reads at most context.max_bytes. Only first messages are ever sent: no
exchange is authenticated, so ESP/AH proposals (IKE_AUTH, Quick Mode) are
never seen, and the report says so rather than guessing.

An audit of the NAT-T port itself (`ike://host:4500`) runs the same exchanges
there, each message behind the RFC 3948 non-ESP marker, and skips the extra
request. A port that refuses (ICMP unreachable) or a responder that answers
neither version ends as a ConnectionFailure; garbage, a cookie loop or an
error notify ends one exchange as data in its observation, never as an
exception, and a silent NAT-T port beside an audited port 500 is recorded in
IkeNatTraversal, not as a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from protoaudit.observations import ConnectionFailure, Observation, ProbeFailure
from protoaudit.observations_ike import (
    IkeNatTraversal,
    IkeV1AggressiveMode,
    IkeV1MainMode,
    IkeV2SaInit,
)
from protoaudit.probes.context import ProbeContext
from protoaudit.probes.ike_nat_t import NAT_T_PACKETS, nat_traversal, not_tried
from protoaudit.probes.ike_transport import IkeChannel
from protoaudit.probes.ike_v1 import DEFAULT_IDENTITY, MainModeProber, aggressive_mode
from protoaudit.probes.ike_v2 import V2Prober
from protoaudit.proto.ike.constants import NAT_T_PORT

V2_PACKETS = 100  # IKEv2 may use at most this many (twice an enumeration's, for cookies)
V1_PACKETS = 84  # Main Mode: the common suites, the values found, a sweep (probes/ike_v1.py)
AGGRESSIVE_PACKETS = 2  # one message, once retried
MAX_PACKETS = V2_PACKETS + V1_PACKETS + AGGRESSIVE_PACKETS + NAT_T_PACKETS  # 190
ATTEMPT_TIMEOUT_MAX = 1.0  # seconds per attempt; a LAN or loopback answers in microseconds
MAX_RECEIVED = 4 << 20
DEFAULT_PORT = 500

__all__ = ["DEFAULT_PORT", "MAX_PACKETS", "run_ike_probes"]


def _skipped(why: str) -> IkeV1AggressiveMode:
    return IkeV1AggressiveMode(
        status="not-tried",
        detail=why,
        identity_type=0,
        identity="",
        accepted=None,
        hash_length=None,
        signature=False,
        responder_identity_type=None,
        responder_identity="",
        vendor_ids=(),
        packets_sent=0,
    )


async def run_ike_probes(
    context: ProbeContext,
    sink: list[Observation],
    *,
    rng: Callable[[int], bytes] = os.urandom,
    aggressive_identity: str = DEFAULT_IDENTITY,
    nat_t_port: int = NAT_T_PORT,
) -> None:
    """Append what the IKE responder at context.address:context.port accepted to `sink`.

    `nat_t_port` is the port whose messages carry the non-ESP marker (4500; a test
    peer on another port can stand in for it).
    """
    attempt_timeout = max(0.05, min(context.timeouts.read, ATTEMPT_TIMEOUT_MAX))
    port = context.port or DEFAULT_PORT
    max_bytes = min(context.max_bytes, MAX_RECEIVED)
    try:
        channel = await IkeChannel.open(
            context.address,
            port,
            attempt_timeout=attempt_timeout,
            retries=context.retries,
            max_packets=V2_PACKETS,
            max_bytes=max_bytes,
            non_esp_marker=port == nat_t_port,
        )
    except OSError as error:
        sink.append(ConnectionFailure("ike", "unreachable", str(error)[:300]))
        return
    try:
        async with context.limiter.slot(context.address):
            v2 = await V2Prober(channel, rng).run()
            sink.append(v2)
            if v2.status == "refused":
                sink.append(ConnectionFailure("ike", "refused", "UDP port unreachable"))
                return
            channel.max_packets = channel.packets_sent + V1_PACKETS
            main_mode = await MainModeProber(channel, rng).run()
            sink.append(main_mode)
            if main_mode.status in ("no-answer", "refused"):
                sink.append(_skipped("Main Mode got no answer"))
            else:
                channel.max_packets = channel.packets_sent + AGGRESSIVE_PACKETS
                sink.append(await aggressive_mode(channel, rng, main_mode, aggressive_identity))
            _report_failures(v2, main_mode, sink)
            if port == nat_t_port:
                sink.append(not_tried(nat_t_port, "the audited port is the NAT-T port"))
            else:
                sink.append(
                    await _nat_traversal(
                        context,
                        rng,
                        v2=v2,
                        main_mode=main_mode,
                        port=nat_t_port,
                        max_bytes=max_bytes,
                    )
                )
    finally:
        channel.close()


async def _nat_traversal(
    context: ProbeContext,
    rng: Callable[[int], bytes],
    *,
    v2: IkeV2SaInit,
    main_mode: IkeV1MainMode,
    port: int,
    max_bytes: int,
) -> IkeNatTraversal:
    try:
        channel = await IkeChannel.open(
            context.address,
            port,
            attempt_timeout=max(0.05, min(context.timeouts.read, ATTEMPT_TIMEOUT_MAX)),
            retries=context.retries,
            max_packets=NAT_T_PACKETS,
            max_bytes=max_bytes,
            non_esp_marker=True,
        )
    except OSError as error:
        return not_tried(port, f"no socket for the NAT-T port: {error}"[:300])
    try:
        return await nat_traversal(channel, rng, v2, main_mode)
    finally:
        channel.close()


def _report_failures(v2: IkeV2SaInit, main_mode: IkeV1MainMode, sink: list[Observation]) -> None:
    silent = ("no-answer", "refused")
    if v2.status in silent and main_mode.status in silent:
        reason = "refused" if "refused" in (v2.status, main_mode.status) else "timeout"
        sink.append(ConnectionFailure("ike", reason, "no IKEv2 or IKEv1 answer: " + v2.detail))
        return
    for name, status, detail in (
        ("ike-v2", v2.status, v2.detail),
        ("ike-v1", main_mode.status, main_mode.detail),
    ):
        if status in ("malformed", "error"):
            sink.append(ProbeFailure(name, status, detail[:300]))
