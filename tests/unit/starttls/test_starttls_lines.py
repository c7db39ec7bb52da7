"""The pieces the line-based dialogs share: line cutting, coded replies, lists."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from line_dialog_helpers import cut

from protoaudit.errors import DecodeError
from protoaudit.proto.starttls.base import MAX_DIALOG_BYTES, MAX_LINE, MAX_REPLY_LINES
from protoaudit.proto.starttls.lines import (
    SHOWN_LENGTH,
    CodedReplies,
    DotTerminated,
    LineBuffer,
    Reply,
    clip,
    line_text,
    plaintext_mechanisms,
    refusal,
    split_code,
)


def lines_of(buffer: LineBuffer) -> list[bytes]:
    lines = []
    while (line := buffer.next_line()) is not None:
        lines.append(line)
    return lines


# LineBuffer


def test_lines_keep_their_ends_and_a_bare_lf_is_a_line_end() -> None:
    buffer = LineBuffer("smtp")
    buffer.feed(b"220 a\r\n250 b\n250 c\rstill c\r\n250 d")
    assert lines_of(buffer) == [b"220 a\r\n", b"250 b\n", b"250 c\rstill c\r\n"]
    assert buffer.buffered == len(b"250 d")
    assert buffer.drain() == b"250 d"
    assert buffer.buffered == 0


def test_a_line_of_max_line_bytes_passes_one_more_does_not() -> None:
    buffer = LineBuffer("smtp")
    buffer.feed(b"x" * MAX_LINE + b"\r\n")
    assert lines_of(buffer) == [b"x" * MAX_LINE + b"\r\n"]
    with pytest.raises(DecodeError, match=f"a line longer than {MAX_LINE} bytes"):
        buffer.feed(b"y" * (MAX_LINE + 1) + b"\n")
    assert buffer.buffered == 0


def test_an_unended_line_is_refused_as_soon_as_it_is_too_long() -> None:
    buffer = LineBuffer("smtp")
    buffer.feed(b"x" * MAX_LINE)
    buffer.feed(b"\r")
    with pytest.raises(DecodeError, match="a line longer than"):
        buffer.feed(b"x")
    assert buffer.buffered == 0


def test_the_dialog_byte_budget_counts_every_byte_fed() -> None:
    buffer = LineBuffer("smtp")
    line = b"x" * 1022 + b"\r\n"
    for _ in range(MAX_DIALOG_BYTES // len(line)):
        buffer.feed(line)
    lines_of(buffer)
    with pytest.raises(
        DecodeError, match=f"more than {MAX_DIALOG_BYTES} bytes before TLS"
    ) as error:
        buffer.feed(b"\n")
    assert (error.value.protocol, error.value.offset) == ("smtp", MAX_DIALOG_BYTES)


@given(
    st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=30), st.data()
)
def test_any_pieces_give_the_same_lines(contents: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(content + b"\r\n" for content in contents)
    buffer = LineBuffer("smtp")
    for piece in cut(stream, data.draw(st.lists(st.integers(0, 2000), max_size=10))):
        buffer.feed(piece)
    assert [line_text(line) for line in lines_of(buffer)] == [c.decode("latin-1") for c in contents]
    assert buffer.buffered == 0


# Coded replies


@pytest.mark.parametrize(
    ("line", "parts"),
    [
        (b"250-PIPELINING", (250, b"-", "PIPELINING")),
        (b"250 OK", (250, b" ", "OK")),
        (b"250", (250, b"", "")),
        (b"554 \xff\xfe", (554, b" ", "\xff\xfe")),
    ],
)
def test_split_code(line: bytes, parts: tuple[int, bytes, str]) -> None:
    assert split_code("smtp", line) == parts


@pytest.mark.parametrize(
    "line", [b"hello", b"25", b"", b"650 x", b"250x", b"2 50 x", b"\xb2\xb5\xb0 x"]
)
def test_split_code_refuses(line: bytes) -> None:
    with pytest.raises(DecodeError, match="not a valid SMTP reply"):
        split_code("smtp", line)


def test_smtp_style_reply() -> None:
    replies = CodedReplies("smtp")
    assert replies.add(b"250-mx.example.com\r\n") is None
    assert replies.add(b"250-SIZE 10240000\r\n") is None
    assert replies.add(b"250 CHUNKING\r\n") == Reply(
        250, ("mx.example.com", "SIZE 10240000", "CHUNKING")
    )
    assert replies.add(b"221 2.0.0 Bye\r\n") == Reply(221, ("2.0.0 Bye",))


def test_smtp_style_refuses_a_line_without_code_inside_a_reply() -> None:
    replies = CodedReplies("smtp")
    replies.add(b"250-mx\r\n")
    with pytest.raises(DecodeError, match="not a valid SMTP reply: ' SIZE'"):
        replies.add(b" SIZE\r\n")


def test_ftp_style_reply_takes_free_text_between_first_and_last() -> None:
    replies = CodedReplies("ftp", ftp=True)
    for line in (b"211-Features:\r\n", b" AUTH TLS\r\n", b"211-PBSZ\r\n", b"2110 odd\r\n"):
        assert replies.add(line) is None
    assert replies.add(b"211 End\r\n") == Reply(
        211, ("Features:", " AUTH TLS", "PBSZ", "2110 odd", "End")
    )
    replies.add(b"211-x\r\n")
    assert replies.add(b"211\r\n") == Reply(211, ("x", ""))


@pytest.mark.parametrize("ftp", [False, True])
def test_a_reply_stops_at_max_reply_lines(ftp: bool) -> None:
    replies = CodedReplies("smtp", ftp=ftp)
    for _ in range(MAX_REPLY_LINES - 1):
        replies.add(b"250-x\r\n")
    assert replies.add(b"250 last\r\n") is not None
    for _ in range(MAX_REPLY_LINES):
        replies.add(b"250-x\r\n")
    with pytest.raises(DecodeError, match=f"more than {MAX_REPLY_LINES} lines in one reply"):
        replies.add(b"250 last\r\n")


def test_reply_shown_is_one_clipped_line() -> None:
    assert Reply(454, ("4.7.0 TLS", "not available")).shown() == "454 4.7.0 TLS not available"
    assert len(Reply(250, ("x" * 5000,)).shown()) == SHOWN_LENGTH


# Lists ended by "."


def test_dot_terminated_undoes_stuffing() -> None:
    block = DotTerminated("pop3")
    for line in (b"TOP\r\n", b"..hidden\r\n", b"SASL PLAIN\n"):
        assert block.add(line) is None
    assert block.add(b".\r\n") == ("TOP", ".hidden", "SASL PLAIN")
    assert block.add(b".\r\n") == ()


def test_dot_terminated_stops_at_max_reply_lines() -> None:
    block = DotTerminated("nntp")
    for _ in range(MAX_REPLY_LINES):
        block.add(b"OVER\r\n")
    with pytest.raises(DecodeError, match="lines in one list"):
        block.add(b"OVER\r\n")


# Small helpers


def test_clip_and_refusal() -> None:
    assert clip(" 454  4.7.0\tTLS\r\nnot available ") == "454 4.7.0 TLS not available"
    assert clip("x" * 1000).endswith("\u2026")
    assert refusal("EHLO", "502 no", negative=True) == "EHLO refused: 502 no"
    assert refusal("EHLO", "354 go", negative=False) == "unexpected EHLO reply: 354 go"


def test_plaintext_mechanisms_keeps_order_and_drops_the_rest() -> None:
    mechanisms = ["login", "SCRAM-SHA-256", "PLAIN", "LOGIN", "XOAUTH2"]
    assert plaintext_mechanisms(mechanisms) == ("LOGIN", "PLAIN")
