"""Queries as the validator sends them, and what each kind of response means."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from protoaudit.proto.dnssec import reasons
from protoaudit.proto.dnssec.messages import (
    ANSWER,
    CNAME,
    DNAME,
    EDNS_PAYLOAD,
    FAILED,
    MAX_RECORDS,
    NODATA,
    NXDOMAIN,
    REFERRAL,
    classify,
    make_query,
)

QNAME = dns.name.from_text("www.example.test.")
ROOT = dns.name.root
TEST = dns.name.from_text("test.")


def response(
    *, aa: bool = True, rcode: int = dns.rcode.NOERROR, **sections: list[str]
) -> dns.message.Message:
    query = make_query(QNAME, dns.rdatatype.A, recursive=False)
    message = dns.message.make_response(query)
    if aa:
        message.flags |= dns.flags.AA
    message.set_rcode(rcode)
    for section, lines in sections.items():
        target = getattr(message, section)
        for line in lines:
            target.append(dns.rrset.from_text(*line.split(" ", 4)))
    return dns.message.from_wire(
        message.to_wire(max_size=65535)
    )  # as it comes off the wire: RRsets merged


def test_queries_carry_edns_and_do_and_set_rd_cd_only_for_a_recursive_server() -> None:
    iterative = make_query(QNAME, dns.rdatatype.DNSKEY, recursive=False, query_id=7)
    assert iterative.id == 7
    assert iterative.edns == 0
    assert iterative.payload == EDNS_PAYLOAD
    assert iterative.ednsflags & dns.flags.DO
    assert not iterative.flags & (dns.flags.RD | dns.flags.CD)
    recursive = make_query(QNAME, dns.rdatatype.A, recursive=True)
    assert recursive.flags & dns.flags.RD
    assert recursive.flags & dns.flags.CD


def test_an_answer() -> None:
    message = response(answer=["www.example.test. 300 IN A 192.0.2.1"])
    classified = classify(message, QNAME, dns.rdatatype.A, TEST, authoritative=True)
    assert classified.kind == ANSWER
    assert classified.answer is not None
    assert classified.answer.rrset[0].address == "192.0.2.1"


def test_an_answer_without_aa_from_an_authority_is_lame_but_fine_from_a_resolver() -> None:
    message = response(aa=False, answer=["www.example.test. 300 IN A 192.0.2.1"])
    assert classify(message, QNAME, 1, TEST, authoritative=True).reason == reasons.LAME
    assert classify(message, QNAME, 1, TEST, authoritative=False).kind == ANSWER


def test_a_referral_with_glue_in_bailiwick_only() -> None:
    message = response(
        aa=False,
        authority=[
            "example.test. 300 IN NS ns1.example.test.",
            "example.test. 300 IN NS ns.elsewhere.",
        ],
        additional=["ns1.example.test. 300 IN A 127.0.0.3", "ns.elsewhere. 300 IN A 192.0.2.99"],
    )
    classified = classify(message, QNAME, 1, TEST, authoritative=True)
    assert classified.kind == REFERRAL
    assert classified.child == dns.name.from_text("example.test.")
    assert classified.glue == ((dns.name.from_text("ns1.example.test."), "127.0.0.3"),)
    assert len(classified.name_servers) == 2


@pytest.mark.parametrize("child", ["test.", ".", "other.", "elsewhere.test."])
def test_a_referral_that_does_not_go_down_towards_the_name_is_a_loop(child: str) -> None:
    message = response(aa=False, authority=[f"{child} 300 IN NS ns.{child}".replace("..", ".")])
    classified = classify(message, QNAME, 1, TEST, authoritative=True)
    assert (classified.kind, classified.reason) == (FAILED, reasons.REFERRAL_LOOP)


def test_a_ds_question_answered_by_the_delegation_takes_its_ds() -> None:
    message = response(
        aa=False,
        authority=[
            "example.test. 300 IN NS ns1.example.test.",
            "example.test. 300 IN DS 1 13 2 " + "ab" * 32,
        ],
    )
    classified = classify(
        message, dns.name.from_text("example.test."), dns.rdatatype.DS, TEST, authoritative=True
    )
    assert classified.kind == ANSWER
    assert classified.answer is not None
    assert classified.answer.rrset.rdtype == dns.rdatatype.DS


def test_negative_answers() -> None:
    soa = "test. 300 IN SOA ns1.test. hostmaster.test. 1 2 3 4 5"
    nxdomain = response(
        rcode=dns.rcode.NXDOMAIN, authority=[soa, "a.test. 300 IN NSEC z.test. A RRSIG NSEC"]
    )
    classified = classify(nxdomain, QNAME, 1, TEST, authoritative=True)
    assert classified.kind == NXDOMAIN
    assert classified.soa_owner == TEST
    assert len(classified.denial) == 1
    assert classify(response(authority=[soa]), QNAME, 1, TEST, authoritative=True).kind == NODATA


def test_lame_and_failures() -> None:
    assert classify(response(aa=False), QNAME, 1, TEST, authoritative=True).reason == reasons.LAME
    refused = response(rcode=dns.rcode.REFUSED)
    assert classify(refused, QNAME, 1, TEST, authoritative=True).reason == reasons.SERVER_FAILURE
    huge = response(
        answer=[
            f"www.example.test. 300 IN A 10.0.{i // 256}.{i % 256}" for i in range(MAX_RECORDS + 1)
        ]
    )
    assert classify(huge, QNAME, 1, TEST, authoritative=True).reason == reasons.RESPONSE_TOO_LARGE


def test_aliases() -> None:
    cname = response(answer=["www.example.test. 300 IN CNAME target.example.test."])
    classified = classify(cname, QNAME, 1, TEST, authoritative=True)
    assert classified.kind == CNAME
    assert classified.target == dns.name.from_text("target.example.test.")
    dname = response(answer=["example.test. 300 IN DNAME example.other."])
    classified = classify(dname, QNAME, 1, TEST, authoritative=True)
    assert classified.kind == DNAME
    assert classified.target == dns.name.from_text("www.example.other.")
    too_long = response(
        answer=["example.test. 300 IN DNAME " + ("a" * 62 + ".") * 3 + "d" * 61 + "."]
    )
    assert classify(too_long, QNAME, 1, TEST, authoritative=True).reason == reasons.MALFORMED
