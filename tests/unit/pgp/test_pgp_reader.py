"""Reading keys into observations: GnuPG's keys, Sequoia's v6 keys, and built oddities.

Given keys made by GnuPG 2.2 in this run (fixed dates through --faked-system-time), when
`audit_key_file` reads them, armored or binary, one by one or as a keyring, then every
fact (algorithm, size, curve, dates, revocation, flags, hashes, user IDs, subkeys) is the
one GnuPG was asked to make, and every self-signature verifies.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pysequoia
import pytest

from protoaudit.observations_pgp import PgpKey, PgpSource
from protoaudit.pgp.reader import MAX_CERTIFICATES, PgpInputError, capabilities, read_keys
from protoaudit.pgp_command import audit_key_file
from protoaudit.report.json_report import observation_json
from unit.pgp import pgp_builder as build
from unit.pgp.gpg_keys import CREATED, EXPIRED_CREATED, NOW, GpgKeys

ED25519_LEGACY = "1.3.6.1.4.1.11591.15.1"
CURVE25519_LEGACY = "1.3.6.1.4.1.3029.1.5.1"
NIST_P256 = "1.2.840.10045.3.1.7"

# name -> (algorithm, bits, curve, subkey algorithm, subkey bits, subkey curve)
EXPECTED = {
    "rsa1024": (1, 1024, None, None, None, None),
    "rsa2048": (1, 2048, None, 1, 2048, None),
    "rsa3072": (1, 3072, None, 1, 3072, None),
    "ed25519": (22, 255, ED25519_LEGACY, 18, 255, CURVE25519_LEGACY),
    "dsa": (17, 2048, None, 16, 2048, None),
    "nistp256": (19, 256, NIST_P256, 18, 256, NIST_P256),
}


def keys_of(observations: Sequence[object]) -> list[PgpKey]:
    return [item for item in observations if isinstance(item, PgpKey)]


def one_key(data: bytes, now: datetime = NOW) -> PgpKey:
    found = keys_of(audit_key_file(data, now=now))
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_gnupg_key_facts(gpg_keys: GpgKeys, name: str) -> None:
    algorithm, bits, curve, sub_algorithm, sub_bits, sub_curve = EXPECTED[name]
    key = one_key(gpg_keys.binary[name])
    assert key.fingerprint == gpg_keys.fingerprints[name]
    assert key.key_id == gpg_keys.fingerprints[name][-16:]
    assert (key.version, key.algorithm, key.bits, key.curve_oid) == (4, algorithm, bits, curve)
    assert key.created == CREATED
    assert key.expires is None
    assert not key.revoked
    assert not key.secret
    assert "certify" in key.capabilities
    assert "sign" in key.capabilities
    assert key.binding is not None
    assert key.binding.verified is True
    assert key.binding.signature_type == 0x13
    assert [user_id.text for user_id in key.user_ids] == [f"Test {name} <{name}@example.test>"]
    assert key.user_ids[0].binding is not None
    if sub_algorithm is None:
        assert key.subkeys == ()
        return
    (subkey,) = key.subkeys
    assert (subkey.algorithm, subkey.bits, subkey.curve_oid) == (sub_algorithm, sub_bits, sub_curve)
    assert subkey.capabilities == ("encrypt-communications", "encrypt-storage")
    assert subkey.binding is not None
    assert subkey.binding.verified is True
    assert subkey.binding.signature_type == 0x18


def test_armored_and_binary_read_the_same(gpg_keys: GpgKeys) -> None:
    for name in gpg_keys.binary:
        binary = audit_key_file(gpg_keys.binary[name], now=NOW)
        armored = audit_key_file(gpg_keys.armored[name], now=NOW)
        assert keys_of(binary) == keys_of(armored)
        source = armored[0]
        assert isinstance(source, PgpSource)
        assert source.armored
        assert source.armor_checksum == "valid"
        assert isinstance(binary[0], PgpSource)
        assert binary[0].armor_checksum is None


def test_keyring_holds_every_key(gpg_keys: GpgKeys) -> None:
    for data in (gpg_keys.keyring_binary, gpg_keys.keyring_armored):
        observations = audit_key_file(data, now=NOW, name="ring")
        source = observations[0]
        assert isinstance(source, PgpSource)
        assert (source.certificates, source.certificates_read) == (10, 10)
        assert source.name == "ring"
        assert source.checked_at == NOW
        found = {key.fingerprint for key in keys_of(observations)}
        assert found == set(gpg_keys.fingerprints.values())


def test_expired_key(gpg_keys: GpgKeys) -> None:
    key = one_key(gpg_keys.binary["expired"])
    assert key.created == EXPIRED_CREATED
    assert key.expires == EXPIRED_CREATED + timedelta(days=365)
    assert key.subkeys[0].expires == key.expires


def test_key_expiring_soon(gpg_keys: GpgKeys) -> None:
    key = one_key(gpg_keys.binary["soon"])
    assert key.expires == CREATED + timedelta(days=160)


def test_revoked_key(gpg_keys: GpgKeys) -> None:
    key = one_key(gpg_keys.binary["revoked"])
    assert key.revoked
    assert key.revocation_code == 0  # GnuPG's stored certificate: "no reason specified"
    revocations = [s for s in key.signatures if s.signature_type == 0x20]
    assert len(revocations) == 1
    assert revocations[0].verified is True


def test_sha1_self_signatures(gpg_keys: GpgKeys) -> None:
    key = one_key(gpg_keys.binary["sha1"])
    assert key.self_signature_hashes == (2,)
    assert key.binding is not None
    assert key.binding.hash_algorithm == 2
    assert key.binding.verified is True
    assert key.subkeys[0].binding is not None
    assert key.subkeys[0].binding.hash_algorithm == 2


def test_other_keys_hash_with_sha2(gpg_keys: GpgKeys) -> None:
    assert one_key(gpg_keys.binary["rsa2048"]).self_signature_hashes == (10,)  # SHA2-512
    assert one_key(gpg_keys.binary["ed25519"]).self_signature_hashes == (8,)  # SHA2-256


def test_secret_key_export_is_flagged_and_read_as_public(gpg_keys: GpgKeys) -> None:
    key = one_key(gpg_keys.secret)
    assert key.secret
    assert key.fingerprint == gpg_keys.fingerprints["ed25519"]
    assert key.binding is not None
    assert key.binding.verified is True


def _sequoia_key(profile: object, suite: object) -> bytes:
    """A key Sequoia makes now (its dates are the wall clock's: read it at the wall clock)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        secret = pysequoia.Tsk.generate(
            "Six <six@example.test>",
            profile=profile,  # type: ignore[arg-type]
            cipher_suite=suite,  # type: ignore[arg-type]
        )
        return bytes(secret.extract_certificate())


