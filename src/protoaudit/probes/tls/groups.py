"""Which named groups the server accepts for key exchange.

TLS 1.3: offer every group with no key share, so that the server must name
the one it wants in a HelloRetryRequest; drop it and offer the rest, until the
server refuses. A handful of round trips instead of a connection per registry
entry. Offering the accepted groups forwards and backwards tells whether the
server's preference is its own (same answer both times).

TLS 1.2: the same elimination with every ECDHE suite the server accepted, read
up to ServerKeyExchange, whose named curve is the answer (a curve we did not
offer ends it: some servers ignore the client's list). RFC 7919 groups for DHE
are asked one by one, because only a prime that follows the offer proves the
server negotiates them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from protoaudit.errors import DecodeError
from protoaudit.observations import (
    EphemeralKeyExchange,
    KeyExchangeGroups,
    Observation,
    ProbeFailure,
)
from protoaudit.probes.context import ProbeContext
from protoaudit.probes.tls.exchange import send_hello
from protoaudit.probes.tls.offers import all_groups, client_hello, suites_for
from protoaudit.proto.tls.constants import ProtocolVersion, version_name
from protoaudit.proto.tls.server import parse_server_key_exchange
from protoaudit.registry import tls as registry


async def _tls13_pick(context: ProbeContext, groups: Sequence[int]) -> int | None:
    """The group the server asks for from `groups` (no key shares: it must name one)."""
    record = client_hello(
        ProtocolVersion.TLS1_3,
        suites_for(ProtocolVersion.TLS1_3),
        server_name=context.server_name,
        groups=groups,
    )
    hello = (await send_hello(context, record)).server_hello
    if hello is None or hello.selected_version != ProtocolVersion.TLS1_3:
        return None
    group = hello.key_share_group
    return group if group in groups else None  # a group we never offered ends it


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
    remaining = list(all_groups())
    accepted: list[int] = []
    while remaining:
        group = await _tls13_pick(context, remaining)
        if group is None:
            break
        accepted.append(group)
        remaining.remove(group)
    preferred = await _tls13_preferred(context, accepted)
    return [
        KeyExchangeGroups(
            version=ProtocolVersion.TLS1_3, accepted=tuple(accepted), server_preferred=preferred
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


async def _tls12_curve(
    context: ProbeContext, version: int, ecdhe: Sequence[int], curve: int
) -> bool:
    """Whether the server does ECDHE on `curve` at a TLS 1.2-or-older version.

    Before TLS 1.3 the client's curve list also limits the curve of an ECDSA
    certificate (RFC 8422 5.1), so an ECDSA-only server refuses a list that
    names x25519 alone. Then we ask again with the certificate curves behind
    the one in question: a server that honours our order still picks it. One
    that enforces its own order may pick its favourite instead, and that curve
    counts as not seen (a possible miss, never a false claim).
    """
    exchange = await _tls12_exchange(context, version, ecdhe, (curve,))
    if exchange is None and any(registry.cipher_suite(s).authentication == "ECDSA" for s in ecdhe):
        fallback = [curve, *(g for g in _certificate_curves() if g != curve)]
        exchange = await _tls12_exchange(context, version, ecdhe, fallback)
    return exchange is not None and exchange.group == curve


async def _no_curves() -> list[int]:
    return []


async def _tls12_curves(
    context: ProbeContext, version: int, ecdhe: Sequence[int], curves: Sequence[int]
) -> list[int]:
    """Offer every curve, note the one the ServerKeyExchange names, drop it, offer again.

    With ECDSA-only ECDHE suites, dropping the certificate's own curve makes the
    server refuse (RFC 8422 5.1), so the curves left then are asked one by one.
    """
    remaining = list(curves)
    accepted: list[int] = []
    while remaining:
        exchange = await _tls12_exchange(context, version, ecdhe, remaining)
        if exchange is None or exchange.group not in remaining:
            break
        accepted.append(exchange.group)
        remaining.remove(exchange.group)
    if remaining and accepted:
        ecdsa_only = all(registry.cipher_suite(s).authentication == "ECDSA" for s in ecdhe)
        if ecdsa_only:
            answers = await asyncio.gather(
                *(_tls12_curve(context, version, ecdhe, curve) for curve in remaining)
            )
            accepted += [curve for curve, ok in zip(remaining, answers, strict=True) if ok]
    return accepted


def _certificate_curves() -> tuple[int, ...]:
    return tuple(registry.group_by_name(n).code for n in ("secp256r1", "secp384r1", "secp521r1"))


async def _nothing() -> None:
    return None


async def probe_tls12_key_exchange(
    context: ProbeContext, version: int, accepted: Sequence[int]
) -> list[Observation]:
    """Curves accepted for ECDHE, and the parameters of a default ECDHE and DHE exchange."""
    suites = [registry.cipher_suite(code) for code in accepted]
    ecdhe = [s.code for s in suites if s.key_exchange == "ECDHE"]
    dhe = [s.code for s in suites if s.key_exchange == "DHE"]
    curves = [g for g in all_groups() if registry.group(g).kind == "ecdhe"]
    # The default ECDHE exchange twice, curves forwards and backwards: the same curve
    # both times is the server's own preference, not our order echoed back.
    defaults = [
        _tls12_exchange(context, version, ecdhe, curves) if ecdhe else _nothing(),
        _tls12_exchange(context, version, ecdhe, curves[::-1]) if ecdhe else _nothing(),
        _tls12_exchange(context, version, dhe, None) if dhe else _nothing(),
    ]
    forward, backward, finite_field = await asyncio.gather(*defaults)
    observations: list[Observation] = [
        exchange for exchange in (forward, finite_field) if exchange is not None
    ]
    unread = [
        kind
        for kind, asked, seen in (
            ("ECDHE", ecdhe, (forward, backward)),
            ("DHE", dhe, (finite_field,)),
        )
        if asked and all(exchange is None for exchange in seen)
    ]
    if unread:
        # Suites were accepted, yet no ServerKeyExchange could be read (a server that
        # stalls or sends garbage after its ServerHello): say so, rather than "no groups".
        observations.append(
            ProbeFailure(
                probe="key_exchange",
                reason="no-server-key-exchange",
                detail=f"{version_name(version)}: no {' or '.join(unread)} ServerKeyExchange"
                " could be read",
            )
        )
    finite_fields = [g for g in all_groups() if registry.group(g).kind == "ffdhe"]
    found_curves, field_answers = await asyncio.gather(
        _tls12_curves(context, version, ecdhe, curves) if ecdhe else _no_curves(),
        asyncio.gather(
            *(_tls12_exchange(context, version, dhe, (g,)) for g in finite_fields if dhe)
        ),
    )
    accepted = list(found_curves)
    # RFC 7919 negotiation is real only if the prime follows what we offer; a server
    # with one fixed dhparam (nginx, OpenSSL) sends the same prime whatever we ask.
    field_groups = {exchange.group for exchange in field_answers if exchange is not None}
    if len(field_groups) >= 2:
        accepted += [
            group
            for group, exchange in zip(finite_fields, field_answers)  # noqa: B905
            if exchange is not None and exchange.group == group
        ]
    read = [
        kind for kind, asked in (("ECDHE", ecdhe), ("DHE", dhe)) if asked and kind not in unread
    ]
    if read:
        same = forward is not None and backward is not None and forward.group == backward.group
        observations.append(
            KeyExchangeGroups(
                version=version,
                accepted=tuple(accepted),
                server_preferred=forward.group if same and forward else None,
            )
        )
    return observations
