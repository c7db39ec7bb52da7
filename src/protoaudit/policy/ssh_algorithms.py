"""What protoaudit knows about each SSH algorithm name, from `data/ssh_algorithms.json`.

Every name a server can list in its KEXINIT (key exchange, host key,
encryption, MAC, compression) is classed recommended, acceptable, weak or
broken, with a reason and the RFCs, CVEs or release notes behind it; a weak or
broken name also says which finding reports it. A name the data does not know
comes back as class "unknown" rather than raising: servers invent names, and
whatever they sent must survive into the report. Markers such as
kex-strict-s-v00@openssh.com sit in the kex list but are not algorithms.

`offered_algorithms` flattens one SshAlgorithms observation into the names it
offers, each with its place in words ("encryption (both directions)"), so
that rules and the hardening advice read the same list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any, Literal, get_args

from protoaudit.observations import SshAlgorithms
from protoaudit.policy.baseline import read_data_file

ALGORITHMS_FILE = "ssh_algorithms.json"

Category = Literal["kex", "host_key", "encryption", "mac", "compression"]
CATEGORIES: tuple[Category, ...] = get_args(Category)
Classification = Literal["recommended", "acceptable", "weak", "broken", "unknown"]
KNOWN_CLASSES = frozenset({"recommended", "acceptable", "weak", "broken"})
CIPHER_MODES = frozenset({"aead", "ctr", "cbc", "stream", "none"})

STRICT_KEX_MARKER = "kex-strict-s-v00@openssh.com"

# The words evidence uses for each category.
CATEGORY_LABELS: Mapping[Category, str] = MappingProxyType(
    {
        "kex": "kex",
        "host_key": "host key",
        "encryption": "encryption",
        "mac": "MAC",
        "compression": "compression",
    }
)


@dataclass(frozen=True, slots=True)
class AlgorithmInfo:
    category: Category
    name: str  # as the data spells it; a pattern ends in '*'
    classification: Classification
    reason: str
    references: tuple[str, ...]
    finding: str | None = None  # the finding that reports a weak or broken algorithm
    mode: str | None = None  # ciphers: aead, ctr, cbc, stream, none
    terrapin: bool = False  # a cipher open to Terrapin without strict kex, whatever the MAC
    etm: bool = False  # an encrypt-then-MAC MAC
    post_quantum: bool = False
    dh_group_bits: int | None = None  # key exchange over a fixed finite-field group

    @property
    def needs_removal(self) -> bool:
        return self.classification in ("weak", "broken")


@dataclass(frozen=True, slots=True)
class AlgorithmData:
    sources: tuple[str, ...]
    date: str
    markers: Mapping[str, str]  # marker name -> what it signals
    algorithms: Mapping[Category, Mapping[str, AlgorithmInfo]]
    dropbear_options: Mapping[str, str]  # algorithm name -> Dropbear build option

    def entries(self) -> list[AlgorithmInfo]:
        return [info for category in CATEGORIES for info in self.algorithms[category].values()]


@dataclass(frozen=True, slots=True)
class Offered:
    """One algorithm name a server offered, where it offered it and what the data says."""

    name: str
    place: str  # "kex", "host key", "encryption (both directions)", "MAC (client to server)" …
    info: AlgorithmInfo


def _fail(where: str, problem: str) -> ValueError:
    return ValueError(f"{ALGORITHMS_FILE}: {where}: {problem}")


def _text(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise _fail(where, f"{key} must be a non-empty string")
    return value


def _parse_entry(category: Category, name: str, entry: Mapping[str, Any]) -> AlgorithmInfo:
    where = f"algorithms.{category}.{name}"
    classification = entry.get("class")
    if classification not in KNOWN_CLASSES:
        raise _fail(where, f"unknown class {classification!r}")
    references = entry.get("references")
    if (
        not isinstance(references, list)
        or not references
        or not all(isinstance(item, str) and item for item in references)
    ):
        raise _fail(where, "references must be a non-empty list of strings")
    finding = entry.get("finding")
    needs_finding = classification in ("weak", "broken")
    if needs_finding != isinstance(finding, str):
        raise _fail(where, "weak and broken entries, and only they, name their finding")
    mode = entry.get("mode")
    if mode is not None and (category != "encryption" or mode not in CIPHER_MODES):
        raise _fail(where, f"unexpected mode {mode!r}")
    bits = entry.get("dh_group_bits")
    if bits is not None and (not isinstance(bits, int) or isinstance(bits, bool) or bits <= 0):
        raise _fail(where, "dh_group_bits must be a positive integer")
    flags = {key: entry.get(key, False) for key in ("terrapin", "etm", "post_quantum")}
    if not all(isinstance(flag, bool) for flag in flags.values()):
        raise _fail(where, "terrapin, etm and post_quantum must be true or false")
    return AlgorithmInfo(
        category=category,
        name=name,
        classification=classification,
        reason=_text(entry, "reason", where),
        references=tuple(references),
        finding=finding,
        mode=mode,
        dh_group_bits=bits,
        **flags,
    )


def parse_algorithm_data(document: Mapping[str, Any]) -> AlgorithmData:
    """AlgorithmData from the JSON document; a malformed entry is a ValueError naming it."""
    algorithms: dict[Category, Mapping[str, AlgorithmInfo]] = {}
    for category in CATEGORIES:
        entries = document["algorithms"].get(category)
        if not isinstance(entries, dict):
            raise _fail(f"algorithms.{category}", "missing")
        algorithms[category] = MappingProxyType(
            {name: _parse_entry(category, name, entry) for name, entry in entries.items()}
        )
    return AlgorithmData(
        sources=tuple(document["_source"]),
        date=document["_date"],
        markers=MappingProxyType(dict(document["markers"])),
        algorithms=MappingProxyType(algorithms),
        dropbear_options=MappingProxyType(dict(document.get("dropbear_options", {}))),
    )


@cache
def load_algorithm_data() -> AlgorithmData:
    """The packaged algorithm data, read once."""
    return parse_algorithm_data(read_data_file(ALGORITHMS_FILE))


def is_marker(category: Category, name: str) -> bool:
    return category == "kex" and name in load_algorithm_data().markers


def classify(category: Category, name: str) -> AlgorithmInfo:
    """The data's entry for `name`; exact names first, then the longest matching pattern."""
    entries = load_algorithm_data().algorithms[category]
    known = entries.get(name)
    if known is not None:
        return known
    patterns = [
        pattern for pattern in entries if pattern.endswith("*") and name.startswith(pattern[:-1])
    ]
    if patterns:
        return entries[max(patterns, key=len)]
    return AlgorithmInfo(
        category=category,
        name=name,
        classification="unknown",
        reason=f"not in protoaudit's SSH algorithm data ({ALGORITHMS_FILE})",
        references=(),
    )