@pytest.mark.parametrize(
    ("suite", "primary", "encryption", "bits"),
    [
        (pysequoia.CipherSuite.Cv25519, 27, 25, 255),
        (pysequoia.CipherSuite.Cv448, 28, 26, 448),
    ],
)
def test_v6_keys_from_sequoia(suite: object, primary: int, encryption: int, bits: int) -> None:
    key = one_key(_sequoia_key(pysequoia.Profile.RFC9580, suite), datetime.now(UTC))
    assert key.version == 6
    assert len(key.fingerprint) == 64
    assert (key.algorithm, key.bits) == (primary, bits)
    assert key.binding is not None
    assert key.binding.signature_type == 0x1F  # v6: the direct-key signature rules
    assert key.binding.verified is True
    assert key.capabilities == ("certify",)
    assert {subkey.algorithm for subkey in key.subkeys} == {encryption, primary}
    assert all(s.binding is not None and s.binding.verified for s in key.subkeys)


def test_v4_ed448_from_sequoia() -> None:
    key = one_key(
        _sequoia_key(pysequoia.Profile.RFC4880, pysequoia.CipherSuite.Cv448), datetime.now(UTC)
    )
    assert (key.version, key.algorithm, key.bits) == (4, 28, 448)
    assert key.binding is not None
    assert key.binding.verified is True


def test_post_quantum_signatures_are_read_but_not_checked() -> None:
    data = _sequoia_key(pysequoia.Profile.RFC9580, pysequoia.CipherSuite.MLDSA65_Ed25519)
    key = one_key(data, datetime.now(UTC))
    assert (key.version, key.algorithm, key.bits) == (6, 30, None)
    assert key.binding is not None
    assert key.binding.verified is None
    assert "ML-DSA-65+Ed25519" in (key.binding.problem or "")
    assert 35 in {subkey.algorithm for subkey in key.subkeys}  # ML-KEM-768+X25519


