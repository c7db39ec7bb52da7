"""The MODP groups of the fixed-group diffie-hellman-group* methods, from the RFCs' formula.

RFC 2409 6.2 (group 2, which SSH calls group1) and RFC 3526 (groups 14-18)
define each prime as

    p = 2^b - 2^{b-64} - 1 + 2^64 * ([2^{b-130} pi] + X)

with the generator 2. Computing it from (b, X) keeps a page of hex out of the
source; the unit tests check the primes against OpenSSH's copies and a real
key exchange.
"""

from __future__ import annotations

from functools import cache

GENERATOR = 2

# (bit length, X) by the group number SSH uses in the method name.
_PARAMETERS: dict[int, tuple[int, int]] = {
    1: (1024, 129093),  # RFC 2409 6.2, the Oakley "Second Group"
    14: (2048, 124476),  # RFC 3526 3
    15: (3072, 1690314),  # RFC 3526 4
    16: (4096, 240904),  # RFC 3526 5
    17: (6144, 929484),  # RFC 3526 6
    18: (8192, 4743158),  # RFC 3526 7
}

GROUP_NUMBERS = tuple(_PARAMETERS)


def _arctan_inverse(x: int, scale: int) -> int:
    """arctan(1/x) * 2^scale, from the Gregory series."""
    power = (1 << scale) // x
    total = power
    x_squared = x * x
    divisor = 1
    sign = 1
    while power:
        power //= x_squared
        divisor += 2
        sign = -sign
        total += sign * (power // divisor)
    return total


def _floor_pi_times_power_of_two(exponent: int) -> int:
    """floor(pi * 2^exponent) by Machin's formula, with guard bits against truncation."""
    guard_bits = 64
    scale = exponent + guard_bits
    pi = 16 * _arctan_inverse(5, scale) - 4 * _arctan_inverse(239, scale)
    return pi >> guard_bits


@cache
def prime(group_number: int) -> int:
    """The prime of MODP group `group_number` (KeyError for any other number)."""
    bits, offset = _PARAMETERS[group_number]
    return (
        (1 << bits)
        - (1 << (bits - 64))
        - 1
        + ((_floor_pi_times_power_of_two(bits - 130) + offset) << 64)
    )
