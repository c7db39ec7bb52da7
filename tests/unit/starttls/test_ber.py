"""The BER subset LDAP needs: DER out, bounded BER in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protoaudit.errors import DecodeError
from protoaudit.proto.starttls import ber

STARTTLS_REQUEST = bytes.fromhex("301d020101771880 16") + b"1.3.6.1.4.1.1466.20037"


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, "020100"),
        (1, "020101"),
        (127, "02017f"),
        (128, "02020080"),
        (256, "02020100"),
        (-1, "0201ff"),
        (-128, "020180"),
        (-129, "0202ff7f"),
        (2**31 - 1, "02047fffffff"),
    ],
)
def test_integers_are_minimal_twos_complement(value: int, encoded: str) -> None:
    assert ber.encode_integer(value) == bytes.fromhex(encoded)
    assert ber.decode_exactly(bytes.fromhex(encoded)).as_integer("n") == value


@pytest.mark.parametrize(
    ("length", "encoded"),
    [(0, "00"), (127, "7f"), (128, "8180"), (255, "81ff"), (256, "820100"), (65536, "83010000")],
)
def test_lengths_are_shortest_form(length: int, encoded: str) -> None:
    assert ber.encode_length(length) == bytes.fromhex(encoded)


def test_identifiers() -> None:
    assert ber.encode_identifier(ber.UNIVERSAL, True, ber.SEQUENCE) == b"\x30"
    assert ber.encode_identifier(ber.APPLICATION, True, 23) == b"\x77"
    assert ber.encode_identifier(ber.CONTEXT, False, 10) == b"\x8a"
    assert ber.encode_identifier(ber.CONTEXT, False, 31) == b"\x9f\x1f"
    assert ber.encode_identifier(ber.APPLICATION, True, 201) == b"\x7f\x81\x49"


def test_the_starttls_request_decodes_to_its_parts() -> None:
    message = ber.decode_exactly(STARTTLS_REQUEST)
    assert message.is_tag(ber.UNIVERSAL, ber.SEQUENCE, constructed=True)
    message_id, operation = message.children("LDAPMessage")
    assert message_id.as_integer("messageID") == 1
    assert operation.name == "[APPLICATION 23]"
    (name,) = operation.children("ExtendedRequest")
    assert name.is_tag(ber.CONTEXT, 0, constructed=False)
    assert name.as_octets("requestName") == b"1.3.6.1.4.1.1466.20037"
    assert name.offset == 9  # where its contents start in the message
    assert message.encode() == STARTTLS_REQUEST


def test_long_form_lengths_that_short_form_would_do_are_read() -> None:
    # Given the shape Active Directory writes: 0x84 and four octets, even for 5 bytes
    data = bytes.fromhex("30 84 00000005 020101 0400")
    # Then it reads as the same SEQUENCE
    element = ber.decode_exactly(data)
    assert [child.name for child in element.children("seq")] == ["INTEGER", "OCTET STRING"]
    assert ber.frame_length(data) == len(data)


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ("3080 020101 0000", "length", "indefinite"),
        ("30ff", "length", "reserved"),
        ("3085 0000000001 00", "length", "5 octets"),
        ("3083 010001", "length", "exceeds the bound 65536"),
        ("1f80 01 00", "tag", "padded"),
        ("1f818181 01 00", "tag", "more than 3 octets"),
    ],
)
def test_refused_headers(data: str, field: str, reason: str) -> None:
    raw = bytes.fromhex(data)
    with pytest.raises(DecodeError) as caught:
        ber.frame_length(raw)
    assert caught.value.field == field
    assert reason in caught.value.reason
    with pytest.raises(DecodeError):
        ber.decode(raw)


def test_a_bound_is_enforced_from_the_header_alone() -> None:
    # Given only the header of a 20000-byte element, and a bound of 16384
    with pytest.raises(DecodeError, match="exceeds the bound 16384"):
        ber.frame_length(bytes.fromhex("30824e20"), max_length=16384)


def test_frame_length_waits_for_the_whole_header() -> None:
    data = bytes.fromhex("30 84 00000005 020101 0400")
    for end in range(6):
        assert ber.frame_length(data[:end]) is None
    for end in range(6, len(data) + 1):
        assert ber.frame_length(data[:end]) == 11


def test_truncated_and_trailing_bytes() -> None:
    with pytest.raises(DecodeError, match="2 bytes left"):
        ber.decode(bytes.fromhex("3003 0201"))
    with pytest.raises(DecodeError, match="truncated"):
        ber.decode(b"")
    with pytest.raises(DecodeError, match="1 bytes after the element"):
        ber.decode_exactly(STARTTLS_REQUEST + b"\x00")


def test_children_must_fill_their_parent() -> None:
    # A SEQUENCE of 4 bytes whose only child claims 3 bytes of contents.
    parent = ber.decode_exactly(bytes.fromhex("3004 0403 6162"))
    with pytest.raises(DecodeError) as caught:
        parent.children("seq")
    assert caught.value.offset == 4
    with pytest.raises(DecodeError, match="primitive"):
        ber.decode_exactly(bytes.fromhex("0400")).children("x")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("0200", "0 octets"),
        ("0209 010000000000000000", "9 octets"),
        ("2203 020101", "must be primitive"),
    ],
)
def test_integer_contents(data: str, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        ber.decode_exactly(bytes.fromhex(data)).as_integer("n")


def test_constructed_strings_are_refused() -> None:
    with pytest.raises(DecodeError, match="must be primitive"):
        ber.decode_exactly(bytes.fromhex("2403 040161")).as_octets("s")


tag_classes = st.sampled_from([ber.UNIVERSAL, ber.APPLICATION, ber.CONTEXT, ber.PRIVATE])


@given(tag_classes, st.booleans(), st.integers(0, 2**21 - 1), st.binary(max_size=300))
def test_encode_decode_round_trip(
    tag_class: int, constructed: bool, number: int, value: bytes
) -> None:
    encoded = ber.encode_tlv(tag_class, constructed, number, value)
    element = ber.decode_exactly(encoded)
    assert element == ber.Element(tag_class, constructed, number, value)
    assert element.encode() == encoded
    assert ber.frame_length(encoded) == len(encoded)


@given(st.integers(-(2**63), 2**63 - 1))
def test_integer_round_trip(value: int) -> None:
    assert ber.decode_exactly(ber.encode_integer(value)).as_integer("n") == value
    assert ber.decode_exactly(ber.encode_enumerated(value)).as_integer("n") == value


@given(st.binary(max_size=200), st.integers(1, 70000))
def test_arbitrary_bytes_raise_only_decode_error(data: bytes, bound: int) -> None:
    try:
        size = ber.frame_length(data, max_length=bound)
    except DecodeError:
        size = None
    else:
        # A size, when given, never exceeds the bound plus the longest header.
        assert size is None or size <= bound + 1 + ber.MAX_TAG_NUMBER_OCTETS + 1 + 4
    try:
        element, _ = ber.decode(data, max_length=bound)
        if element.constructed:
            element.children("x")
        element.as_integer("x")
    except DecodeError:
        pass
