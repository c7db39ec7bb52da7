"""Keys made by GnuPG during the test run, once per session, in a throw-away GNUPGHOME.

Every key is made with `--faked-system-time` so that its dates are fixed (2026-01-01,
the expired one 2020-01-01) and the tests can judge them at a fixed NOW. The revoked key
gets the revocation certificate GnuPG wrote for it imported back; the SHA-1 key is
certified with `--cert-digest-algo SHA1`. Each key is exported binary and armored, the
whole keyring once each way, and one key with its secret part.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

CREATED = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
EXPIRED_CREATED = datetime(2020, 1, 1, tzinfo=UTC)
_TIME = "20260101T000000!"
_OLD_TIME = "20200101T000000!"

# name -> (primary algorithm, usage, expiry, subkey algorithm or None, extra gpg options)
SPECS: dict[str, tuple[str, str, str, str | None, tuple[str, ...]]] = {
    "rsa1024": ("rsa1024", "default", "never", None, ()),
    "rsa2048": ("rsa2048", "cert,sign", "never", "rsa2048", ()),
    "rsa3072": ("rsa3072", "cert,sign", "never", "rsa3072", ()),
    "ed25519": ("ed25519", "cert,sign", "never", "cv25519", ()),
    "dsa": ("dsa2048", "cert,sign", "never", "elg2048", ()),
    "nistp256": ("nistp256", "cert,sign", "never", "nistp256", ()),
    "expired": ("ed25519", "cert,sign", "1y", "cv25519", ()),
    "revoked": ("ed25519", "cert,sign", "never", "cv25519", ()),
    "sha1": ("rsa2048", "cert,sign", "never", "rsa2048", ("--cert-digest-algo", "SHA1")),
    "soon": ("ed25519", "cert,sign", "160d", "cv25519", ()),
}


@dataclass
class GpgKeys:
    home: Path
    fingerprints: dict[str, str] = field(default_factory=dict)
    binary: dict[str, bytes] = field(default_factory=dict)
    armored: dict[str, bytes] = field(default_factory=dict)
    keyring_binary: bytes = b""
    keyring_armored: bytes = b""
    secret: bytes = b""  # the ed25519 key with its secret part, binary

    def address(self, name: str) -> str:
        return f"{name}@example.test"


def available() -> bool:
    return shutil.which("gpg") is not None and shutil.which("gpgconf") is not None


def _gpg(home: Path, *arguments: str, time: str = _TIME) -> bytes:
    command = [
        "gpg",
        "--homedir",
        str(home),
        "--batch",
        "--no-tty",
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        "",
        "--faked-system-time",
        time,
        "--status-fd",
        "2",
        *arguments,
    ]
    done = subprocess.run(command, capture_output=True, check=False, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)}: {done.stderr.decode(errors='replace')}")
    return done.stdout + done.stderr


def _created_fingerprint(output: bytes) -> str:
    for line in output.decode(errors="replace").splitlines():
        if "KEY_CREATED" in line:
            return line.split()[-1]
    raise RuntimeError(f"no KEY_CREATED in {output!r}")


def generate(home: Path) -> GpgKeys:
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    keys = GpgKeys(home)
    for name, (algorithm, usage, expire, subkey, options) in SPECS.items():
        time = _OLD_TIME if name == "expired" else _TIME
        user_id = f"Test {name} <{keys.address(name)}>"
        output = _gpg(
            home, *options, "--quick-gen-key", user_id, algorithm, usage, expire, time=time
        )
        fingerprint = _created_fingerprint(output)
        keys.fingerprints[name] = fingerprint
        if subkey is not None:
            _gpg(home, *options, "--quick-add-key", fingerprint, subkey, "encr", expire, time=time)
        if name == "revoked":
            certificate = (home / "openpgp-revocs.d" / f"{fingerprint}.rev").read_bytes()
            revocation = home / "revocation.asc"
            revocation.write_bytes(certificate.replace(b":-----BEGIN", b"-----BEGIN"))
            _gpg(home, "--import", str(revocation))
    for name, fingerprint in keys.fingerprints.items():
        keys.binary[name] = _gpg_out(home, "--export", fingerprint)
        keys.armored[name] = _gpg_out(home, "--armor", "--export", fingerprint)
    keys.keyring_binary = _gpg_out(home, "--export")
    keys.keyring_armored = _gpg_out(home, "--armor", "--export")
    keys.secret = _gpg_out(home, "--export-secret-keys", keys.fingerprints["ed25519"])
    return keys


def _gpg_out(home: Path, *arguments: str) -> bytes:
    command = [
        "gpg", "--homedir", str(home), "--batch", "--no-tty", "--pinentry-mode", "loopback",
        "--passphrase", "", *arguments,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, check=False, timeout=60)
    if done.returncode != 0 or not done.stdout:
        raise RuntimeError(f"{' '.join(arguments)}: {done.stderr.decode(errors='replace')}")
    return done.stdout


def stop_agent(home: Path) -> None:
    subprocess.run(
        ["gpgconf", "--homedir", str(home), "--kill", "all"],
        capture_output=True,
        check=False,
        timeout=30,
    )
