"""The openvpn sub-lab's own PKI: a CA, three server certificates and one client certificate.

    python3 lab/openvpn/pki.py DIR      # writes DIR/ca.pem, DIR/<name>.pem and .key

Made fresh at every start (start.sh), valid from a day ago for 30 days.
cryptography refuses to sign with SHA-1, so the SHA-1 certificate is signed
by `openssl x509 -req -sha1` from a request cryptography makes.
CERTIFICATES is also what ground_truth.py reads for the certificate facts:
the ground truth and the certificates come from the same table. The client
certificate is for verify.sh's real OpenVPN client; the probe has none.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "protoaudit openvpn lab CA"
CA_KEY = "EC-P256"
VALID_DAYS = 30


@dataclass(frozen=True)
class Spec:
    common_name: str
    key: str  # "RSA-2048", "RSA-1024", "EC-P256"
    hash_name: str  # the CA's signature hash over it: "sha256" or "sha1"
    role: str  # "server" or "client"


CERTIFICATES: dict[str, Spec] = {
    "server-rsa": Spec("protoaudit openvpn server (RSA)", "RSA-2048", "sha256", "server"),
    "server-ec": Spec("protoaudit openvpn server (EC)", "EC-P256", "sha256", "server"),
    "server-legacy": Spec("protoaudit openvpn server (legacy)", "RSA-1024", "sha1", "server"),
    "client": Spec("protoaudit openvpn lab client", "EC-P256", "sha256", "client"),
}


def key_facts(key: str) -> tuple[str, int]:
    """(key type as protoaudit's CertificateInfo names it, bits)."""
    kind, size = key.split("-")
    return ("RSA", int(size)) if kind == "RSA" else ("EC", int(size.removeprefix("P")))


def _private_key(key: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    kind, size = key.split("-")
    if kind == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=int(size))
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(directory: Path, name: str, certificate: x509.Certificate, key: object) -> None:
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    (directory / f"{name}.pem").write_bytes(pem)
    assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    key_path = directory / f"{name}.key"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)


def make(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    start, end = now - dt.timedelta(days=1), now + dt.timedelta(days=VALID_DAYS)
    ca_key = _private_key(CA_KEY)
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(CA_NAME))
        .issuer_name(_name(CA_NAME))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(directory, "ca", ca, ca_key)
    for name, spec in CERTIFICATES.items():
        key = _private_key(spec.key)
        usage = ExtendedKeyUsageOID.SERVER_AUTH
        if spec.role == "client":
            usage = ExtendedKeyUsageOID.CLIENT_AUTH
        key_encipherment = spec.key.startswith("RSA")
        if spec.hash_name == "sha1":
            _write(directory, name, _openssl_sha1(directory, spec, key, key_encipherment), key)
            continue
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(spec.common_name))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    True, False, key_encipherment, False, False, False, False, False, False
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        _write(directory, name, certificate, key)


def _openssl_sha1(
    directory: Path,
    spec: Spec,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    key_encipherment: bool,
) -> x509.Certificate:
    """A server certificate the lab CA signs with SHA-1, by openssl (cryptography will not)."""
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_name(spec.common_name))
        .sign(key, hashes.SHA256())
    )
    usages = "digitalSignature,keyEncipherment" if key_encipherment else "digitalSignature"
    with tempfile.TemporaryDirectory() as scratch:
        csr, extensions, out = (Path(scratch) / n for n in ("req.pem", "ext.cnf", "out.pem"))
        csr.write_bytes(request.public_bytes(serialization.Encoding.PEM))
        extensions.write_text(
            "basicConstraints=critical,CA:FALSE\n"
            f"keyUsage=critical,{usages}\n"
            "extendedKeyUsage=serverAuth\n"
        )
        subprocess.run(
            [
                "openssl",
                "x509",
                "-req",
                "-sha1",
                "-in",
                str(csr),
                "-CA",
                str(directory / "ca.pem"),
                "-CAkey",
                str(directory / "ca.key"),
                "-set_serial",
                str(x509.random_serial_number()),
                "-days",
                str(VALID_DAYS),
                "-extfile",
                str(extensions),
                "-out",
                str(out),
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "OPENSSL_CONF": "/dev/null"},
        )
        return x509.load_pem_x509_certificate(out.read_bytes())


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    make(Path(sys.argv[1]))
