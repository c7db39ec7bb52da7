"""TLS probes: versions, suites, groups, key exchange and certificates of one server.

`run_tls_probes` asks which versions answer first, then runs everything else at
once; each probe's observations land in the sink as soon as it finishes, so a
target deadline keeps what was already seen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from protoaudit.engine.dialog import blocking_connector
from protoaudit.observations import (
    CipherSuiteSupport,
    ConnectionFailure,
    Observation,
    ProbeFailure,
    TlsVersionSupport,
)
from protoaudit.probes.context import ProbeContext
from protoaudit.probes.tls.certificates import probe_certificates
from protoaudit.probes.tls.ciphers import probe_cipher_suites
from protoaudit.probes.tls.groups import probe_tls12_key_exchange, probe_tls13_groups
from protoaudit.probes.tls.versions import probe_versions
from protoaudit.proto.tls.constants import ProtocolVersion


async def _into(
    sink: list[Observation], name: str, probe: Awaitable[list[Observation]]
) -> list[Observation]:
    try:
        found = await probe
    except Exception as error:  # noqa: BLE001 - one broken probe must not lose the others
        found = [ProbeFailure(probe=name, reason="internal-error", detail=repr(error)[:500])]
    sink.extend(found)
    return found


async def _suites(
    context: ProbeContext, version: int, sink: list[Observation], key_exchange: bool
) -> None:
    found = await _into(sink, "cipher_suites", probe_cipher_suites(context, version))
    accepted = next((o.accepted for o in found if isinstance(o, CipherSuiteSupport)), ())
    if key_exchange and accepted:
        await _into(sink, "key_exchange", probe_tls12_key_exchange(context, version, accepted))


async def run_tls_probes(context: ProbeContext, sink: list[Observation]) -> None:
    found = await _into(sink, "versions", probe_versions(context))
    versions = [o for o in found if isinstance(o, TlsVersionSupport)]
    supported = [o.version for o in versions if o.supported]
    if not supported:
        details = "; ".join(sorted({o.detail for o in versions}))
        sink.append(ConnectionFailure(stage="tls", reason="no-tls", detail=details[:300]))
        return
    # Key exchange parameters on the newest version before 1.3: older ones share them.
    before_tls13 = [v for v in supported if ProtocolVersion.SSL3 <= v <= ProtocolVersion.TLS1_2]
    newest_legacy = max(before_tls13, default=None)
    jobs: list[Awaitable[object]] = [
        _suites(context, version, sink, key_exchange=version == newest_legacy)
        for version in supported
        if version != ProtocolVersion.SSL2  # its SERVER-HELLO already listed every kind
    ]
    if ProtocolVersion.TLS1_3 in supported:
        jobs.append(_into(sink, "groups", probe_tls13_groups(context)))
    jobs.append(
        _into(
            sink,
            "certificates",
            probe_certificates(
                context.address,
                context.port,
                server_name=context.server_name,
                hostname_to_check=context.server_name or context.host,
                ca_file=context.ca_file,
                timeout=context.timeouts.read,
                now=context.now,
                connect=blocking_connector(context.dialog) if context.dialog else None,
            ),
        )
    )
    await asyncio.gather(*jobs)
