"""Algorithm negotiation from two KEXINITs (RFC 4253 7.1).

For each category the choice is the first algorithm on the client's list
that is also on the server's. The MAC lists are not negotiated in a
direction whose cipher is an AEAD (RFC 5647 5.1; OpenSSH does the same for
its @openssh.com AEADs). Markers such as ext-info-c or
kex-strict-s-v00@openssh.com are not methods and are never chosen.
The key exchange method's compatibility with the host-key algorithm (RFC 4253
7.1's longer rule) is taken for granted: every method here signs.
"""

from __future__ import annotations

from dataclasses import dataclass

from protoaudit.proto.ssh.kexinit import KexInit
from protoaudit.registry import ssh as registry


@dataclass(frozen=True, slots=True)
class Negotiated:
    kex: str
    host_key: str
    encryption_client_to_server: str
    encryption_server_to_client: str
    mac_client_to_server: str | None  # None: the cipher is an AEAD
    mac_server_to_client: str | None
    compression_client_to_server: str
    compression_server_to_client: str


@dataclass(frozen=True, slots=True)
class NoCommon:
    """The first category with nothing in common, and both lists."""

    category: str  # "kex", "host_key", "encryption_client_to_server", ...
    client: tuple[str, ...]
    server: tuple[str, ...]


def _choose(client: tuple[str, ...], server: tuple[str, ...], *, kex: bool) -> str | None:
    offered = set(server)
    for name in client:
        if name in offered and not (kex and registry.kex_method(name).marker):
            return name
    return None


def negotiate(client: KexInit, server: KexInit) -> Negotiated | NoCommon:
    chosen: dict[str, str | None] = {}
    pairs = {
        "kex": (client.kex_algorithms, server.kex_algorithms),
        "host_key": (client.server_host_key_algorithms, server.server_host_key_algorithms),
        "encryption_client_to_server": (
            client.encryption_algorithms_client_to_server,
            server.encryption_algorithms_client_to_server,
        ),
        "encryption_server_to_client": (
            client.encryption_algorithms_server_to_client,
            server.encryption_algorithms_server_to_client,
        ),
        "mac_client_to_server": (
            client.mac_algorithms_client_to_server,
            server.mac_algorithms_client_to_server,
        ),
        "mac_server_to_client": (
            client.mac_algorithms_server_to_client,
            server.mac_algorithms_server_to_client,
        ),
        "compression_client_to_server": (
            client.compression_algorithms_client_to_server,
            server.compression_algorithms_client_to_server,
        ),
        "compression_server_to_client": (
            client.compression_algorithms_server_to_client,
            server.compression_algorithms_server_to_client,
        ),
    }
    for category, (ours, theirs) in pairs.items():
        if category.startswith("mac_"):
            cipher = chosen["encryption_" + category.removeprefix("mac_")]
            if cipher is not None and registry.encryption_algorithm(cipher).aead:
                chosen[category] = None
                continue
        choice = _choose(ours, theirs, kex=category == "kex")
        if choice is None:
            return NoCommon(category, ours, theirs)
        chosen[category] = choice

    def name(category: str) -> str:
        value = chosen[category]
        assert value is not None
        return value

    return Negotiated(
        kex=name("kex"),
        host_key=name("host_key"),
        encryption_client_to_server=name("encryption_client_to_server"),
        encryption_server_to_client=name("encryption_server_to_client"),
        mac_client_to_server=chosen["mac_client_to_server"],
        mac_server_to_client=chosen["mac_server_to_client"],
        compression_client_to_server=name("compression_client_to_server"),
        compression_server_to_client=name("compression_server_to_client"),
    )
