"""Reading the registry's packaged CSV files: one reader for every registry module."""

from __future__ import annotations

import csv
from importlib import resources

from protoaudit.errors import ProtoauditError


class RegistryDataError(ProtoauditError):
    """A packaged registry file is malformed: a bug in protoaudit, not in the peer."""


def read_rows(filename: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of a data file, with `#` comment lines skipped and the header checked."""
    data = resources.files("protoaudit.registry").joinpath("data")
    text = data.joinpath(filename).read_text("utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(lines)
    if tuple(reader.fieldnames or ()) != columns:
        raise RegistryDataError(f"{filename}: header is {reader.fieldnames}, expected {columns}")
    rows = list(reader)
    for number, row in enumerate(rows, start=1):
        if None in row or any(value is None for value in row.values()):
            raise RegistryDataError(f"{filename}: row {number} has the wrong number of fields")
    return rows


def number(filename: str, text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise RegistryDataError(f"{filename}: bad number {text!r}") from None
