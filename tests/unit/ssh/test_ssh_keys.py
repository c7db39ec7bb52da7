"""Host key blobs, OpenSSH certificates and signatures, against ssh-keygen's own view."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st
from ssh_helpers import expected

from protoaudit.errors import DecodeError
from protoaudit.proto.ssh.certificates import (
    FOREVER,
    HOST_CERTIFICATE,
    certificate_time,
    certified_key_type,
    decode_host_key,
    encode_certificate,
)
from protoaudit.proto.ssh.encoding import mpint, string
from protoaudit.proto.ssh.keys import (
    DsaKey,
    EcdsaKey,
    EdwardsKey,
    PublicKey,
    RsaKey,
    UnknownKey,
    decode_public_key,
    encode_public_key,
    public_key,
)
from protoaudit.proto.ssh.signatures import Signature, decode_signature, verify_signature


def keys() -> dict[str, Any]:
    facts: dict[str, Any] = expected()["keys"]
    return facts


def blob(stem: str) -> bytes:
    return base64.b64decode(keys()[stem]["blob"])


@pytest.mark.parametrize("stem", sorted(expected()["keys"]))
def test_bits_and_fingerprint_are_ssh_keygen_s(stem: str) -> None:
    facts = keys()[stem]
    host_key = decode_host_key(blob(stem))
    assert host_key.blob_type == facts["type"]
    assert host_key.bits == facts["bits"]
    assert host_key.fingerprint_sha256 == facts["fingerprint"]
    assert (host_key.certificate is not None) == stem.endswith("-cert")


@pytest.mark.parametrize("stem", [s for s in sorted(expected()["keys"]) if s.endswith("-cert")])
def test_certificate_fields_are_ssh_keygen_s(stem: str) -> None:
    facts = keys()[stem]["certificate"]
    host_key = decode_host_key(blob(stem))
    certificate = host_key.certificate
    assert certificate is not None
    assert certificate.host is facts["host"]
    assert certificate.type == HOST_CERTIFICATE
    assert certificate.key_id == facts["key_id"]
    assert certificate.serial == facts["serial"]
    assert list(certificate.valid_principals) == facts["principals"]
    assert certificate.signature_key.fingerprint_sha256 == facts["ca_fingerprint"]
    assert certificate.signature.algorithm == facts["signature_algorithm"]
    assert certificate.signature_valid()
    # The certified key is the plain host key the certificate was made from.
    plain = stem.removesuffix("-cert")
    assert host_key.key.blob == blob(plain)
    assert host_key.key_type == keys()[plain]["type"]


def test_certificate_validity() -> None:
    bounded = decode_host_key(blob("host_ed25519-cert")).certificate
    assert bounded is not None
    assert bounded.valid_after_time == datetime(2026, 1, 1, tzinfo=UTC)
    assert bounded.valid_before_time == datetime(2036, 1, 1, tzinfo=UTC)
    forever = decode_host_key(blob("host_ecdsa384-cert")).certificate
    assert forever is not None
    assert (forever.valid_after, forever.valid_before) == (0, FOREVER)
    assert (forever.valid_after_time, forever.valid_before_time) == (None, None)
    far = certificate_time(2**63)
    assert far is not None
    assert far.year == 9999  # clamped, not an overflow


@pytest.mark.parametrize("stem", ["host_ed25519-cert", "host_rsa-cert", "host_ecdsa384-cert"])
def test_certificates_encode_back_to_the_same_bytes(stem: str) -> None:
    host_key = decode_host_key(blob(stem))
    assert host_key.certificate is not None
    encoded = encode_certificate(host_key.blob_type, host_key.key.material, host_key.certificate)
    assert encoded == blob(stem)


def test_a_changed_certificate_no_longer_verifies() -> None:
    original = blob("host_rsa-cert")
    changed = original.replace(b"rsa host", b"rsa hosT")
    certificate = decode_host_key(changed).certificate
    assert certificate is not None
    assert certificate.key_id == "rsa hosT"
    assert not certificate.signature_valid()


def test_certified_key_types() -> None:
    assert certified_key_type("ssh-ed25519-cert-v01@openssh.com") == "ssh-ed25519"
    assert certified_key_type("rsa-sha2-256-cert-v01@openssh.com") == "rsa-sha2-256"
    assert certified_key_type("sk-ssh-ed25519-cert-v01@openssh.com") == "sk-ssh-ed25519@openssh.com"
    assert certified_key_type("ssh-ed25519") is None


# -- keys and signatures made here ---------------------------------------------------------


def rsa_key(bits: int = 2048) -> tuple[rsa.RSAPrivateKey, PublicKey]:
    private = rsa.generate_private_key(65537, bits)
    numbers = private.public_key().public_numbers()
    return private, public_key("ssh-rsa", RsaKey(numbers.e, numbers.n))


RSA_PRIVATE, RSA_PUBLIC = rsa_key()


def ecdsa_key(curve: ec.EllipticCurve, name: str) -> tuple[ec.EllipticCurvePrivateKey, PublicKey]:
    private = ec.generate_private_key(curve)
    point = private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return private, public_key(f"ecdsa-sha2-{name}", EcdsaKey(name, point))


@pytest.mark.parametrize(
    ("algorithm", "hash_class"),
    [("ssh-rsa", hashes.SHA1), ("rsa-sha2-256", hashes.SHA256), ("rsa-sha2-512", hashes.SHA512)],
)
def test_rsa_signatures(algorithm: str, hash_class: type[hashes.HashAlgorithm]) -> None:
    signed = RSA_PRIVATE.sign(b"data", padding.PKCS1v15(), hash_class())
    assert verify_signature(RSA_PUBLIC, Signature(algorithm, signed), b"data")
    assert not verify_signature(RSA_PUBLIC, Signature(algorithm, signed), b"other")
    other = "rsa-sha2-512" if algorithm != "rsa-sha2-512" else "rsa-sha2-256"
    assert not verify_signature(RSA_PUBLIC, Signature(other, signed), b"data")
    assert not verify_signature(RSA_PUBLIC, Signature(algorithm, b"\0" + signed), b"data")


def test_an_rsa_signature_without_its_leading_zero_still_verifies() -> None:
    # Given a signature that happens to start with a zero byte (1 in 256 do)
    for counter in range(5000):
        data = counter.to_bytes(4, "big")
        signed = RSA_PRIVATE.sign(data, padding.PKCS1v15(), hashes.SHA256())
        if signed[0] == 0:
            break
    else:
        pytest.fail("no signature with a leading zero")
    # When a signer strips it, as some do, it is padded back (OpenSSH does the same)
    assert verify_signature(RSA_PUBLIC, Signature("rsa-sha2-256", signed[1:]), data)


def test_dsa_signatures() -> None:
    private = dsa.generate_private_key(1024)
    numbers = private.public_key().public_numbers()
    parameters = numbers.parameter_numbers
    key = public_key("ssh-dss", DsaKey(parameters.p, parameters.q, parameters.g, numbers.y))
    r, s = decode_dss_signature(private.sign(b"data", hashes.SHA1()))
    signed = r.to_bytes(20, "big") + s.to_bytes(20, "big")
    assert key.bits == 1024
    assert verify_signature(key, Signature("ssh-dss", signed), b"data")
    assert not verify_signature(key, Signature("ssh-dss", signed[:39]), b"data")
    assert not verify_signature(key, Signature("ssh-dss", signed), b"other")


@pytest.mark.parametrize(
    ("curve", "name", "hash_class", "bits"),
    [
        (ec.SECP256R1(), "nistp256", hashes.SHA256, 256),
        (ec.SECP384R1(), "nistp384", hashes.SHA384, 384),
        (ec.SECP521R1(), "nistp521", hashes.SHA512, 521),
    ],
)
def test_ecdsa_signatures(
    curve: ec.EllipticCurve, name: str, hash_class: type[hashes.HashAlgorithm], bits: int
) -> None:
    private, key = ecdsa_key(curve, name)
    r, s = decode_dss_signature(private.sign(b"data", ec.ECDSA(hash_class())))
    signed = mpint(r) + mpint(s)
    assert key.bits == bits
    assert decode_public_key(key.blob) == key
    assert verify_signature(key, Signature(f"ecdsa-sha2-{name}", signed), b"data")
    assert not verify_signature(key, Signature("ecdsa-sha2-nistp256-x", signed), b"data")
    assert not verify_signature(key, Signature(f"ecdsa-sha2-{name}", signed + b"\0"), b"data")
    assert not verify_signature(key, Signature(f"ecdsa-sha2-{name}", signed), b"other")


def test_edwards_signatures() -> None:
    private_25519 = ed25519.Ed25519PrivateKey.generate()
    private_448 = ed448.Ed448PrivateKey.generate()
    key_25519 = public_key(
        "ssh-ed25519", EdwardsKey("ed25519", private_25519.public_key().public_bytes_raw())
    )
    key_448 = public_key(
        "ssh-ed448", EdwardsKey("ed448", private_448.public_key().public_bytes_raw())
    )
    assert (key_25519.bits, key_448.bits) == (256, 456)
    assert decode_public_key(key_448.blob) == key_448
    signature_25519 = Signature("ssh-ed25519", private_25519.sign(b"data"))
    signature_448 = Signature("ssh-ed448", private_448.sign(b"data"))
    assert verify_signature(key_25519, signature_25519, b"data")
    assert verify_signature(key_448, signature_448, b"data")
    assert not verify_signature(key_25519, signature_448, b"data")
    assert not verify_signature(key_448, dataclasses.replace(signature_448, data=b"x"), b"data")


def test_signature_blobs() -> None:
    signature = Signature("ssh-ed25519", b"\x01" * 64)
    assert decode_signature(signature.encode()) == signature
    with pytest.raises(DecodeError):
        decode_signature(signature.encode() + b"\0")


def test_security_keys_decode_but_never_verify() -> None:
    public = bytes(range(32))
    blob_bytes = string(b"sk-ssh-ed25519@openssh.com") + string(public) + string(b"ssh:")
    key = decode_public_key(blob_bytes)
    assert key.material == EdwardsKey("ed25519", public, "ssh:")
    assert key.bits == 256
    assert encode_public_key(key.key_type, key.material) == blob_bytes
    signature = Signature("sk-ssh-ed25519@openssh.com", bytes(64))
    assert not verify_signature(key, signature, b"data")


def test_an_unknown_key_type_survives() -> None:
    blob_bytes = string(b"x509v3-ssh-rsa") + b"whatever"
    key = decode_public_key(blob_bytes)
    assert key.material == UnknownKey(b"whatever")
    assert key.bits == 0
    assert key.fingerprint_sha256.startswith("SHA256:")
    assert not verify_signature(key, Signature("x509v3-ssh-rsa", b""), b"data")


_, P256_KEY = ecdsa_key(ec.SECP256R1(), "nistp256")


@pytest.mark.parametrize(
    ("blob_bytes", "words"),
    [
        (string(b"ecdsa-sha2-nistp256") + string(b"nistp384") + string(b"\x04"), "curve"),
        (
            string(b"ecdsa-sha2-nistp256") + string(b"nistp256") + string(b"\x04" + bytes(64)),
            "point",
        ),
        (string(b"ssh-ed25519") + string(bytes(31)), "31 bytes"),
        (string(b"ssh-rsa") + mpint(-3) + mpint(35), "positive"),
        (string(b"ssh-rsa") + mpint(3) + mpint(0), "positive"),
        (string(b"ssh-ed25519") + string(bytes(32)) + b"\0", "left over"),
        (string(b"ssh-ed25519") + string(bytes(32))[:-1], "needs"),
        (string(b"ssh ed25519") + string(bytes(32)), "printable"),
        (string(b""), "empty"),
    ],
)
def test_bad_key_blobs(blob_bytes: bytes, words: str) -> None:
    with pytest.raises(DecodeError) as raised:
        decode_host_key(blob_bytes)
    assert words in str(raised.value)


def test_a_certificate_as_a_ca_key_is_refused() -> None:
    host_key = decode_host_key(blob("host_ed25519-cert"))
    certificate = host_key.certificate
    assert certificate is not None
    ca_as_certificate = dataclasses.replace(
        certificate,
        signature_key=PublicKey(host_key.blob_type, UnknownKey(b""), blob("host_ed25519-cert")),
    )
    crafted = encode_certificate(host_key.blob_type, host_key.key.material, ca_as_certificate)
    with pytest.raises(DecodeError, match="itself a certificate"):
        decode_host_key(crafted)


def test_a_certificate_truncated_anywhere_is_refused() -> None:
    original = blob("host_ed25519-cert")
    for end in range(len(original)):
        with pytest.raises(DecodeError):
            decode_host_key(original[:end])


# -- properties ----------------------------------------------------------------------------------

_positive = st.integers(1, 2**2048)
_materials = st.one_of(
    st.builds(RsaKey, _positive, _positive).map(lambda m: ("ssh-rsa", m)),
    st.builds(DsaKey, _positive, _positive, _positive, _positive).map(lambda m: ("ssh-dss", m)),
    st.binary(min_size=32, max_size=32).map(lambda b: ("ssh-ed25519", EdwardsKey("ed25519", b))),
    st.binary(min_size=57, max_size=57).map(lambda b: ("ssh-ed448", EdwardsKey("ed448", b))),
)


@given(_materials)
def test_plain_key_round_trip(pair: tuple[str, RsaKey | DsaKey | EdwardsKey]) -> None:
    key_type, material = pair
    assert decode_public_key(encode_public_key(key_type, material)).material == material


@given(
    st.integers(0, 2**64 - 1),
    st.integers(0, 2**32 - 1),
    st.text(max_size=20),
    st.lists(st.text(max_size=10), max_size=5),
    st.lists(st.tuples(st.text(max_size=10), st.binary(max_size=10)), max_size=5),
)
def test_certificate_round_trip(
    serial: int,
    certificate_type: int,
    key_id: str,
    principals: list[str],
    options: list[tuple[str, bytes]],
) -> None:
    host_key = decode_host_key(blob("host_ed25519-cert"))
    assert host_key.certificate is not None
    changed = dataclasses.replace(
        host_key.certificate,
        serial=serial,
        type=certificate_type,
        key_id=key_id,
        valid_principals=tuple(principals),
        critical_options=tuple(options),
        extensions=tuple(reversed(options)),
    )
    encoded = encode_certificate(host_key.blob_type, host_key.key.material, changed)
    decoded = decode_host_key(encoded).certificate
    assert decoded is not None
    assert dataclasses.replace(decoded, signed_data=b"") == dataclasses.replace(
        changed, signed_data=b""
    )


_TYPE_PREFIXES = [
    string(name.encode())
    for name in (
        "ssh-rsa",
        "ssh-dss",
        "ecdsa-sha2-nistp256",
        "ssh-ed25519",
        "ssh-ed448",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "ssh-ed25519-cert-v01@openssh.com",
        "ssh-rsa-cert-v01@openssh.com",
    )
]


@settings(max_examples=300)
@given(st.sampled_from([b"", *_TYPE_PREFIXES]), st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_decode_error(prefix: bytes, data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_host_key(prefix + data)
    with contextlib.suppress(DecodeError):
        decode_signature(prefix + data)


@given(
    st.sampled_from(["ssh-rsa", "rsa-sha2-256", "ecdsa-sha2-nistp256", "ssh-ed25519", "ssh-dss"]),
    st.binary(max_size=300),
)
def test_verification_never_raises(algorithm: str, data: bytes) -> None:
    for key in (RSA_PUBLIC, P256_KEY):
        assert verify_signature(key, Signature(algorithm, data), b"data") is False
