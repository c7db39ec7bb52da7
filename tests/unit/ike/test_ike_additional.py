"""RFC 9370 additional key exchanges in IKE_SA_INIT: the offers' bytes and what an answer chose.

The fixtures strongswan6_sa_init_mlkem_*.hex are an exchange with lab/ike's
ike-pq target (strongSwan 6.0.1 of Debian 13): the request built by this
codec with fixed SPI, nonce and secret; the answer as charon sent it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from protoaudit.probes.ike_v2 import additional_methods, candidates
from protoaudit.proto.ike.exchanges import (
    Offer,
    chosen_additional,
    proposals_for,
    read_sa_init_response,
    sa_init_request,
)
from protoaudit.proto.ike.keyexchange import public_value
from protoaudit.proto.ike.message import decode_message, encode_message
from protoaudit.proto.ike.payloads import Proposal, SecurityAssociation, Transform

FIXTURES = Path(__file__).parent / "fixtures"
SPI = bytes(range(16, 24))
REQUIRED_SUITE = Offer(
    ((20, 256),), (6,), (), (31,), additional=((6, (36, 0)),), also_without_additional=True
)

# The SA payload's body for REQUIRED_SUITE (RFC 7296 3.3, RFC 9370 2.2.1), by hand:
# proposal 1 with ADDKE1 = {ML-KEM-768, NONE}, then proposal 2, the same without ADDKE1.
SA_BODY = bytes.fromhex(
    "02000034"
    "01010005"  # more proposals follow; 52 bytes; #1, IKE, no SPI, 5 transforms
    "0300000c"
    "01000014"
    "800e0100"  # ENCR_AES_GCM_16, key length 256
    "03000008"
    "02000006"  # PRF_HMAC_SHA2_384
    "03000008"
    "0400001f"  # KE Curve25519
    "03000008"
    "06000024"  # ADDKE1 ML-KEM-768
    "00000008"
    "06000000"  # ADDKE1 NONE (last transform)
    "00000024"
    "02010003"  # last proposal; 36 bytes; #2, IKE, no SPI, 3 transforms
    "0300000c"
    "01000014"
    "800e0100"
    "03000008"
    "02000006"
    "00000008"
    "0400001f"
)


def fixture(name: str) -> bytes:
    return bytes.fromhex((FIXTURES / f"{name}.hex").read_text().strip())


def request() -> bytes:
    return sa_init_request(
        initiator_spi=SPI,
        proposals=proposals_for(REQUIRED_SUITE),
        dh_group_num=31,
        key_exchange_data=public_value(31, bytes(56)),
        nonce=bytes(32),
        intermediate=True,
    )


def test_an_offer_with_addke_carries_each_proposal_with_and_without() -> None:
    encoded = request()
    # The SA is the first payload after the 28-byte header: a 4-byte generic header, then the body
    assert encoded[32 : 32 + len(SA_BODY)] == SA_BODY
    assert encoded[28 + 2 : 28 + 4] == (4 + len(SA_BODY)).to_bytes(2, "big")


def test_the_request_encodes_to_the_bytes_charon_6_answered() -> None:
    assert request() == fixture("strongswan6_sa_init_mlkem_request")


def test_charon_6_answer_names_ml_kem_768_in_addke1() -> None:
    data = fixture("strongswan6_sa_init_mlkem_response")
    message = decode_message(data)
    header = message.header
    again = encode_message(
        initiator_spi=header.initiator_spi,
        responder_spi=header.responder_spi,
        major_version=header.major_version,
        minor_version=header.minor_version,
        exchange_type=header.exchange_type,
        flags=header.flags,
        message_id=header.message_id,
        payloads=message.payloads,
    )
    assert again == data
    response = read_sa_init_response(message)
    assert response.chosen is not None
    assert response.chosen.proposal_num == 1  # the proposal with ADDKE1, not the copy without
    assert chosen_additional(response.chosen) == ((6, 36),)
    assert response.responder_group == 31


def test_none_and_absent_types_are_no_additional_exchange() -> None:
    chosen = Proposal(
        1,
        1,
        b"",
        (
            Transform(1, 20, ()),
            Transform(4, 19),
            Transform(6, 0),  # NONE, sent
            Transform(8, 37),  # ADDKE3 ML-KEM-1024; ADDKE2 left out
        ),
    )
    assert chosen_additional(chosen) == ((8, 37),)


def test_without_addke_an_offer_is_as_before() -> None:
    plain = Offer(((20, 256), (12, 128)), (6,), (12,), (19,))
    aead, classic = proposals_for(plain)
    assert [t.transform_type for t in aead.transforms] == [1, 2, 4]
    assert [t.transform_type for t in classic.transforms] == [1, 2, 3, 4]
    # A copy without ADDKE is made only when there is ADDKE to leave out
    assert proposals_for(replace(plain, also_without_additional=True)) == (aead, classic)


def test_the_enumeration_offers_every_addke_type_with_ml_kem_and_none() -> None:
    offer = candidates()
    assert additional_methods() == (35, 36, 37)
    assert offer.additional == tuple((kind, (35, 36, 37, 0)) for kind in range(6, 13))
    proposals = proposals_for(offer)
    assert [p.proposal_num for p in proposals] == [1, 2, 3, 4]
    with_addke = [any(t.transform_type >= 6 for t in p.transforms) for p in proposals]
    assert with_addke == [True, False, True, False]  # AEAD, AEAD copy, classic, classic copy
    assert sum(t.transform_type == 12 for t in proposals[0].transforms) == 4
    sa = SecurityAssociation(proposals)
    assert len(sa.proposals) == 4
