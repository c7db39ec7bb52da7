"""The transcript every STARTTLS dialog keeps: turns joined, entries and bytes bounded."""

from __future__ import annotations

from protoaudit.proto.starttls.transcript import (
    MAX_TRANSCRIPT_BYTES,
    MAX_TRANSCRIPT_ENTRIES,
    Transcript,
)


def test_transcript_joins_turns_of_one_side() -> None:
    transcript = Transcript()
    for side, data in (("S", b"220-a\r\n"), ("S", b"220 b\r\n"), ("C", b"EHLO x\r\n"), ("S", b"")):
        transcript.add(side, data)
    assert transcript.entries == (("S", b"220-a\r\n220 b\r\n"), ("C", b"EHLO x\r\n"))


def test_transcript_keeps_the_first_entries_and_bytes() -> None:
    transcript = Transcript()
    for number in range(MAX_TRANSCRIPT_ENTRIES + 10):
        transcript.add("CS"[number % 2], b"%d" % number)
    assert len(transcript.entries) == MAX_TRANSCRIPT_ENTRIES
    assert transcript.entries[-1] == ("S", b"%d" % (MAX_TRANSCRIPT_ENTRIES - 1))
    transcript = Transcript()
    transcript.add("S", b"x" * (MAX_TRANSCRIPT_BYTES - 1))
    transcript.add("C", b"yz")
    transcript.add("S", b"more")
    assert transcript.entries == (("S", b"x" * (MAX_TRANSCRIPT_BYTES - 1)), ("C", b"y"))
