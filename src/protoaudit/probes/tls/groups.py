"""Which named groups the server accepts for key exchange.

TLS 1.3: one hello per group, offering only that group (with a key share when
we can make one); a ServerHello or a HelloRetryRequest naming it means yes.
Offering every group with no share makes the server name the one it prefers
in a HelloRetryRequest; offered in reverse too, the same answer both times
means the preference is the server's own.

TLS 1.2: one hello per group with every ECDHE suite the server accepted, read
up to ServerKeyExchange, whose named curve is the answer (some servers ignore
the client's list and use their own curve anyway).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from protoaudit.errors import DecodeError
from protoaudit.observations import EphemeralKeyExchange, KeyExchangeGroups, Observation
from protoaudit.probes.context import ProbeContext
from protoaudit.probes.tls.exchange import send_hello
from protoaudit.probes.tls.offers import all_groups, client_hello, suites_for
from protoaudit.proto.tls.constants import ProtocolVersion
from protoaudit.proto.tls.server import parse_server_key_exchange
from protoaudit.registry import tls as registry


async def _tls13_accepts(context: ProbeContext, group: int) -> bool:
    record = client_hello(
        ProtocolVersion.TLS1_3,
        suites_for(ProtocolVersion.TLS1_3),
        server_name=context.server_name,
        groups=(group,),
        share_groups=(group,),
    )
    hello = (await send_hello(context, record)).server_hello
    return (
        hello is not None
        and hello.selected_version == ProtocolVersion.TLS1_3
        and hello.key_share_group == group
    )


async def _tls13_preferred(context: ProbeContext, groups: Sequence[int]) -> int | None:
    async def ask(order: Sequence[int]) -> int | None:
        record = client_hello(
            ProtocolVersion.TLS1_3,
            suites_for(ProtocolVersion.TLS1_3),
            server_name=context.server_name,
            groups=order,
        )
        hello = (await send_hello(context, record)).server_hello
        return hello.key_share_group if hello is not None else None

    if len(groups) < 2:
        return groups[0] if groups else None
    forward, backward = await asyncio.gather(ask(groups), ask(groups[::-1]))
    return forward if forward == backward else None


async def probe_tls13_groups(context: ProbeContext) -> list[Observation]:
    candidates = all_groups()
    answers = await asyncio.gather(*(_tls13_accepts(context, g) for g in candidates))
    accepted = tuple(g for g, ok in zip(candidates, answers, strict=True) if ok)
    preferred = await _tls13_preferred(context, accepted)
    return [
        KeyExchangeGroups(
            version=ProtocolVersion.TLS1_3, accepted=accepted, server_preferred=preferred
        )
    ]


async def _tls12_exchange(
    context: ProbeContext, version: int, suites: Sequence[int], groups: Sequence[int] | None
) -> EphemeralKeyExchange | None:
    """One handshake up to ServerHelloDone; the parameters its ServerKeyExchange carried."""
    record = client_hello(version, suites, server_name=context.server_name, groups=groups)
    outcome = await send_hello(context, record, stop_after="server_hello_done")
    hello = outcome.server_hello
    if hello is None or outcome.server_key_exchange is None:
        return None
    suite = registry.cipher_suite(hello.cipher_suite)
    try:
        params = parse_server_key_exchange(
            outcome.server_key_exchange, key_exchange=suite.key_exchange, version=version
        )
    except (DecodeError, ValueError):  # ValueError: a suite with no ServerKeyExchange shape
        return None
    return EphemeralKeyExchange(
        version=version,
        cipher_suite=hello.cipher_suite,
        group=params.group,
        dh_prime_bits=params.dh_prime_bits,
        signature_scheme=params.signature_scheme,
    )


async def probe_tls12_key_exchange(
    context: ProbeContext, version: int, accepted: Sequence[int]
) -> list[Observation]:
    """Curves accepted for ECDHE, and the parameters of a default ECDHE and DHE exchange."""
    suites = [registry.cipher_suite(code) for code in accepted]
    ecdhe = [s.code for s in suites if s.key_exchange == "ECDHE"]
    dhe = [s.code for s in suites if s.key_exchange == "DHE"]
    defaults = [
        _tls12_exchange(context, version, chosen, None) for chosen in (ecdhe, dhe) if chosen
    ]
    observations: list[Observation] = [
        exchange for exchange in await asyncio.gather(*defaults) if exchange is not None
    ]
    if ecdhe:
        curves = [g for g in all_groups() if registry.group(g).kind == "ecdhe"]
        seen = await asyncio.gather(
            *(_tls12_exchange(context, version, ecdhe, (curve,)) for curve in curves)
        )
        accepted_curves = tuple(
            curve
            for curve, exchange in zip(curves, seen, strict=True)
            if exchange is not None and exchange.group == curve
        )
        default = next(
            (o for o in observations if isinstance(o, EphemeralKeyExchange) and o.group), None
        )
        observations.append(
            KeyExchangeGroups(
                version=version,
                accepted=accepted_curves,
                server_preferred=default.group if default else None,
            )
        )
    return observations
