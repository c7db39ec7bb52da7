"""What the client's KEXINIT offers: one kex method, one host-key algorithm, and lists.

The cipher, MAC and compression lists default to every name OpenSSH ever
offered (the registry's openssh column), so that any server, old or new,
finds one in common: the client never uses them, since it never sends NEWKEYS.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from protoaudit.proto.ssh.kexinit import KexInit
from protoaudit.registry import ssh as registry


def _offered(entries: Iterable[tuple[str, str]], *, none_first: bool = False) -> tuple[str, ...]:
    """The names OpenSSH ever offered.

    No cipher or MAC "none" (a probe that wants to test for it offers it alone), but
    compression "none" first, as every client does.
    """
    names = tuple(
        name
        for name, openssh in entries
        if openssh in ("default", "supported", "removed") and name != "none"
    )
    return ("none", *names) if none_first else names


@cache
def default_encryption_algorithms() -> tuple[str, ...]:
    return _offered((a.name, a.openssh) for a in registry.encryption_algorithms().values())


@cache
def default_mac_algorithms() -> tuple[str, ...]:
    return _offered((a.name, a.openssh) for a in registry.mac_algorithms().values())


@cache
def default_compression_algorithms() -> tuple[str, ...]:
    entries = ((a.name, a.openssh) for a in registry.compression_algorithms().values())
    return _offered(entries, none_first=True)


@dataclass(frozen=True, slots=True)
class ClientOffer:
    """What the client's KEXINIT lists: one kex method and one host-key algorithm."""

    kex_algorithm: str
    host_key_algorithm: str
    encryption_algorithms: tuple[str, ...] = field(default_factory=default_encryption_algorithms)
    mac_algorithms: tuple[str, ...] = field(default_factory=default_mac_algorithms)
    compression_algorithms: tuple[str, ...] = field(default_factory=default_compression_algorithms)

    def kex_init(self, cookie: bytes) -> KexInit:
        return KexInit(
            cookie=cookie,
            kex_algorithms=(self.kex_algorithm,),
            server_host_key_algorithms=(self.host_key_algorithm,),
            encryption_algorithms_client_to_server=self.encryption_algorithms,
            encryption_algorithms_server_to_client=self.encryption_algorithms,
            mac_algorithms_client_to_server=self.mac_algorithms,
            mac_algorithms_server_to_client=self.mac_algorithms,
            compression_algorithms_client_to_server=self.compression_algorithms,
            compression_algorithms_server_to_client=self.compression_algorithms,
        )
