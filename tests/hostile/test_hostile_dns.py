"""DNS servers that misbehave, met by the DNSSEC validator (probes.dnssec.validate_name).

The issue's list: garbage, a compression-pointer loop, a message cut short without TC, TC=1
and then a TCP server that hangs up or stalls, answers with another ID or for another name,
a server that never answers (alone, and before a good one), a referral loop (back to the
same zone, up to the root, sideways), an endless chain of ever deeper referrals, a CNAME
loop and an endless CNAME chain, huge responses over UDP and TCP. Beside them: the overall
deadline and the query budget, a delegation whose name servers have no address (no glue,
and two TLDs whose name servers are each other's), a referral to a non-loopback address
under `loopback_only`, and a port where nothing listens.

The peers are the unit tests' in-process authority (tests/unit/dnssec/zone_server.py) with
a handler that replaces its answers: a signed root on 127.0.0.1 delegates, without DS, to
TLDs on 127.0.0.2 whose server misbehaves. Every validation must end within a bound as a
DnssecStatus whose status is indeterminate or bogus and whose reason says what happened.
"""

from __future__ import annotations

import asyncio
import itertools
import struct
import time
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rrset
import pytest

from protoaudit.observations_dns import DnssecStatus
from protoaudit.probes.dnssec import validate_name
from protoaudit.proto.dnssec import reasons
from protoaudit.proto.dnssec.anchors import from_records
from unit.dnssec.dnssec_helpers import NOW, sign_zone_text, zone_text
from unit.dnssec.zone_server import Handler, ZoneServer, start_servers, stop_servers

ROOT, PEER, SILENT = "127.0.0.1", "127.0.0.2", "127.0.0.5"
TIMEOUT = 0.3
BOUND = 3.0  # seconds any one validation here may take
TLDS = ("loop", "up", "side", "deep", "cname", "chain", "peer")

ROOT_ZONE = sign_zone_text(
    ".",
    zone_text(
        *(
            line
            for tld in TLDS
            for line in (f"{tld}. 300 IN NS ns.{tld}.", f"ns.{tld}. 300 IN A {PEER}")
        ),
        "glueless. 300 IN NS ns.glueless.",
        "a. 300 IN NS ns.b.",
        "b. 300 IN NS ns.a.",
        "far. 300 IN NS ns.far.",
        "ns.far. 300 IN A 192.0.2.1",
        ns="a.root-servers.net.",
    )
    + f"a.root-servers.net. 300 IN A {ROOT}\n",
)
ANCHORS = from_records([(dns.name.root, ROOT_ZONE.ds())])
CNAME_ZONE = sign_zone_text(
    "cname.",
    zone_text("a 300 IN CNAME b", "b 300 IN CNAME a"),
    signed=False,
)
CHAIN_ZONE = sign_zone_text(
    "chain.",
    zone_text(
        *(f"c{index} 300 IN CNAME c{index + 1}" for index in range(30)), "c30 300 IN A 192.0.2.1"
    ),
    signed=False,
)


def validate(
    name: str,
    peer: Handler | None = None,
    *,
    root: Handler | None = None,
    roots: tuple[str, ...] = (ROOT,),
    peer_zones: list[Any] | None = None,
    **options: Any,
) -> tuple[DnssecStatus, float, list[ZoneServer]]:
    """Validate `name` with the peer (and maybe the root) misbehaving as told; time it."""
    layout = {ROOT: [ROOT_ZONE.zone], PEER: peer_zones or [], SILENT: []}
    handlers = {address: handler for address, handler in ((ROOT, root), (PEER, peer)) if handler}
    handlers[SILENT] = lambda query, answer, transport: None
    settings: dict[str, Any] = {
        "trust_anchors": ANCHORS,
        "now": NOW,
        "timeout": TIMEOUT,
        "deadline": 5.0,
        "loopback_only": True,
        **options,
    }

    async def main() -> tuple[DnssecStatus, float, list[ZoneServer]]:
        port, servers = await start_servers(layout, handlers)
        try:
            started = time.monotonic()
            result = await validate_name(
                name, root_servers=[(address, port) for address in roots], port=port, **settings
            )
            return result, time.monotonic() - started, servers
        finally:
            await stop_servers(servers)

    return asyncio.run(main())


