"""The client's control channel: a real session replayed, reordering, retransmission, refusals."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from openvpn_helpers import (
    CLIENT_SESSION,
    SERVER_SESSION,
    captured,
    server_ack,
    server_control,
    server_reset,
)

from protoaudit.proto.openvpn.channel import (
    MAX_FRAGMENT,
    RECEIVE_WINDOW,
    ControlChannel,
    Event,
    Malformed,
    ResetReplyReceived,
    SessionGone,
    State,
    TlsDataReceived,
)
from protoaudit.proto.openvpn.packets import (
    ControlPacket,
    Opcode,
    StreamDeframer,
    decode_packet,
    frame,
)
from protoaudit.proto.tls import exchange as tls


def events(channel: ControlChannel) -> list[Event]:
    found = []
    while (event := channel.next_event()) is not None:
        found.append(event)
    return found


def tls_bytes(found: list[Event]) -> bytes:
    return b"".join(e.data for e in found if isinstance(e, TlsDataReceived))


def control(raw: bytes) -> ControlPacket:
    packet = decode_packet(raw)
    assert isinstance(packet, ControlPacket)
    return packet


def established(*, max_ignored: int = 64, max_tls_bytes: int = 1 << 18) -> ControlChannel:
    channel = ControlChannel(CLIENT_SESSION, max_ignored=max_ignored, max_tls_bytes=max_tls_bytes)
    channel.packets_to_send()
    channel.receive_packet(server_reset())
    events(channel)
    return channel


def test_a_captured_session_replays_byte_for_byte() -> None:
    # Given a session recorded against OpenVPN 2.6 (capture_fixtures.py)
    session = captured()
    sent = [bytes.fromhex(text) for text in session["sent"]]
    received = [bytes.fromhex(text) for text in session["received"]]
    channel = ControlChannel(bytes.fromhex(session["session_id"]))
    exchange = tls.HelloExchange(
        bytes.fromhex(session["client_hello"]), stop_after="server_hello_done"
    )
    # When the channel sends the reset, reads the answer and sends the ClientHello
    assert channel.packets_to_send() == [sent[0]]
    channel.receive_packet(received[0])
    (reply,) = events(channel)
    assert isinstance(reply, ResetReplyReceived)
    assert reply.opcode == Opcode.P_CONTROL_HARD_RESET_SERVER_V2
    assert reply.acknowledged_reset
    channel.send_tls(exchange.bytes_to_send())
    # Then it sends what it sent then: the hello acknowledging the server's reset
    assert channel.packets_to_send() == [sent[1]]
    # And the server's two packets come out as one TLS stream up to ServerHelloDone,
    # each acknowledged as it was then
    ours = []
    for packet in received[1:]:
        channel.receive_packet(packet)
        exchange.receive_data(tls_bytes(events(channel)))
        ours += channel.packets_to_send()
    assert ours == sent[2:]
    kinds = []
    while (event := exchange.next_event()) is not None:
        kinds.append(type(event).__name__)
    assert kinds == [
        "ServerHelloReceived",
        "CertificateReceived",
        "ServerKeyExchangeReceived",
        "CertificateRequestReceived",
        "ServerHelloDoneReceived",
        "ExchangeDone",
    ]
    assert channel.unacknowledged() == []


def test_the_same_session_over_tcp_one_byte_at_a_time() -> None:
    session = captured()
    received = [bytes.fromhex(text) for text in session["received"]]
    stream = b"".join(frame(packet) for packet in received)
    whole = ControlChannel(bytes.fromhex(session["session_id"]))
    whole.packets_to_send()
    for packet in received:
        whole.receive_packet(packet)
    expected = tls_bytes(events(whole))
    channel = ControlChannel(bytes.fromhex(session["session_id"]))
    channel.packets_to_send()
    deframer = StreamDeframer()
    found: list[Event] = []
    for index in range(len(stream)):
        deframer.feed(stream[index : index + 1])
        while (piece := deframer.next_packet()) is not None:
            channel.receive_packet(piece)
            found += events(channel)
    assert tls_bytes(found) == expected
    assert len(expected) > 1000


def test_the_reset_is_retransmitted_until_answered() -> None:
    channel = ControlChannel(CLIENT_SESSION)
    (reset,) = channel.packets_to_send()
    assert channel.unacknowledged() == [reset]
    assert channel.packets_to_send() == []  # nothing new: retransmission is the caller's
    channel.receive_packet(server_reset(acks=()))  # an answer that acknowledges nothing
    (reply,) = events(channel)
    assert isinstance(reply, ResetReplyReceived)
    assert not reply.acknowledged_reset
    assert channel.unacknowledged() == []


def test_tls_waits_for_the_reset_and_is_cut_into_fragments() -> None:
    channel = ControlChannel(CLIENT_SESSION)
    channel.send_tls(b"x" * (2 * MAX_FRAGMENT + 10))
    assert len(channel.packets_to_send()) == 1  # the reset only
    channel.receive_packet(server_reset())
    packets = [control(p) for p in channel.packets_to_send()]
    assert [p.message_packet_id for p in packets] == [1, 2, 3]
    assert [len(p.payload) for p in packets] == [MAX_FRAGMENT, MAX_FRAGMENT, 10]
    first = packets[0]
    assert isinstance(first, ControlPacket)
    # The first one acknowledges the server's reset, with its session id (the 2.6 cookie)
    assert (first.packet_id_array, first.remote_session_id) == ((0,), SERVER_SESSION)
    assert len(channel.unacknowledged()) == 3
    channel.receive_packet(server_ack(1, 3))
    assert [control(p).message_packet_id for p in channel.unacknowledged()] == [2]


def test_out_of_order_packets_are_delivered_in_order() -> None:
    channel = established()
    channel.receive_packet(server_control(2, b"world"))
    assert events(channel) == []
    channel.receive_packet(server_control(1, b"hello "))
    assert tls_bytes(events(channel)) == b"hello world"
    acks = [decode_packet(p) for p in channel.packets_to_send()]
    assert [a.opcode for a in acks] == [Opcode.P_ACK_V1]
    assert isinstance(acks[0], ControlPacket)
    assert sorted(acks[0].packet_id_array) == [0, 1, 2]


def test_duplicates_are_acknowledged_again_and_delivered_once() -> None:
    channel = established()
    channel.receive_packet(server_control(1, b"once"))
    channel.packets_to_send()
    channel.receive_packet(server_control(1, b"once"))
    assert tls_bytes(events(channel)) == b"once"
    (ack,) = [decode_packet(p) for p in channel.packets_to_send()]
    assert isinstance(ack, ControlPacket)
    assert ack.packet_id_array == (1,)
    assert channel.ignored == 1


def test_other_sessions_and_far_packets_are_dropped_and_counted() -> None:
    channel = established()
    stranger = ControlPacket(Opcode.P_CONTROL_V1, 0, b"OTHERSID", message_packet_id=1, payload=b"x")
    channel.receive_packet(stranger.encode())
    channel.receive_packet(server_control(1 + RECEIVE_WINDOW, b"far"))
    channel.receive_packet(server_ack(1, remote=b"NOTUSSID"))
    channel.receive_packet(bytes([6 << 3]) + b"data")
    assert events(channel) == []
    assert channel.ignored == 4
    assert channel.state is State.ESTABLISHED


def test_too_many_useless_packets_end_the_channel() -> None:
    channel = established(max_ignored=3)
    for _ in range(4):
        channel.receive_packet(bytes([6 << 3]) + b"data")
    (failure,) = events(channel)
    assert isinstance(failure, Malformed)
    assert channel.failed
    channel.receive_packet(server_control(1, b"late"))  # nothing more is read
    assert events(channel) == []
    assert channel.unacknowledged() == []


def test_tls_data_is_bounded() -> None:
    channel = established(max_tls_bytes=10)
    channel.receive_packet(server_control(1, b"123456"))
    channel.receive_packet(server_control(2, b"7890ab"))
    found = events(channel)
    assert isinstance(found[-1], Malformed)
    assert "bytes of TLS data" in found[-1].error.reason


def test_answers_that_are_not_a_server_reset_are_refused() -> None:
    for answer in (server_control(0, b"x"), server_ack(0), bytes([6 << 3]) + b"d", b"HTTP/1.1"):
        channel = ControlChannel(CLIENT_SESSION)
        channel.packets_to_send()
        channel.receive_packet(answer)
        (failure,) = events(channel)
        assert isinstance(failure, Malformed), answer
    channel = ControlChannel(CLIENT_SESSION)
    channel.receive_packet(
        ControlPacket(
            Opcode.P_CONTROL_HARD_RESET_SERVER_V2, 0, SERVER_SESSION, message_packet_id=5
        ).encode()
    )
    (failure,) = events(channel)
    assert isinstance(failure, Malformed)
    assert failure.error.field == "message_packet_id"


def test_a_server_sending_client_resets_is_refused() -> None:
    channel = established()
    reset = ControlPacket(
        Opcode.P_CONTROL_HARD_RESET_CLIENT_V2, 0, SERVER_SESSION, message_packet_id=1
    )
    channel.receive_packet(reset.encode())
    (failure,) = events(channel)
    assert isinstance(failure, Malformed)
    assert "only clients send" in failure.error.reason


def test_a_repeated_server_reset_is_acknowledged_again() -> None:
    channel = established()
    channel.packets_to_send()
    channel.receive_packet(server_reset())
    assert events(channel) == []
    (ack,) = [decode_packet(p) for p in channel.packets_to_send()]
    assert isinstance(ack, ControlPacket)
    assert ack.packet_id_array == (0,)


def test_asked_whether_it_is_alive_a_new_reset_means_the_session_is_gone() -> None:
    # Given a session whose ClientHello went unanswered
    channel = established()
    channel.send_tls(b"hello")
    channel.packets_to_send()
    # When we send our reset again, byte for byte, and the server answers it as a new client's
    (again,) = channel.ask_alive()
    assert again == ControlChannel(CLIENT_SESSION).packets_to_send()[0]
    channel.receive_packet(server_reset())
    # Then the session is gone, and nothing more is read or sent again
    assert events(channel) == [SessionGone(SERVER_SESSION)]
    assert channel.state is State.GONE
    assert channel.unacknowledged() == []
    channel.receive_packet(server_control(1, b"late"))
    assert events(channel) == []


def test_asked_whether_it_is_alive_an_acknowledgement_means_it_is_there() -> None:
    channel = established()
    channel.send_tls(b"hello")
    channel.packets_to_send()
    channel.ask_alive()
    # The duplicate reset acknowledged: alive; a server reset after that is only its
    # own reset again (our acknowledgement lost), as before asking
    channel.receive_packet(server_ack(0))
    channel.receive_packet(server_reset())
    channel.receive_packet(server_control(1, b"world"))
    assert tls_bytes(events(channel)) == b"world"
    assert channel.state is State.ESTABLISHED


def test_a_server_reset_before_asking_is_never_read_as_gone() -> None:
    channel = established()
    channel.receive_packet(server_reset())
    assert events(channel) == []
    assert channel.state is State.ESTABLISHED


@given(st.lists(st.binary(max_size=120), max_size=20))
def test_arbitrary_datagrams_end_in_events_never_exceptions(datagrams: list[bytes]) -> None:
    channel = ControlChannel(CLIENT_SESSION)
    channel.packets_to_send()
    for datagram in datagrams:
        channel.receive_packet(datagram)
        channel.packets_to_send()
    assert all(
        isinstance(e, ResetReplyReceived | TlsDataReceived | Malformed) for e in events(channel)
    )


@given(st.lists(st.tuples(st.integers(1, RECEIVE_WINDOW), st.binary(max_size=20)), max_size=30))
def test_any_arrival_order_delivers_a_prefix_in_order(arrivals: list[tuple[int, bytes]]) -> None:
    channel = established()
    for packet_id, payload in arrivals:
        channel.receive_packet(server_control(packet_id, payload))
    data = tls_bytes(events(channel))
    first: dict[int, bytes] = {}
    for packet_id, payload in arrivals:
        first.setdefault(packet_id, payload)  # the first copy of an id is the one kept
    expected = b""
    packet_id = 1
    while packet_id in first:
        expected += first[packet_id]
        packet_id += 1
    if not channel.failed:
        assert data == expected
