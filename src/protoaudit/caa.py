"""CAA (RFC 8659): which CAs a domain allows to issue for it, and whether this chain's did.

The relevant record set is the first non-empty CAA RRset found climbing from the
host name towards the root (RFC 8659 3); the probe finds it, this module reads it.
A certificate authority is named by its issuer domain, as the CA's CPS says; the
packaged table (registry/data/caa-issuers.csv) maps the issuing certificate's
organization to those domains, and a private CA's can be given by the user.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from protoaudit.registry.data_files import read_rows

CRITICAL = 128


@dataclass(frozen=True, slots=True)
class CaaRecord:
    flags: int
    tag: str  # lower case
    value: str

    @property
    def issuer_domain(self) -> str:
        """The domain of an issue/issuewild value ("ca.example; account=1" -> "ca.example")."""
        return self.value.split(";", 1)[0].strip().lower()


def parse_caa(line: str) -> CaaRecord | None:
    """One answer line ("x. 300 IN CAA 0 issue \"ca.example\"") or its RDATA; None if not CAA."""
    words = line.split()
    if "CAA" in words:
        line = " ".join(words[words.index("CAA") + 1 :])
    fields = line.split(None, 2)
    if len(fields) < 3 or not fields[0].isdigit():
        return None
    value = fields[2].strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return CaaRecord(int(fields[0]), fields[1].lower(), value)


def issuer_allowed(records: Sequence[CaaRecord], domains: Iterable[str], *, wildcard: bool) -> bool:
    """RFC 8659 4: whether a CA known by `domains` may issue (a wildcard name: issuewild first)."""
    known = {"issue", "issuewild", "iodef", "issuemail", "issuevmc", "contactemail", "contactphone"}
    if any(r.flags & CRITICAL and r.tag not in known for r in records):
        return False  # an unknown critical property forbids issuance (RFC 8659 4.1)
    tag = "issuewild" if wildcard and any(r.tag == "issuewild" for r in records) else "issue"
    relevant = [r for r in records if r.tag == tag]
    if not relevant:
        return True  # no issue property: the set restricts nothing of this kind
    wanted = {domain.lower() for domain in domains}
    return any(r.issuer_domain and r.issuer_domain in wanted for r in relevant)


@cache
def _issuers() -> dict[str, tuple[str, ...]]:
    rows = read_rows("caa-issuers.csv", ("organization", "caa_domains"))
    return {row["organization"]: tuple(row["caa_domains"].split()) for row in rows}


def issuer_domains(organization: str) -> tuple[str, ...]:
    """The CAA domains a public CA honours, by its organization name; () when unknown."""
    return _issuers().get(organization.strip(), ())
