"""The SOCKS client state machines, fed whole, byte by byte, with trailing bytes, and garbage."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from protoaudit.proto.socks.client import (
    AuthReplied,
    Event,
    Malformed,
    MethodSelected,
    RequestReplied,
    Socks4Client,
    Socks4Replied,
    Socks5Client,
    State,
)
from protoaudit.proto.socks.constants import Command
from protoaudit.proto.socks.messages import Request
from protoaudit.proto.socks.socks4 import Socks4Request

CONNECT = Request.to(Command.CONNECT, "127.0.0.1", 18080)
REPLY = bytes.fromhex("050000017f000001a19b")


def drive(machine: Socks5Client | Socks4Client, pieces: list[bytes]) -> tuple[list[Event], bytes]:
    """Feed `pieces`, collecting events and everything the machine sent."""
    sent = machine.bytes_to_send()
    found: list[Event] = []
    for piece in pieces:
        machine.receive_data(piece)
        sent += machine.bytes_to_send()
        while (event := machine.next_event()) is not None:
            found.append(event)
    return found, sent


def one_by_one(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def test_method_selection_alone() -> None:
    machine = Socks5Client((0,))
    found, sent = drive(machine, [b"\x05\x00"])
    assert sent == b"\x05\x01\x00"
    assert found == [MethodSelected(0)]
    assert machine.state is State.DONE


def test_no_acceptable_method() -> None:
    found, _ = drive(Socks5Client((1,)), [b"\x05\xff"])
    assert found == [MethodSelected(0xFF)]


def test_connect_whole_and_byte_by_byte() -> None:
    server = b"\x05\x00" + REPLY
    for pieces in ([b"\x05\x00", REPLY], one_by_one(server)):
        machine = Socks5Client((0,), request=CONNECT)
        found, sent = drive(machine, pieces)
        assert sent == b"\x05\x01\x00" + CONNECT.encode()
        assert [type(e) for e in found] == [MethodSelected, RequestReplied]
        reply = found[1]
        assert isinstance(reply, RequestReplied)
        assert (reply.reply.rep, reply.reply.bound_address, reply.reply.bnd_port) == (
            0,
            "127.0.0.1",
            41371,
        )


def test_bytes_after_the_end_are_ignored() -> None:
    machine = Socks5Client((0,), request=CONNECT)
    found, _ = drive(machine, [b"\x05\x00", REPLY + b"proxied data"])
    assert machine.state is State.DONE
    assert not any(isinstance(e, Malformed) for e in found)


def test_fake_pair_refused() -> None:
    machine = Socks5Client((2,), credentials=(b"fake", b"pair"))
    found, sent = drive(machine, one_by_one(b"\x05\x02\x01\x01"))
    assert sent == b"\x05\x01\x02" + b"\x01\x04fake\x04pair"
    assert [type(e) for e in found] == [MethodSelected, AuthReplied]
    auth = found[1]
    assert isinstance(auth, AuthReplied)
    assert auth.reply.status == 1


def test_a_version_5_subnegotiation_reply_is_accepted() -> None:
    found, _ = drive(Socks5Client((2,), credentials=(b"a", b"b")), [b"\x05\x02", b"\x05\x00"])
    assert isinstance(found[-1], AuthReplied)


def test_wrong_version_fails_at_the_first_byte() -> None:
    machine = Socks5Client((0,))
    found, _ = drive(machine, [b"H"])
    (failure,) = found
    assert isinstance(failure, Malformed)
    assert failure.error.field == "ver"
    assert machine.received_prefix == b"H"


def test_a_method_not_offered_is_refused() -> None:
    found, _ = drive(Socks5Client((2,)), [b"\x05\x00"])
    assert found[0] == MethodSelected(0)
    assert isinstance(found[1], Malformed)
    assert "not offered" in found[1].error.reason


def test_bytes_before_being_asked_are_refused() -> None:
    # The server sends its method choice and a reply at once, before our request.
    found, sent = drive(Socks5Client((0,), request=CONNECT), [b"\x05\x00" + REPLY])
    assert isinstance(found[-1], Malformed)
    assert sent == b"\x05\x01\x00"  # the request never left


def test_socks4_reply() -> None:
    request = Socks4Request(3, 0, bytes(4))
    machine = Socks4Client(request)
    found, sent = drive(machine, one_by_one(b"\x00[\x00\x00\x00\x00\x00\x00"))
    assert sent == b"\x04\x03\x00\x00\x00\x00\x00\x00\x00"
    (reply,) = found
    assert isinstance(reply, Socks4Replied)
    assert reply.reply.cd == 91


def test_socks4_client_refuses_a_socks5_answer_at_once() -> None:
    found, _ = drive(Socks4Client(Socks4Request(3, 0, bytes(4))), [b"\x05"])
    (failure,) = found
    assert isinstance(failure, Malformed)


@given(st.binary(max_size=300), st.integers(1, 16))
def test_arbitrary_answers_give_events_never_exceptions(data: bytes, size: int) -> None:
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    for machine in (
        Socks5Client((0, 1, 2), credentials=(b"a", b"b"), request=CONNECT),
        Socks4Client(Socks4Request(1, 80, bytes([127, 0, 0, 1]))),
    ):
        found, _ = drive(machine, pieces)
        failures = [e for e in found if isinstance(e, Malformed)]
        assert len(failures) <= 1
        if failures:
            assert machine.state is State.FAILED
