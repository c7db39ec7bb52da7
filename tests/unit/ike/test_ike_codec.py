"""The IKE codec: byte vectors both ways, every prefix, trailing bytes, hostile lengths, fuzz.

Fixtures are datagrams exchanged with the lab's strongSwan 5.9.8 charon
(requests built by this codec with fixed SPIs, nonces and secrets; the answers
as charon sent them): tests/unit/ike/fixtures/*.hex.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protoaudit.errors import DecodeError, ProtocolViolation
from protoaudit.proto.ike.constants import ExchangeType, V2Notify
from protoaudit.proto.ike.exchanges import (
    Offer,
    V1Suite,
    aggressive_mode_request,
    decode_for,
    main_mode_request,
    nat_detection_hash,
    proposals_for,
    read_sa_init_response,
    read_v1_response,
    sa_init_request,
)
from protoaudit.proto.ike.keyexchange import (
    can_generate,
    generated_groups,
    modp_prime,
    public_value,
)
from protoaudit.proto.ike.message import decode_message, encode_message
from protoaudit.proto.ike.payloads import (
    Attribute,
    KeyExchange,
    Nonce,
    Notify,
    Proposal,
    SecurityAssociation,
    Transform,
    UnknownPayload,
    V1Hash,
    V1Identification,
    V1KeyExchange,
    V1Notification,
    V1SecurityAssociation,
    VendorId,
)
from protoaudit.proto.ssh.modp import prime as ssh_prime
from protoaudit.registry.ike import key_exchange_method

FIXTURES = Path(__file__).parent / "fixtures"
SPI = bytes(range(8))


def fixture(name: str) -> bytes:
    return bytes.fromhex((FIXTURES / f"{name}.hex").read_text().strip())


def lab_request() -> bytes:
    offer = Offer(((20, 256), (12, 128), (3, None)), (6, 5, 2), (12, 2), (20,))
    return sa_init_request(
        initiator_spi=SPI,
        proposals=proposals_for(offer),
        dh_group_num=20,
        key_exchange_data=public_value(20, bytes(56)),
        nonce=bytes(32),
    )


# --- golden vectors, both ways -------------------------------------------------------------


def test_sa_init_request_encodes_to_the_bytes_charon_answered() -> None:
    assert lab_request() == fixture("strongswan_sa_init_request")


def test_main_mode_request_encodes_to_the_recorded_bytes() -> None:
    request = main_mode_request(
        initiator_cookie=bytes(range(8, 16)),
        suites=[V1Suite(7, 256, 4, 1, 14), V1Suite(5, None, 1, 1, 2)],
    )
    assert request == fixture("strongswan_main_mode_request")


@pytest.mark.parametrize(
    "name",
    [
        "strongswan_sa_init_request",
        "strongswan_sa_init_response",
        "strongswan_main_mode_request",
        "strongswan_main_mode_response",
    ],
)
def test_every_fixture_decodes_and_encodes_back(name: str) -> None:
    data = fixture(name)
    message = decode_message(data)
    header = message.header
    again = encode_message(
        initiator_spi=header.initiator_spi,
        responder_spi=header.responder_spi,
        major_version=header.major_version,
        minor_version=header.minor_version,
        exchange_type=header.exchange_type,
        flags=header.flags,
        message_id=header.message_id,
        payloads=message.payloads,
    )
    assert again == data


def test_charons_sa_init_answer_says_what_it_chose() -> None:
    response = read_sa_init_response(decode_message(fixture("strongswan_sa_init_response")))
    assert response.chosen is not None
    chosen = {(t.transform_type, t.transform_id, t.key_length) for t in response.chosen.transforms}
    assert chosen == {(1, 20, 256), (2, 6, None), (4, 20, None)}
    assert response.error is None
    assert response.responder_group == 20
    assert response.notify(V2Notify.IKEV2_FRAGMENTATION_SUPPORTED) is not None  # we offered it
    assert response.vendor_ids == (bytes.fromhex("882fe56d6fd20dbc2251613b2ebe5beb"),)


def test_charons_main_mode_answer_names_one_suite_and_its_vendor_ids() -> None:
    response = read_v1_response(decode_message(fixture("strongswan_main_mode_response")))
    assert response.chosen == V1Suite(7, 256, 4, 1, 14)
    assert response.exchange_type == ExchangeType.IDENTITY_PROTECTION
    assert bytes.fromhex("09002689dfd6b712") in response.vendor_ids


def test_decode_for_ignores_a_message_for_another_exchange() -> None:
    data = fixture("strongswan_sa_init_response")
    assert decode_for(data, SPI) is not None
    assert decode_for(data, bytes(8)) is None


# --- three ways: whole, every prefix, trailing bytes ---------------------------------------


@pytest.mark.parametrize("name", ["strongswan_sa_init_response", "strongswan_main_mode_response"])
def test_every_prefix_and_any_trailing_byte_is_a_decode_error(name: str) -> None:
    data = fixture(name)
    for end in range(len(data)):
        with pytest.raises(DecodeError):
            decode_message(data[:end])
    with pytest.raises(DecodeError, match=r"header\.length"):
        decode_message(data + b"\x00")


# --- hostile lengths -----------------------------------------------------------------------


def _v2(payload_bytes: bytes, first: int) -> bytes:
    header = SPI + bytes(8) + bytes([first, 0x20, 34, 0x20]) + bytes(4)
    return header + (28 + len(payload_bytes)).to_bytes(4, "big") + payload_bytes


def test_a_zero_length_payload_cannot_loop() -> None:
    with pytest.raises(DecodeError, match="shorter than the generic header"):
        decode_message(_v2(bytes([43, 0, 0, 0]), 43))


def test_a_payload_length_that_overruns_is_refused() -> None:
    with pytest.raises(DecodeError, match="needs"):
        decode_message(_v2(bytes([0, 0, 0xFF, 0xFF]), 43))


def test_a_chain_longer_than_the_limit_is_refused() -> None:
    chain = b"".join(bytes([43, 0, 0, 4]) for _ in range(70))
    with pytest.raises(DecodeError, match="more than 64 payloads"):
        decode_message(_v2(chain, 43))


def test_a_transform_count_that_disagrees_is_refused() -> None:
    transform = bytes([0, 0, 0, 8, 1, 0, 0, 12])
    proposal_body = bytes([1, 1, 0, 2]) + transform
    proposal = bytes([0, 0]) + (4 + len(proposal_body)).to_bytes(2, "big") + proposal_body
    payload = bytes([0, 0]) + (4 + len(proposal)).to_bytes(2, "big") + proposal
    with pytest.raises(DecodeError, match="says 2, 1 present"):
        decode_message(_v2(payload, 33))


def test_a_bad_substructure_marker_is_refused() -> None:
    proposal = bytes([7, 0, 0, 8, 1, 1, 0, 0])
    payload = bytes([0, 0]) + (4 + len(proposal)).to_bytes(2, "big") + proposal
    with pytest.raises(DecodeError, match="neither 0 nor 2"):
        decode_message(_v2(payload, 33))


def test_an_unknown_major_version_is_refused() -> None:
    data = bytearray(fixture("strongswan_sa_init_response"))
    data[17] = 0x30
    with pytest.raises(DecodeError, match="major version 3"):
        decode_message(bytes(data))


def test_unknown_payloads_survive_with_their_critical_bit() -> None:
    data = _v2(bytes([0, 0x80, 0, 6, 0xAB, 0xCD]), 200)
    (payload,) = decode_message(data).payloads
    assert payload == UnknownPayload(200, True, b"\xab\xcd")


# --- round trips of every payload ----------------------------------------------------------


def test_v2_payloads_round_trip() -> None:
    payloads = (
        SecurityAssociation(
            (
                Proposal(1, 1, b"", (Transform(1, 12, (Attribute(14, 128),)), Transform(2, 5))),
                Proposal(2, 3, b"\x01\x02\x03\x04", (Transform(4, 19),)),
            )
        ),
        KeyExchange(19, b"\x04" * 64),
        Nonce(b"n" * 32),
        Notify(0, b"", 16390, b"cookie"),
        VendorId(b"vendor"),
    )
    data = encode_message(
        initiator_spi=SPI,
        responder_spi=bytes(8),
        major_version=2,
        exchange_type=34,
        flags=0x08,
        message_id=0,
        payloads=payloads,
    )
    assert decode_message(data).payloads == payloads


def test_v1_payloads_round_trip() -> None:
    request = aggressive_mode_request(
        initiator_cookie=SPI,
        suites=[V1Suite(7, 128, 2, 1, 2)],
        key_exchange_data=public_value(2, bytes(56)),
        nonce=b"n" * 20,
        id_type=3,
        identification=b"me@example.invalid",
        vendor_ids=(b"\x09\x00\x26\x89\xdf\xd6\xb7\x12",),
    )
    message = decode_message(request)
    kinds = [type(p) for p in message.payloads]
    assert kinds == [V1SecurityAssociation, V1KeyExchange, Nonce, V1Identification, VendorId]
    extra = (V1Hash(b"h" * 20), V1Notification(1, 1, SPI, 14, b""))
    again = encode_message(
        initiator_spi=SPI,
        responder_spi=SPI,
        major_version=1,
        exchange_type=4,
        flags=0,
        message_id=0,
        payloads=(*message.payloads, *extra),
    )
    decoded = decode_message(again)
    assert decoded.payloads == (*message.payloads, *extra)
    response = read_v1_response(decoded)
    assert response.hash_length == 20
    assert response.chosen == V1Suite(7, 128, 2, 1, 2)


def test_an_answer_with_two_proposals_breaks_the_rules() -> None:
    sa = SecurityAssociation((Proposal(1, 1, b"", ()), Proposal(2, 1, b"", ())))
    data = encode_message(
        initiator_spi=SPI,
        responder_spi=SPI,
        major_version=2,
        exchange_type=34,
        flags=0x20,
        message_id=0,
        payloads=(sa,),
    )
    with pytest.raises(ProtocolViolation):
        read_sa_init_response(decode_message(data))


def test_proposals_split_aead_from_classic_ciphers() -> None:
    aead, classic = proposals_for(Offer(((20, 128), (12, 128)), (5,), (12,), (19,)))
    assert [t.transform_type for t in aead.transforms] == [1, 2, 4]
    assert [t.transform_type for t in classic.transforms] == [1, 2, 3, 4]


# --- key exchange values -------------------------------------------------------------------


def test_modp_primes_are_the_rfc_primes() -> None:
    assert modp_prime(2) == ssh_prime(1)
    for group in (14, 15, 16, 17, 18):
        assert modp_prime(group) == ssh_prime(group)
    assert hex(modp_prime(1)).endswith("a63a3620ffffffffffffffff")  # RFC 2409 6.1


@pytest.mark.parametrize("group", generated_groups())
def test_public_values_have_the_registry_length(group: int) -> None:
    assert can_generate(group)
    value = public_value(group, bytes(range(56)))
    assert len(value) == key_exchange_method(group).public_value_bytes
    assert value == public_value(group, bytes(range(56)))  # the secret decides it


def test_nat_detection_hash_is_rfc_7296_sha1() -> None:
    digest = nat_detection_hash(SPI, bytes(8), "127.0.0.1", 500)
    assert len(digest) == 20
    assert digest != nat_detection_hash(SPI, bytes(8), "127.0.0.1", 501)


# --- fuzz ----------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_message(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bodies_after_a_valid_header_raise_only_decode_error(body: bytes) -> None:
    for first in (33, 41, 43, 1, 13):
        for version in (0x10, 0x20):
            header = SPI + bytes(8) + bytes([first, version, 34, 0]) + bytes(4)
            with contextlib.suppress(DecodeError):
                decode_message(header + (28 + len(body)).to_bytes(4, "big") + body)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 12), st.integers(0, 0xFFFF), st.one_of(st.none(), st.integers(0, 0xFFFF))
        ),
        min_size=1,
        max_size=20,
    )
)
def test_v2_sa_round_trips(transforms: list[tuple[int, int, int | None]]) -> None:
    made = tuple(
        Transform(kind, code, () if bits is None else (Attribute(14, bits),))
        for kind, code, bits in transforms
    )
    sa = SecurityAssociation((Proposal(1, 1, b"", made),))
    data = encode_message(
        initiator_spi=SPI,
        responder_spi=bytes(8),
        major_version=2,
        exchange_type=34,
        flags=8,
        message_id=0,
        payloads=(sa,),
    )
    assert decode_message(data).payloads == (sa,)
