"""A real TLS server whose certificate carries terminal escapes and a bidi override.

The certificate is made here with `cryptography` and served by `openssl
s_server`; the CLI audits it. The terminal report must show the characters
escaped and contain none of them; the JSON report must keep the text, escaped
only as JSON escapes it.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from hostile_helpers import assert_clean_exit, run_cli

from pki_helpers import OPENSSL, make_certificate, make_key, s_server, write_pem

pytestmark = [
    pytest.mark.skipif(OPENSSL is None, reason="needs the openssl command"),
    pytest.mark.timeout(30),
]

# Retitle the terminal, clear the screen, then reverse what follows.
HOSTILE_NAME = "evil\x1b]0;pwned\x07\x1b[2J\u202etxt.exe"
HOSTILE_DNS = "x\x1b[31m.example"
# How the subject shows it: RFC 4514 escapes the ";" and nothing else.
HOSTILE_NAME_RFC4514 = HOSTILE_NAME.replace(";", "\\;")


@pytest.fixture(scope="module")
def hostile_s_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """`openssl s_server` with the hostile certificate, TLS 1.2 and 1.3; yields its port."""
    directory = tmp_path_factory.mktemp("hostile-cert")
    key = make_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, HOSTILE_NAME),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Hostile \x1b[5mLtd"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    certificate = make_certificate(
        name,
        key,
        not_before=now - datetime.timedelta(days=1),
        not_after=now + datetime.timedelta(days=30),
        san_dns=[HOSTILE_DNS],
    )
    write_pem(directory / "hostile.pem", certificate)
    write_pem(directory / "hostile.key", key)
    arguments = ("-cert", "hostile.pem", "-key", "hostile.key", "-min_protocol", "TLSv1.2")
    with s_server(directory, *arguments) as port:
        yield port


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