def test_built_key_with_every_fact() -> None:
    primary, subkey = build.Key(), build.Key()
    data = build.certificate(
        primary,
        [b"Alice <alice@example.test>", b"Alice at work <alice@work.test>"],
        expiry=86400 * 10,
        subkeys=[(subkey, 0x20)],
        revocation=b"\x02the laptop was stolen",
    )
    key = one_key(data)
    assert key.fingerprint == primary.fingerprint.hex().upper()
    assert key.revoked
    assert (key.revocation_code, key.revocation_reason) == (2, "the laptop was stolen")
    assert key.expires == build.CREATED + timedelta(days=10)
    assert key.user_ids_total == 2
    assert [u.primary for u in key.user_ids if u.text.startswith("Alice <")] == [True]
    assert key.subkeys[0].capabilities == ("authenticate",)


def test_signature_that_does_not_verify() -> None:
    data = build.certificate(build.Key(), [b"Mallory <m@example.test>"], corrupt_user_id=True)
    key = one_key(data)
    (user_id,) = key.user_ids
    assert user_id.binding is None
    assert [s.verified for s in user_id.signatures] == [False]
    assert user_id.signatures[0].problem == "the signature does not verify"
    assert key.binding is None


def test_third_party_certifications_are_counted_not_checked() -> None:
    primary, other = build.Key(), build.Key()
    text = b"Bob <bob@example.test>"
    data = build.certificate(primary, [text])
    data += build.sign(other, 0x10, primary.hashed_key() + build.user_id_octets(text))
    key = one_key(data)
    assert key.user_ids[0].certifications == 1
    assert len(key.user_ids[0].signatures) == 1


def test_a_newer_binding_wins_and_future_ones_do_not() -> None:
    primary = build.Key()
    text = b"Carol <carol@example.test>"
    target = primary.hashed_key() + build.user_id_octets(text)
    data = build.packet(6, primary.body) + build.packet(13, text)
    for when, hash_number in ((datetime(2026, 2, 1, tzinfo=UTC), 2), (NOW.replace(year=2027), 8)):
        data += build.sign(primary, 0x13, target, hash_number=hash_number, created=when)
    data += build.sign(
        primary, 0x13, target, hash_number=10, created=datetime(2026, 1, 5, tzinfo=UTC)
    )
    key = one_key(data)
    assert key.binding is not None
    assert key.binding.hash_algorithm == 2  # February's; next year's is not yet in force
    assert key.self_signature_hashes == (8, 2, 10)


def test_capability_names() -> None:
    assert capabilities(None) == ()
    assert capabilities(0x01 | 0x02 | 0x20) == ("certify", "sign", "authenticate")
    assert capabilities(0x0C) == ("encrypt-communications", "encrypt-storage")


def test_many_certificates_are_bounded() -> None:
    one = build.certificate(build.Key(), [b"x@example.test"])
    source, keys = read_keys(one * (MAX_CERTIFICATES + 5), now=NOW)
    assert source.certificates == MAX_CERTIFICATES + 5
    assert source.certificates_read == len(keys) == MAX_CERTIFICATES
    assert any("were not read" in note for note in source.notes)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty input"),
        (b"   \n", "empty input"),
        (b"hello, world\n", "no armored key block"),
        (b"\x99\x00", "not an OpenPGP key"),
        (build.packet(13, b"just a user id"), "not with a key"),
    ],
)
def test_unusable_input_is_one_line(data: bytes, message: str) -> None:
    with pytest.raises(PgpInputError, match=message) as raised:
        audit_key_file(data, now=NOW)
    assert "\n" not in str(raised.value)


def test_a_message_is_not_a_key() -> None:
    armored = b"-----BEGIN PGP MESSAGE-----\n\nhQEMA\n-----END PGP MESSAGE-----\n"
    with pytest.raises(PgpInputError, match="a PGP MESSAGE, not a key"):
        audit_key_file(armored, now=NOW)


def test_observations_serialise_to_json(gpg_keys: GpgKeys) -> None:
    observations = audit_key_file(gpg_keys.keyring_armored, now=NOW)
    documents = [observation_json(item) for item in observations]
    text = json.dumps(documents)
    assert [document["kind"] for document in documents[:2]] == ["pgp_source", "pgp_key"]
    assert '"created": "2026-01-01T00:00:00Z"' in text
