"""OpenVPN peers that misbehave, over UDP and TCP, probed directly (run_openvpn_probes).

Silence, garbage, a hang-up, an impossible TCP length, floods of data packets
and of repeated resets, a datagram larger than any packet, a reset with the
wrong packet id, and servers that answer the reset properly and then stall
or answer the ClientHello with bytes that are not TLS. Every run must end
within its bound, as observations (never an exception), with whatever the
peer sent kept only in escaped form.

The UDP peers are small servers in a thread (UdpPeer); the TCP ones use the
hostile suite's Peer. Those that answer the reset build it with protoaudit's
own packet codec, as a real server would lay it out.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hostile_helpers import (
    ACCEPTED_SUITES,
    Answer,
    Handler,
    Peer,
    UdpPeer,
    choose_suite,
    handshake_record,
    server_hello,
    stall_until_hangup,
    takes_tls12,
)

from protoaudit.engine.limits import Limiter
from protoaudit.engine.transport import Timeouts
from protoaudit.observations import (
    CipherSuiteSupport,
    ConnectionFailure,
    Observation,
    ProbeFailure,
)
from protoaudit.observations_openvpn import OpenVpnReset, OpenVpnTlsHandshake, OpenVpnTlsVersion
from protoaudit.policy.evaluate import evaluate
from protoaudit.policy.openvpn_rules import OPENVPN_RULES
from protoaudit.probes.context import ProbeContext
from protoaudit.probes.openvpn import run_openvpn_probes
from protoaudit.proto.openvpn.packets import ControlPacket, Opcode, decode_packet, frame
from protoaudit.proto.tls.constants import ProtocolVersion
from protoaudit.proto.tls.hello import ClientHello

Serve = Callable[[Handler], Peer]
Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter
TIMEOUT = 0.3
BOUND = 6 * TIMEOUT + 1.5
SERVER_SESSION = b"HOSTILE!"
ESCAPES = b"\x1b[2J\x1b]0;owned\x07"


def strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return strings([getattr(value, f.name) for f in dataclasses.fields(value)])
    if isinstance(value, list | tuple):
        return [text for item in value for text in strings(item)]
    return []


def probe(port: int, transport: str) -> list[Observation]:
    context = ProbeContext(
        host="127.0.0.1",
        address="127.0.0.1",
        port=port,
        server_name=None,
        timeouts=Timeouts(connect=TIMEOUT, read=TIMEOUT),
        limiter=Limiter(total=16, per_host=8),
        ca_file=None,
        now=datetime.now(UTC),
        retries=0,
        max_bytes=256 * 1024,
    )
    sink: list[Observation] = []
    started = time.monotonic()
    asyncio.run(run_openvpn_probes(context, transport, sink))
    assert time.monotonic() - started < BOUND
    assert not any(char in text for text in strings(sink) for char in "\x1b\x07")
    evaluate(sink, OPENVPN_RULES)  # the rules take whatever came out
    return sink


def resets(found: list[Observation]) -> dict[int, OpenVpnReset]:
    return {o.reset_opcode: o for o in found if isinstance(o, OpenVpnReset)}


def server_reset(client: ControlPacket, *, packet_id: int = 0) -> bytes:
    return ControlPacket(
        Opcode.P_CONTROL_HARD_RESET_SERVER_V2,
        0,
        SERVER_SESSION,
        (0,),
        client.session_id,
        packet_id,
    ).encode()


def server_control(client: ControlPacket, packet_id: int, payload: bytes) -> bytes:
    return ControlPacket(
        Opcode.P_CONTROL_V1,
        0,
        SERVER_SESSION,
        (client.message_packet_id or 0,),
        client.session_id,
        packet_id,
        payload,
    ).encode()


def openvpn_like(after_reset: Callable[[ControlPacket], list[bytes]]) -> Answer:
    """Answers V2 resets properly; hands every later control packet to `after_reset`."""

    def respond(datagram: bytes) -> list[bytes]:
        packet = decode_packet(datagram)
        if not isinstance(packet, ControlPacket):
            return []
        if packet.opcode == Opcode.P_CONTROL_HARD_RESET_CLIENT_V2:
            return [server_reset(packet)]
        if packet.opcode == Opcode.P_CONTROL_V1:
            return after_reset(packet)
        return []

    return respond


# --- UDP -------------------------------------------------------------------------------


def test_udp_silence_is_the_hmac_firewall(udp: Callable[[Answer], UdpPeer]) -> None:
    peer = udp(lambda _: [])
    found = probe(peer.port, "udp")
    assert {o.outcome for o in resets(found).values()} == {"silent"}
    assert all(o.sent == 2 for o in resets(found).values())  # one resend each
    assert [f.id for f in evaluate(found, OPENVPN_RULES)] == ["openvpn.hmac_firewall"]


def test_udp_garbage(udp: Callable[[Answer], UdpPeer]) -> None:
    peer = udp(lambda _: [b"HTTP/1.0 200 OK\r\n" + ESCAPES])
    found = probe(peer.port, "udp")
    v2 = resets(found)[Opcode.P_CONTROL_HARD_RESET_CLIENT_V2]
    assert v2.outcome == "malformed"
    assert "HTTP/1.0" in v2.detail
    assert not [o for o in found if isinstance(o, OpenVpnTlsVersion)]


def test_udp_refused(free_port: int) -> None:
    found = probe(free_port, "udp")
    failure = next(o for o in found if isinstance(o, ConnectionFailure))
    assert (failure.stage, failure.reason) == ("openvpn", "refused")


def test_udp_a_datagram_larger_than_any_packet(udp: Callable[[Answer], UdpPeer]) -> None:
    peer = udp(lambda _: [bytes([8 << 3]) + bytes(60000)])
    v2 = resets(probe(peer.port, "udp"))[Opcode.P_CONTROL_HARD_RESET_CLIENT_V2]
    assert v2.outcome == "malformed"


def test_udp_a_flood_of_data_packets(udp: Callable[[Answer], UdpPeer]) -> None:
    peer = udp(lambda _: [bytes([9 << 3]) + bytes(1200)] * 200)
    v2 = resets(probe(peer.port, "udp"))[Opcode.P_CONTROL_HARD_RESET_CLIENT_V2]
    assert v2.outcome == "malformed"  # a data packet where a reset was due


def test_udp_a_reset_with_the_wrong_packet_id(udp: Callable[[Answer], UdpPeer]) -> None:
    def respond(datagram: bytes) -> list[bytes]:
        packet = decode_packet(datagram)
        assert isinstance(packet, ControlPacket)
        return [server_reset(packet, packet_id=7)]

    v2 = resets(probe(udp(respond).port, "udp"))[Opcode.P_CONTROL_HARD_RESET_CLIENT_V2]
    assert v2.outcome == "malformed"
    assert "packet id 7" in v2.detail


def test_udp_answers_the_reset_then_forgets_the_session(
    udp: Callable[[Answer], UdpPeer],
) -> None:
    # It answers every reset, ours sent again too, as a new client's: OpenVPN's way
    # of saying it dropped the session, read as such without waiting out the timeout
    found = probe(udp(openvpn_like(lambda _: [])).port, "udp")
    assert resets(found)[Opcode.P_CONTROL_HARD_RESET_CLIENT_V2].answered
    versions = [o for o in found if isinstance(o, OpenVpnTlsVersion)]
    assert len(versions) == 4
    assert not any(v.supported for v in versions)
    assert all("dropped the session (closed: our reset, sent again" in v.detail for v in versions)
    (handshake,) = [o for o in found if isinstance(o, OpenVpnTlsHandshake)]
    assert handshake.detail.startswith("closed: our reset, sent again")
    assert handshake.certificates == ()


def test_udp_keeps_the_session_and_stalls(udp: Callable[[Answer], UdpPeer]) -> None:
    # It acknowledges our reset sent again (the session is there) and says nothing more:
    # only the read timeout ends each exchange
    answered: set[bytes] = set()

    def respond(datagram: bytes) -> list[bytes]:
        packet = decode_packet(datagram)
        if not isinstance(packet, ControlPacket):
            return []
        if packet.opcode != Opcode.P_CONTROL_HARD_RESET_CLIENT_V2:
            return []
        if packet.session_id not in answered:
            answered.add(packet.session_id)
            return [server_reset(packet)]
        ack = ControlPacket(Opcode.P_ACK_V1, 0, SERVER_SESSION, (0,), packet.session_id)
        return [ack.encode()]

    found = probe(udp(respond).port, "udp")
    versions = [o for o in found if isinstance(o, OpenVpnTlsVersion)]
    assert len(versions) == 4
    assert all("dropped the session (timeout" in v.detail for v in versions)
    (handshake,) = [o for o in found if isinstance(o, OpenVpnTlsHandshake)]
    assert handshake.detail.startswith("timeout")


def test_udp_answers_the_hello_with_garbage(udp: Callable[[Answer], UdpPeer]) -> None:
    def garbage(client: ControlPacket) -> list[bytes]:
        return [server_control(client, 1, b"\x16\x03\x03\xff\xff" + ESCAPES)]

    found = probe(udp(openvpn_like(garbage)).port, "udp")
    versions = [o for o in found if isinstance(o, OpenVpnTlsVersion)]
    # Said as the TLS audit says it, escaped
    assert all(
        v.detail.startswith("server sent '\\x16") and "(not TLS:" in v.detail for v in versions
    )
    (handshake,) = [o for o in found if isinstance(o, OpenVpnTlsHandshake)]
    assert handshake.detail.startswith("TLS:")


def test_udp_repeats_its_reset_forever(udp: Callable[[Answer], UdpPeer]) -> None:
    def repeat(client: ControlPacket) -> list[bytes]:
        return [server_reset(client)] * 100

    found = probe(udp(openvpn_like(repeat)).port, "udp")
    versions = [o for o in found if isinstance(o, OpenVpnTlsVersion)]
    assert all("packets that changed nothing" in v.detail for v in versions)


class TlsOverUdp:
    """An OpenVPN-like UDP server whose TLS side is `choose(hello)`: a suite, or None to drop.

    It answers the first `answered_resets` V2 resets (then none, as OpenVPN's
    --connect-freq-initial does), reassembles each session's ClientHello from its
    P_CONTROL_V1 fragments, and answers with a ServerHello for the chosen suite.
    """

    def __init__(self, choose: Callable[[ClientHello], int | None], answered_resets: int) -> None:
        self.choose = choose
        self.resets_left = answered_resets
        self.buffers: dict[bytes, dict[int, bytes]] = {}

    def __call__(self, datagram: bytes) -> list[bytes]:
        packet = decode_packet(datagram)
        if not isinstance(packet, ControlPacket):
            return []
        if packet.opcode == Opcode.P_CONTROL_HARD_RESET_CLIENT_V2:
            if self.resets_left <= 0:
                return []
            self.resets_left -= 1
            return [server_reset(packet)]
        if packet.opcode != Opcode.P_CONTROL_V1 or packet.message_packet_id is None:
            return []
        fragments = self.buffers.setdefault(packet.session_id, {})
        fragments[packet.message_packet_id] = packet.payload
        record = b"".join(fragments[key] for key in sorted(fragments))
        end = 5 + int.from_bytes(record[3:5], "big")
        if len(record) < max(end, 9):
            return []  # more fragments to come
        hello = ClientHello.decode(record[9:end])
        suite = self.choose(hello) if takes_tls12(hello) else None
        if suite is None:
            return []  # OpenVPN drops a session whose TLS fails, alert unsent
        return [server_control(packet, 1, handshake_record(server_hello(suite)))]


def test_udp_picks_a_suite_it_was_not_offered(udp: Callable[[Answer], UdpPeer]) -> None:
    # The full offer has its favourite, so TLS 1.2 works; enumeration then catches it out
    found = probe(udp(TlsOverUdp(lambda _: 0xC02F, answered_resets=1000)).port, "udp")
    versions = {o.version: o for o in found if isinstance(o, OpenVpnTlsVersion)}
    assert [v for v, o in versions.items() if o.supported] == [ProtocolVersion.TLS1_2]
    failures = [o for o in found if isinstance(o, ProbeFailure)]
    assert [(f.probe, f.reason, f.detail) for f in failures] == [
        (
            "cipher_suites",
            "protocol-violation",
            "TLS 1.2: the server chose 0xC02F, which was not offered",
        )
    ]
    assert not any(isinstance(o, CipherSuiteSupport) for o in found)


def test_udp_suites_through_the_channel(udp: Callable[[Answer], UdpPeer]) -> None:
    # The same peer, honest: both suites, in its order
    found = probe(udp(TlsOverUdp(choose_suite, answered_resets=1000)).port, "udp")
    (support,) = [o for o in found if isinstance(o, CipherSuiteSupport)]
    assert (support.version, support.server_order) == (ProtocolVersion.TLS1_2, ACCEPTED_SUITES)


def test_udp_stops_answering_resets_mid_enumeration(udp: Callable[[Answer], UdpPeer]) -> None:
    # Six resets answered (the V2 probe, four versions, the handshake), then silence:
    # the enumeration says so instead of taking the silence for refusals
    found = probe(udp(TlsOverUdp(choose_suite, answered_resets=6)).port, "udp")
    versions = {o.version: o for o in found if isinstance(o, OpenVpnTlsVersion)}
    assert versions[ProtocolVersion.TLS1_2].supported
    failures = [o for o in found if isinstance(o, ProbeFailure)]
    assert [(f.probe, f.reason) for f in failures] == [("cipher_suites", "unanswered")]
    assert failures[0].detail.startswith("TLS 1.2: the server stopped answering resets")
    assert not any(isinstance(o, CipherSuiteSupport) for o in found)


# --- TCP -------------------------------------------------------------------------------


def test_tcp_hang_up_is_the_hmac_firewall(serve: Serve) -> None:
    async def close(reader: Reader, _writer: Writer) -> None:
        await reader.read(64)

    found = probe(serve(close).port, "tcp")
    assert {o.outcome for o in resets(found).values()} == {"closed"}
    assert [f.id for f in evaluate(found, OPENVPN_RULES)] == ["openvpn.hmac_firewall"]


def test_tcp_refused(free_port: int) -> None:
    found = probe(free_port, "tcp")
    failure = next(o for o in found if isinstance(o, ConnectionFailure))
    assert failure.reason == "refused"


@pytest.mark.parametrize(
    "answer",
    [b"HTTP/1.1 400 Bad Request\r\n\r\n" + ESCAPES, b"\xff\xff" + bytes(100), b"\x00\x00"],
)
def test_tcp_garbage_and_impossible_lengths(serve: Serve, answer: bytes) -> None:
    async def garbage(reader: Reader, writer: Writer) -> None:
        await reader.read(64)
        writer.write(answer)
        await writer.drain()
        await stall_until_hangup(reader)

    found = probe(serve(garbage).port, "tcp")
    assert resets(found)[Opcode.P_CONTROL_HARD_RESET_CLIENT_V2].outcome == "malformed"


def test_tcp_silence(serve: Serve) -> None:
    async def stall(reader: Reader, _writer: Writer) -> None:
        await reader.read(64)
        await stall_until_hangup(reader)

    found = probe(serve(stall).port, "tcp")
    assert {o.outcome for o in resets(found).values()} == {"silent"}


async def _tcp_openvpn(reader: Reader, writer: Writer, then: bytes) -> None:
    length = int.from_bytes(await reader.readexactly(2), "big")
    client = decode_packet(await reader.readexactly(length))
    assert isinstance(client, ControlPacket)
    if client.opcode != Opcode.P_CONTROL_HARD_RESET_CLIENT_V2:
        return
    writer.write(frame(server_reset(client)))
    await writer.drain()
    length = int.from_bytes(await reader.readexactly(2), "big")
    hello = decode_packet(await reader.readexactly(length))
    assert isinstance(hello, ControlPacket)
    writer.write(then.replace(b"@SESSID@", client.session_id))
    await writer.drain()
    await stall_until_hangup(reader)


def test_tcp_floods_after_the_reset(serve: Serve) -> None:
    data = frame(bytes([9 << 3]) + bytes(1000)) * 1000  # about 1 MB of data packets

    async def flood(reader: Reader, writer: Writer) -> None:
        await _tcp_openvpn(reader, writer, data)

    found = probe(serve(flood).port, "tcp")
    versions = [o for o in found if isinstance(o, OpenVpnTlsVersion)]
    assert len(versions) == 4
    assert not any(v.supported for v in versions)


def test_tcp_answers_the_hello_with_garbage(serve: Serve) -> None:
    async def garbage(reader: Reader, writer: Writer) -> None:
        packet = ControlPacket(
            Opcode.P_CONTROL_V1, 0, SERVER_SESSION, (1,), b"@SESSID@", 1, ESCAPES * 10
        )
        await _tcp_openvpn(reader, writer, frame(packet.encode()))

    found = probe(serve(garbage).port, "tcp")
    versions = [o for o in found if isinstance(o, OpenVpnTlsVersion)]
    assert all("(not TLS:" in v.detail for v in versions)
