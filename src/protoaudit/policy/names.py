"""How policy and reports name code points in words: IANA names with the hex code.

Names come from the registry. A code the registry does not know keeps the
registry's placeholder name (`UNKNOWN_0x1234`), so whatever a server sent is
reported rather than crashed on; `lookup_*` return None for such codes so that
rules never judge a suite or group whose properties are unknown.
"""

from __future__ import annotations

from protoaudit.proto.tls.constants import version_name
from protoaudit.registry import tls as registry

__all__ = [
    "code_hex",
    "group_label",
    "group_name",
    "lookup_group",
    "lookup_suite",
    "scheme_name",
    "suite_label",
    "suite_name",
    "version_name",
]


def code_hex(code: int) -> str:
    """`0x000A` for two-byte codes, `0x010080` for three-byte SSLv2 cipher kinds."""
    return f"0x{code:06X}" if code > 0xFFFF else f"0x{code:04X}"


def lookup_suite(code: int) -> registry.CipherSuite | None:
    """The registry's entry, or None for a code it does not know."""
    return registry.cipher_suites().get(code)


def lookup_group(code: int) -> registry.Group | None:
    """The registry's entry, or None for a code it does not know."""
    return registry.groups().get(code)


def suite_name(code: int) -> str:
    return registry.cipher_suite(code).name


def suite_label(code: int) -> str:
    """`TLS_RSA_WITH_3DES_EDE_CBC_SHA (0x000A)`: the form evidence lines use."""
    return f"{suite_name(code)} ({code_hex(code)})"


def group_name(code: int) -> str:
    return registry.group(code).name


def group_label(code: int) -> str:
    return f"{group_name(code)} ({code_hex(code)})"


def scheme_name(code: int) -> str:
    return registry.signature_scheme(code).name
