"""A small signed DNS tree on three loopback addresses, for the resolver's unit tests.

    .               127.0.0.1   root, trust anchor = its KSK
    test.           127.0.0.2   with the delegations below
    shared.test.    127.0.0.2   the same server as its parent (cuts found by walking down)
    everything else 127.0.0.3

Each child of test. shows one outcome (its name says which); `EXPECTED` lists the name to
ask, the type, and the status and reason a validator must give.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import dns.name
import dns.zone

from protoaudit.proto.dnssec.anchors import TrustAnchors, from_records
from unit.dnssec.dnssec_helpers import (
    EXPIRATION,
    INCEPTION,
    NOW,
    Nsec3Params,
    SignedZone,
    default_keys,
    make_key,
    sign_zone_text,
    zone_text,
)

ROOT, TEST, OTHER = "127.0.0.1", "127.0.0.2", "127.0.0.3"
LONG_AGO = NOW.replace(year=2025)


@dataclass
class Tree:
    zones: dict[str, SignedZone]
    layout: dict[str, list[dns.zone.Zone]]
    anchors: TrustAnchors


def _child(name: str, *lines: str, **options: object) -> SignedZone:
    return sign_zone_text(name, zone_text(*lines, address=OTHER), **options)  # type: ignore[arg-type]


def _delegation(
    child: str, ds: list[str], address: str = OTHER, ns: str | None = None
) -> list[str]:
    label = child.removesuffix(".test.")
    if ns is not None:
        return [f"{label} 300 IN NS {ns}", *ds]
    return [f"{label} 300 IN NS ns1.{label}", f"ns1.{label} 300 IN A {address}", *ds]


@functools.cache
def build() -> Tree:
    zones: dict[str, SignedZone] = {}
    www = "www 300 IN A 192.0.2.1"
    zones["example.test."] = _child(
        "example.test.",
        www,
        "www 300 IN AAAA 2001:db8::1",
        "alias 300 IN CNAME www",
        "crossalias 300 IN CNAME www.nsec3.test.",
        "loop1 300 IN CNAME loop2",
        "loop2 300 IN CNAME loop1",
        "*.wild 300 IN A 192.0.2.7",
        "a.b 300 IN TXT deep",
    )
    zones["unsigned.nsec3.test."] = _child("unsigned.nsec3.test.", www, signed=False)
    zones["nsec3.test."] = _child(
        "nsec3.test.",
        www,
        "*.wild 300 IN TXT wild",
        "unsigned 300 IN NS ns1.unsigned",
        f"ns1.unsigned 300 IN A {OTHER}",
        nsec3=Nsec3Params(iterations=0, salt="c0ffee", opt_out=True),
    )
    zones["nsec3strict.test."] = _child(
        "nsec3strict.test.", www, "a.b 300 IN TXT deep", nsec3=Nsec3Params(iterations=5, salt="")
    )
    zones["iterations.test."] = _child(
        "iterations.test.", www, nsec3=Nsec3Params(iterations=200, salt="ab")
    )
    zones["insecure.test."] = _child("insecure.test.", www, signed=False)
    zones["remote.test."] = _child("remote.test.", www)
    zones["shared.test."] = sign_zone_text("shared.test.", zone_text(www, address=TEST))
    zones["rsa.test."] = _child("rsa.test.", www, keys=default_keys("RSASHA256", 2048))
    zones["rsasha1.test."] = _child("rsasha1.test.", www, keys=default_keys("RSASHA1", 1024))
    zones["ed.test."] = _child("ed.test.", www, keys=default_keys("ED25519"))
    zones["expired.test."] = _child(
        "expired.test.", www, inception=LONG_AGO, expiration=NOW.replace(month=1)
    )
    zones["future.test."] = _child(
        "future.test.",
        www,
        inception=NOW.replace(year=2027),
        expiration=EXPIRATION.replace(year=2027),
    )
    for name in (
        "mismatch",
        "wrongkey",
        "nokeys",
        "zskonly",
        "unsupported",
        "badsig",
        "nosig",
        "nodenial",
    ):
        zones[f"{name}.test."] = _child(f"{name}.test.", www)
    zones["nokeys.test."].drop("nokeys.test.", "DNSKEY")
    zones["zskonly.test."].drop("zskonly.test.", "RRSIG", covers="DNSKEY")
    zones["badsig.test."].replace("www.badsig.test.", "A", "192.0.2.66")
    zones["nosig.test."].drop("www.nosig.test.", "RRSIG", covers="A")
    nodenial = zones["nodenial.test."]
    for owner in list(nodenial.zone.nodes):
        nodenial.drop(str(owner), "NSEC")

    def ds(name: str) -> list[str]:
        return [zones[name].ds_line()]

    mismatch = zones["mismatch.test."].ds(zones["mismatch.test."].ksk)
    bad_digest = bytes(byte ^ 0xFF for byte in mismatch.digest).hex()
    other_key = make_key(ksk=True, index=7)
    test_lines = [
        *_delegation("example.test.", ds("example.test.")),
        *_delegation("nsec3.test.", ds("nsec3.test.")),
        *_delegation("nsec3strict.test.", ds("nsec3strict.test.")),
        *_delegation("iterations.test.", ds("iterations.test.")),
        *_delegation("insecure.test.", []),
        *_delegation("shared.test.", ds("shared.test."), address=TEST),
        *_delegation("remote.test.", ds("remote.test."), ns="ns.other."),
        *(
            line
            for name in (
                "rsa",
                "rsasha1",
                "ed",
                "expired",
                "future",
                "nokeys",
                "zskonly",
                "badsig",
                "nosig",
                "nodenial",
            )
            for line in _delegation(f"{name}.test.", ds(f"{name}.test."))
        ),
        *_delegation(
            "mismatch.test.",
            [f"mismatch 300 IN DS {mismatch.key_tag} {mismatch.algorithm} 2 {bad_digest}"],
        ),
        *_delegation("wrongkey.test.", [zones["wrongkey.test."].ds_line(other_key)]),
        *_delegation("unsupported.test.", ["unsupported 300 IN DS 12345 253 2 " + "ab" * 32]),
    ]
    zones["test."] = sign_zone_text("test.", zone_text(*test_lines, address=TEST))
    zones["other."] = sign_zone_text("other.", zone_text("ns 300 IN A 127.0.0.3", address=OTHER))
    root_lines = [
        "test. 300 IN NS ns1.test.",
        f"ns1.test. 300 IN A {TEST}",
        zones["test."].ds_line(),
        "other. 300 IN NS ns.other.",
        f"ns.other. 300 IN A {OTHER}",
        zones["other."].ds_line(),
    ]
    zones["."] = sign_zone_text(
        ".",
        zone_text(*root_lines, ns="a.root-servers.net.", address=ROOT)
        + f"a.root-servers.net. 300 IN A {ROOT}\n",
    )
    layout = {
        ROOT: [zones["."].zone],
        TEST: [zones["test."].zone, zones["shared.test."].zone],
        OTHER: [
            zone.zone for name, zone in zones.items() if name not in (".", "test.", "shared.test.")
        ],
    }
    anchors = from_records([(dns.name.root, zones["."].ds())])
    return Tree(zones, layout, anchors)


__all__ = ["INCEPTION", "LONG_AGO", "OTHER", "ROOT", "TEST", "Tree", "build"]
