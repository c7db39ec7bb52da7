"""quote_bytes: raw bytes off the wire shown as quoted, printable ASCII."""

from __future__ import annotations

import ast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protoaudit.sanitize import ELLIPSIS, quote_bytes


def test_text_with_line_ends() -> None:
    assert quote_bytes(b"HTTP/1.1 400 Bad Request\r\n") == "'HTTP/1.1 400 Bad Request\\r\\n'"


def test_escapes_quotes_and_backslashes_are_shown() -> None:
    assert quote_bytes(b"\x1b]0;x\x07'\\\xe2\x80\xae") == ("'\\x1b]0;x\\x07\\'\\\\\\xe2\\x80\\xae'")


def test_only_the_first_bytes_then_an_ellipsis() -> None:
    assert quote_bytes(b"abcdef", limit=4) == "'abcd'" + ELLIPSIS
    assert quote_bytes(b"abcd", limit=4) == "'abcd'"


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="limit"):
        quote_bytes(b"x", limit=0)


@given(st.binary(max_size=100))
def test_always_printable_ascii_and_like_python_repr(data: bytes) -> None:
    shown = quote_bytes(data, limit=100)
    assert all(" " <= character <= "~" for character in shown)
    # The same notation as Python's bytes repr, so a reader can paste it back.
    assert ast.literal_eval("b" + shown) == data
