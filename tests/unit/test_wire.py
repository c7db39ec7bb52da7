import pytest
from hypothesis import given
from hypothesis import strategies as st

from protoaudit.errors import DecodeError
from protoaudit.wire import Reader, Writer


def test_block_must_be_consumed_exactly() -> None:
    reader = Reader(b"\x00\x03abc", "test")
    with pytest.raises(DecodeError, match="left over"), reader.block(2, "field") as inner:
        inner.bytes(2, "part")


def test_length_beyond_buffer_is_refused_before_reading() -> None:
    reader = Reader(b"\xff\xffab", "test")
    with pytest.raises(DecodeError, match="exceeds"), reader.block(2, "field"):
        pass
    with pytest.raises(DecodeError, match="needs 65535 bytes"):
        Reader(b"\xff\xffab", "test").vector(2, "field")


def test_decode_error_names_protocol_field_and_offset() -> None:
    reader = Reader(b"\x01", "tls")
    reader.u8("first")
    with pytest.raises(DecodeError) as caught:
        reader.u16("second")
    assert (caught.value.protocol, caught.value.field, caught.value.offset) == ("tls", "second", 1)


def test_uint_list_rejects_ragged_length() -> None:
    with pytest.raises(DecodeError, match="multiple of 2"):
        Reader(b"\x00\x03abc", "test").uint_list(2, 2, "suites")


@given(st.lists(st.integers(0, 0xFFFF), max_size=50), st.binary(max_size=300))
def test_round_trip(values: list[int], blob: bytes) -> None:
    data = Writer().uint_list(values, 2, 2).vector(blob, 3).getvalue()
    reader = Reader(data, "test")
    assert reader.uint_list(2, 2, "list") == tuple(values)
    assert reader.vector(3, "blob") == blob
    reader.expect_end("end")


@given(st.binary(max_size=64))
def test_arbitrary_bytes_raise_only_decode_error(data: bytes) -> None:
    reader = Reader(data, "test")
    try:
        with reader.block(1, "outer") as inner:
            inner.uint_list(1, 2, "inner")
        reader.expect_end("end")
    except DecodeError:
        pass