def _by_direction(
    category: Category, client_to_server: tuple[str, ...], server_to_client: tuple[str, ...]
) -> list[tuple[str, str]]:
    """(name, place) in the server's order; a name in both lists is listed once."""
    label = CATEGORY_LABELS[category]
    both = set(client_to_server) & set(server_to_client)
    placed = [
        (name, f"{label} (both directions)" if name in both else f"{label} (client to server)")
        for name in client_to_server
    ]
    placed += [
        (name, f"{label} (server to client)") for name in server_to_client if name not in both
    ]
    return list(dict.fromkeys(placed))


def _directional(
    algorithms: SshAlgorithms,
) -> list[tuple[Category, tuple[str, ...], tuple[str, ...]]]:
    return [
        (
            "encryption",
            algorithms.encryption_client_to_server,
            algorithms.encryption_server_to_client,
        ),
        ("mac", algorithms.mac_client_to_server, algorithms.mac_server_to_client),
        (
            "compression",
            algorithms.compression_client_to_server,
            algorithms.compression_server_to_client,
        ),
    ]


def offered_algorithms(algorithms: SshAlgorithms) -> list[Offered]:
    """Every algorithm the server offered, markers left out, in the server's order."""
    placed: list[tuple[Category, str, str]] = [
        *(("kex", name, "kex") for name in dict.fromkeys(algorithms.kex)),
        *(("host_key", name, "host key") for name in dict.fromkeys(algorithms.host_key)),
    ]
    for category, client_to_server, server_to_client in _directional(algorithms):
        placed += [
            (category, name, place)
            for name, place in _by_direction(category, client_to_server, server_to_client)
        ]
    return [
        Offered(name=name, place=place, info=classify(category, name))
        for category, name, place in placed
        if not is_marker(category, name)
    ]
