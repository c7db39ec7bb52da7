"""Every cipher suite the server accepts at one version, and the order it prefers.

Enumeration: offer a chunk of the registry, note the suite the server picks,
offer the chunk again without it, until the server refuses. Chunks run at the
same time. Then, with two or more accepted suites, offer them forwards and
backwards: the same pick both times means the server enforces its own order,
and merging the chunks' picks (each already in that order) reads it off.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from protoaudit.observations import CipherSuiteSupport, Observation, ProbeFailure
from protoaudit.probes.context import ProbeContext
from protoaudit.probes.tls.exchange import Abandoned, send_hello
from protoaudit.probes.tls.offers import CHUNK, client_hello, default_share_groups, suites_for
from protoaudit.proto.tls import exchange as codec
from protoaudit.proto.tls.constants import ProtocolVersion, version_name

Pick = Callable[[Sequence[int]], Coroutine[Any, Any, int | None]]
T = TypeVar("T")


class _Violation(Abandoned):
    """The server picked a suite we did not offer: stop trusting this enumeration.

    The hello exchange refuses such a ServerHello (it checks every answer against
    the offer); this probe is the one that says so instead of reading it as a no.
    """

    def __init__(self, detail: str) -> None:
        super().__init__("protocol-violation", detail)


async def _all(*jobs: Coroutine[Any, Any, T]) -> list[T]:
    """Every job's result; the first failure cancels the others (no orphan sessions)."""
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(job) for job in jobs]
    return [task.result() for task in tasks]


async def _pick(context: ProbeContext, version: int, suites: Sequence[int]) -> int | None:
    """The suite the server chooses from `suites` at `version`, None when it refuses them all."""
    shares = default_share_groups() if version == ProtocolVersion.TLS1_3 else ()
    record = client_hello(version, suites, server_name=context.server_name, share_groups=shares)
    outcome = await send_hello(context, record)
    if outcome.malformed is not None and outcome.malformed.field == codec.CIPHER_SUITE_FIELD:
        raise _Violation(outcome.malformed.reason)
    hello = outcome.server_hello
    if hello is None or hello.selected_version != version:
        return None
    return hello.cipher_suite


async def _eliminate(pick: Pick, suites: Sequence[int]) -> list[int]:
    """Offer, drop the pick, offer again: the picks in the order the server made them."""
    remaining = list(suites)
    picks: list[int] = []
    while remaining:
        chosen = await pick(remaining)
        if chosen is None:
            break
        picks.append(chosen)
        remaining.remove(chosen)
    return picks


async def _merge(pick: Pick, chunks: list[list[int]]) -> list[int]:
    """The server's order of all picks, from each chunk's picks (already in its order).

    Under server order each chunk's elimination picked in the server's order, so
    only the heads need comparing: offer them, take the pick, move on. Once one
    chunk is left its rest follows unasked: fewer connections than eliminating
    the whole accepted list again.
    """
    order: list[int] = []
    while len(chunks) > 1:
        heads = [chunk[0] for chunk in chunks]
        chosen = await pick(heads)
        if chosen not in heads:  # refused what it accepted before: keep what is known
            return order
        order.append(chosen)
        chunks = [chunk[1:] if chunk[0] == chosen else chunk for chunk in chunks]
        chunks = [chunk for chunk in chunks if chunk]
    return order + [suite for chunk in chunks for suite in chunk]


async def _enumerate(pick: Pick, version: int) -> CipherSuiteSupport:
    candidates = suites_for(version)
    chunks = [candidates[i : i + CHUNK] for i in range(0, len(candidates), CHUNK)]
    found = await _all(*(_eliminate(pick, chunk) for chunk in chunks))
    accepted = [suite for chunk in found for suite in chunk]
    enforced: bool | None = None
    order: tuple[int, ...] = ()
    if len(accepted) >= 2:
        forward, backward = await _all(pick(accepted), pick(accepted[::-1]))
        enforced = forward is not None and forward == backward
        if enforced:
            order = tuple(await _merge(pick, [c for c in found if c]))
    # Server order first when there is one; a suite the order pass missed is still kept.
    listed = order + tuple(sorted(set(accepted) - set(order)))
    return CipherSuiteSupport(
        version=version,
        accepted=listed,
        server_order_enforced=enforced,
        server_order=order,
    )


async def probe_cipher_suites(context: ProbeContext, version: int) -> list[Observation]:
    pick = functools.partial(_pick, context, version)
    try:
        return [await _enumerate(pick, version)]
    except* Abandoned as group:
        first = group.exceptions[0]
        assert isinstance(first, Abandoned)
        detail = f"{version_name(version)}: {first}"
        failure = ProbeFailure(probe="cipher_suites", reason=first.reason, detail=detail)
    return [failure]
