"""pgp_tables: what a person sees, with the key holder's text made safe."""

from __future__ import annotations

from io import StringIO

from rich.console import Console

from protoaudit.observations import Observation
from protoaudit.observations_pgp import OpenPgpKeyRecord, WkdFetch, WkdLookup
from protoaudit.pgp.reader import read_keys
from protoaudit.pgp_command import audit_key_file
from protoaudit.report.terminal_pgp import pgp_tables
from unit.pgp import pgp_builder as build
from unit.pgp.gpg_keys import NOW, GpgKeys


def render(observations: list[Observation], *, verbose: bool = False) -> str:
    console = Console(file=StringIO(), width=200, force_terminal=True, color_system=None)
    for shown in pgp_tables(observations, verbose):
        console.print(shown)
    output = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(output, str)
    return output


def test_keyring_tables(gpg_keys: GpgKeys) -> None:
    text = render(audit_key_file(gpg_keys.keyring_armored, now=NOW, name="ring.asc"))
    assert "ASCII armor, checksum valid" in text
    assert "10 in " in text
    for fingerprint in gpg_keys.fingerprints.values():
        assert f"OpenPGP key {fingerprint}" in text
    for shown in ("RSA 1024 bits", "DSA 2048 bits", "Elgamal 2048 bits", "NIST P-256"):
        assert shown in text
    assert "EdDSALegacy Ed25519Legacy 255 bits" in text
    assert "ECDH Curve25519Legacy 255 bits" in text
    assert "expired 2020-12-31" in text
    assert "until 2026-06-10" in text
    assert "revoked: no reason specified" in text
    assert "SHA-1 v4, verified" in text
    assert "SHA2-512 v4, verified" in text
    assert "encrypt" in text


def test_hostile_user_id_and_reason_are_escaped() -> None:
    evil = b"\x1b]0;owned\x07\x1b[2J Eve \xe2\x80\xae<moc.elpmaxe@eve>"
    data = build.certificate(build.Key(), [evil], revocation=b"\x02\x1b[31mred\x1b[0m")
    text = render(audit_key_file(data, now=NOW, name="\x1b[1mfile"))
    assert "\x1b" not in text
    assert "\u202e" not in text
    assert "\\x1b]0;owned" in text
    assert "\\u202e" in text
    assert "key material has been compromised" in text


def test_secret_and_unchecked_notes(gpg_keys: GpgKeys) -> None:
    text = render(audit_key_file(gpg_keys.secret, now=NOW))
    assert "secret key material" in text


def test_many_user_ids_are_cut_unless_verbose() -> None:
    user_ids = [f"user {index} <u{index}@example.test>".encode() for index in range(12)]
    observations = audit_key_file(build.certificate(build.Key(), user_ids), now=NOW)
    assert "… 4 more (-v shows those read)" in render(observations)
    assert "more (-v" not in render(observations, verbose=True)


def test_published_key_tables() -> None:
    data = build.certificate(build.Key(), [b"a@example.test"])
    source, keys = read_keys(data, now=NOW, origin="wkd", name="https://x/", address="a@x.test")
    lookup = WkdLookup(
        address="a@x.test",
        local_part="a",
        domain="x.test",
        hashed_local_part="ybndrfg8",
        advanced_url="https://openpgpkey.x.test/.well-known/openpgpkey/x.test/hu/ybndrfg8?l=a",
        direct_url="https://x.test/.well-known/openpgpkey/hu/ybndrfg8?l=a",
        fetched=True,
        fetches=(
            WkdFetch("advanced", "https://openpgpkey.x.test/…", None, None, 0, "refused", False),
            WkdFetch("direct", "https://x.test/…", 200, "application/octet-stream", 99, None, True),
        ),
    )
    record = OpenPgpKeyRecord(
        address="a@x.test",
        owner="ca978112._openpgpkey.x.test.",
        dnssec_status="insecure",
        dnssec_reason="unsigned_delegation",
        authenticated=False,
        rcode="NOERROR",
        records=1,
        record_sizes=(99,),
        problem=None,
        detail="zone x.test.: no DS",
    )
    text = render([record, lookup, source, *keys])
    assert "OPENPGPKEY for a@x.test" in text
    assert "insecure (unsigned_delegation)" in text
    assert "key authenticated │ no" in text
    assert "Web Key Directory for a@x.test" in text
    assert "HTTP 200, 99 octets, application/octet-stream; key read" in text
    assert "refused" in text
    assert "from         │ Web Key Directory" in text


def test_wkd_not_fetched() -> None:
    lookup = WkdLookup("a@x.test", "a", "x.test", "h", "https://a", "https://b", False, ())
    assert "no (not allowed for this run)" in render([lookup])
