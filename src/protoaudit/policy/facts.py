"""Questions about a target's observations that several rules and the grade ask.

Only reading, no judging: which versions were supported, which suites were
accepted (with their registry entries), the observations of one kind.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

from protoaudit.observations import CipherSuiteSupport, Observation, TlsVersionSupport
from protoaudit.policy.names import lookup_suite
from protoaudit.registry.tls import CipherSuite

ObservationT = TypeVar("ObservationT", bound=Observation)


def of_kind(
    observations: Sequence[Observation], kind: type[ObservationT]
) -> Iterator[ObservationT]:
    """The observations of one kind, in order."""
    return (observation for observation in observations if isinstance(observation, kind))


def version_verdicts(observations: Sequence[Observation]) -> dict[int, TlsVersionSupport]:
    """The verdict per tested version; a later 'supported' wins over an earlier refusal."""
    verdicts: dict[int, TlsVersionSupport] = {}
    for observation in of_kind(observations, TlsVersionSupport):
        known = verdicts.get(observation.version)
        if known is None or (observation.supported and not known.supported):
            verdicts[observation.version] = observation
    return verdicts


def supported_versions(observations: Sequence[Observation]) -> frozenset[int]:
    return frozenset(v for v, seen in version_verdicts(observations).items() if seen.supported)


def accepted_suites(
    observations: Sequence[Observation],
) -> Iterator[tuple[int, int, CipherSuite | None]]:
    """(version, code, registry entry or None) for every accepted suite, SCSVs left out."""
    for support in of_kind(observations, CipherSuiteSupport):
        for code in support.accepted:
            suite = lookup_suite(code)
            if suite is not None and suite.scsv:
                continue
            yield support.version, code, suite
