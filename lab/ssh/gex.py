"""OpenSSH sshd 9.2's choice of a Diffie-Hellman group-exchange prime.

Used by ground_truth.py (the truth's gex examples) and verify.py (the answer
each request made against the running server must get).
"""

from __future__ import annotations

from pathlib import Path

# OpenSSH dh.h: the group sizes sshd accepts in a group-exchange request.
DH_GRP_MIN, DH_GRP_MAX = 2048, 8192
# (min, n, max) as OpenSSH 9.2's ssh requests them (n from the cipher and MAC
# chosen: kex.c dh_need, dh.c dh_estimate), and paramiko's, with min 1024 as
# older or probing clients send it. verify.py makes all four requests.
GEX_REQUESTS = [(2048, 3072, 8192), (2048, 7680, 8192), (2048, 8192, 8192), (1024, 2048, 8192)]


def moduli_bits(path: Path) -> list[int]:
    """Prime sizes in an OpenSSH moduli file: its size field is bits - 1."""
    sizes = set()
    for line in path.read_text().splitlines():
        fields = line.split()
        if line.startswith("#") or len(fields) != 7:
            continue
        if fields[1] == "2":  # safe primes only (MODULI_TYPE_SAFE), as parse_prime()
            sizes.add(int(fields[4]) + 1)
    return sorted(sizes)


def gex_modulus_bits(sizes: list[int], requested: list[int] | tuple[int, int, int]) -> int:
    """The prime size sshd 9.2 answers a GEX request with.

    kexgexs.c clamps min and n to DH_GRP_MIN..DH_GRP_MAX; dh.c choose_dh() takes
    the size equal to n, else the smallest above it, else the largest below it,
    within [min, max]; with none, dh_new_group_fallback(max): group 14, 16 or 18.
    """
    low, want, high = requested
    low, high = max(DH_GRP_MIN, low), min(DH_GRP_MAX, high)
    want = min(max(DH_GRP_MIN, want), DH_GRP_MAX)
    best = 0
    for size in sizes:
        if low <= size <= high and (
            (want < size < best) or (size > best and best < want)  # choose_dh's test
        ):
            best = size
    if best:
        return best
    return 2048 if high < 3072 else 4096 if high < 6144 else 8192
