"""A real TLS server whose certificate carries terminal escapes and a bidi override.

The certificate is made here with `cryptography` and served by `openssl
s_server`; the CLI audits it. The terminal report must show the characters
escaped and contain none of them; the JSON report must keep the text, escaped
only as JSON escapes it.
"""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hostile_helpers import assert_clean_exit, run_cli

OPENSSL = shutil.which("openssl")

pytestmark = [
    pytest.mark.skipif(OPENSSL is None, reason="needs the openssl command"),
    pytest.mark.timeout(30),
]

# Retitle the terminal, clear the screen, then reverse what follows.
HOSTILE_NAME = "evil\x1b]0;pwned\x07\x1b[2J\u202etxt.exe"
HOSTILE_DNS = "x\x1b[31m.example"
# How the subject shows it: RFC 4514 escapes the ";" and nothing else.
HOSTILE_NAME_RFC4514 = HOSTILE_NAME.replace(";", "\\;")


def _write_certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, HOSTILE_NAME),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Hostile \x1b[5mLtd"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOSTILE_DNS)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "hostile.pem", directory / "hostile.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def hostile_s_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """`openssl s_server` with the hostile certificate, TLS 1.2 and 1.3; yields its port."""
    assert OPENSSL is not None
    cert, key = _write_certificate(tmp_path_factory.mktemp("hostile-cert"))
    process = subprocess.Popen(
        [
            *(OPENSSL, "s_server", "-accept", "127.0.0.1:0", "-www"),
            *("-cert", str(cert), "-key", str(key), "-min_protocol", "TLSv1.2"),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = None
        deadline = time.monotonic() + 10
        while port is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            if line.startswith("ACCEPT"):
                port = int(line.rsplit(":", 1)[1])
        if port is None:
            pytest.fail("openssl s_server did not start")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_terminal_report_shows_escapes_and_contains_none(hostile_s_server: int) -> None:
    run = run_cli(f"127.0.0.1:{hostile_s_server}", "--verbose", "--timeout", "3")
    assert_clean_exit(run)
    # The certificate was read (the report is about it, not about a failure)...
    assert "pwned" in run.stdout
    # ...and nothing in the report would act on the terminal
    for character in ("\x1b", "\x07", "\u202e", "\x9b"):
        assert character not in run.stdout, repr(character)
        assert character not in run.stderr, repr(character)
    assert "CN=evil\\x1b]0\\;pwned\\x07\\x1b[2J\\u202etxt.exe" in run.stdout
    assert "x\\x1b[31m.example" in run.stdout


def test_json_report_keeps_the_text_escaped_as_json(hostile_s_server: int) -> None:
    run = run_cli(f"127.0.0.1:{hostile_s_server}", "--json", "-", "--timeout", "3")
    assert_clean_exit(run)
    for character in ("\x1b", "\x07", "\u202e"):
        assert character not in run.stdout, repr(character)  # only as \\u001b etc.
    (target,) = run.json()["targets"]
    (chain, *_) = [o for o in target["observations"] if o["kind"] == "certificate_chain"]
    leaf = chain["certificates"][0]
    # The JSON keeps what the server sent, exactly: a program reading it gets the real text
    assert f"CN={HOSTILE_NAME_RFC4514}" in leaf["subject"]
    assert leaf["san_dns"] == [HOSTILE_DNS]
    assert json.dumps(HOSTILE_NAME_RFC4514)[1:-1] in run.stdout  # "evil\u001b]0\\;pwned..."
