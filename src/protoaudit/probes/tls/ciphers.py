"""Every cipher suite the server accepts at one version, and the order it prefers.

Enumeration: offer a chunk of the registry, note the suite the server picks,
offer the chunk again without it, until the server refuses. Chunks run at the
same time. Then, with two or more accepted suites, offer them forwards and
backwards: the same pick both times means the server enforces its own order,
and merging the chunks' picks (each already in that order) reads it off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from protoaudit.observations import CipherSuiteSupport, Observation, ProbeFailure
from protoaudit.probes.context import ProbeContext
from protoaudit.probes.tls.exchange import HelloOutcome, send_hello
from protoaudit.probes.tls.offers import CHUNK, client_hello, default_share_groups, suites_for
from protoaudit.proto.tls import exchange as codec
from protoaudit.proto.tls.constants import ProtocolVersion, version_name


class _Violation(Exception):
    """The server picked a suite we did not offer: stop trusting this enumeration.

    The hello exchange refuses such a ServerHello (it checks every answer against
    the offer); this probe is the one that says so instead of reading it as a no.
    """


async def _pick(context: ProbeContext, version: int, suites: Sequence[int]) -> int | None:
    """The suite the server chooses from `suites` at `version`, None when it refuses them all."""
    shares = default_share_groups() if version == ProtocolVersion.TLS1_3 else ()
    record = client_hello(version, suites, server_name=context.server_name, share_groups=shares)
    outcome: HelloOutcome = await send_hello(context, record)
    if outcome.malformed is not None and outcome.malformed.field == codec.CIPHER_SUITE_FIELD:
        raise _Violation(f"{version_name(version)}: {outcome.malformed.reason}")
    hello = outcome.server_hello
    if hello is None or hello.selected_version != version:
        return None
    return hello.cipher_suite


async def _eliminate(context: ProbeContext, version: int, suites: Sequence[int]) -> list[int]:
    """Offer, drop the pick, offer again: the picks in the order the server made them."""
    remaining = list(suites)
    picks: list[int] = []
    while remaining:
        chosen = await _pick(context, version, remaining)
        if chosen is None:
            break
        picks.append(chosen)
        remaining.remove(chosen)
    return picks


async def _merge(context: ProbeContext, version: int, chunks: list[list[int]]) -> list[int]:
    """The server's order of all picks, from each chunk's picks (already in its order).

    Under server order each chunk's elimination picked in the server's order, so
    only the heads need comparing: offer them, take the pick, move on. Once one
    chunk is left its rest follows unasked: fewer connections than eliminating
    the whole accepted list again.
    """
    order: list[int] = []
    while len(chunks) > 1:
        heads = [chunk[0] for chunk in chunks]
        chosen = await _pick(context, version, heads)
        if chosen not in heads:  # refused what it accepted before: keep what is known
            return order
        order.append(chosen)
        chunks = [chunk[1:] if chunk[0] == chosen else chunk for chunk in chunks]
        chunks = [chunk for chunk in chunks if chunk]
    return order + [suite for chunk in chunks for suite in chunk]


async def probe_cipher_suites(context: ProbeContext, version: int) -> list[Observation]:
    candidates = suites_for(version)
    chunks = [candidates[i : i + CHUNK] for i in range(0, len(candidates), CHUNK)]
    try:
        found = await asyncio.gather(*(_eliminate(context, version, chunk) for chunk in chunks))
        accepted = [suite for chunk in found for suite in chunk]
        enforced: bool | None = None
        order: tuple[int, ...] = ()
        if len(accepted) >= 2:
            forward, backward = await asyncio.gather(
                _pick(context, version, accepted), _pick(context, version, accepted[::-1])
            )
            enforced = forward is not None and forward == backward
            if enforced:
                order = tuple(await _merge(context, version, [c for c in found if c]))
    except _Violation as violation:
        return [
            ProbeFailure(probe="cipher_suites", reason="protocol-violation", detail=str(violation))
        ]
    # Server order first when there is one; a suite the order pass missed is still kept.
    listed = order + tuple(sorted(set(accepted) - set(order)))
    return [
        CipherSuiteSupport(
            version=version,
            accepted=listed,
            server_order_enforced=enforced,
            server_order=order,
        )
    ]
