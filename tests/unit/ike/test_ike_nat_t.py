"""The RFC 3948 non-ESP marker that frames IKE on the NAT-T port (UDP 4500), both ways.

Fixtures: a Main Mode message 1 this codec built, sent to the lab's charon on
UDP 4500 (through lab/ike's relay), and charon's answer exactly as it came back:
tests/unit/ike/fixtures/strongswan_main_mode_nat_t_*.hex.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protoaudit.errors import DecodeError
from protoaudit.proto.ike.constants import MAX_MESSAGE_LENGTH, NAT_KEEPALIVE, NON_ESP_MARKER
from protoaudit.proto.ike.exchanges import V1Suite, decode_for, main_mode_request, read_v1_response
from protoaudit.proto.ike.message import add_non_esp_marker, strip_non_esp_marker

FIXTURES = Path(__file__).parent / "fixtures"
COOKIE = bytes(range(8, 16))


def fixture(name: str) -> bytes:
    return bytes.fromhex((FIXTURES / f"{name}.hex").read_text().strip())


def request() -> bytes:
    return main_mode_request(
        initiator_cookie=COOKIE,
        suites=[V1Suite(8, 128, 6, 1, 21), V1Suite(5, None, 1, 1, 2)],
    )


def test_the_marker_is_four_zero_bytes_before_the_header() -> None:
    framed = add_non_esp_marker(request())
    assert framed[:12].hex() == "00000000" + "08090a0b0c0d0e0f"
    assert framed == fixture("strongswan_main_mode_nat_t_request")
    assert strip_non_esp_marker(framed) == request()


def test_charons_answer_on_4500_decodes_behind_the_marker() -> None:
    data = fixture("strongswan_main_mode_nat_t_response")
    assert data[:4] == NON_ESP_MARKER

    message = decode_for(data, COOKIE, non_esp_marker=True)

    assert message is not None
    assert message.header.length == len(data) - 4
    # charon prefers its own order: 3des-md5-modp1024 comes before camellia128-sha512-ecp521
    assert read_v1_response(message).chosen == V1Suite(5, None, 1, 1, 2)
    assert decode_for(data, bytes(8), non_esp_marker=True) is None  # another exchange's


def test_without_the_marker_flag_the_same_datagram_is_not_ike() -> None:
    with pytest.raises(DecodeError):
        decode_for(fixture("strongswan_main_mode_nat_t_response"), COOKIE)


def test_a_nat_keepalive_carries_no_message() -> None:
    assert strip_non_esp_marker(NAT_KEEPALIVE) is None
    assert decode_for(b"\xff", COOKIE, non_esp_marker=True) is None


@pytest.mark.parametrize(
    ("datagram", "field"),
    [
        (request(), "non_esp_marker"),  # port 500's framing: the cookie is where the marker goes
        (b"\x12\x34\x56\x78" + request(), "non_esp_marker"),  # an ESP packet's SPI
        (bytes(4), "non_esp_marker"),  # the marker alone
        (bytes(4) + request()[:27], "non_esp_marker"),  # less than a header behind it
        (b"", "non_esp_marker"),
        (b"\xff\xff", "non_esp_marker"),  # not a keepalive either
        (bytes(MAX_MESSAGE_LENGTH + 1), "message"),  # more than UDP carries
    ],
)
def test_a_datagram_without_a_marked_message_is_refused(datagram: bytes, field: str) -> None:
    with pytest.raises(DecodeError) as raised:
        strip_non_esp_marker(datagram)
    assert raised.value.field == field


def test_errors_behind_the_marker_count_offsets_from_the_datagram() -> None:
    data = fixture("strongswan_main_mode_nat_t_response")
    truncated = data[:-1]  # the header's length now overruns the datagram
    with pytest.raises(DecodeError) as raised:
        decode_for(truncated, COOKIE, non_esp_marker=True)
    assert raised.value.field == "header.length"
    assert raised.value.offset == 4 + 24


def test_every_prefix_and_trailing_bytes_are_refused() -> None:
    data = fixture("strongswan_main_mode_nat_t_response")
    for end in range(len(data)):
        if data[:end] == NAT_KEEPALIVE:
            continue
        with pytest.raises(DecodeError):
            decode_for(data[:end], COOKIE, non_esp_marker=True)
    with pytest.raises(DecodeError):
        decode_for(data + b"\x00", COOKIE, non_esp_marker=True)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_on_the_nat_t_port_raise_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_for(data, COOKIE, non_esp_marker=True)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=28, max_size=300))
def test_add_then_strip_gives_the_message_back(message: bytes) -> None:
    assert strip_non_esp_marker(add_non_esp_marker(message)) == message
