"""The RFC 7919 finite-field groups, computed from the RFC's own formula.

RFC 7919 Appendix A defines each prime as

    p = 2^b - 2^{b-64} + {[2^{b-130} e] + X} * 2^64 - 1

with the generator 2. Computing it from (b, X) keeps forty lines of hex out
of the source; a unit test checks every prime against OpenSSL's copy.
"""

from __future__ import annotations

from functools import cache

from protoaudit.registry import tls as registry

GENERATOR = 2

# (bit length, X) per group name, from RFC 7919 A.1 to A.5.
_PARAMETERS: dict[str, tuple[int, int]] = {
    "ffdhe2048": (2048, 560316),
    "ffdhe3072": (3072, 2625351),
    "ffdhe4096": (4096, 5736041),
    "ffdhe6144": (6144, 15705020),
    "ffdhe8192": (8192, 10965728),
}

GROUP_NAMES = tuple(_PARAMETERS)


def _floor_e_times_power_of_two(exponent: int) -> int:
    """floor(e * 2^exponent), from the series e = sum 1/k!, with guard bits against truncation."""
    guard_bits = 64
    term = 1 << (exponent + guard_bits)
    total = 0
    divisor = 0
    while term:
        total += term
        divisor += 1
        term //= divisor
    return total >> guard_bits


@cache
def prime_for_name(name: str) -> int:
    """The prime of the RFC 7919 group IANA calls `name` (KeyError for any other name)."""
    bits, offset = _PARAMETERS[name]
    return (
        (1 << bits)
        - (1 << (bits - 64))
        + ((_floor_e_times_power_of_two(bits - 130) + offset) << 64)
        - 1
    )


@cache
def _groups_by_code() -> dict[int, str]:
    return {registry.group_by_name(name).code: name for name in _PARAMETERS}


def prime(group: int) -> int | None:
    """The prime of an ffdhe group code point, None for any other group."""
    name = _groups_by_code().get(group)
    return None if name is None else prime_for_name(name)


def group_for_prime(candidate: int) -> int | None:
    """The ffdhe group whose prime is `candidate`, if any (names the group of a DHE exchange)."""
    for code, name in _groups_by_code().items():
        if prime_for_name(name) == candidate:
            return code
    return None
