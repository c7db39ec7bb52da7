"""SSH_MSG_KEXINIT and the transport messages a server may send at any time."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ssh_helpers import expected, load_hex

from protoaudit.errors import DecodeError
from protoaudit.proto.ssh.encoding import write_name_list
from protoaudit.proto.ssh.ident import parse_identification
from protoaudit.proto.ssh.kexinit import NAME_LIST_FIELDS, KexInit
from protoaudit.proto.ssh.messages import Debug, Disconnect, Ignore, Unimplemented
from protoaudit.proto.ssh.negotiation import Negotiated, NoCommon, negotiate
from protoaudit.proto.ssh.packet import PacketReader
from protoaudit.registry import ssh as registry
from protoaudit.wire import Writer

STRICT_KEX_SERVER = "kex-strict-s-v00@openssh.com"


def server_kex_init_payload(fixture: str) -> bytes:
    found = parse_identification(load_hex(fixture))
    assert found is not None
    reader = PacketReader()
    reader.feed(found[1])
    payload = reader.next_payload()
    assert payload is not None
    return payload


def test_openssh_lists_are_what_sshd_t_says() -> None:
    # Given sshd's KEXINIT from a server with the default configuration
    kex_init = KexInit.decode(server_kex_init_payload("openssh_curve25519_ed25519.hex"))
    sshd_t = expected()["sshd_T"]["openssh"]
    # Then each list is `sshd -T`'s, with the strict-kex marker after the methods
    assert kex_init.kex_algorithms == (*sshd_t["kexalgorithms"], STRICT_KEX_SERVER)
    assert kex_init.encryption_algorithms_client_to_server == tuple(sshd_t["ciphers"])
    assert kex_init.encryption_algorithms_server_to_client == tuple(sshd_t["ciphers"])
    assert kex_init.mac_algorithms_client_to_server == tuple(sshd_t["macs"])
    assert kex_init.mac_algorithms_server_to_client == tuple(sshd_t["macs"])
    assert sshd_t["compression"] == "yes"
    assert kex_init.compression_algorithms_client_to_server == ("none", "zlib@openssh.com")
    assert kex_init.languages_client_to_server == ()
    assert kex_init.first_kex_packet_follows is False
    assert kex_init.reserved == 0
    # and the host keys are those of sshd -T it has a key or certificate for, in key order
    loaded = {"ssh-rsa", "ssh-ed25519", "ssh-dss"} | {
        f"ecdsa-sha2-nistp{bits}" for bits in (256, 384, 521)
    }
    loaded |= {f"{name}-cert-v01@openssh.com" for name in ("ssh-ed25519", "ssh-rsa")}
    loaded.add("ecdsa-sha2-nistp384-cert-v01@openssh.com")
    allowed = {
        name
        for name in sshd_t["hostkeyalgorithms"]
        if registry.host_key_algorithm(name).key_type in loaded
    }
    assert set(kex_init.server_host_key_algorithms) == allowed
    assert len(kex_init.server_host_key_algorithms) == len(allowed)


def test_legacy_configuration_adds_what_it_says() -> None:
    kex_init = KexInit.decode(server_kex_init_payload("legacy_group1_dss.hex"))
    assert kex_init.kex_algorithms[:-1] == tuple(expected()["sshd_T"]["legacy"]["kexalgorithms"])
    assert {"ssh-dss", "ssh-rsa"} <= set(kex_init.server_host_key_algorithms)


def test_dropbear_lists() -> None:
    kex_init = KexInit.decode(server_kex_init_payload("dropbear_curve25519_ed25519.hex"))
    assert "kexguess2@matt.ucc.asn.au" in kex_init.kex_algorithms
    assert kex_init.server_host_key_algorithms == (
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "rsa-sha2-256",
        "ssh-rsa",
        "ssh-dss",
    )
    assert kex_init.compression_algorithms_client_to_server == ("zlib@openssh.com", "none")


@pytest.mark.parametrize(
    "fixture", ["openssh_curve25519_ed25519.hex", "dropbear_nistp256.hex", "legacy_group1_dss.hex"]
)
def test_captured_payloads_encode_back_to_the_same_bytes(fixture: str) -> None:
    payload = server_kex_init_payload(fixture)
    assert KexInit.decode(payload).encode() == payload


def kex_init_with(lists: list[bytes], tail: bytes = b"\0\0\0\0\0") -> bytes:
    writer = Writer().u8(20).raw(bytes(16))
    for raw in lists:
        writer.vector(raw, 4)
    return writer.getvalue() + tail


GOOD = [b"curve25519-sha256", b"ssh-ed25519", b"aes128-ctr", b"aes128-ctr"]
GOOD += [b"hmac-sha2-256", b"hmac-sha2-256", b"none", b"none", b"", b""]


def test_the_hand_built_one_decodes() -> None:
    kex_init = KexInit.decode(kex_init_with(GOOD))
    assert kex_init.kex_algorithms == ("curve25519-sha256",)
    assert kex_init.languages_server_to_client == ()


@pytest.mark.parametrize(
    ("index", "raw", "words"),
    [
        (0, b"a,,b", "empty name"),
        (0, b"a,", "empty name"),
        (1, b"ssh ed25519", "not printable US-ASCII"),
        (1, b"ssh-\xc3\xa9d25519", "not printable US-ASCII"),
        (2, b"x" * 65, "65 characters"),
        (3, b",".join([b"n"] * 129), "129 names"),
    ],
)
def test_bad_names(index: int, raw: bytes, words: str) -> None:
    lists = list(GOOD)
    lists[index] = raw
    with pytest.raises(DecodeError) as raised:
        KexInit.decode(kex_init_with(lists))
    assert raised.value.field.startswith(f"kexinit.{NAME_LIST_FIELDS[index]}")
    assert words in raised.value.reason


def test_a_name_list_longer_than_its_packet() -> None:
    payload = kex_init_with(GOOD)
    truncated = payload[:40]  # cut inside the second name-list
    with pytest.raises(DecodeError) as raised:
        KexInit.decode(truncated)
    assert raised.value.field.startswith("kexinit.")


def test_bytes_after_reserved_and_a_wrong_message_number() -> None:
    with pytest.raises(DecodeError, match="left over"):
        KexInit.decode(kex_init_with(GOOD, tail=bytes(6)))
    with pytest.raises(DecodeError, match="not KEXINIT"):
        KexInit.decode(b"\x15" + kex_init_with(GOOD)[1:])


def test_first_kex_packet_follows_any_non_zero_is_true() -> None:
    kex_init = KexInit.decode(kex_init_with(GOOD, tail=b"\x07\0\0\0\x01"))
    assert kex_init.first_kex_packet_follows is True
    assert kex_init.reserved == 1


def test_the_encoder_serialises_even_bad_names() -> None:
    writer = write_name_list(Writer(), ["a,b", ""])
    assert writer.getvalue() == b"\0\0\0\x04a,b,"


def with_lists(**changes: bytes) -> KexInit:
    lists = dict(zip(NAME_LIST_FIELDS, GOOD, strict=True))
    lists.update(changes)
    return KexInit.decode(kex_init_with(list(lists.values())))


GCM = b"aes256-gcm@openssh.com"


def test_negotiation_needs_a_mac_unless_the_cipher_is_an_aead() -> None:
    # Given a server whose MAC lists share nothing with ours
    server = with_lists(
        encryption_algorithms_client_to_server=GCM + b",aes128-ctr",
        encryption_algorithms_server_to_client=GCM + b",aes128-ctr",
        mac_algorithms_client_to_server=b"x",
        mac_algorithms_server_to_client=b"x",
    )
    # When our first cipher it knows is aes128-ctr, the MACs must match: they do not
    assert negotiate(with_lists(), server) == NoCommon(
        "mac_client_to_server", ("hmac-sha2-256",), ("x",)
    )
    # When we offer the AEAD first both ways, no MAC is negotiated at all
    ours = with_lists(
        encryption_algorithms_client_to_server=GCM + b",aes128-ctr",
        encryption_algorithms_server_to_client=GCM,
    )
    assert negotiate(ours, server) == Negotiated(
        "curve25519-sha256",
        "ssh-ed25519",
        "aes256-gcm@openssh.com",
        "aes256-gcm@openssh.com",
        None,
        None,
        "none",
        "none",
    )


def test_negotiation_reports_the_first_category_without_a_match() -> None:
    outcome = negotiate(with_lists(), with_lists(server_host_key_algorithms=b"ssh-rsa"))
    assert outcome == NoCommon("host_key", ("ssh-ed25519",), ("ssh-rsa",))


def test_negotiation_never_chooses_a_marker() -> None:
    client = KexInit.decode(kex_init_with([b"ext-info-c,curve25519-sha256", *GOOD[1:]]))
    server = KexInit.decode(kex_init_with([b"ext-info-c", *GOOD[1:]]))
    assert negotiate(client, server) == NoCommon(
        "kex", ("ext-info-c", "curve25519-sha256"), ("ext-info-c",)
    )


# -- DISCONNECT, IGNORE, DEBUG, UNIMPLEMENTED ----------------------------------------------------


def test_transport_messages_known_bytes() -> None:
    disconnect = Disconnect.decode(bytes.fromhex("01 00000003 00000003 626164 00000002 656e"))
    assert disconnect == Disconnect(3, "bad", "en")
    assert disconnect.reason_name == "SSH_DISCONNECT_KEY_EXCHANGE_FAILED"
    assert Disconnect(99, "").reason_name == "UNKNOWN_99"
    assert Ignore.decode(bytes.fromhex("02 00000002 abcd")) == Ignore(b"\xab\xcd")
    assert Unimplemented.decode(bytes.fromhex("03 00000007")) == Unimplemented(7)
    assert Debug.decode(bytes.fromhex("04 01 00000002 6869 00000000")) == Debug(True, "hi")


def test_bad_utf8_in_text_survives_as_replacement_characters() -> None:
    assert Debug.decode(bytes.fromhex("04 00 00000001 ff 00000000")).message == "\ufffd"


@pytest.mark.parametrize(
    "payload",
    [
        bytes.fromhex("01 00000003 00000009 626164"),  # description longer than the packet
        bytes.fromhex("01 00000003 00000000 00000000 00"),  # a byte left over
        bytes.fromhex("02 00000002 ab"),
        bytes.fromhex("03 000007"),
        bytes.fromhex("04 01"),
        bytes.fromhex("05 00000000"),  # not the message it claims
    ],
)
def test_bad_transport_messages(payload: bytes) -> None:
    decoders: dict[int, Callable[[bytes], object]] = {
        1: Disconnect.decode,
        2: Ignore.decode,
        3: Unimplemented.decode,
        4: Debug.decode,
        5: Ignore.decode,
    }
    with pytest.raises(DecodeError):
        decoders[payload[0]](payload)


_name = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=24)
_names = st.lists(_name.filter(lambda name: "," not in name), max_size=8).map(tuple)


@given(
    cookie=st.binary(min_size=16, max_size=16),
    lists=st.lists(_names, min_size=10, max_size=10),
    follows=st.booleans(),
    reserved=st.integers(0, 2**32 - 1),
)
def test_kex_init_round_trip(
    cookie: bytes, lists: list[tuple[str, ...]], follows: bool, reserved: int
) -> None:
    kex_init = KexInit(
        cookie,
        lists[0],
        lists[1],
        lists[2],
        lists[3],
        lists[4],
        lists[5],
        lists[6],
        lists[7],
        lists[8],
        lists[9],
        first_kex_packet_follows=follows,
        reserved=reserved,
    )
    assert KexInit.decode(kex_init.encode()) == kex_init


@given(
    st.one_of(
        st.builds(Disconnect, st.integers(0, 2**32 - 1), st.text(), st.text()),
        st.builds(Ignore, st.binary()),
        st.builds(Unimplemented, st.integers(0, 2**32 - 1)),
        st.builds(Debug, st.booleans(), st.text(), st.text()),
    )
)
def test_transport_messages_round_trip(
    message: Disconnect | Ignore | Unimplemented | Debug,
) -> None:
    assert type(message).decode(message.encode()) == message


@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_decode_error(data: bytes) -> None:
    for decoder in (KexInit, Disconnect, Ignore, Unimplemented, Debug):
        for payload in (data, bytes([20]) + data, bytes([1, 0, 0, 0, 2]) + data):
            with contextlib.suppress(DecodeError):
                decoder.decode(payload)
