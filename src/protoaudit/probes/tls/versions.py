"""Which protocol versions the server accepts, SSLv2 through TLS 1.3.

One hello per version, each offering every suite the registry has for it, all
sent at once. A version is supported when the server answers with that very
version; a lower version in the reply, an alert or a close means it is not.
"""

from __future__ import annotations

import asyncio

from protoaudit.observations import CipherSuiteSupport, Observation, TlsVersionSupport
from protoaudit.probes.context import ProbeContext
from protoaudit.probes.tls.exchange import HelloOutcome, send_hello
from protoaudit.probes.tls.offers import (
    TLS_VERSIONS,
    client_hello,
    default_share_groups,
    suites_for,
)
from protoaudit.proto.tls.constants import ProtocolVersion, version_name


def _verdict(version: int, outcome: HelloOutcome) -> TlsVersionSupport:
    if version == ProtocolVersion.SSL2:
        hello = outcome.sslv2_hello
        supported = hello is not None and bool(hello.cipher_specs)
        return TlsVersionSupport(version=version, supported=supported, detail=outcome.summary)
    hello_message = outcome.server_hello
    if hello_message is None:
        return TlsVersionSupport(version=version, supported=False, detail=outcome.summary)
    chosen = hello_message.selected_version
    if chosen != version:
        detail = f"server answered with {version_name(chosen)}"
        return TlsVersionSupport(version=version, supported=False, detail=detail)
    return TlsVersionSupport(version=version, supported=True, detail=outcome.summary)


async def probe_version(context: ProbeContext, version: int) -> TlsVersionSupport:
    record = client_hello(
        version,
        suites_for(version),
        server_name=context.server_name,
        share_groups=default_share_groups() if version == ProtocolVersion.TLS1_3 else (),
    )
    return _verdict(version, await send_hello(context, record))


async def _probe_sslv2(context: ProbeContext) -> list[Observation]:
    """SSLv2 answers with every cipher kind it has at once: no enumeration needed."""
    outcome = await send_hello(
        context,
        client_hello(ProtocolVersion.SSL2, suites_for(ProtocolVersion.SSL2), server_name=None),
    )
    found: list[Observation] = [_verdict(ProtocolVersion.SSL2, outcome)]
    if outcome.sslv2_hello is not None and outcome.sslv2_hello.cipher_specs:
        found.append(
            CipherSuiteSupport(
                version=ProtocolVersion.SSL2,
                accepted=outcome.sslv2_hello.cipher_specs,
                server_order_enforced=None,
                server_order=(),
            )
        )
    return found


async def probe_versions(context: ProbeContext) -> list[Observation]:
    sslv2, others = await asyncio.gather(
        _probe_sslv2(context), asyncio.gather(*(probe_version(context, v) for v in TLS_VERSIONS))
    )
    return [*sslv2, *others]
