"""IKE registry, rules and terminal tables, over observations written out by hand."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from protoaudit.observations_ike import (
    IkeAdditionalKeyExchange,
    IkeAlgorithm,
    IkeNatTraversal,
    IkeV1AggressiveMode,
    IkeV1MainMode,
    IkeV1Suite,
    IkeV2Choice,
    IkeV2SaInit,
)
from protoaudit.policy.baseline import load_catalogue_file
from protoaudit.policy.findings import Severity
from protoaudit.policy.ike_rules import IKE_BASELINE_FILE, IKE_RULES
from protoaudit.registry import ike as registry
from protoaudit.report.terminal_ike import UNSEEN, ike_tables

STRONGSWAN = "882fe56d6fd20dbc2251613b2ebe5beb"


def v2(**changes: object) -> IkeV2SaInit:
    fields: dict[str, object] = {
        "status": "enumerated",
        "detail": "",
        "encryption": (IkeAlgorithm(20, 256), IkeAlgorithm(3, None)),
        "prf": (5, 2),
        "integrity": (12, 1),
        "key_exchange": (19, 2, 1),
        "additional_key_exchange": (),
        "first_choice": IkeV2Choice(IkeAlgorithm(20, 256), 5, None, 19),
        "requested_group": 19,
        "cookie_required": False,
        "fragmentation_supported": True,
        "nat_detection": True,
        "nat_detected": False,
        "signature_hash_algorithms": (2,),
        "status_notifies": (16404,),
        "certificate_requests": (),
        "vendor_ids": (STRONGSWAN,),
        "packets_sent": 12,
        "complete": True,
    }
    fields.update(changes)
    return IkeV2SaInit(**fields)  # type: ignore[arg-type]


MAIN = IkeV1MainMode(
    status="enumerated",
    detail="",
    accepted=(IkeV1Suite(1, None, 1, 1, 2),),
    encryption=(IkeAlgorithm(1, None),),
    hash=(1,),
    auth=(1,),
    groups=(2,),
    vendor_ids=("09002689dfd6b712",),
    packets_sent=9,
    complete=True,
)
AGGRESSIVE = IkeV1AggressiveMode(
    status="enumerated",
    detail="",
    identity_type=3,
    identity="me@example.invalid",
    accepted=IkeV1Suite(1, None, 1, 1, 2),
    hash_length=16,
    signature=False,
    responder_identity_type=2,
    responder_identity="vpn\x1b[31m.example",
    vendor_ids=(),
    packets_sent=1,
)


def ids(observations: list[object]) -> dict[str, Severity]:
    return {
        finding.id: finding.severity
        for rule in IKE_RULES
        for finding in rule(observations)  # type: ignore[arg-type]
    }


def test_registry_files_load_and_answer_unknown_codes() -> None:
    assert registry.transform_id(registry.ENCRYPTION, 20).name == "ENCR_AES_GCM_16"
    assert registry.transform_id(registry.ENCRYPTION, 20).aead
    assert registry.transform_id(6, 36).name == "ML-KEM-768"
    assert registry.key_exchange_method(31).public_value_bytes == 32
    assert registry.v1_attribute_value(3, 65001).name == "XAUTHInitPreShared"
    assert registry.v1_attribute_value(4, 14).name == "2048-bit MODP Group"
    assert registry.notify_type(2, 17).name == "INVALID_KE_PAYLOAD"
    assert registry.notify_type(1, 14).name == "NO-PROPOSAL-CHOSEN"
    assert not registry.transform_id(1, 999).known
    assert registry.notify_type(2, 60000).name == "UNKNOWN_60000"


def test_vendor_ids_name_the_implementation_and_versions() -> None:
    entry = registry.vendor_id(bytes.fromhex(STRONGSWAN))
    assert entry.implementation == "strongSwan"
    dpd = bytes.fromhex("afcad71368a1f1c96b8696fc77570100")
    assert registry.vendor_version(registry.vendor_id(dpd), dpd) == "1.0"
    libreswan = bytes.fromhex("4f452d4c696272657377616e2d") + b"4.12"
    found = registry.vendor_id(libreswan)
    assert (found.name, registry.vendor_version(found, libreswan)) == ("libreswan", "4.12")
    assert not registry.vendor_id(b"\x00" * 16).known


def test_the_catalogue_has_every_id_the_rules_use() -> None:
    catalogue = load_catalogue_file(IKE_BASELINE_FILE)
    assert all(finding_id.startswith("ike.") for finding_id in catalogue)
    assert catalogue["ike.aggressive_mode_psk"].severity == Severity.HIGH


def test_a_weak_responder_gets_every_finding() -> None:
    found = ids([v2(), MAIN, AGGRESSIVE])
    assert found == {
        "ike.aggressive_mode_psk": Severity.HIGH,
        "ike.v1_accepted": Severity.MEDIUM,
        "ike.dh_group_weak": Severity.HIGH,  # group 1
        "ike.encryption_broken": Severity.HIGH,  # IKEv1 DES
        "ike.encryption_64bit_block": Severity.MEDIUM,
        "ike.integrity_md5": Severity.HIGH,
        "ike.integrity_sha1": Severity.LOW,
        "ike.no_post_quantum": Severity.INFO,
        "ike.implementation_disclosed": Severity.INFO,
    }


def test_a_modern_ikev2_only_responder_gets_none_but_post_quantum() -> None:
    modern = v2(
        encryption=(IkeAlgorithm(20, 256),),
        prf=(6,),
        integrity=(),
        key_exchange=(20, 31),
        additional_key_exchange=(36,),
        vendor_ids=(),
    )
    assert ids([modern]) == {}
    assert ids(
        [
            v2(
                additional_key_exchange=(),
                key_exchange=(19,),
                encryption=(IkeAlgorithm(20, 128),),
                prf=(5,),
                integrity=(),
                vendor_ids=(),
            )
        ]
    ) == {"ike.no_post_quantum": Severity.INFO}


def test_aggressive_mode_without_a_hash_is_no_exposure() -> None:
    silent = IkeV1AggressiveMode("no-proposal", "", 3, "x", None, None, False, None, "", (), 1)
    assert "ike.aggressive_mode_psk" not in ids([silent])


def test_the_tables_name_everything_and_say_what_cannot_be_seen() -> None:
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    for shown in ike_tables([v2(), MAIN, AGGRESSIVE], verbose=True):
        console.print(shown)
    text = out.getvalue()
    for expected in (
        "ENCR_AES_GCM_16 (256)",
        "PRF_HMAC_SHA2_256",
        "AUTH_HMAC_MD5_96",
        "256-bit random ECP group",
        "strongSwan",
        "DES-CBC",
        "HASH_R",
        "XAUTH",
        UNSEEN[:40],
    ):
        assert expected in text, expected
    assert "\x1b" not in text  # the responder's identity is sanitised


@pytest.mark.parametrize(
    ("seen", "expected"),
    [
        (IkeNatTraversal(4500, "answered", "", 2, True, True, 2), "yes (IKEv2, behind the non-ESP"),
        (IkeNatTraversal(4500, "no-answer", "no answer after 2 tries", 2, False, False, 2), "no"),
        (
            IkeNatTraversal(4500, "not-tried", "the audited port is 4500", None, None, False, 0),
            "not tried",
        ),
    ],
)
def test_the_nat_t_port_has_a_table_of_its_own(seen: IkeNatTraversal, expected: str) -> None:
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    for shown in ike_tables([seen], verbose=True):
        console.print(shown)
    text = out.getvalue()
    assert "NAT-T port (UDP 4500, RFC 3948)" in text
    assert re.search(rf"answers IKE\s*│ {re.escape(expected)}", text)
    assert bool(re.search(r"cookie required\s*│ yes", text)) is seen.cookie_required
    assert seen.detail in text
    # A silent NAT-T port is a fact about the responder, not a finding against it
    assert not ids([seen])


def test_no_ike_observation_means_no_table() -> None:
    assert list(ike_tables([], verbose=False)) == []


@pytest.mark.parametrize(
    ("required", "first_required", "expected"),
    [
        (True, True, False),
        (None, None, False),
        (False, False, True),
        (False, True, True),
    ],
)
def test_ml_kem_allowed_but_not_required_is_a_finding_of_its_own(
    required: bool | None, first_required: bool | None, expected: bool
) -> None:
    seen = v2(
        additional_key_exchange=(36,),
        additional_key_exchange_slots=(IkeAdditionalKeyExchange(6, (36,)),),
        additional_key_exchange_required=required,
        first_choice_additional_required=first_required,
    )
    findings = [f for rule in IKE_RULES for f in rule([seen])]
    optional = [f for f in findings if f.id == "ike.post_quantum_optional"]
    assert bool(optional) is expected
    assert "ike.no_post_quantum" not in {f.id for f in findings}
    if optional:
        (finding,) = optional
        assert finding.severity is Severity.INFO
        assert "ML-KEM-768" in finding.evidence[0]
        assert ("first choice" in finding.evidence[0]) is bool(first_required)


def test_the_table_shows_each_addke_type_and_whether_it_is_required() -> None:
    seen = v2(
        additional_key_exchange=(36, 37),
        additional_key_exchange_slots=(
            IkeAdditionalKeyExchange(6, (36,)),
            IkeAdditionalKeyExchange(7, (37,)),
        ),
        additional_key_exchange_required=False,
        first_choice_additional_required=True,
        first_choice=IkeV2Choice(IkeAlgorithm(20, 256), 5, None, 19, (36,)),
    )
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    for shown in ike_tables([seen], verbose=False):
        console.print(shown)
    text = out.getvalue()
    assert re.search(r"\(ADDKE1\)\s*│ 36 ML-KEM-768", text)
    assert re.search(r"\(ADDKE2\)\s*│ 37 ML-KEM-1024", text)
    assert "optional (required with the first choice's transforms)" in text
    assert "19 256-bit random ECP group + 36 ML-KEM-768" in text
