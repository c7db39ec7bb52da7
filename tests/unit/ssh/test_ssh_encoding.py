"""SSH data types (RFC 4251 5) and the MODP primes of the fixed-group methods."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protoaudit.errors import DecodeError
from protoaudit.proto.ssh import modp
from protoaudit.proto.ssh.encoding import (
    mpint,
    mpint_bytes,
    read_mpint,
    read_name_list,
    read_positive_mpint,
    read_uint64,
)
from protoaudit.wire import Reader


@pytest.mark.parametrize(
    ("value", "encoded"),
    [  # RFC 4251 5, the examples under "mpint"
        (0, "00000000"),
        (0x9A378F9B2E332A7, "0000000809a378f9b2e332a7"),
        (0x80, "000000020080"),
        (-0x1234, "00000002edcc"),
        (-0xDEADBEEF, "00000005ff21524111"),
    ],
)
def test_rfc_4251_mpint_examples(value: int, encoded: str) -> None:
    assert mpint(value).hex() == encoded
    assert read_mpint(Reader(bytes.fromhex(encoded), "ssh"), "x") == value


def test_leading_zeros_are_tolerated_on_the_wire() -> None:
    assert read_mpint(Reader(bytes.fromhex("00000003000080"), "ssh"), "x") == 0x80


def test_mpint_limits() -> None:
    huge = (3000).to_bytes(4, "big") + b"\x01" * 3000
    with pytest.raises(DecodeError, match="the limit is 2049"):
        read_mpint(Reader(huge, "ssh"), "x")
    with pytest.raises(DecodeError, match="must be positive"):
        read_positive_mpint(Reader(mpint(-5), "ssh"), "x")
    with pytest.raises(DecodeError, match="must be positive"):
        read_positive_mpint(Reader(mpint(0), "ssh"), "x")


def test_name_lists() -> None:
    assert read_name_list(Reader(bytes.fromhex("00000000"), "ssh"), "x") == ()
    raw = b"\0\0\0\x09zlib,none"
    assert read_name_list(Reader(raw, "ssh"), "x") == ("zlib", "none")
    assert read_uint64(Reader(b"\x01" + bytes(7), "ssh"), "x") == 1 << 56


@given(st.integers(-(2**4000), 2**4000))
def test_mpint_round_trip(value: int) -> None:
    body = mpint_bytes(value)
    assert read_mpint(Reader(mpint(value), "ssh"), "x") == value
    # Minimal: no byte could be dropped without changing the value or its sign.
    assert len(body) <= 1 or int.from_bytes(body[1:], "big", signed=True) != value


@given(st.binary(max_size=64))
def test_arbitrary_bytes_raise_only_decode_error(data: bytes) -> None:
    for read in (read_mpint, read_positive_mpint, read_name_list):
        with contextlib.suppress(DecodeError):
            read(Reader(data, "ssh"), "x")


# -- MODP groups -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "group",
    [
        group if group < 17 else pytest.param(group, marks=pytest.mark.slow)
        for group in modp.GROUP_NUMBERS
    ],
)
def test_primes_have_the_rfc_shape(group: int) -> None:
    prime = modp.prime(group)
    bits = prime.bit_length()
    assert bits == {1: 1024, 14: 2048, 15: 3072, 16: 4096, 17: 6144, 18: 8192}[group]
    assert prime >> (bits - 64) == 2**64 - 1  # the top and bottom 64 bits are all ones
    assert prime & (2**64 - 1) == 2**64 - 1
    # A safe prime: p and (p-1)/2 pass a Fermat test (RFC 3526 1: generator 2).
    assert pow(2, prime - 1, prime) == 1
    half = (prime - 1) // 2
    assert pow(3, half - 1, half) == 1


def openssh_primes() -> set[int]:
    """The MODP primes compiled into the OpenSSH client (dh.c), where there is one."""
    binary = Path("/usr/bin/ssh")
    if not binary.exists():
        return set()
    strings = subprocess.run(["strings", str(binary)], capture_output=True, text=True, check=False)
    return {
        int(line, 16) for line in strings.stdout.split() if line.startswith("FFFFFFFFFFFFFFFFC90F")
    }


@pytest.mark.skipif(not openssh_primes(), reason="no OpenSSH binary with its group primes")
@pytest.mark.parametrize("group", [1, 14, 16, 18])
def test_primes_equal_openssh_s(group: int) -> None:
    assert modp.prime(group) in openssh_primes()
