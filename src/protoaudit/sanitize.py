"""Make text that came off the wire safe to print.

A certificate subject, a SAN, a banner or an error detail is chosen by whoever
runs the server. Printed raw, `\\x1b]0;...\\x07` retitles the user's terminal,
`\\x1b[2J` clears it, and U+202E reverses what follows so `moc.elpmaxe` reads as
`example.com`. Rather than deleting such characters (which hides that the peer
sent them), each one is replaced by a visible escape: ESC becomes the four
characters `\\x1b`. What remains of an escape sequence (`]0;pwned`) is then plain
printable text with no effect on the terminal.

Backslashes are left alone, so RFC 4514 names (`CN=Foo\\, Inc`) print as they
are; the output is for people to read, not for a program to parse back (the
JSON report keeps the original string).

Raw bytes that should have been a protocol message (an HTTP reply on a TLS
port, an SSH banner, noise) go through `quote_bytes`, which shows them as a
quoted string of printable ASCII, safe in a terminal, a log and JSON alike.

HTML escaping is the template engine's job (jinja2 autoescape), not this module's.
"""

from __future__ import annotations

import re

__all__ = ["ELLIPSIS", "for_terminal", "quote_bytes"]

ELLIPSIS = "\u2026"

# C0 controls and DEL, C1 controls (0x9b is a one-byte CSI on some terminals),
# bidirectional embeddings, overrides, isolates and marks, line and paragraph
# separators, lone surrogates (they cannot be encoded for output at all) and
# the byte-order mark / zero-width no-break space.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff\ufeff]"
)

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(character: str) -> str:
    named = _NAMED.get(character)
    if named is not None:
        return named
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_terminal(text: str, limit: int = 200) -> str:
    """`text` with every control, escape and bidi character made visible, at most `limit` long.

    The result never contains a character matched by `_UNSAFE`. When the
    escaped text would be longer than `limit`, it is cut (never in the middle
    of an escape) and ends with an ellipsis, so the result is at most `limit`
    characters long whatever the input.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    # Every input character yields at least one output character, so a prefix
    # of `limit + 1` characters is enough to know whether the output is too long.
    prefix = text[: limit + 1]
    pieces: list[tuple[str, bool]] = []  # (text, is an escape that must not be split)
    position = 0
    for match in _UNSAFE.finditer(prefix):
        pieces.append((prefix[position : match.start()], False))
        pieces.append((_escape(match.group()), True))
        position = match.end()
    pieces.append((prefix[position:], False))
    if len(text) <= limit and sum(len(piece) for piece, _ in pieces) <= limit:
        return "".join(piece for piece, _ in pieces)
    kept: list[str] = []
    room = limit - len(ELLIPSIS)
    for piece, atomic in pieces:
        if len(piece) > room:
            if not atomic:
                kept.append(piece[:room])
            break
        kept.append(piece)
        room -= len(piece)
    return "".join(kept) + ELLIPSIS


_BYTE_NAMES = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x5C: "\\\\", 0x27: "\\'"}


def quote_bytes(data: bytes, limit: int = 40) -> str:
    """The first `limit` bytes of `data` in quotes, every one printable ASCII.

    `b"HTTP/1.1 400 Bad Request\\r\\n..."` becomes `'HTTP/1.1 400 Bad Request\\r\\n…'`:
    printable ASCII stays, tab, CR and LF are named, a quote or backslash is
    escaped, any other byte is `\\xNN`, and an ellipsis says that more followed.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    shown = "".join(
        _BYTE_NAMES.get(byte) or (chr(byte) if 0x20 <= byte < 0x7F else f"\\x{byte:02x}")
        for byte in data[:limit]
    )
    return f"'{shown}'" + (ELLIPSIS if len(data) > limit else "")