def check(result: DnssecStatus, elapsed: float, status: str, reason: str) -> None:
    assert (result.status, result.reason) == (status, reason), result.detail
    assert elapsed < BOUND
    assert result.detail


# -- bytes that are no answer -------------------------------------------------------------


def _header(
    query: dns.message.Message, flags: int = 0x8400, counts: tuple[int, ...] = (1, 0, 0, 0)
) -> bytes:
    return struct.pack("!HH4H", query.id, flags, *counts)


def _question(query: dns.message.Message) -> bytes:
    question = query.question[0]
    wire = question.name.to_wire()
    assert wire is not None
    return wire + struct.pack("!HH", question.rdtype, question.rdclass)


def garbage(query: dns.message.Message, answer: Any, transport: str) -> bytes:
    return bytes(range(7, 250, 3))


def pointer_loop(query: dns.message.Message, answer: Any, transport: str) -> bytes:
    # One answer whose owner name is a compression pointer to itself.
    pointer_at = 12 + len(_question(query))
    owner = struct.pack("!H", 0xC000 | pointer_at)
    record = owner + struct.pack("!HHIH", 1, 1, 300, 4) + bytes([192, 0, 2, 1])
    return _header(query, counts=(1, 1, 0, 0)) + _question(query) + record


def cut_short(
    query: dns.message.Message, answer: dns.message.Message | None, transport: str
) -> bytes:
    assert answer is not None
    wire = answer.to_wire(max_size=65535)
    return wire[: len(wire) // 2]  # and no TC bit


def truncated_udp(tcp: Handler) -> Handler:
    def handler(query: dns.message.Message, answer: Any, transport: str) -> Any:
        if transport == "tcp":
            return tcp(query, answer, transport)
        reply = dns.message.make_response(query)
        reply.flags |= dns.flags.TC
        return reply

    return handler


def other_id(query: dns.message.Message, answer: dns.message.Message | None, transport: str) -> Any:
    assert answer is not None
    answer.id = (query.id + 1) % 65536
    return answer


def other_name(query: dns.message.Message, answer: Any, transport: str) -> Any:
    other = dns.message.make_query("elsewhere.example.", "A")
    other.id = query.id
    return dns.message.make_response(other)


def refused(query: dns.message.Message, answer: Any, transport: str) -> Any:
    reply = dns.message.make_response(query)
    reply.set_rcode(dns.rcode.SERVFAIL)
    return reply


def not_authoritative(
    query: dns.message.Message, answer: dns.message.Message | None, transport: str
) -> Any:
    assert answer is not None
    answer.flags &= ~dns.flags.AA
    return answer


def huge(query: dns.message.Message, answer: Any, transport: str) -> Any:
    reply = dns.message.make_response(query)
    count = 700 if transport == "udp" else 3000
    addresses = [
        f"10.{index // 65536}.{index // 256 % 256}.{index % 256}" for index in range(count)
    ]
    reply.answer.append(dns.rrset.from_text_list(query.question[0].name, 300, "IN", "A", addresses))
    return reply.to_wire(max_size=65535)


@pytest.mark.parametrize(
    ("handler", "reason"),
    [
        (garbage, reasons.MALFORMED),
        (pointer_loop, reasons.MALFORMED),
        (cut_short, reasons.MALFORMED),
        (other_id, reasons.MISMATCHED_RESPONSE),
        (other_name, reasons.MISMATCHED_RESPONSE),
        (truncated_udp(lambda query, answer, transport: b""), reasons.TRUNCATED),
        (truncated_udp(lambda query, answer, transport: None), reasons.TRUNCATED),
        (huge, reasons.RESPONSE_TOO_LARGE),
        (truncated_udp(huge), reasons.RESPONSE_TOO_LARGE),
        (lambda query, answer, transport: None, reasons.TIMEOUT),
        (refused, reasons.SERVER_FAILURE),
        (not_authoritative, reasons.LAME),
    ],
    ids=[
        "garbage",
        "pointer-loop",
        "cut-short-no-tc",
        "other-id",
        "other-name",
        "tc-then-tcp-hangs-up",
        "tc-then-tcp-stalls",
        "huge-udp",
        "huge-tcp",
        "silent",
        "servfail",
        "no-aa",
    ],
)
def test_a_root_that_sends_no_usable_answer(handler: Handler, reason: str) -> None:
    result, elapsed, _ = validate("www.example.", root=handler)
    check(result, elapsed, reasons.INDETERMINATE, reason)
    assert result.queries == 1  # the root's DNSKEY set, asked once: one server to try
    assert result.chain
    assert result.chain[0].zone == "."


def test_the_same_failures_from_a_delegated_zone_keep_the_chain_above() -> None:
    result, elapsed, _ = validate("www.peer.", garbage)
    check(result, elapsed, reasons.INDETERMINATE, reasons.MALFORMED)
    assert [zone.zone for zone in result.chain] == [".", "peer."]
    assert result.chain[1].status == reasons.INSECURE  # the root proved there is no DS


def test_a_silent_server_is_skipped_for_the_next_one() -> None:
    result, elapsed, _servers = validate(
        "www.peer.", peer_zones=[CNAME_ZONE.zone], roots=(SILENT, ROOT)
    )
    assert result.reason != reasons.TIMEOUT
    assert elapsed < BOUND
    assert result.servers[0].startswith(SILENT)
    assert result.chain[0].status == reasons.SECURE
    assert result.chain[0].servers == (result.servers[1],)


def test_no_server_answers_at_all() -> None:
    result, elapsed, _ = validate("www.example.", roots=(SILENT, SILENT, SILENT))
    check(result, elapsed, reasons.INDETERMINATE, reasons.TIMEOUT)
    assert elapsed < 4 * TIMEOUT + 1


# -- referrals ----------------------------------------------------------------------------


def refer(child: str, address: str) -> Handler:
    def handler(query: dns.message.Message, answer: Any, transport: str) -> Any:
        reply = dns.message.make_response(query)
        server = f"ns.{child}".replace("..", ".") if child != "." else "a.root-servers.net."
        reply.authority.append(dns.rrset.from_text(child, 300, "IN", "NS", server))
        reply.additional.append(dns.rrset.from_text(server, 300, "IN", "A", address))
        return reply

    return handler


@pytest.mark.parametrize(
    ("name", "handler"),
    [
        ("www.loop.", refer("loop.", ROOT)),  # B refers the same zone back to A
        ("www.up.", refer(".", ROOT)),  # B refers upwards, to the root at A
        ("www.side.", refer("other.", PEER)),  # B refers sideways
    ],
    ids=["same-zone", "upwards", "sideways"],
)
def test_a_referral_that_does_not_go_down_is_a_loop(name: str, handler: Handler) -> None:
    result, elapsed, _ = validate(name, handler)
    check(result, elapsed, reasons.INDETERMINATE, reasons.REFERRAL_LOOP)


def test_an_endless_chain_of_deeper_referrals_ends_at_the_referral_limit() -> None:
    qname = ".".join(f"l{index}" for index in range(60, 0, -1)) + ".deep."
    depth = itertools.count(3)

    def deeper(query: dns.message.Message, answer: Any, transport: str) -> Any:
        child = dns.name.from_text(qname).split(next(depth))[1]
        return refer(str(child), PEER)(query, answer, transport)

    result, elapsed, _ = validate(qname, deeper)
    check(result, elapsed, reasons.INDETERMINATE, reasons.REFERRAL_LIMIT)
    assert result.queries < 40


def test_the_query_budget_ends_it_too() -> None:
    qname = ".".join(f"l{index}" for index in range(60, 0, -1)) + ".deep."
    depth = itertools.count(3)

    def deeper(query: dns.message.Message, answer: Any, transport: str) -> Any:
        return refer(str(dns.name.from_text(qname).split(next(depth))[1]), PEER)(
            query, answer, transport
        )

    result, elapsed, _ = validate(qname, deeper, max_queries=8)
    check(result, elapsed, reasons.INDETERMINATE, reasons.QUERY_LIMIT)
    assert result.queries == 8


def test_the_overall_deadline_ends_it() -> None:
    result, elapsed, _ = validate(
        "www.peer.", lambda query, answer, transport: None, deadline=0.5, timeout=5.0
    )
    check(result, elapsed, reasons.INDETERMINATE, reasons.DEADLINE)
    assert elapsed < 1.5


# -- aliases ------------------------------------------------------------------------------


def test_a_cname_loop() -> None:
    result, elapsed, _ = validate("a.cname.", peer_zones=[CNAME_ZONE.zone])
    check(result, elapsed, reasons.INDETERMINATE, reasons.CNAME_LOOP)
    assert result.cname_chain == ("b.cname.",)


def test_an_endless_cname_chain() -> None:
    result, elapsed, _ = validate("c0.chain.", peer_zones=[CHAIN_ZONE.zone])
    check(result, elapsed, reasons.INDETERMINATE, reasons.CNAME_LIMIT)
    assert len(result.cname_chain) == 10  # followed; the eleventh is refused


# -- name servers without addresses ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("www.glueless.", reasons.NO_SERVERS),  # the NS is in the child, no glue
        ("www.a.", reasons.NO_SERVERS),  # a.'s NS is in b., whose NS is in a.
        ("www.far.", reasons.NOT_ALLOWED),  # glue outside loopback, never contacted
    ],
)
def test_name_servers_that_cannot_be_reached(name: str, reason: str) -> None:
    result, elapsed, _servers = validate(name)
    check(result, elapsed, reasons.INDETERMINATE, reason)
    assert all(server.startswith("127.") for server in result.servers)


