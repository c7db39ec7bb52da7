"""for_terminal: wire text made safe for a terminal, visibly and boundedly."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protoaudit.sanitize import ELLIPSIS, for_terminal

# Anything a terminal might act on: C0, DEL, C1, bidi controls, separators, surrogates, BOM.
_DANGEROUS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff\ufeff]"
)


def test_plain_text_is_unchanged() -> None:
    assert for_terminal("CN=example.com, O=Example Inc.") == "CN=example.com, O=Example Inc."


def test_osc_title_sequence_is_shown_not_executed() -> None:
    # Given a subject that would retitle the terminal (OSC 0 ... BEL)
    subject = "CN=\x1b]0;pwned\x07example.com"

    shown = for_terminal(subject)

    assert shown == "CN=\\x1b]0;pwned\\x07example.com"
    assert "\x1b" not in shown
    assert "\x07" not in shown


def test_csi_clear_screen_is_shown_not_executed() -> None:
    assert for_terminal("\x1b[2J\x1b[31mred") == "\\x1b[2J\\x1b[31mred"


def test_c1_csi_is_escaped() -> None:
    assert for_terminal("a\x9b2Jb") == "a\\x9b2Jb"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("moc.\u202eelpmaxe", "moc.\\u202eelpmaxe"),
        ("\u2066isolate\u2069", "\\u2066isolate\\u2069"),
        ("mark\u200f", "mark\\u200f"),
        ("line\u2028break", "line\\u2028break"),
    ],
)
def test_bidi_controls_are_escaped(raw: str, shown: str) -> None:
    assert for_terminal(raw) == shown


def test_nul_and_line_breaks_are_escaped() -> None:
    assert for_terminal("a\x00b\nc\rd\te\x7f") == "a\\x00b\\nc\\rd\\te\\x7f"


def test_lone_surrogate_is_escaped() -> None:
    shown = for_terminal("bad\udcffbyte")
    assert shown == "bad\\udcffbyte"
    shown.encode("utf-8")  # printable without an encoding error


def test_non_ascii_letters_are_kept() -> None:
    assert for_terminal("CN=Bücher GmbH, O=東京") == "CN=Bücher GmbH, O=東京"


def test_ten_kilobytes_are_cut_to_the_limit() -> None:
    shown = for_terminal("A" * 10_000)
    assert len(shown) == 200
    assert shown.endswith(ELLIPSIS)


def test_ten_kilobytes_of_escapes_are_cut_to_the_limit() -> None:
    shown = for_terminal("\x1b" * 10_000, limit=50)
    assert len(shown) <= 50
    assert shown.endswith(ELLIPSIS)
    # never half an escape before the ellipsis
    assert shown[:-1] == "\\x1b" * ((50 - 1) // 4)


def test_text_exactly_at_the_limit_is_not_cut() -> None:
    assert for_terminal("abcd", limit=4) == "abcd"
    assert for_terminal("\x1b", limit=4) == "\\x1b"
    assert for_terminal("abcde", limit=4) == "abc" + ELLIPSIS


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="limit"):
        for_terminal("x", limit=0)


@given(st.text(), st.integers(min_value=1, max_value=300))
def test_output_is_always_safe_and_bounded(text: str, limit: int) -> None:
    shown = for_terminal(text, limit)
    assert len(shown) <= limit
    assert not _DANGEROUS.search(shown)


@given(
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp"))
    )
)
def test_harmless_text_is_unchanged_when_short(text: str) -> None:
    if len(text) <= 200:
        assert for_terminal(text) == text
