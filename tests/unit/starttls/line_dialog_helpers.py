"""What every line-based STARTTLS dialog must pass, as a base class for each protocol's tests.

A protocol's test module subclasses `DialogSuite` as `Test…`, names its
dialog factory and a realistic conversation (`script`: what we must send,
then what the server answers, turn by turn) with the outcome it must give,
and inherits the whole battery: the conversation fed whole, byte by byte and
in random pieces; a 1 MB greeting, an endless line, endless continuation
lines, a reply that is not one, the server hanging up at every step, bytes
after the go-ahead; and arbitrary bytes that must never raise nor be held
beyond the bounds.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import ClassVar

from hypothesis import given
from hypothesis import strategies as st

from protoaudit.proto.starttls.base import MAX_DIALOG_BYTES, MAX_LINE, Status
from protoaudit.proto.starttls.line_dialog import LineDialog
from protoaudit.proto.starttls.lines import BYTES_AFTER_READY, CLOSED
from protoaudit.proto.starttls.transcript import MAX_TRANSCRIPT_BYTES, MAX_TRANSCRIPT_ENTRIES

Script = tuple[tuple[bytes, bytes], ...]  # (what we send, what the server answers)
Splitter = Callable[[bytes], list[bytes]]


def whole(data: bytes) -> list[bytes]:
    return [data]


def byte_by_byte(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def cut(data: bytes, points: list[int]) -> list[bytes]:
    edges = [0, *sorted(point % (len(data) + 1) for point in points), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


def converse(dialog: LineDialog, script: Script, split: Splitter = whole) -> None:
    """Play `script`, checking the exact bytes sent before each answer."""
    for sent, answer in script:
        assert dialog.status is Status.RUNNING, dialog.outcome.failure
        assert dialog.bytes_to_send() == sent
        for piece in split(answer):
            dialog.receive_data(piece)


def feed(dialog: LineDialog, data: bytes, split: Splitter = whole) -> None:
    for piece in split(data):
        dialog.receive_data(piece)


def expected_transcript(script: Script) -> tuple[tuple[str, bytes], ...]:
    entries: list[tuple[str, bytes]] = []
    for side, data in (turn for sent, answer in script for turn in (("C", sent), ("S", answer))):
        if data and entries and entries[-1][0] == side:
            entries[-1] = (side, entries[-1][1] + data)
        elif data:
            entries.append((side, data))
    return tuple(entries)


def assert_bounded(dialog: LineDialog) -> None:
    outcome = dialog.outcome
    assert dialog.buffered_bytes <= MAX_LINE + 1
    assert len(outcome.transcript) <= MAX_TRANSCRIPT_ENTRIES
    assert sum(len(data) for _, data in outcome.transcript) <= MAX_TRANSCRIPT_BYTES
    assert len(outcome.banner) <= MAX_DIALOG_BYTES
    assert dialog.status is not Status.FAILED or outcome.failure


def assert_failed(dialog: LineDialog, failure: str) -> None:
    assert dialog.status is Status.FAILED
    assert dialog.outcome.failure == failure
    assert_bounded(dialog)


# Lines that look like each protocol's, to reach deeper than random bytes do.
_WORDS = b"""220 250 211 - +OK -ERR . * a1 a2 OK NO BYE " STARTTLS STLS AUTH TLS CAPABILITY
    :srv 670 691 CAP LS PING {3} 382 101 234"""
_LINE_PIECES = st.sampled_from([*_WORDS.split(), b" ", b"\t", b"\r", b"\x00", b"\xff"])
_LINES = st.lists(_LINE_PIECES, max_size=8).map(lambda pieces: b"".join(pieces) + b"\r\n")
_CHUNKS = st.lists(st.one_of(st.binary(max_size=300), _LINES), max_size=30)


class DialogSuite:
    """The battery; a subclass sets the class attributes and `make`."""

    script: ClassVar[Script]
    banner: ClassVar[str]
    capabilities: ClassVar[tuple[str, ...]]
    offered: ClassVar[bool | None]
    plaintext_auth: ClassVar[tuple[str, ...]]
    endless: ClassVar[bytes]  # a line the server repeats where a reply or list may go on
    endless_after: ClassVar[int]  # script turns played before the endless lines
    endless_prefix: ClassVar[bytes] = b""  # what starts the reply or list that goes on
    garbage: ClassVar[bytes] = b"hello\r\n"  # not a reply, where the first one is due

    def make(self) -> LineDialog:
        raise NotImplementedError

    def play(self, turns: int) -> LineDialog:
        dialog = self.make()
        converse(dialog, self.script[:turns])
        return dialog

    def check_ready(self, dialog: LineDialog) -> None:
        assert dialog.status is Status.READY, dialog.outcome.failure
        assert dialog.bytes_to_send() == b""
        outcome = dialog.outcome
        assert outcome.banner == self.banner
        assert outcome.capabilities_before == self.capabilities
        assert outcome.starttls_offered is self.offered
        assert outcome.plaintext_auth_offered == self.plaintext_auth
        assert outcome.failure is None
        assert outcome.transcript == expected_transcript(self.script)

    # The conversation, however the bytes arrive.

    def test_whole(self) -> None:
        dialog = self.make()
        converse(dialog, self.script, whole)
        self.check_ready(dialog)

    def test_byte_by_byte(self) -> None:
        dialog = self.make()
        converse(dialog, self.script, byte_by_byte)
        self.check_ready(dialog)

    def test_bare_line_feeds(self) -> None:
        dialog = self.make()
        bare = tuple((sent, answer.replace(b"\r\n", b"\n")) for sent, answer in self.script)
        converse(dialog, bare)
        assert dialog.status is Status.READY

    def test_random_pieces(self) -> None:
        # One @given function per protocol class: Hypothesis wants one executor per test.
        points = st.lists(st.integers(0, 1 << 16), max_size=12)

        @given(st.data())
        def check(data: st.DataObject) -> None:
            dialog = self.make()
            converse(dialog, self.script, lambda answer: cut(answer, data.draw(points)))
            self.check_ready(dialog)

        check()

    # A server that floods, stalls, hangs up or jumps the gun.

    def test_a_one_megabyte_greeting_in_one_piece(self) -> None:
        dialog = self.make()
        dialog.bytes_to_send()
        dialog.receive_data(self.script[0][1][:4] + b"x" * (1 << 20) + b"\r\n")
        assert_failed(dialog, f"more than {MAX_DIALOG_BYTES} bytes before TLS")

    def test_a_one_megabyte_greeting_in_pieces(self) -> None:
        dialog = self.make()
        dialog.bytes_to_send()
        big = self.script[0][1][:4] + b"x" * (1 << 20) + b"\r\n"
        for piece in cut(big, list(range(0, len(big), 4096))):
            dialog.receive_data(piece)
            assert_bounded(dialog)
        assert_failed(dialog, f"a line longer than {MAX_LINE} bytes")

    def test_a_line_without_end_longer_than_max_line(self) -> None:
        dialog = self.make()
        dialog.receive_data(b"2" * MAX_LINE + b"\r")  # a CR may still be followed by LF
        assert dialog.status is Status.RUNNING
        dialog.receive_data(b"x")
        assert_failed(dialog, f"a line longer than {MAX_LINE} bytes")

    def test_endless_continuation_lines(self) -> None:
        dialog = self.play(self.endless_after)
        sent = dialog.bytes_to_send()
        dialog.receive_data(self.endless_prefix)
        for _ in range(MAX_DIALOG_BYTES // len(self.endless)):
            dialog.receive_data(self.endless)
            if dialog.status is not Status.RUNNING:
                break
        assert dialog.status is Status.FAILED
        assert (dialog.outcome.failure or "").startswith("more than 200 lines ")
        assert dialog.bytes_to_send() == b"", sent
        assert_bounded(dialog)

    def test_not_a_reply(self) -> None:
        dialog = self.make()
        dialog.bytes_to_send()
        dialog.receive_data(self.garbage)
        assert dialog.status is Status.FAILED
        assert (dialog.outcome.failure or "").startswith("not a valid ")
        assert dialog.bytes_to_send() == b""  # no QUIT to a peer that does not speak the protocol

    def test_the_server_hangs_up_at_every_step(self) -> None:
        for turns in range(len(self.script)):
            dialog = self.play(turns)
            dialog.bytes_to_send()
            dialog.receive_data(self.script[turns][1][:3])
            dialog.connection_closed()
            assert dialog.status is Status.FAILED
            assert (dialog.outcome.failure or "").startswith(CLOSED + " while waiting for ")

    def test_hanging_up_after_ready_changes_nothing(self) -> None:
        dialog = self.play(len(self.script))
        dialog.connection_closed()
        dialog.receive_data(b"")
        assert dialog.status is Status.READY

    def test_bytes_with_the_go_ahead_are_refused(self) -> None:
        # Given a server that answers a command injected after STARTTLS in clear text
        # (CVE-2011-0411), when those bytes come with its go-ahead, then TLS must not start.
        dialog = self.play(len(self.script) - 1)
        dialog.bytes_to_send()
        dialog.receive_data(self.script[-1][1] + b"250 injected\r\n")
        assert_failed(dialog, BYTES_AFTER_READY)
        last_turn = expected_transcript(self.script)[-1]
        assert dialog.outcome.transcript[-1] == ("S", last_turn[1] + b"250 injected\r\n")
        assert dialog.bytes_to_send() == b""

    def test_bytes_after_the_go_ahead_are_refused(self) -> None:
        dialog = self.play(len(self.script))
        assert dialog.status is Status.READY
        dialog.receive_data(b"\x16")
        assert_failed(dialog, BYTES_AFTER_READY)

    def test_a_failed_dialog_reads_and_sends_nothing_more(self) -> None:
        dialog = self.make()
        dialog.bytes_to_send()
        dialog.receive_data(self.garbage)
        failure, transcript = dialog.outcome.failure, dialog.outcome.transcript
        dialog.receive_data(self.script[0][1])
        dialog.connection_closed()
        assert dialog.bytes_to_send() == b""
        assert (dialog.outcome.failure, dialog.outcome.transcript) == (failure, transcript)

    def test_arbitrary_bytes_never_raise_nor_pile_up(self) -> None:
        @given(st.integers(0, 8), _CHUNKS)
        def check(turns: int, chunks: list[bytes]) -> None:
            dialog = self.play(min(turns, len(self.script) - 1))
            for chunk in chunks:
                dialog.receive_data(chunk)
                dialog.bytes_to_send()
                assert_bounded(dialog)
            dialog.connection_closed()
            assert dialog.status in (Status.READY, Status.FAILED)
            assert_bounded(dialog)

        check()
