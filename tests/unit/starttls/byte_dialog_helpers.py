"""What the tests of the byte dialogs (LDAP, PostgreSQL, MySQL, XMPP) share."""

from __future__ import annotations


def chunks(data: bytes, size: int | None) -> list[bytes]:
    """`data` in pieces of `size` bytes (the last one shorter), or whole when `size` is None."""
    if size is None:
        return [data]
    return [data[start : start + size] for start in range(0, len(data), size)]
