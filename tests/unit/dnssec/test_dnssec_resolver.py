"""The validating resolver end to end, against the in-process test authority (zone_server).

Given the signed tree of zone_tree (root on 127.0.0.1, test. on 127.0.0.2, the rest on
127.0.0.3, all on one ephemeral port), when a name is validated iteratively from that root
or through one server, then the status, the reason and the chain are the ones each zone was
built to show. These are unit tests of the resolver's logic; the lab tests against knot and
unbound check interoperability.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from protoaudit.observations_dns import DnssecStatus
from protoaudit.probes.dnssec import validate_name
from protoaudit.proto.dnssec import reasons
from protoaudit.proto.dnssec.anchors import parse_trust_anchors
from protoaudit.report.json_report import observation_json
from unit.dnssec.dnssec_helpers import NOW
from unit.dnssec.zone_server import ZoneServer, start_servers, stop_servers
from unit.dnssec.zone_tree import ROOT, Tree, build

SECURE, INSECURE, BOGUS, INDETERMINATE = (
    reasons.SECURE,
    reasons.INSECURE,
    reasons.BOGUS,
    reasons.INDETERMINATE,
)


def run(
    tree: Tree,
    scenario: Callable[[int, list[ZoneServer]], Awaitable[Any]],
    layout: dict[str, list[Any]] | None = None,
) -> Any:
    async def main() -> Any:
        port, servers = await start_servers(layout or tree.layout)
        try:
            return await scenario(port, servers)
        finally:
            await stop_servers(servers)

    return asyncio.run(main())


def validate(name: str, rdtype: str = "A", **options: Any) -> DnssecStatus:
    tree = build()

    async def scenario(port: int, _: list[ZoneServer]) -> DnssecStatus:
        return await validate_name(
            name,
            rdtype,
            root_servers=[(ROOT, port)],
            port=port,
            trust_anchors=tree.anchors,
            now=NOW,
            timeout=1.0,
            deadline=10.0,
            loopback_only=True,
            **options,
        )

    result: DnssecStatus = run(tree, scenario)
    return result


CASES = [
    ("www.example.test.", "A", SECURE, None),
    ("www.example.test.", "AAAA", SECURE, None),
    ("nosuch.example.test.", "A", SECURE, None),  # NXDOMAIN proven with NSEC
    ("www.example.test.", "TXT", SECURE, None),  # NODATA
    ("b.example.test.", "A", SECURE, None),  # empty non-terminal
    ("host.wild.example.test.", "A", SECURE, None),  # wildcard expansion
    ("alias.example.test.", "A", SECURE, None),
    ("crossalias.example.test.", "A", SECURE, None),
    ("www.nsec3strict.test.", "A", SECURE, None),
    ("nosuch.nsec3strict.test.", "A", SECURE, None),  # NXDOMAIN proven with NSEC3
    ("www.nsec3strict.test.", "TXT", SECURE, None),
    ("host.wild.nsec3.test.", "TXT", SECURE, None),
    ("www.remote.test.", "A", SECURE, None),  # NS without glue: nested lookup of ns.other.
    ("www.shared.test.", "A", SECURE, None),  # one server for parent and child
    ("www.rsa.test.", "A", SECURE, None),
    ("www.rsasha1.test.", "A", SECURE, None),
    ("www.ed.test.", "A", SECURE, None),
    ("example.test.", "DS", SECURE, None),
    ("example.test.", "DNSKEY", SECURE, None),
    ("www.insecure.test.", "A", INSECURE, reasons.UNSIGNED_DELEGATION),
    ("www.unsigned.nsec3.test.", "A", INSECURE, reasons.OPT_OUT),
    ("nosuch.nsec3.test.", "A", INSECURE, reasons.OPT_OUT),
    ("nosuch.iterations.test.", "A", INSECURE, reasons.NSEC3_ITERATIONS),
    ("www.unsupported.test.", "A", INSECURE, reasons.UNSUPPORTED_ALGORITHM),
    ("www.expired.test.", "A", BOGUS, reasons.SIGNATURE_EXPIRED),
    ("www.future.test.", "A", BOGUS, reasons.SIGNATURE_NOT_YET_VALID),
    ("www.mismatch.test.", "A", BOGUS, reasons.DS_DIGEST_MISMATCH),
    ("www.wrongkey.test.", "A", BOGUS, reasons.NO_KEY_MATCHES_DS),
    ("www.nokeys.test.", "A", BOGUS, reasons.MISSING_DNSKEY),
    ("www.zskonly.test.", "A", BOGUS, reasons.MISSING_RRSIG),
    ("www.badsig.test.", "A", BOGUS, reasons.SIGNATURE_INVALID),
    ("www.nosig.test.", "A", BOGUS, reasons.MISSING_RRSIG),
    ("nosuch.nodenial.test.", "A", BOGUS, reasons.DENIAL_INVALID),
    ("loop1.example.test.", "A", INDETERMINATE, reasons.CNAME_LOOP),
]


@pytest.mark.parametrize(("name", "rdtype", "status", "reason"), CASES)
def test_each_zone_shows_its_outcome(
    name: str, rdtype: str, status: str, reason: str | None
) -> None:
    result = validate(name, rdtype)
    assert (result.status, result.reason) == (status, reason), result.detail
    assert result.chain[0].zone == "."
    assert result.chain[0].trust_anchor
    assert result.queries < 40


def test_a_secure_answer_in_detail() -> None:
    result = validate("www.example.test.")
    assert result.rcode == "NOERROR"
    assert result.answer == ("www.example.test. 300 IN A 192.0.2.1",)
    assert [zone.zone for zone in result.chain] == [".", "test.", "example.test."]
    assert all(zone.status == SECURE for zone in result.chain)
    example = result.chain[-1]
    assert example.parent == "test."
    assert [ds.matched_key_tag is not None for ds in example.ds] == [True]
    assert {key.sep for key in example.dnskeys} == {True, False}
    assert all(key.key_bits == 256 and key.supported for key in example.dnskeys)
    assert example.dnskey_signatures[0].valid
    assert example.ds_signatures[0].signer == "test."
    assert (example.cds_present, example.cdnskey_present) == (False, False)
    assert example.servers == ("127.0.0.3:" + result.servers[-1].split(":")[1],)
    signature = result.answer_signatures[0]
    assert (signature.type_covered, signature.signer, signature.valid) == (
        "A",
        "example.test.",
        True,
    )
    assert signature.inception < NOW < signature.expiration


def test_nxdomain_with_nsec3_reports_the_proof() -> None:
    result = validate("nosuch.nsec3strict.test.")
    assert result.rcode == "NXDOMAIN"
    assert result.denial is not None
    assert (result.denial.mechanism, result.denial.proves, result.denial.valid) == (
        "nsec3",
        "nxdomain",
        True,
    )
    assert result.denial.nsec3_iterations == 5
    assert result.denial.nsec3_salt_hex == ""
    assert result.denial.closest_encloser == "nsec3strict.test."
    zone = result.chain[-1]
    assert (zone.nsec3_iterations, zone.nsec3_opt_out) == (5, False)


def test_an_insecure_delegation_carries_its_proof() -> None:
    result = validate("www.unsigned.nsec3.test.")
    unsigned = result.chain[-1]
    assert unsigned.zone == "unsigned.nsec3.test."
    assert unsigned.status == INSECURE
    assert unsigned.ds == ()
    assert unsigned.ds_denial is not None
    assert unsigned.ds_denial.opt_out
    assert unsigned.ds_denial.proves == "opt_out"
    assert result.answer == ("www.unsigned.nsec3.test. 300 IN A 192.0.2.1",)
    nsec = validate("www.insecure.test.").chain[-1]
    assert nsec.ds_denial is not None
    assert (nsec.ds_denial.mechanism, nsec.ds_denial.proves) == (
        "nsec",
        "no_ds",
    )


def test_a_bogus_zone_says_which_key_and_when() -> None:
    result = validate("www.expired.test.")
    zone = result.chain[-1]
    assert (zone.status, zone.reason) == (BOGUS, reasons.SIGNATURE_EXPIRED)
    assert "expired 2026-01-01T12:00Z" in result.detail
    assert zone.dnskey_signatures[0].problem == reasons.SIGNATURE_EXPIRED
    mismatch = validate("www.mismatch.test.").chain[-1]
    assert mismatch.ds[0].matched_key_tag is None
    assert mismatch.ds[0].supported


def test_the_cname_chain_is_reported() -> None:
    result = validate("crossalias.example.test.")
    assert result.cname_chain == ("www.nsec3.test.",)
    assert [zone.zone for zone in result.chain] == [".", "test.", "example.test.", "nsec3.test."]
    loop = validate("loop1.example.test.")
    assert loop.cname_chain == ("loop2.example.test.",)


def test_the_wildcard_answer_has_its_denial() -> None:
    result = validate("host.wild.example.test.")
    assert result.denial is not None
    assert result.denial.proves == "wildcard_answer"
    assert result.answer_signatures[0].labels == 3


def test_no_trust_anchor_for_the_name_is_indeterminate() -> None:
    tree = build()

    async def scenario(port: int, _: list[ZoneServer]) -> DnssecStatus:
        anchors = parse_trust_anchors("elsewhere. IN DS 1 13 2 " + "ab" * 32)
        return await validate_name(
            "www.example.test.",
            root_servers=[(ROOT, port)],
            port=port,
            trust_anchors=anchors,
            now=NOW,
            timeout=1.0,
            deadline=5.0,
            loopback_only=True,
        )

    result = run(tree, scenario)
    assert (result.status, result.reason) == (INDETERMINATE, reasons.NO_TRUST_ANCHOR)
    assert result.answer  # resolved all the same


def test_one_server_for_everything_uses_rd_and_cd() -> None:
    tree = build()
    everything = [zone.zone for zone in tree.zones.values()]

    names = (
        "www.example.test.",
        "www.insecure.test.",
        "www.mismatch.test.",
        "nosuch.example.test.",
    )

    async def scenario(port: int, servers: list[ZoneServer]) -> list[DnssecStatus]:
        options = {"trust_anchors": tree.anchors, "now": NOW, "timeout": 1.0, "deadline": 5.0}
        return [
            await validate_name(name, server=("127.0.0.9", port), loopback_only=True, **options)  # type: ignore[arg-type]
            for name in names
        ]

    results = run(tree, scenario, layout={"127.0.0.9": everything})
    assert [(r.status, r.reason) for r in results] == [
        (SECURE, None),
        (INSECURE, reasons.UNSIGNED_DELEGATION),
        (BOGUS, reasons.DS_DIGEST_MISMATCH),
        (SECURE, None),
    ]
    assert all(r.servers == (results[0].servers[0],) for r in results)
    assert [zone.zone for zone in results[0].chain] == [".", "test.", "example.test."]


def test_bad_questions_are_results() -> None:
    assert validate("www.example.test.", "ANY").reason == reasons.BAD_QUERY
    assert validate("www.example.test.", "NOSUCHTYPE").reason == reasons.BAD_QUERY
    assert validate("a" * 64 + ".test.").reason == reasons.BAD_QUERY


@pytest.mark.parametrize("name", ["nosuch.nsec3strict.test.", "www.example.test."])
def test_results_serialise_to_json(name: str) -> None:
    document = observation_json(validate(name))
    assert json.loads(json.dumps(document)) == document
    assert document["kind"] == "dnssec_status"
    assert document["chain"][0]["zone"] == "."
    assert document["chain"][-1]["dnskeys"][0]["algorithm"] == 13
    assert document["chain"][-1]["dnskey_signatures"][0]["expiration"] == "2026-07-01T12:00:00Z"


@pytest.mark.parametrize("mode", ["iterative", "server"])
def test_a_private_trust_anchor_below_the_root(mode: str) -> None:
    """Given only test.'s DS as the anchor, the chain of trust starts there, not at the root."""
    tree = build()
    anchors = parse_trust_anchors(tree.zones["test."].ds_line())
    everything = {"127.0.0.9": [zone.zone for zone in tree.zones.values()]}

    async def scenario(port: int, _: list[ZoneServer]) -> list[DnssecStatus]:
        where: dict[str, Any] = (
            {"root_servers": [(ROOT, port)], "port": port}
            if mode == "iterative"
            else {"server": ("127.0.0.9", port)}
        )
        options = {"trust_anchors": anchors, "now": NOW, "timeout": 1.0, "deadline": 5.0}
        return [
            await validate_name(name, loopback_only=True, **where, **options)  # type: ignore[arg-type]
            for name in ("www.example.test.", "www.nosig.test.", "www.insecure.test.")
        ]

    secure, bogus, insecure = run(
        tree, scenario, layout=None if mode == "iterative" else everything
    )
    assert (secure.status, secure.reason) == (SECURE, None), secure.detail
    root, test = secure.chain[0], secure.chain[1]
    assert (root.status, root.reason, root.trust_anchor) == (
        INDETERMINATE,
        reasons.NO_TRUST_ANCHOR,
        False,
    )
    assert (test.zone, test.status, test.trust_anchor) == ("test.", SECURE, True)
    assert (bogus.status, bogus.reason) == (BOGUS, reasons.MISSING_RRSIG)
    assert (insecure.status, insecure.reason) == (INSECURE, reasons.UNSIGNED_DELEGATION)
