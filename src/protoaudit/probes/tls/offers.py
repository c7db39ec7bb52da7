"""What protoaudit offers in its ClientHellos: built from the registry, once."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache

from protoaudit.probes.tls.exchange import client_random
from protoaudit.proto.tls import hello as hello_codec
from protoaudit.proto.tls.constants import ProtocolVersion
from protoaudit.proto.tls.hello import build_client_hello, build_sslv2_client_hello, extension
from protoaudit.proto.tls.keyshare import make_key_share, supported_key_share_groups
from protoaudit.registry import tls as registry

TLS_VERSIONS = (
    ProtocolVersion.SSL3,
    ProtocolVersion.TLS1_0,
    ProtocolVersion.TLS1_1,
    ProtocolVersion.TLS1_2,
    ProtocolVersion.TLS1_3,
)

# Servers that choke on long hellos exist (some stop answering past 128 suites),
# so enumeration offers the registry in chunks of this size.
CHUNK = 128


@cache
def suites_for(version: int) -> tuple[int, ...]:
    """Every registry suite that can be negotiated at `version`, no SCSVs."""
    suites = registry.cipher_suites().values()
    if version == ProtocolVersion.SSL2:
        return tuple(s.code for s in suites if s.sslv2)
    if version == ProtocolVersion.TLS1_3:
        return tuple(s.code for s in suites if s.tls13)
    return tuple(
        s.code for s in suites if not (s.sslv2 or s.tls13 or s.scsv) and s.min_version <= version
    )


@cache
def all_groups() -> tuple[int, ...]:
    """Every named group in the registry, strongest kinds first (hybrids, then EC, then FF)."""
    rank = {"hybrid": 0, "kem": 1, "ecdhe": 2, "ffdhe": 3}
    groups = [g for g in registry.groups().values() if g.kind in rank]
    return tuple(g.code for g in sorted(groups, key=lambda g: (rank[g.kind], g.code)))


@cache
def default_share_groups() -> tuple[int, ...]:
    """The key shares a TLS 1.3 hello carries up front: what nearly every server takes."""
    return (registry.group_by_name("x25519").code, registry.group_by_name("secp256r1").code)


@cache
def all_signature_schemes() -> tuple[int, ...]:
    """Every scheme, recommended ones first: servers that honour the client's order then
    sign with what a modern client would get, not with SHA-1 because its code is lowest."""

    def rank(scheme: registry.SignatureScheme) -> tuple[int, int]:
        weak = any(word in scheme.name for word in ("sha1", "md5", "sha224"))
        return (2 if weak else 0 if scheme.recommended == "Y" else 1, scheme.code)

    return tuple(s.code for s in sorted(registry.signature_schemes().values(), key=rank))


@cache
def _key_share(group: int) -> bytes:
    # One share per group per process is enough: the probe never finishes the handshake.
    return make_key_share(group, os.urandom)


def key_share_for(group: int) -> tuple[int, bytes] | None:
    if group not in supported_key_share_groups():
        return None
    return group, _key_share(group)


def client_hello(
    version: int,
    suites: Sequence[int],
    *,
    server_name: str | None,
    groups: Sequence[int] | None = None,
    share_groups: Sequence[int] = (),
) -> bytes:
    """A ClientHello record offering `suites` at `version`, with everything else generous."""
    if version == ProtocolVersion.SSL2:
        return build_sslv2_client_hello(suites, os.urandom(16))
    offered_groups = all_groups() if groups is None else tuple(groups)
    shares = [share for g in share_groups if (share := key_share_for(g)) is not None]
    extras = []
    if version >= ProtocolVersion.TLS1_0:  # SSL 3.0 servers predate extensions
        extras.append(extension("renegotiation_info", hello_codec.renegotiation_info_body()))
        extras.append(
            extension("extended_master_secret", hello_codec.extended_master_secret_body())
        )
    if version == ProtocolVersion.TLS1_3:
        extras.append(
            extension("psk_key_exchange_modes", hello_codec.psk_key_exchange_modes_body())
        )
    return build_client_hello(
        version=version,
        cipher_suites=suites,
        random=client_random(),
        server_name=server_name if version >= ProtocolVersion.TLS1_0 else None,
        groups=offered_groups if version >= ProtocolVersion.TLS1_0 else (),
        key_shares=shares,
        signature_algorithms=all_signature_schemes() if version >= ProtocolVersion.TLS1_2 else (),
        extra_extensions=extras,
    )
