"""Record framing and handshake reassembly: RecordBuffer, HandshakeBuffer, encode_record."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tls_helpers import chunks, load_hex, messages_of, records_of

from protoaudit.errors import DecodeError
from protoaudit.proto.tls.constants import ContentType, HandshakeType, version_name
from protoaudit.proto.tls.records import (
    HandshakeBuffer,
    Record,
    RecordBuffer,
    SSLv2Record,
    encode_handshake,
    encode_record,
    encode_sslv2_record,
)


def test_version_names() -> None:
    assert version_name(0x0002) == "SSLv2"
    assert version_name(0x0300) == "SSLv3"
    assert version_name(0x0301) == "TLS 1.0"
    assert version_name(0x0303) == "TLS 1.2"
    assert version_name(0x0304) == "TLS 1.3"
    assert version_name(0x7F1C) == "TLS 1.3 draft 28"
    assert version_name(0x0A0A) == "0x0a0a"


def test_encode_record_header() -> None:
    assert encode_record(22, 0x0301, b"abc") == bytes.fromhex("16 0301 0003") + b"abc"


def test_encode_record_splits_at_2_14() -> None:
    payload = bytes(range(256)) * 80  # 20480 bytes
    data = encode_record(ContentType.HANDSHAKE, 0x0303, payload)
    records = records_of(data)
    assert [len(r.fragment) for r in records if isinstance(r, Record)] == [16384, 4096]
    assert b"".join(r.fragment for r in records if isinstance(r, Record)) == payload


def test_encode_record_of_nothing_is_one_empty_record() -> None:
    assert encode_record(ContentType.ALERT, 0x0303, b"") == bytes.fromhex("15 0303 0000")


@pytest.mark.parametrize("piece", [None, 1, 7])
def test_captured_flight_reads_the_same_whole_and_in_pieces(piece: int | None) -> None:
    # Given the TLS 1.2 flight openssl s_server sent (ServerHello .. ServerHelloDone)
    flight = load_hex("server_tls12_ecdhe.hex")
    # When it is fed whole or a few bytes at a time
    messages = messages_of(records_of(flight, piece))
    # Then the same four handshake messages come out
    assert [msg_type for msg_type, _ in messages] == [
        HandshakeType.SERVER_HELLO,
        HandshakeType.CERTIFICATE,
        HandshakeType.SERVER_KEY_EXCHANGE,
        HandshakeType.SERVER_HELLO_DONE,
    ]
    assert b"".join(encode_handshake(t, body) for t, body in messages) == b"".join(
        r.fragment for r in records_of(flight) if isinstance(r, Record)
    )


def test_trailing_partial_record_stays_buffered() -> None:
    flight = load_hex("server_alert.hex")
    buffer = RecordBuffer()
    buffer.feed(flight + b"\x16\x03\x03\x00")
    assert buffer.next_record() == Record(ContentType.ALERT, 0x0303, bytes.fromhex("0228"))
    assert buffer.next_record() is None
    assert buffer.buffered == 4


def test_handshake_message_split_across_records_and_records_with_two_messages() -> None:
    first = encode_handshake(HandshakeType.CERTIFICATE, b"x" * 40)
    second = encode_handshake(HandshakeType.SERVER_HELLO_DONE, b"")
    stream = first + second
    records = [Record(22, 0x0303, part) for part in (stream[:10], stream[10:43], stream[43:])]
    assert messages_of(records) == [
        (HandshakeType.CERTIFICATE, b"x" * 40),
        (HandshakeType.SERVER_HELLO_DONE, b""),
    ]


def test_unknown_content_type_is_refused() -> None:
    buffer = RecordBuffer()
    buffer.feed(encode_record(22, 0x0303, b"hi") + b"HTTP/1.1 400 Bad Request\r\n")
    assert isinstance(buffer.next_record(), Record)
    with pytest.raises(DecodeError) as caught:
        buffer.next_record()
    assert caught.value.field == "record.type"
    assert caught.value.offset == 7
    # A buffer that lost its framing stays failed.
    with pytest.raises(DecodeError):
        buffer.next_record()
    with pytest.raises(DecodeError):
        buffer.feed(b"more")


def test_record_longer_than_allowed_is_refused_before_its_body_arrives() -> None:
    buffer = RecordBuffer()
    buffer.feed(bytes.fromhex("16 0303") + (2**14 + 2048 + 1).to_bytes(2, "big"))
    with pytest.raises(DecodeError) as caught:
        buffer.next_record()
    assert caught.value.field == "record.length"


def test_largest_allowed_record_is_accepted() -> None:
    payload = b"\x00" * (2**14 + 2048)
    buffer = RecordBuffer()
    buffer.feed(bytes.fromhex("17 0303") + len(payload).to_bytes(2, "big") + payload)
    record = buffer.next_record()
    assert isinstance(record, Record)
    assert len(record.fragment) == len(payload)


def test_buffer_cap() -> None:
    buffer = RecordBuffer(max_buffered=100)
    buffer.feed(b"\x16" * 60)
    with pytest.raises(DecodeError) as caught:
        buffer.feed(b"\x16" * 41)
    assert caught.value.field == "buffer"


def test_default_buffer_cap_is_one_mebibyte() -> None:
    buffer = RecordBuffer()
    buffer.feed(b"\x17" * (1 << 20))
    with pytest.raises(DecodeError):
        buffer.feed(b"\x17")


def test_sslv2_framing_is_detected_from_the_first_byte() -> None:
    message = bytes([4]) + b"server hello body"
    data = encode_sslv2_record(message)
    assert data[:2] == (0x8000 | len(message)).to_bytes(2, "big")
    for piece in (None, 1):
        assert records_of(data + data, piece) == [SSLv2Record(message), SSLv2Record(message)]


def test_empty_sslv2_record_is_refused() -> None:
    buffer = RecordBuffer()
    buffer.feed(b"\x80\x00")
    with pytest.raises(DecodeError):
        buffer.next_record()


def test_high_bit_after_a_tls_record_is_an_unknown_content_type() -> None:
    buffer = RecordBuffer()
    buffer.feed(encode_record(21, 0x0303, b"\x02\x28") + b"\x80\x05")
    assert isinstance(buffer.next_record(), Record)
    with pytest.raises(DecodeError):
        buffer.next_record()


def test_handshake_message_length_cap() -> None:
    handshake = HandshakeBuffer(max_message_length=1000)
    handshake.feed(bytes([HandshakeType.CERTIFICATE]) + (1001).to_bytes(3, "big"))
    with pytest.raises(DecodeError) as caught:
        handshake.next_message()
    assert caught.value.field == "handshake.length"


def test_default_handshake_cap_is_256_kib() -> None:
    at_limit = HandshakeBuffer()
    at_limit.feed(bytes([11]) + (256 * 1024).to_bytes(3, "big"))
    assert at_limit.next_message() is None  # waits for the body
    over = HandshakeBuffer()
    over.feed(bytes([11]) + (256 * 1024 + 1).to_bytes(3, "big"))
    with pytest.raises(DecodeError):
        over.next_message()


@given(st.binary(max_size=300), st.integers(min_value=1, max_value=50))
def test_arbitrary_bytes_raise_only_decode_error(data: bytes, piece: int) -> None:
    buffer = RecordBuffer(max_buffered=200)
    handshake = HandshakeBuffer(max_message_length=100)
    try:
        for part in chunks(data, piece):
            buffer.feed(part)
            while (record := buffer.next_record()) is not None:
                if isinstance(record, Record):
                    handshake.feed(record.fragment)
                    while handshake.next_message() is not None:
                        pass
    except DecodeError:
        pass


@given(
    st.lists(
        st.tuples(st.sampled_from(list(ContentType)), st.binary(max_size=40_000)),
        max_size=3,
    ),
    st.integers(min_value=1, max_value=20_000),
)
def test_encoded_records_come_back(payloads: list[tuple[int, bytes]], piece: int) -> None:
    data = b"".join(encode_record(t, 0x0303, p) for t, p in payloads)
    records = records_of(data, piece)
    joined: dict[int, bytes] = {}
    for record in records:
        assert isinstance(record, Record)
        joined[record.content_type] = joined.get(record.content_type, b"") + record.fragment
    for content_type in {t for t, _ in payloads}:
        assert joined[content_type] == b"".join(p for t, p in payloads if t == content_type)


def test_telnet_negotiation_is_refused_at_once_not_read_as_a_32_kib_sslv2_record() -> None:
    # Given telnetd's opening bytes (IAC WILL AUTHENTICATION, IAC WILL ENCRYPT …)
    buffer = RecordBuffer()
    buffer.feed(bytes.fromhex("fffb25fffb26fffd18"))
    # Then the third byte, no SSL 2.0 message type, fails the buffer now
    with pytest.raises(DecodeError, match=r"not an SSL 2\.0 one"):
        buffer.next_record()
