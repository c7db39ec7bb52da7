"""`protoaudit pgp`: key files and stdin through the CLI, into the report and the JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from unit.pgp.gpg_keys import GpgKeys


def run(*arguments: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "protoaudit", "pgp", *arguments],
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_a_keyring_and_stdin_are_audited_and_a_bad_file_is_one_line(
    gpg_keys: GpgKeys, tmp_path: Path
) -> None:
    # Given a keyring export on disk, one armored key on stdin, and a file of garbage
    keyring = tmp_path / "ring.gpg"
    keyring.write_bytes(gpg_keys.keyring_binary)
    junk = tmp_path / "junk.asc"
    junk.write_bytes(b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot base64 at all\n")
    (name, armored) = next(iter(gpg_keys.armored.items()))

    done = run(str(keyring), "-", str(junk), "--json", "-", stdin=armored)

    # Then both readable inputs are reported, the garbage is "not scanned" with its reason
    # (exit 3), and nothing is a traceback
    assert done.returncode == 3, done.stderr
    assert b"Traceback" not in done.stderr
    document = json.loads(done.stdout)
    by_name = {t["target"]: t for t in document["targets"]}
    assert set(by_name) == {str(keyring), "-"}
    ring_keys = [o for o in by_name[str(keyring)]["observations"] if o["kind"] == "pgp_key"]
    assert len(ring_keys) == len(gpg_keys.fingerprints)
    (stdin_key,) = [o for o in by_name["-"]["observations"] if o["kind"] == "pgp_key"]
    assert stdin_key["fingerprint"] == gpg_keys.fingerprints[name]
    (error,) = document["errors"]
    assert error["target"] == str(junk)
    assert "\n" not in error["reason"]


def test_a_file_name_full_of_escapes_is_shown_escaped(tmp_path: Path) -> None:
    # Given a file whose name carries terminal escapes, and that holds no key
    junk = tmp_path / "\x1b[2Jowned\x07.asc"
    junk.write_bytes(b"\x00" * 10)

    done = run(str(junk))

    # Then the "skipped" line names it, escaped: nothing a terminal would act on
    assert done.returncode == 3
    assert b"skipped" in done.stderr
    assert b"\x1b" not in done.stderr
    assert b"\x07" not in done.stderr
    assert b"\\x1b[2Jowned" in done.stderr
