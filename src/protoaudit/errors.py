"""One root exception and the few kinds a caller may want to tell apart.

Expected scan outcomes (refused, timed out, no TLS on the port) are *data* in
the result, not exceptions; these exist for code paths that must unwind.
"""

from __future__ import annotations


class ProtoauditError(Exception):
    """Root of every error protoaudit raises on purpose."""


class TargetError(ProtoauditError):
    """The user gave a target we cannot parse: the user's fault, said in one line."""


class DecodeError(ProtoauditError):
    """Bytes from the peer do not follow the wire format: the remote's fault."""

    def __init__(self, protocol: str, field: str, offset: int, reason: str) -> None:
        super().__init__(f"{protocol}: {field} at offset {offset}: {reason}")
        self.protocol = protocol
        self.field = field
        self.offset = offset
        self.reason = reason


class ProtocolViolation(ProtoauditError):
    """Well-formed bytes that break the protocol's rules (wrong message, wrong state)."""


class PeerAlert(ProtoauditError):
    """The peer ended the exchange with an alert or error message."""

    def __init__(self, protocol: str, level: int, description: int, name: str) -> None:
        super().__init__(f"{protocol}: peer sent alert {name} ({description})")
        self.protocol = protocol
        self.level = level
        self.description = description
        self.name = name


class TransportError(ProtoauditError):
    """The connection failed; `kind` says how, in words a report can show."""

    REFUSED = "refused"
    TIMEOUT = "timeout"
    RESET = "reset"
    CLOSED = "closed"
    UNREACHABLE = "unreachable"
    RESOLVE = "resolve"
    TOO_LARGE = "too-large"

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
