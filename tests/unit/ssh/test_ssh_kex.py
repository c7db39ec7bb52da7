"""The client key exchange: replays of real sshd and dropbear bytes, and misbehaving servers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fake_server import FakeServer, packet, server_kex_init
from hypothesis import given, settings
from hypothesis import strategies as st
from ssh_helpers import capture_machine, chunks, expected, feed, load_hex, seeded_rng

from protoaudit.proto.ssh.agreement import mlkem_available
from protoaudit.proto.ssh.constants import MessageNumber
from protoaudit.proto.ssh.encoding import mpint, string
from protoaudit.proto.ssh.kex import (
    DEFAULT_IDENTIFICATION,
    MAX_IGNORED_MESSAGES,
    ClientOffer,
    DebugReceived,
    DisconnectReceived,
    Event,
    ExchangeDone,
    GexGroupReceived,
    IdentificationReceived,
    KexInitReceived,
    KexReplyReceived,
    KeyExchange,
    Malformed,
    NoCommonAlgorithm,
    State,
    UnimplementedReceived,
    UnsupportedVersion,
)
from protoaudit.proto.ssh.kexinit import KexInit
from protoaudit.proto.ssh.messages import Debug, Disconnect, Ignore, Unimplemented
from protoaudit.proto.ssh.packet import PacketReader

CAPTURES = sorted(expected()["captures"])
WAYS: dict[str, Callable[[bytes], list[bytes]]] = {
    "whole": lambda data: [data],
    "byte by byte": lambda data: chunks(data, 1),
    "in 7-byte pieces": lambda data: chunks(data, 7),
    "with trailing bytes": lambda data: [data + b"\0\0\0\x0cgarbage"],
}


def kinds(events: list[Event]) -> list[str]:
    return [type(event).__name__ for event in events]


@pytest.mark.parametrize("way", sorted(WAYS))
@pytest.mark.parametrize("capture", CAPTURES)
def test_replayed_captures(capture: str, way: str) -> None:
    # Given the client that made the capture, with the same seeded rng
    facts = expected()["captures"][capture]
    machine = capture_machine(capture)
    # When the server's recorded bytes are fed back
    events = feed(machine, WAYS[way](load_hex(f"{capture}.hex")))
    # Then the exchange reaches its stop point with the host key ssh-keygen described
    assert machine.state is State.DONE
    assert isinstance(events[0], IdentificationReceived)
    assert isinstance(events[1], KexInitReceived)
    assert isinstance(events[-1], ExchangeDone)
    if facts["stop_after"] == "gex_group":
        assert kinds(events[2:]) == ["GexGroupReceived", "ExchangeDone"]
        return
    reply = events[-2]
    assert isinstance(reply, KexReplyReceived)
    key = expected()["keys"][facts["host_key"]]
    assert reply.host_key_algorithm == facts["host_key_algorithm"]
    assert reply.host_key.blob_type == key["type"]
    assert reply.host_key.fingerprint_sha256 == key["fingerprint"]
    assert reply.host_key.bits == key["bits"]
    assert reply.signature_valid, reply.problem
    assert reply.problem is None


@pytest.mark.parametrize("capture", ["openssh_gex256_ed25519", "openssh_gex_group_only"])
def test_group_exchange_reports_the_modulus(capture: str) -> None:
    events = feed(capture_machine(capture), [load_hex(f"{capture}.hex")])
    groups = [event for event in events if isinstance(event, GexGroupReceived)]
    assert len(groups) == 1
    # OpenSSH picks from /etc/ssh/moduli the size closest to n = 3072 that we asked for.
    assert groups[0].requested == (2048, 3072, 8192)
    assert groups[0].prime_bits == 3072
    assert groups[0].generator in (2, 5)


def test_a_certificate_host_key() -> None:
    events = feed(capture_machine("openssh_cert_rsa512"), [load_hex("openssh_cert_rsa512.hex")])
    reply = events[-2]
    assert isinstance(reply, KexReplyReceived)
    certificate = reply.host_key.certificate
    assert certificate is not None
    assert certificate.key_id == "rsa host"
    assert certificate.signature_valid()
    assert reply.signature.algorithm == "rsa-sha2-512"


@pytest.mark.parametrize("capture", ["openssh_curve25519_ed25519", "openssh_gex256_ed25519"])
def test_the_client_s_bytes_are_golden(capture: str) -> None:
    # Given the client of a capture, with its seeded rng
    machine = capture_machine(capture)
    sent = machine.bytes_to_send()
    # When it reads what the server sent, sending whatever it has after each packet
    for piece in chunks(load_hex(f"{capture}.hex"), 1):
        machine.receive_data(piece)
        sent += machine.bytes_to_send()
    # Then it sent, byte for byte, what it sent to the real server
    assert sent == load_hex(f"client_{capture}.hex")


def test_what_the_client_sends() -> None:
    machine = KeyExchange(ClientOffer("curve25519-sha256", "ssh-ed25519"), seeded_rng(1))
    sent = machine.bytes_to_send()
    assert sent.startswith(DEFAULT_IDENTIFICATION)
    reader = PacketReader()
    reader.feed(sent[len(DEFAULT_IDENTIFICATION) :])
    payload = reader.next_payload()
    assert payload is not None
    kex_init = KexInit.decode(payload)
    # One method and one host key, and no ext-info-c or strict-kex marker (see kex.py)
    assert kex_init.kex_algorithms == ("curve25519-sha256",)
    assert kex_init.server_host_key_algorithms == ("ssh-ed25519",)
    assert "none" not in kex_init.encryption_algorithms_client_to_server
    assert kex_init.compression_algorithms_client_to_server[0] == "none"
    assert not kex_init.first_kex_packet_follows
    assert machine.bytes_to_send() == b""  # nothing more until the server speaks


# -- an in-memory server -------------------------------------------------------------------


def run(
    server: FakeServer,
    *,
    offer: ClientOffer | None = None,
    before_reply: bytes = b"",
    after_prelude: bytes = b"",
    tamper: bool = False,
    prelude: bytes | None = None,
) -> tuple[KeyExchange, list[Event]]:
    """One exchange with `server`, with extra bytes where a test wants them."""
    machine = KeyExchange(offer or ClientOffer("curve25519-sha256", "ssh-ed25519"), seeded_rng(3))
    client_output = machine.bytes_to_send()
    events = feed(machine, [(server.prelude() if prelude is None else prelude) + after_prelude])
    client_output += machine.bytes_to_send()
    if not machine.finished:
        events += feed(machine, [before_reply + server.reply(client_output, tamper=tamper)])
    return machine, events


def test_a_correct_exchange_with_the_fake_server() -> None:
    machine, events = run(FakeServer())
    assert kinds(events) == [
        "IdentificationReceived",
        "KexInitReceived",
        "KexReplyReceived",
        "ExchangeDone",
    ]
    reply = events[2]
    assert isinstance(reply, KexReplyReceived)
    assert reply.signature_valid
    assert machine.state is State.DONE


@pytest.mark.skipif(not mlkem_available(), reason="cryptography without ML-KEM-768")
def test_mlkem768x25519() -> None:
    _, events = run(FakeServer(), offer=ClientOffer("mlkem768x25519-sha256", "ssh-ed25519"))
    reply = events[-2]
    assert isinstance(reply, KexReplyReceived)
    assert reply.signature_valid, reply.problem


def test_a_bad_signature_is_a_fact_not_an_error() -> None:
    machine, events = run(FakeServer(), tamper=True)
    reply = events[-2]
    assert isinstance(reply, KexReplyReceived)
    assert not reply.signature_valid
    assert reply.problem == "the signature over the exchange hash does not verify"
    assert machine.state is State.DONE


def test_an_ssh1_only_server() -> None:
    machine, events = run(FakeServer(), prelude=b"SSH-1.5-OpenSSH_2.3.0\n")
    assert kinds(events) == ["UnsupportedVersion"]
    assert isinstance(events[0], UnsupportedVersion)
    assert events[0].identification.protocol_version == "1.5"
    assert machine.state is State.NEGOTIATION_FAILED
    assert machine.finished


def test_an_ssh1_and_ssh2_server_is_spoken_to() -> None:
    server = FakeServer()
    server.identification = b"SSH-1.99-OpenSSH_3.9p1"
    machine, events = run(server)
    assert machine.state is State.DONE
    assert isinstance(events[-2], KexReplyReceived)
    assert events[-2].signature_valid


def test_lines_before_the_identification() -> None:
    server = FakeServer()
    _, events = run(server, prelude=b"Authorised users only\r\n" + server.prelude())
    assert isinstance(events[0], IdentificationReceived)
    assert events[0].identification.pre_banner == ("Authorised users only",)


@pytest.mark.parametrize(
    ("changes", "category"),
    [
        ({"kex_algorithms": ("diffie-hellman-group1-sha1",)}, "kex"),
        ({"server_host_key_algorithms": ("ssh-rsa",)}, "host_key"),
        (
            {"encryption_algorithms_server_to_client": ("twofish-ctr-nobody",)},
            "encryption_server_to_client",
        ),
        ({"compression_algorithms_client_to_server": ("zlib-ng",)}, "compression_client_to_server"),
    ],
)
def test_no_algorithm_in_common(changes: dict[str, tuple[str, ...]], category: str) -> None:
    machine, events = run(FakeServer(server_kex_init(**changes)))
    assert kinds(events) == ["IdentificationReceived", "KexInitReceived", "NoCommonAlgorithm"]
    assert isinstance(events[2], NoCommonAlgorithm)
    assert events[2].category == category
    assert machine.state is State.NEGOTIATION_FAILED
    assert machine.bytes_to_send() == b""  # no key exchange message goes out


def test_disconnect() -> None:
    disconnect = Disconnect(2, "Too many authentication failures")
    machine, events = run(FakeServer(), after_prelude=packet(disconnect.encode()))
    assert isinstance(events[-1], DisconnectReceived)
    assert events[-1].disconnect == disconnect
    assert machine.state is State.CLOSED


def test_ignore_debug_and_unimplemented_are_tolerated() -> None:
    noise = (
        packet(Ignore(b"x" * 10).encode())
        + packet(Debug(True, "hello").encode())
        + packet(Unimplemented(5).encode())
    )
    server = FakeServer()
    prelude = server.identification + b"\r\n" + noise + packet(server.kex_init.encode())
    machine, events = run(server, prelude=prelude, before_reply=noise)
    assert machine.state is State.DONE
    assert isinstance(events[-2], KexReplyReceived)
    assert events[-2].signature_valid
    assert sum(isinstance(event, DebugReceived) for event in events) == 2
    assert sum(isinstance(event, UnimplementedReceived) for event in events) == 2


def test_too_many_ignored_messages() -> None:
    noise = packet(Ignore(b"").encode()) * (MAX_IGNORED_MESSAGES + 1)
    machine, events = run(FakeServer(), after_prelude=noise)
    assert isinstance(events[-1], Malformed)
    assert "more than 16" in events[-1].error.reason
    assert machine.state is State.FAILED


def test_a_kexinit_longer_than_its_packet() -> None:
    server = FakeServer()
    payload = server.kex_init.encode()
    cut = payload[:60]  # the declared name-list lengths now overrun the packet
    machine, events = run(server, prelude=server.identification + b"\r\n" + packet(cut))
    assert isinstance(events[-1], Malformed)
    assert events[-1].error.field.startswith("kexinit.")
    assert machine.state is State.FAILED


def test_a_wrong_guess_is_skipped() -> None:
    # Given a server that guessed ecdh-sha2-nistp256 and sent a kex packet for it at once
    server = FakeServer(
        server_kex_init(
            kex_algorithms=("ecdh-sha2-nistp256", "curve25519-sha256"),
            first_kex_packet_follows=True,
        )
    )
    guess = packet(bytes([MessageNumber.KEXDH_REPLY]) + b"guessed and wrong")
    # When the client negotiates curve25519-sha256 instead
    machine, events = run(server, after_prelude=guess)
    # Then the guessed packet is ignored and the real reply is read
    assert machine.state is State.DONE
    assert isinstance(events[-2], KexReplyReceived)
    assert events[-2].signature_valid


def test_a_right_guess_is_not_skipped() -> None:
    server = FakeServer(server_kex_init(first_kex_packet_follows=True))
    machine, events = run(server)
    assert machine.state is State.DONE
    assert isinstance(events[-2], KexReplyReceived)


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (packet(bytes([MessageNumber.NEWKEYS])), "unexpected message 21"),
        (
            packet(bytes([MessageNumber.KEXDH_REPLY])),
            "unexpected REPLY in state AFTER_IDENTIFICATION",
        ),
        (packet(bytes([MessageNumber.EXT_INFO]) + bytes(4)), "unexpected message 7"),
    ],
)
def test_unexpected_messages(extra: bytes, words: str) -> None:
    server = FakeServer()
    prelude = server.identification + b"\r\n" + extra + packet(server.kex_init.encode())
    machine, events = run(server, prelude=prelude)
    assert isinstance(events[-1], Malformed)
    assert words in events[-1].error.reason
    assert machine.state is State.FAILED


def test_a_second_kexinit_is_unexpected() -> None:
    server = FakeServer()
    _, events = run(server, after_prelude=packet(server.kex_init.encode()))
    assert isinstance(events[-1], Malformed)
    assert "unexpected KEXINIT in state AFTER_KEXINIT" in events[-1].error.reason


def test_not_ssh_at_all() -> None:
    machine = KeyExchange(ClientOffer("curve25519-sha256", "ssh-ed25519"), seeded_rng(1))
    events = feed(machine, [b"\x16\x03\x03\x00\x2a\x02\x00"])
    assert kinds(events) == ["Malformed"]
    assert machine.received_prefix == b"\x16\x03\x03\x00\x2a\x02\x00"
    machine.receive_data(b"SSH-2.0-late\r\n")  # input after the end is ignored
    assert machine.next_event() is None


# -- group exchange against a crafted server ---------------------------------------------------


def gex_machine(stop_after: str = "reply") -> tuple[KeyExchange, FakeServer]:
    server = FakeServer(server_kex_init(kex_algorithms=("diffie-hellman-group-exchange-sha256",)))
    offer = ClientOffer("diffie-hellman-group-exchange-sha256", "ssh-ed25519")
    machine = KeyExchange(offer, seeded_rng(4), stop_after=stop_after)
    machine.bytes_to_send()
    feed(machine, [server.prelude()])
    return machine, server


def test_the_gex_request_says_min_n_max() -> None:
    machine, _ = gex_machine()
    reader = PacketReader()
    reader.feed(machine.bytes_to_send())
    assert reader.next_payload() == bytes.fromhex("22 00000800 00000c00 00002000")


@pytest.mark.parametrize(
    ("prime", "generator", "words"),
    [(22, 5, "odd prime"), (23, 1, "range"), (23, 22, "range"), (-23, 5, "positive")],
)
def test_bad_gex_groups(prime: int, generator: int, words: str) -> None:
    machine, _ = gex_machine()
    group = packet(bytes([MessageNumber.KEXDH_REPLY]) + mpint(prime) + mpint(generator))
    events = feed(machine, [group])
    assert isinstance(events[-1], Malformed)
    assert words in events[-1].error.reason


def test_a_gex_reply_with_f_out_of_range() -> None:
    machine, server = gex_machine()
    group = packet(bytes([MessageNumber.KEXDH_REPLY]) + mpint(23) + mpint(5))
    events = feed(machine, [group])
    assert isinstance(events[-1], GexGroupReceived)
    assert events[-1].prime_bits == 5
    reply = bytes([MessageNumber.KEX_DH_GEX_REPLY]) + string(server.host_key_blob) + mpint(1)
    events = feed(machine, [packet(reply + string(b""))])
    assert isinstance(events[-1], Malformed)
    assert "f is not in the range" in events[-1].error.reason


def test_constructor_refuses_what_it_cannot_do() -> None:
    with pytest.raises(ValueError, match="not implemented"):
        KeyExchange(ClientOffer("sntrup761x25519-sha512@openssh.com", "ssh-ed25519"), bytes)
    with pytest.raises(ValueError, match="unsupported"):
        KeyExchange(ClientOffer("curve25519-sha256", "sk-ssh-ed25519@openssh.com"), bytes)
    with pytest.raises(ValueError, match="group-exchange"):
        KeyExchange(ClientOffer("curve25519-sha256", "ssh-ed25519"), bytes, stop_after="gex_group")
    with pytest.raises(ValueError, match="stop_after"):
        KeyExchange(ClientOffer("curve25519-sha256", "ssh-ed25519"), bytes, stop_after="newkeys")
    # Stopping after KEXINIT needs no implementation: any name may be offered.
    KeyExchange(
        ClientOffer("sntrup761x25519-sha512", "x509v3-ssh-rsa"), bytes, stop_after="kexinit"
    )


def test_stop_after_kexinit() -> None:
    machine = KeyExchange(
        ClientOffer("whatever", "ssh-ed25519"), seeded_rng(1), stop_after="kexinit"
    )
    machine.bytes_to_send()
    events = feed(machine, [load_hex("dropbear_nistp256.hex")])
    assert kinds(events) == ["IdentificationReceived", "KexInitReceived", "ExchangeDone"]
    assert machine.bytes_to_send() == b""


# -- properties ----------------------------------------------------------------------------------

_PRELUDE = FakeServer().prelude()


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([b"", _PRELUDE, b"SSH-2.0-x\r\n"]),
    st.lists(st.binary(max_size=80), max_size=6),
)
def test_the_machine_never_raises(prefix: bytes, pieces: list[bytes]) -> None:
    machine = KeyExchange(ClientOffer("curve25519-sha256", "ssh-ed25519"), seeded_rng(1))
    events = feed(machine, [prefix, *pieces])
    malformed = [event for event in events if isinstance(event, Malformed)]
    assert len(malformed) <= 1
    if malformed:
        assert events[-1] is malformed[0]
        assert machine.state is State.FAILED


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.binary(min_size=1, max_size=40))
def test_a_corrupted_capture_never_raises(position: int, garbage: bytes) -> None:
    data = load_hex("openssh_curve25519_ed25519.hex")
    cut = position % len(data)
    corrupted = data[:cut] + garbage + data[cut + len(garbage) :]
    machine = capture_machine("openssh_curve25519_ed25519")
    events = feed(machine, chunks(corrupted, 97))
    # Corrupted bytes end in Malformed, or in a reply whose signature fails: never a raise.
    assert len([event for event in events if isinstance(event, Malformed)]) <= 1
    replies = [event for event in events if isinstance(event, KexReplyReceived)]
    assert all(reply.signature_valid == (reply.problem is None) for reply in replies)
