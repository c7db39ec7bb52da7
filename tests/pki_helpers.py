"""Test PKI: keys, certificates and chains made with `cryptography`, and an
`openssl s_server` that serves them on loopback.

Certificates follow the WebPKI profile (basicConstraints, key identifiers, keyUsage
on CAs, serverAuth on leaves), so that the verifier refuses them only for what a
test changes. pyproject puts tests/ on pytest's path, so every test folder can
`import pki_helpers`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import selectors
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

OPENSSL = shutil.which("openssl")

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
Issuer = tuple[x509.Certificate, PrivateKey]

KEY_KINDS: dict[str, Callable[[], PrivateKey]] = {
    "ec": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ec-p384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "rsa": lambda: rsa.generate_private_key(65537, 2048),
    "rsa-1024": lambda: rsa.generate_private_key(65537, 1024),
    "ed25519": ed25519.Ed25519PrivateKey.generate,
}

CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


def make_key(kind: str = "ec") -> PrivateKey:
    """A fresh private key: "ec" (P-256), "ec-p384", "rsa" (2048 bits), "rsa-1024", "ed25519"."""
    return KEY_KINDS[kind]()


def make_certificate(
    subject: str | x509.Name,
    key: PrivateKey,
    issuer: Issuer | None = None,
    *,
    not_before: dt.datetime,
    not_after: dt.datetime,
    san_dns: Sequence[str] = (),
    san_ip: Sequence[str] = (),
    ca: bool = False,
    ca_key_usage: bool = True,
    serial: int | None = None,
    hash_algorithm: hashes.SHA256 | hashes.SHA384 | None = None,
    extensions: Sequence[x509.ExtensionType] = (),
) -> x509.Certificate:
    """A certificate as a public CA would make it; self-signed when `issuer` is None.

    `subject` is a common name or a whole name. A CA gets keyUsage (unless
    `ca_key_usage` is False, which the WebPKI forbids), a leaf gets serverAuth.
    """
    subject_name = subject if isinstance(subject, x509.Name) else common_name(subject)
    issuer_name = issuer[0].subject if issuer else subject_name
    signing_key = issuer[1] if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject_name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()),
            critical=False,
        )
    )
    if ca and ca_key_usage:
        builder = builder.add_extension(CA_KEY_USAGE, critical=True)
    elif not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in san_dns]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in san_ip]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    if isinstance(signing_key, ed25519.Ed25519PrivateKey):
        return builder.sign(signing_key, None)
    return builder.sign(signing_key, hash_algorithm or hashes.SHA256())


def common_name(value: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, value)])


def make_chain(
    ca_prefix: str,
    leaf_subject: str,
    leaf_key: PrivateKey | None = None,
    *,
    not_before: dt.datetime,
    not_after: dt.datetime,
    **leaf_options: object,
) -> tuple[Issuer, Issuer, Issuer]:
    """Root -> intermediate -> leaf, as (certificate, key) pairs; the CAs are P-256.

    The CAs are named "{ca_prefix} Root" and "{ca_prefix} Intermediate"; the
    intermediate and the leaf share the validity given, the root outlives it by
    ten years. `leaf_options` go to make_certificate for the leaf.
    """
    root_key = make_key()
    root_not_after = not_after + dt.timedelta(days=3650)
    root = make_certificate(
        f"{ca_prefix} Root", root_key, ca=True, not_before=not_before, not_after=root_not_after
    )
    intermediate_key = make_key()
    intermediate = make_certificate(
        f"{ca_prefix} Intermediate",
        intermediate_key,
        (root, root_key),
        ca=True,
        not_before=not_before,
        not_after=not_after,
    )
    leaf_key = leaf_key or make_key()
    leaf = make_certificate(
        leaf_subject,
        leaf_key,
        (intermediate, intermediate_key),
        not_before=not_before,
        not_after=not_after,
        **leaf_options,  # type: ignore[arg-type]
    )
    return (root, root_key), (intermediate, intermediate_key), (leaf, leaf_key)


def write_pem(path: Path, *items: x509.Certificate | PrivateKey) -> Path:
    """Certificates and unencrypted PKCS#8 keys, one after the other, to `path`."""
    pem = b""
    for item in items:
        if isinstance(item, x509.Certificate):
            pem += item.public_bytes(serialization.Encoding.PEM)
        else:
            pem += item.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
    path.write_bytes(pem)
    return path


@contextmanager
def s_server(
    directory: Path, *arguments: str, limit: float = 10.0, host: str = "127.0.0.1"
) -> Iterator[int]:
    """`openssl s_server -www` on a loopback port it picks, run in `directory`; yields the port.

    `host` is 127.0.0.1 or, bracketed, an IPv6 loopback such as "[::1]".
    `arguments` name the certificates, keys and options (relative to `directory`).
    """
    assert OPENSSL is not None
    process = subprocess.Popen(
        [OPENSSL, "s_server", "-accept", f"{host}:0", "-www", *arguments],
        cwd=directory,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        yield _read_accept_port(process, limit)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _read_accept_port(process: subprocess.Popen[bytes], limit: float) -> int:
    """s_server prints `ACCEPT 127.0.0.1:PORT` once it listens on the port we let it pick."""
    assert process.stdout is not None
    end = time.monotonic() + limit
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < end:
            if not selector.select(end - time.monotonic()):
                break
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                break
            buffer += chunk
            for line in buffer.splitlines():
                if line.startswith(b"ACCEPT "):
                    return int(line.rsplit(b":", 1)[1])
    raise RuntimeError(f"openssl s_server did not start: {buffer!r}")
