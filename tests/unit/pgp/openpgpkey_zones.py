"""Signed zones with OPENPGPKEY records, served by the DNSSEC unit tests' zone_server.

    .               127.0.0.1   root, the trust anchor is its KSK
    test.           127.0.0.2   signed; the OPENPGPKEY records of example.test addresses
    insecure.test.  127.0.0.3   unsigned (no DS at test.); one OPENPGPKEY record

`build(records)` takes {address: key bytes}; an address ending in "@insecure.test" goes
to the unsigned zone. `tamper` names addresses whose record is replaced after signing
(by the key given in `records` for "replacement@example.test"), so their RRSIG fails.
This is a unit-level fixture (an in-process authority), not the DNS lab.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import dns.name
import dns.zone

from protoaudit.probes.openpgpkey import openpgpkey_owner
from protoaudit.proto.dnssec.anchors import TrustAnchors, from_records
from unit.dnssec.dnssec_helpers import SignedZone, sign_zone_text, zone_text

ROOT, TEST, OTHER = "127.0.0.1", "127.0.0.2", "127.0.0.3"


@dataclass
class OpenPgpKeyTree:
    zones: dict[str, SignedZone]
    layout: dict[str, list[dns.zone.Zone]]
    anchors: TrustAnchors


def _line(address: str, key: bytes) -> str:
    return f"{openpgpkey_owner(address)} 300 IN OPENPGPKEY {base64.b64encode(key).decode()}"


def build(records: dict[str, bytes], tamper: tuple[str, ...] = ()) -> OpenPgpKeyTree:
    secure = {a: k for a, k in records.items() if a.endswith("@example.test")}
    insecure = {a: k for a, k in records.items() if a.endswith("@insecure.test")}
    zones: dict[str, SignedZone] = {}
    zones["insecure.test."] = sign_zone_text(
        "insecure.test.",
        zone_text(*(_line(a, k) for a, k in insecure.items()), address=OTHER),
        signed=False,
    )
    test_lines = [
        *(_line(a, k) for a, k in secure.items() if not a.startswith("replacement@")),
        "insecure 300 IN NS ns1.insecure",
        f"ns1.insecure 300 IN A {OTHER}",
    ]
    zones["test."] = sign_zone_text("test.", zone_text(*test_lines, address=TEST))
    replacement = records.get("replacement@example.test")
    for address in tamper:
        assert replacement is not None
        owner = openpgpkey_owner(address)
        zones["test."].replace(owner, "OPENPGPKEY", base64.b64encode(replacement).decode())
    root_lines = [
        "test. 300 IN NS ns1.test.",
        f"ns1.test. 300 IN A {TEST}",
        zones["test."].ds_line(),
    ]
    zones["."] = sign_zone_text(
        ".",
        zone_text(*root_lines, ns="a.root-servers.net.", address=ROOT)
        + f"a.root-servers.net. 300 IN A {ROOT}\n",
    )
    layout = {
        ROOT: [zones["."].zone],
        TEST: [zones["test."].zone],
        OTHER: [zones["insecure.test."].zone],
    }
    anchors = from_records([(dns.name.root, zones["."].ds())])
    return OpenPgpKeyTree(zones, layout, anchors)