def test_a_port_where_nothing_listens(free_port: int) -> None:
    async def main() -> DnssecStatus:
        return await validate_name(
            "www.example.",
            root_servers=[(ROOT, free_port)],
            trust_anchors=ANCHORS,
            now=NOW,
            timeout=TIMEOUT,
            deadline=2.0,
            loopback_only=True,
        )

    started = time.monotonic()
    result = asyncio.run(main())
    # Linux reports ICMP port unreachable only to connected UDP sockets: it looks like silence.
    assert result.status == reasons.INDETERMINATE
    assert result.reason in (reasons.UNREACHABLE, reasons.TIMEOUT)
    assert time.monotonic() - started < BOUND


# -- signed data that lies ----------------------------------------------------------------


def test_a_root_whose_keys_are_not_keys_is_bogus() -> None:
    def broken_keys(
        query: dns.message.Message, answer: dns.message.Message | None, transport: str
    ) -> Any:
        assert answer is not None
        for rrset in answer.answer:
            if rrset.rdtype == dns.rdatatype.DNSKEY:
                broken = [record.replace(key=b"\x00" * 3) for record in rrset]
                answer.answer[answer.answer.index(rrset)] = dns.rrset.from_rdata_list(
                    rrset.name, 300, broken
                )
        return answer

    result, elapsed, _ = validate("www.example.", root=broken_keys)
    assert result.status == reasons.BOGUS
    assert result.reason in (
        reasons.NO_KEY_MATCHES_DS,
        reasons.DS_DIGEST_MISMATCH,
    )
    assert elapsed < BOUND


def test_an_answer_signed_by_a_zone_that_is_not_below_is_bogus() -> None:
    def foreign_signer(query: dns.message.Message, answer: Any, transport: str) -> Any:
        reply = dns.message.make_response(query)
        reply.flags |= dns.flags.AA
        name = query.question[0].name
        reply.answer.append(dns.rrset.from_text(name, 300, "IN", "A", "192.0.2.1"))
        sig = ROOT_ZONE.rrsigs("a.root-servers.net.", "A")[0]
        reply.answer.append(dns.rrset.from_rdata(name, 300, sig))
        return reply

    result, _elapsed, _ = validate(
        "www.example.",
        root=lambda q, a, t: a if q.question[0].rdtype != 1 else foreign_signer(q, a, t),
    )
    assert (result.status, result.reason) == (reasons.BOGUS, reasons.SIGNATURE_INVALID)
