"""ASCII armor (RFC 9580 section 6.2): the key blocks in a text, as binary.

A text may hold several armored blocks (keys pasted one after another) with any text
around them (an e-mail, a web page); only key blocks are taken, and anything between
them is ignored, as GnuPG does. Armor headers (``Version: …``, ``Comment: …``) are
skipped. The optional CRC-24 line is checked and its verdict recorded, but RFC 9580
section 6.1 forbids rejecting data over it, so a mismatch is a fact, not an error.
Everything else that is wrong (base64 that is not, a block with no END line, a block
that is a message rather than a key) raises DecodeError.
"""

from __future__ import annotations

import binascii
import functools
import re
from dataclasses import dataclass

from protoaudit.errors import DecodeError

__all__ = ["CHECKSUM_VERDICTS", "Dearmored", "crc24", "dearmor", "looks_armored"]

PROTOCOL = "openpgp-armor"
KEY_LABELS = ("PUBLIC KEY BLOCK", "PRIVATE KEY BLOCK")
# A block larger than this is not checksummed: CRC-24 runs byte by byte in Python.
MAX_CHECKSUMMED = 4 * 1024 * 1024
# Worst first: the summary of several blocks is the worst verdict among them.
CHECKSUM_VERDICTS = ("mismatch", "unchecked", "absent", "valid")

_BEGIN = re.compile(rb"-----BEGIN PGP ([A-Z0-9 ,/]{1,60})-----")
_HEADER = re.compile(rb"[\x21-\x39\x3b-\x7e]{1,64}: ")
_CRC24_INIT = 0xB704CE
_CRC24_POLY = 0x1864CFB


@dataclass(frozen=True, slots=True)
class Dearmored:
    data: bytes  # every key block's bytes, in order, concatenated
    blocks: int
    labels: tuple[str, ...]  # "PUBLIC KEY BLOCK" per block
    checksum: str  # the worst of CHECKSUM_VERDICTS over the blocks


def looks_armored(data: bytes) -> bool:
    """Text, not binary: every binary OpenPGP packet starts with an octet whose top bit is set.

    So a first octet below 0x80 (after white space, and a UTF-8 byte order mark) means text
    that may hold armor; a binary key that merely contains a BEGIN line in a user ID stays
    binary.
    """
    head = data.lstrip()
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return not head or head[0] < 0x80


@functools.cache
def _crc24_table() -> tuple[int, ...]:
    table = []
    for index in range(256):
        value = index << 16
        for _ in range(8):
            value <<= 1
            if value & 0x1000000:
                value ^= _CRC24_POLY
        table.append(value & 0xFFFFFF)
    return tuple(table)


def crc24(data: bytes) -> int:
    """The armor checksum of RFC 9580 section 6.1."""
    table, value = _crc24_table(), _CRC24_INIT
    for byte in data:
        value = ((value << 8) & 0xFFFFFF) ^ table[(value >> 16) ^ byte]
    return value


def _lines(data: bytes, start: int) -> list[tuple[int, bytes]]:
    """(offset, line without its end) from `start` up to and including the END line."""
    found: list[tuple[int, bytes]] = []
    offset = start
    while offset < len(data):
        end = data.find(b"\n", offset)
        end = len(data) if end < 0 else end
        line = data[offset:end].rstrip(b"\r \t")
        found.append((offset, line))
        offset = end + 1
        if line.startswith(b"-----END PGP "):
            break
    return found


def _block(data: bytes, start: int, label: str) -> tuple[bytes, str, int]:
    """One block's bytes, its checksum verdict, and where the text after its END line starts."""
    lines = _lines(data, start)
    if not lines or not lines[-1][1].startswith(b"-----END PGP "):
        raise DecodeError(PROTOCOL, "END line", start, f"the {label} has no END line")
    end_offset, end_line = lines[-1]
    if end_line != f"-----END PGP {label}-----".encode():
        raise DecodeError(PROTOCOL, "END line", end_offset, "does not match the BEGIN line")
    body = lines[:-1]
    index = 0
    # Armor headers, then an empty line; tolerate a missing empty line when there are none.
    while index < len(body) and _HEADER.match(body[index][1]):
        index += 1
    if index < len(body) and not body[index][1]:
        index += 1
    encoded: list[bytes] = []
    checksum: bytes | None = None
    for offset, line in body[index:]:
        if not line:
            continue
        if checksum is not None:
            raise DecodeError(PROTOCOL, "checksum", offset, "text after the checksum line")
        if line.startswith(b"="):
            checksum = line[1:]
            continue
        encoded.append(line)
    try:
        decoded = binascii.a2b_base64(b"".join(encoded), strict_mode=True)
    except binascii.Error as error:
        raise DecodeError(PROTOCOL, "base64", start, str(error)) from None
    if checksum is None:
        return decoded, "absent", end_offset + len(end_line)
    try:
        expected = binascii.a2b_base64(checksum, strict_mode=True)
    except binascii.Error:
        return decoded, "mismatch", end_offset + len(end_line)
    if len(decoded) > MAX_CHECKSUMMED:
        verdict = "unchecked"
    else:
        verdict = "valid" if expected == crc24(decoded).to_bytes(3, "big") else "mismatch"
    return decoded, verdict, end_offset + len(end_line)


def dearmor(data: bytes, *, max_blocks: int = 1000) -> Dearmored:
    """Every key block in `data`; DecodeError when there is none or one is broken."""
    chunks: list[bytes] = []
    labels: list[str] = []
    verdicts: list[str] = []
    position = 0
    while True:
        match = _BEGIN.search(data, position)
        if match is None:
            break
        label = match.group(1).decode("ascii")
        if label not in KEY_LABELS:
            raise DecodeError(PROTOCOL, "BEGIN line", match.start(), f"a PGP {label}, not a key")
        if len(chunks) >= max_blocks:
            raise DecodeError(PROTOCOL, "blocks", match.start(), f"more than {max_blocks} blocks")
        line_end = data.find(b"\n", match.end())
        line_end = len(data) if line_end < 0 else line_end
        if data[match.end() : line_end].strip():
            raise DecodeError(PROTOCOL, "BEGIN line", match.end(), "text after the BEGIN line")
        decoded, verdict, position = _block(data, line_end + 1, label)
        chunks.append(decoded)
        labels.append(label)
        verdicts.append(verdict)
    if not chunks:
        raise DecodeError(PROTOCOL, "BEGIN line", 0, "no armored key block")
    worst = min(verdicts, key=CHECKSUM_VERDICTS.index)
    return Dearmored(b"".join(chunks), len(chunks), tuple(labels), worst)
