"""Make the lab's PKI: a root CA, an intermediate CA, the leaves and DH params.

Run by lab/start.sh at every start, so the lab never serves a certificate that
has expired by accident (only the ``expired`` leaf is expired, on purpose).

    python3 lab/pki.py [RUN_DIR]      # default: $PROTOAUDIT_LAB_DIR or /tmp/protoaudit-lab

Files written into RUN_DIR/pki:
    ca.pem                  the lab root: what tests pass as --ca-file
    intermediate.pem        the CA that signs every leaf but the self-signed one
    <leaf>.key              private key of each leaf in LEAVES
    <leaf>.pem              the leaf certificate alone
    <leaf>.chain.pem        what the server sends: leaf, then the intermediate when
                            LEAVES says the chain is served complete
    dh1024.pem              weak DH group for the legacy target (kept between starts:
                            generating it is the only slow step)
    ffdhe2048.pem           RFC 7919 group for nginx and gnutls-serv

LEAVES is also imported by lab/ground_truth.py: the certificate facts in the
ground truth come from the same table that made the certificates.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_RUN_DIR = "/tmp/protoaudit-lab"
LAB_NAMES = ("localhost", "127.0.0.1")  # what a client connecting to the lab asks for


@dataclass(frozen=True)
class Leaf:
    key_type: str  # "RSA-2048" or "ECDSA-P256"
    names: tuple[str, ...]  # SAN entries: DNS names, or IP addresses
    issuer: str  # "intermediate" or "self"
    chain_complete: bool  # is the intermediate served after the leaf?
    expired: bool = False


LEAVES: dict[str, Leaf] = {
    "rsa": Leaf("RSA-2048", LAB_NAMES, "intermediate", True),
    "ecdsa": Leaf("ECDSA-P256", LAB_NAMES, "intermediate", True),
    "expired": Leaf("RSA-2048", LAB_NAMES, "intermediate", True, expired=True),
    "self-signed": Leaf("RSA-2048", LAB_NAMES, "self", False),
    "wrong-host": Leaf("RSA-2048", ("wrong.example",), "intermediate", True),
    "incomplete": Leaf("RSA-2048", LAB_NAMES, "intermediate", False),
}

ROOT_CN = "protoaudit lab root CA"
INTERMEDIATE_CN = "protoaudit lab intermediate CA"
DH_WEAK_BITS = 1024
DH_NAMED_GROUP = "ffdhe2048"


def _new_key(key_type: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if key_type == "RSA-2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "ECDSA-P256":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(key_type)


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "protoaudit lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _san(names: tuple[str, ...]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for n in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            entries.append(x509.DNSName(n))
    return x509.SubjectAlternativeName(entries)


def _cert(
    subject: x509.Name,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    not_before: dt.datetime,
    not_after: dt.datetime,
    names: tuple[str, ...] = (),
    path_len: int | None = None,
) -> x509.Certificate:
    pub = key.public_key()
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(pub)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_len), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if ca:
        usage = {"key_cert_sign": True, "crl_sign": True}
    else:
        # keyEncipherment only for RSA: static-RSA key exchange (legacy target)
        # needs it, and an ECDSA key cannot encipher.
        usage = {
            "digital_signature": True,
            "key_encipherment": isinstance(key, rsa.RSAPrivateKey),
        }
        b = b.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        ).add_extension(_san(names), critical=False)
    flags = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    flags.update(usage)
    b = b.add_extension(x509.KeyUsage(**flags), critical=True)
    return b.sign(issuer_key, hashes.SHA256())


def _write_key(path: Path, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _dh_params(out: Path) -> None:
    """DH groups come from the openssl CLI: cryptography cannot emit RFC 7919 groups."""
    weak = out / "dh1024.pem"
    if not weak.exists():  # keep it: a fresh 1024-bit prime can take seconds
        subprocess.run(
            ["openssl", "dhparam", "-out", str(weak), str(DH_WEAK_BITS)],
            check=True,
            capture_output=True,
        )
    subprocess.run(
        [
            "openssl",
            "genpkey",
            "-genparam",
            "-algorithm",
            "DH",
            "-pkeyopt",
            f"group:{DH_NAMED_GROUP}",
            "-out",
            str(out / f"{DH_NAMED_GROUP}.pem"),
        ],
        check=True,
        capture_output=True,
    )


def make_pki(run_dir: Path) -> Path:
    out = run_dir / "pki"
    out.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    # Backdate a day: a client whose clock lags must not see "not yet valid".
    start, end = now - dt.timedelta(days=1), now + dt.timedelta(days=365)

    root_key = _new_key("RSA-2048")
    root = _cert(
        _name(ROOT_CN),
        root_key,
        _name(ROOT_CN),
        root_key,
        ca=True,
        not_before=start,
        not_after=end + dt.timedelta(days=365),
    )
    int_key = _new_key("RSA-2048")
    inter = _cert(
        _name(INTERMEDIATE_CN),
        int_key,
        root.subject,
        root_key,
        ca=True,
        path_len=0,
        not_before=start,
        not_after=end + dt.timedelta(days=180),
    )
    (out / "ca.pem").write_bytes(_pem(root))
    (out / "intermediate.pem").write_bytes(_pem(inter))

    for label, spec in LEAVES.items():
        key = _new_key(spec.key_type)
        subject = _name(spec.names[0])
        if spec.issuer == "self":
            issuer, issuer_key = subject, key
        else:
            issuer, issuer_key = inter.subject, int_key
        nb, na = start, end
        if spec.expired:  # issued by a CA that is itself valid: only the leaf is stale
            nb, na = now - dt.timedelta(days=60), now - dt.timedelta(days=30)
        cert = _cert(
            subject,
            key,
            issuer,
            issuer_key,
            ca=False,
            names=spec.names,
            not_before=nb,
            not_after=na,
        )
        _write_key(out / f"{label}.key", key)
        (out / f"{label}.pem").write_bytes(_pem(cert))
        chain = (cert, inter) if spec.chain_complete else (cert,)
        (out / f"{label}.chain.pem").write_bytes(_pem(*chain))

    _dh_params(out)
    return out


def main() -> int:
    run_dir = Path(
        sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PROTOAUDIT_LAB_DIR", DEFAULT_RUN_DIR)
    )
    out = make_pki(run_dir)
    print(f"pki.py: lab PKI in {out} (root: {out / 'ca.pem'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
