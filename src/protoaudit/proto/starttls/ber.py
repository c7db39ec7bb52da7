"""The little of BER (X.690) that LDAP's StartTLS needs: tag, length, value.

Encoders write DER (shortest lengths, minimal integers), so what we send is
byte-for-byte predictable. The decoder reads BER as servers send it, within
these limits, each refused with a DecodeError naming the field and offset:

- definite lengths only: the indefinite form (0x80) is not allowed in LDAP
  (RFC 4511 5.1) and would make a message's size unknowable in advance;
- a length may take up to 4 octets, in long form even when short form would
  do (Active Directory always writes 0x84 and four octets; X.690 8.1.3.2 b
  allows it), and is checked against `max_length` (64 KiB by default) and
  against the bytes actually present before anything is sliced;
- tag numbers of the high-tag-number form (X.690 8.1.2.4) up to 3 octets;
- INTEGER and ENUMERATED contents of 1 to 8 octets (OpenLDAP's liblber
  refuses more than fit its int as well).

`frame_length` tells a stream reader how long the element at the head of its
buffer is, or that the header is not complete yet, so a dialog can wait for a
whole LDAPMessage without buffering past the bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from protoaudit.errors import DecodeError

PROTOCOL = "ber"
MAX_ELEMENT_LENGTH = 65536  # contents of one element; an LDAP StartTLS reply is ~40 bytes
MAX_LENGTH_OCTETS = 4
MAX_TAG_NUMBER_OCTETS = 3
MAX_INTEGER_OCTETS = 8

# Tag classes, as the top two bits of the identifier octet (X.690 8.1.2.2).
UNIVERSAL = 0x00
APPLICATION = 0x40
CONTEXT = 0x80
PRIVATE = 0xC0
CONSTRUCTED = 0x20

# Universal tag numbers (X.680 8.6) that LDAP uses.
BOOLEAN = 1
INTEGER = 2
OCTET_STRING = 4
NULL = 5
ENUMERATED = 10
SEQUENCE = 16
SET = 17

_CLASS_NAMES = {UNIVERSAL: "UNIVERSAL", APPLICATION: "APPLICATION", CONTEXT: "", PRIVATE: "PRIVATE"}
_UNIVERSAL_NAMES = {
    BOOLEAN: "BOOLEAN",
    INTEGER: "INTEGER",
    OCTET_STRING: "OCTET STRING",
    NULL: "NULL",
    ENUMERATED: "ENUMERATED",
    SEQUENCE: "SEQUENCE",
    SET: "SET",
}


def tag_name(tag_class: int, number: int) -> str:
    """`[APPLICATION 24]`, `[3]`, `SEQUENCE`: a tag as ASN.1 texts write it."""
    if tag_class == UNIVERSAL and number in _UNIVERSAL_NAMES:
        return _UNIVERSAL_NAMES[number]
    prefix = _CLASS_NAMES[tag_class]
    return f"[{prefix} {number}]" if prefix else f"[{number}]"


@dataclass(frozen=True, slots=True)
class Element:
    """One decoded tag-length-value; `offset` is where its contents start in the input."""

    tag_class: int
    constructed: bool
    number: int
    value: bytes
    offset: int = field(default=0, compare=False)

    @property
    def name(self) -> str:
        return tag_name(self.tag_class, self.number)

    def is_tag(self, tag_class: int, number: int, *, constructed: bool | None = None) -> bool:
        if constructed is not None and constructed != self.constructed:
            return False
        return self.tag_class == tag_class and self.number == number

    def fail(self, field_name: str, reason: str) -> DecodeError:
        return DecodeError(PROTOCOL, field_name, self.offset, reason)

    def children(self, field_name: str) -> tuple[Element, ...]:
        """The elements inside a constructed one, which must fill it exactly."""
        if not self.constructed:
            raise self.fail(field_name, f"{self.name} is primitive, a constructed one is needed")
        items: list[Element] = []
        position = 0
        while position < len(self.value):
            item, position = decode(
                self.value, position, max_length=len(self.value), base=self.offset
            )
            items.append(item)
        return tuple(items)

    def as_integer(self, field_name: str) -> int:
        """Two's-complement contents of an INTEGER or ENUMERATED (X.690 8.3, 8.4)."""
        if self.constructed:
            raise self.fail(field_name, f"{self.name} must be primitive")
        if not 1 <= len(self.value) <= MAX_INTEGER_OCTETS:
            raise self.fail(
                field_name, f"integer of {len(self.value)} octets (1 to {MAX_INTEGER_OCTETS})"
            )
        return int.from_bytes(self.value, "big", signed=True)

    def as_octets(self, field_name: str) -> bytes:
        """The contents of a primitive string; constructed strings are a BER option LDAP forbids."""
        if self.constructed:
            raise self.fail(field_name, f"{self.name} must be primitive (RFC 4511 5.1)")
        return self.value

    def encode(self) -> bytes:
        return encode_tlv(self.tag_class, self.constructed, self.number, self.value)


