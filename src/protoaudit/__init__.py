"""protoaudit: audit the secure protocols a host exposes, with evidence."""

from __future__ import annotations

__version__ = "0.1.0"
