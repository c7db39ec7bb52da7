"""PGP_RULES on GnuPG's keys and on built ones: each finding for its fact, and only then."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from protoaudit.observations import Observation
from protoaudit.observations_pgp import OpenPgpKeyRecord, PgpKey, PgpSource
from protoaudit.pgp.reader import read_keys
from protoaudit.pgp_command import audit_key_file
from protoaudit.policy.baseline import load_catalogue_file
from protoaudit.policy.evaluate import merge
from protoaudit.policy.findings import Finding, Severity
from protoaudit.policy.pgp_rules import PGP_BASELINE_FILE, PGP_RULES
from unit.pgp import pgp_builder as build
from unit.pgp.gpg_keys import NOW, GpgKeys


def findings(observations: list[Observation]) -> dict[str, Finding]:
    return {item.id: item for item in merge([f for rule in PGP_RULES for f in rule(observations)])}


def judged(data: bytes, **options: object) -> dict[str, Finding]:
    return findings(audit_key_file(data, now=options.pop("now", NOW)))  # type: ignore[arg-type]


def published(data: bytes, address: str, origin: str = "openpgpkey") -> list[Observation]:
    source, keys = read_keys(data, now=NOW, origin=origin, name="owner.", address=address)
    return [source, *keys]


def test_catalogue_is_complete_and_referenced() -> None:
    catalogue = load_catalogue_file(PGP_BASELINE_FILE)
    assert all(finding_id.startswith("pgp.") for finding_id in catalogue)
    for template in catalogue.values():
        assert template.references, template.id
        assert any(ref.startswith(("RFC", "NIST", "BSI", "draft")) for ref in template.references)
    cited = {ref.split()[0] for t in catalogue.values() for ref in t.references}
    assert {"RFC", "NIST", "BSI"} <= cited


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("rsa1024", {"pgp.key.rsa_small": Severity.HIGH}),
        ("rsa2048", {"pgp.key.rsa_small": Severity.LOW}),
        ("rsa3072", {}),
        ("ed25519", {}),
        ("nistp256", {}),
        ("dsa", {"pgp.key.legacy_algorithm": Severity.MEDIUM}),
        ("expired", {"pgp.key.expired": Severity.MEDIUM}),
        ("soon", {"pgp.key.expires_soon": Severity.LOW}),
        ("revoked", {"pgp.key.revoked": Severity.HIGH}),
        ("sha1", {"pgp.key.rsa_small": Severity.LOW, "pgp.signature.weak_hash": Severity.MEDIUM}),
    ],
)
def test_gnupg_keys(gpg_keys: GpgKeys, name: str, expected: dict[str, Severity]) -> None:
    found = judged(gpg_keys.binary[name])
    assert {finding_id: item.severity for finding_id, item in found.items()} == expected
    for item in found.values():
        assert any(gpg_keys.fingerprints[name] in line for line in item.evidence)


def test_sha1_evidence_names_key_and_subkey(gpg_keys: GpgKeys) -> None:
    evidence = judged(gpg_keys.binary["sha1"])["pgp.signature.weak_hash"].evidence
    assert len(evidence) == 2
    assert all(line.endswith("uses SHA-1") for line in evidence)
    assert any(line.startswith("subkey ") for line in evidence)


def test_expiry_is_judged_when_the_key_was_read(gpg_keys: GpgKeys) -> None:
    later = audit_key_file(gpg_keys.binary["soon"], now=NOW + timedelta(days=30))
    assert "pgp.key.expired" in findings(later)
    assert "pgp.key.expires_soon" not in findings(later)


def test_keyring_findings_merge(gpg_keys: GpgKeys) -> None:
    found = judged(gpg_keys.keyring_binary)
    assert len(found["pgp.key.rsa_small"].evidence) == 5  # 1024, 2048 + sub, sha1 + sub
    assert found["pgp.key.rsa_small"].severity == Severity.HIGH


def test_md5_binding_is_high() -> None:
    data = build.certificate(build.Key(), [b"a@example.test"], hash_number=1)
    assert judged(data)["pgp.signature.weak_hash"].severity == Severity.HIGH


def test_invalid_signature_and_unbound_subkey() -> None:
    primary, subkey = build.Key(), build.Key()
    data = build.certificate(primary, [b"a@example.test"], corrupt_user_id=True)
    data += build.packet(14, subkey.body)  # a subkey with no binding at all
    evidence = judged(data)["pgp.signature.invalid"].evidence
    assert any("does not verify" in line for line in evidence)
    assert any("no binding signature" in line for line in evidence)


def test_compromised_key_is_critical() -> None:
    data = build.certificate(build.Key(), [b"a@example.test"], revocation=b"\x02leaked")
    found = judged(data)["pgp.key.revoked"]
    assert found.severity == Severity.CRITICAL
    assert "key material has been compromised ('leaked')" in found.evidence[0]


def test_revoked_key_is_not_judged_for_anything_else() -> None:
    data = build.certificate(
        build.Key(), [b"a@example.test"], hash_number=2, revocation=b"\x01new key"
    )
    assert set(judged(data)) == {"pgp.key.revoked"}


# --- published keys ----------------------------------------------------------------------


def test_published_key_without_encryption_or_address() -> None:
    data = build.certificate(build.Key(), [b"Someone <someone@example.test>"])
    found = findings(published(data, "alice@example.test"))
    assert set(found) == {"pgp.key.no_encryption_key", "pgp.published.address_missing"}
    assert "'Someone <someone@example.test>'" in found["pgp.published.address_missing"].evidence[0]


def test_published_key_that_is_fine() -> None:
    data = build.certificate(
        build.Key(), [b"Alice <Alice@Example.test>"], subkeys=[(build.Key(), 0x0C)]
    )
    assert findings(published(data, "alice@example.test", origin="wkd")) == {}


def test_a_file_is_not_judged_as_published() -> None:
    data = build.certificate(build.Key(), [b"Someone <someone@example.test>"])
    assert judged(data) == {}


def test_published_secret_material(gpg_keys: GpgKeys) -> None:
    found = findings(published(gpg_keys.secret, "ed25519@example.test"))
    assert found["pgp.published.secret_material"].severity == Severity.CRITICAL
    assert "pgp.published.secret_material" not in judged(gpg_keys.secret)


def _record(status: str, *, authenticated: bool, records: int = 1) -> OpenPgpKeyRecord:
    return OpenPgpKeyRecord(
        address="a@example.test",
        owner="x._openpgpkey.example.test.",
        dnssec_status=status,
        dnssec_reason=None if status == "secure" else "some_reason",
        authenticated=authenticated,
        rcode="NOERROR",
        records=records,
        record_sizes=(100,) * records,
        problem=None,
        detail="",
    )


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (_record("secure", authenticated=True), None),
        (_record("secure", authenticated=False, records=0), None),
        (_record("insecure", authenticated=False), Severity.MEDIUM),
        (_record("indeterminate", authenticated=False), Severity.MEDIUM),
        (_record("bogus", authenticated=False), Severity.HIGH),
    ],
)
def test_openpgpkey_authentication(record: OpenPgpKeyRecord, expected: Severity | None) -> None:
    found = findings([record]).get("pgp.openpgpkey.not_authenticated")
    assert (found.severity if found else None) == expected


def test_rules_without_a_source_use_the_wall_clock(gpg_keys: GpgKeys) -> None:
    observations = audit_key_file(gpg_keys.binary["expired"], now=NOW)
    keys = [item for item in observations if isinstance(item, PgpKey)]
    assert "pgp.key.expired" in findings(list(keys))
    sources = [item for item in observations if isinstance(item, PgpSource)]
    early = dataclasses.replace(sources[0], checked_at=NOW.replace(year=2020))
    assert "pgp.key.expired" not in findings([early, *keys])