def _read_header(
    data: bytes, offset: int, *, max_length: int, base: int
) -> tuple[int, bool, int, int, int] | None:
    """(class, constructed, number, header size, contents length), None if data ends first."""
    end = len(data)
    position = offset
    if position >= end:
        return None
    identifier = data[position]
    position += 1
    tag_class = identifier & 0xC0
    constructed = bool(identifier & CONSTRUCTED)
    number = identifier & 0x1F
    if number == 0x1F:
        number = 0
        count = 0
        while True:
            if position >= end:
                return None
            octet = data[position]
            position += 1
            count += 1
            if count == 1 and octet == 0x80:
                raise DecodeError(PROTOCOL, "tag", base + offset, "tag number padded with 0x80")
            number = (number << 7) | (octet & 0x7F)
            if not octet & 0x80:
                break
            if count == MAX_TAG_NUMBER_OCTETS:
                raise DecodeError(
                    PROTOCOL, "tag", base + offset, f"tag number of more than {count} octets"
                )
    if position >= end:
        return None
    first = data[position]
    position += 1
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise DecodeError(
            PROTOCOL, "length", base + position - 1, "indefinite length (not allowed in LDAP)"
        )
    elif first == 0xFF:
        raise DecodeError(PROTOCOL, "length", base + position - 1, "reserved length octet 0xFF")
    else:
        count = first & 0x7F
        if count > MAX_LENGTH_OCTETS:
            raise DecodeError(
                PROTOCOL,
                "length",
                base + position - 1,
                f"length of {count} octets (at most {MAX_LENGTH_OCTETS})",
            )
        if position + count > end:
            return None
        length = int.from_bytes(data[position : position + count], "big")
        position += count
    if length > max_length:
        raise DecodeError(
            PROTOCOL, "length", base + offset, f"length {length} exceeds the bound {max_length}"
        )
    return tag_class, constructed, number, position - offset, length


def frame_length(
    data: bytes, offset: int = 0, *, max_length: int = MAX_ELEMENT_LENGTH
) -> int | None:
    """Size of the whole element starting at `offset`, or None until its header is complete.

    Raises DecodeError as soon as the header shows a length that is refused, so a
    reader never waits for (or buffers) more than `max_length` plus a header.
    """
    header = _read_header(data, offset, max_length=max_length, base=0)
    if header is None:
        return None
    return header[3] + header[4]


def decode(
    data: bytes, offset: int = 0, *, max_length: int = MAX_ELEMENT_LENGTH, base: int = 0
) -> tuple[Element, int]:
    """The element at `offset` and the offset just past it; DecodeError if it is not all there."""
    header = _read_header(data, offset, max_length=max_length, base=base)
    if header is None:
        raise DecodeError(PROTOCOL, "header", base + offset, "truncated tag or length")
    tag_class, constructed, number, header_size, length = header
    start = offset + header_size
    if length > len(data) - start:
        raise DecodeError(
            PROTOCOL,
            "value",
            base + start,
            f"{tag_name(tag_class, number)} of length {length}, {len(data) - start} bytes left",
        )
    value = data[start : start + length]
    return Element(tag_class, constructed, number, value, base + start), start + length


def decode_exactly(data: bytes, *, max_length: int = MAX_ELEMENT_LENGTH) -> Element:
    """One element that is the whole of `data`: trailing bytes are an error."""
    element, end = decode(data, max_length=max_length)
    if end != len(data):
        raise DecodeError(PROTOCOL, "trailing", end, f"{len(data) - end} bytes after the element")
    return element


# Encoders: DER, and they write what they are given (a probe may want an odd message).


def encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def encode_identifier(tag_class: int, constructed: bool, number: int) -> bytes:
    first = tag_class | (CONSTRUCTED if constructed else 0)
    if number < 0x1F:
        return bytes([first | number])
    groups = []
    while True:
        groups.append(number & 0x7F)
        number >>= 7
        if not number:
            break
    groups.reverse()
    tail = bytes([0x80 | g for g in groups[:-1]] + [groups[-1]])
    return bytes([first | 0x1F]) + tail


def encode_tlv(tag_class: int, constructed: bool, number: int, value: bytes) -> bytes:
    return encode_identifier(tag_class, constructed, number) + encode_length(len(value)) + value


def _integer_contents(value: int) -> bytes:
    size = (value + (value < 0)).bit_length() // 8 + 1
    return value.to_bytes(size, "big", signed=True)


def encode_integer(value: int) -> bytes:
    return encode_tlv(UNIVERSAL, False, INTEGER, _integer_contents(value))


def encode_enumerated(value: int) -> bytes:
    return encode_tlv(UNIVERSAL, False, ENUMERATED, _integer_contents(value))


def encode_octet_string(value: bytes) -> bytes:
    return encode_tlv(UNIVERSAL, False, OCTET_STRING, value)


def encode_sequence(*items: bytes) -> bytes:
    return encode_tlv(UNIVERSAL, True, SEQUENCE, b"".join(items))


def encode_context(number: int, value: bytes, *, constructed: bool = False) -> bytes:
    """`[number] IMPLICIT …`: the contents of the underlying type under a context tag."""
    return encode_tlv(CONTEXT, constructed, number, value)


def encode_application(number: int, value: bytes, *, constructed: bool = True) -> bytes:
    return encode_tlv(APPLICATION, constructed, number, value)


__all__ = [
    "APPLICATION",
    "BOOLEAN",
    "CONSTRUCTED",
    "CONTEXT",
    "ENUMERATED",
    "INTEGER",
    "MAX_ELEMENT_LENGTH",
    "MAX_INTEGER_OCTETS",
    "MAX_LENGTH_OCTETS",
    "MAX_TAG_NUMBER_OCTETS",
    "NULL",
    "OCTET_STRING",
    "PRIVATE",
    "SEQUENCE",
    "SET",
    "UNIVERSAL",
    "Element",
    "decode",
    "decode_exactly",
    "encode_application",
    "encode_context",
    "encode_enumerated",
    "encode_identifier",
    "encode_integer",
    "encode_length",
    "encode_octet_string",
    "encode_sequence",
    "encode_tlv",
    "frame_length",
    "tag_name",
]
