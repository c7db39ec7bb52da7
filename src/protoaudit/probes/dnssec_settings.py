"""Where DNSSEC validation asks and what it trusts, from the user's option strings.

Kept apart from `probes.dnssec` so that the scanner can check the options once and
report a bad one as a recorded failure of the target, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from protoaudit.probes.dnssec import parse_server, read_trust_anchor_file
from protoaudit.proto.dnssec.anchors import TrustAnchorError, TrustAnchors


@dataclass(frozen=True, slots=True)
class ValidationSettings:
    server: tuple[str, int] | None = None
    root_servers: tuple[tuple[str, int], ...] | None = None
    trust_anchors: TrustAnchors | None = None


@cache  # one parse of the trust anchor file per run, however many targets ask
def validation_settings(
    server: str | None, root_servers: tuple[str, ...], trust_anchor_file: str | None
) -> ValidationSettings:
    """Parsed settings; ValueError naming the bad option otherwise."""
    try:
        return ValidationSettings(
            server=parse_server(server) if server else None,
            root_servers=tuple(parse_server(text) for text in root_servers) or None,
            trust_anchors=read_trust_anchor_file(trust_anchor_file) if trust_anchor_file else None,
        )
    except TrustAnchorError as error:
        raise ValueError(f"trust anchor: {error}") from None
    except ValueError as error:
        raise ValueError(f"DNS server: {error}") from None
