"""The plaintext conversation a STARTTLS dialog had, kept for the outcome.

Every dialog, line-based or binary, records each side's bytes in one
`Transcript`: ("C", bytes) for what we sent, ("S", bytes) for what the
server sent, consecutive bytes of one side joined into one entry, so a reply
that arrived in a hundred pieces is one entry, as it would be on the wire.

A hostile server can send as much as the dialog lets it, and the transcript
ends up in every report, so it keeps only the first MAX_TRANSCRIPT_ENTRIES
entries and MAX_TRANSCRIPT_BYTES bytes, both sides together. Once the
entries are used up it keeps nothing more at all: bytes added to the last
entry later would join turns that had others between them. A real dialog
has a handful of turns and a few kilobytes at most; what is dropped is only
ever the tail of a flood.
"""

from __future__ import annotations

MAX_TRANSCRIPT_ENTRIES = 64
MAX_TRANSCRIPT_BYTES = 16384


class Transcript:
    """Who said what, consecutive bytes of one side joined; what does not fit is dropped."""

    __slots__ = ("_entries", "_size")

    def __init__(self) -> None:
        # bytearrays, so that a reply fed byte by byte is not copied once per byte
        self._entries: list[tuple[str, bytearray]] = []
        self._size = 0

    @property
    def entries(self) -> tuple[tuple[str, bytes], ...]:
        return tuple((side, bytes(data)) for side, data in self._entries)

    def add(self, side: str, data: bytes) -> None:
        """Record `data` from `side`: "C" (we sent it) or "S" (the server did)."""
        kept = data[: MAX_TRANSCRIPT_BYTES - self._size]
        if not kept:
            return
        if self._entries and self._entries[-1][0] == side:
            self._entries[-1][1].extend(kept)
        elif len(self._entries) < MAX_TRANSCRIPT_ENTRIES:
            self._entries.append((side, bytearray(kept)))
        else:  # full: nothing more, or a later turn would join one before the gap
            self._size = MAX_TRANSCRIPT_BYTES
            return
        self._size += len(kept)


__all__ = ["MAX_TRANSCRIPT_BYTES", "MAX_TRANSCRIPT_ENTRIES", "Transcript"]
