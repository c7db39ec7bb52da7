"""Host keys, the lab host CA and the host certificate of the ssh sub-lab.

    python3 lab/ssh/keys.py RUN/ssh    # fresh keys, then RUN/ssh/hostkeys.json

start.sh runs it at every start, so the keys (and their fingerprints) are new
each time. What is fixed, and therefore in ground_truth.json, is what KEYS and
CERTIFICATE below say: each target's key files, types and sizes, and the
certificate's key id, serial, principals and validity window. What changes per
start is written to RUN/ssh/hostkeys.json, read back from the files with the
OpenSSH tools: `ssh-keygen -lf` for type, bits and SHA256 fingerprint of each
public key, `ssh-keygen -Lf` for the certificate. verify.py compares that file
with what the running servers present (ssh-keyscan).

Keys are made by the tool of the server that loads them: ssh-keygen for sshd
and paramiko (OpenSSH private key format), dropbearkey for dropbear (its own
format; `dropbearkey -y` gives the public half, saved as FILE.pub).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.dont_write_bytecode = True  # keep lab/ free of __pycache__

# Times in ssh-keygen's output are local time: read them as UTC.
ENV = {**os.environ, "TZ": "UTC", "LC_ALL": "C"}


@dataclass(frozen=True)
class KeySpec:
    file: str  # under RUN/ssh/keys/TARGET/
    kind: str  # ssh-keygen / dropbearkey -t
    bits: int
    tool: str = "ssh-keygen"


# Per target, in the order the server loads them (sshd: HostKey order in the
# template; dropbear: -r order; paramiko: its one key).
KEYS: dict[str, list[KeySpec]] = {
    "ssh-hardened": [
        KeySpec("ssh_host_ed25519_key", "ed25519", 256),
        KeySpec("ssh_host_ecdsa_key", "ecdsa", 256),
    ],
    "ssh-legacy": [
        KeySpec("ssh_host_rsa_key", "rsa", 1024),
        KeySpec("ssh_host_dsa_key", "dsa", 1024),
    ],
    # The three key types Debian's dropbear package generates for itself.
    "dropbear": [
        KeySpec("dropbear_ed25519_host_key", "ed25519", 256, "dropbearkey"),
        KeySpec("dropbear_ecdsa_host_key", "ecdsa", 256, "dropbearkey"),
        KeySpec("dropbear_rsa_host_key", "rsa", 2048, "dropbearkey"),
    ],
    "paramiko": [KeySpec("ssh_host_ed25519_key", "ed25519", 256)],
}

# The lab host CA (ed25519) and the one host certificate it signs.
CA_FILE = "ca/host_ca"
CA_KIND = "ed25519"


@dataclass(frozen=True)
class CertSpec:
    target: str
    key: str  # the certified key's file under RUN/ssh/keys/TARGET/
    key_id: str
    serial: int
    principals: tuple[str, ...]
    validity: str  # ssh-keygen -V, "Z" = UTC
    valid_after: str  # the same window as ssh-keygen -L shows it (in UTC)
    valid_before: str


CERTIFICATE = CertSpec(
    target="ssh-hardened",
    key="ssh_host_ed25519_key",
    key_id="protoaudit-lab ssh-hardened",
    serial=1,
    principals=("localhost", "127.0.0.1"),
    validity="20250101Z:20350101Z",
    valid_after="2025-01-01T00:00:00",
    valid_before="2035-01-01T00:00:00",
)

# `ssh-keygen -l` labels -> the key's own SSH type name, as in a .pub file.
KEY_TYPE_BY_LABEL = {
    "ED25519": "ssh-ed25519",
    "RSA": "ssh-rsa",
    "DSA": "ssh-dss",
    "ECDSA": "ecdsa-sha2-nistp{bits}",
}


def key_type(kind: str, bits: int) -> str:
    """ssh-keygen -t KIND (-b BITS) -> the key's SSH type name."""
    return {"ed25519": "ssh-ed25519", "rsa": "ssh-rsa", "dsa": "ssh-dss"}.get(
        kind, f"ecdsa-sha2-nistp{bits}"
    )


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, env=ENV, capture_output=True, text=True, check=True).stdout


def key_path(run: Path, target: str, file: str) -> Path:
    return run / "keys" / target / file


def cert_path(run: Path) -> Path:
    return key_path(run, CERTIFICATE.target, CERTIFICATE.key + "-cert.pub")


def generate(run: Path) -> None:
    """Fresh keys under RUN/keys (anything there before is removed)."""
    keys = run / "keys"
    shutil.rmtree(keys, ignore_errors=True)
    for target, specs in KEYS.items():
        for spec in specs:
            path = key_path(run, target, spec.file)
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            comment = f"protoaudit-lab {target}"
            if spec.tool == "dropbearkey":
                _run("dropbearkey", "-t", spec.kind, "-s", str(spec.bits), "-f", str(path))
                pub = next(
                    line
                    for line in _run("dropbearkey", "-y", "-f", str(path)).splitlines()
                    if line.startswith(("ssh-", "ecdsa-"))
                )
                # Replace dropbearkey's user@host comment with ours.
                Path(f"{path}.pub").write_text(" ".join([*pub.split()[:2], comment]) + "\n")
            else:
                _run(
                    "ssh-keygen",
                    "-q",
                    "-t",
                    spec.kind,
                    "-b",
                    str(spec.bits),
                    "-N",
                    "",
                    "-C",
                    comment,
                    "-f",
                    str(path),
                )
    ca = run / "keys" / CA_FILE
    ca.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _run("ssh-keygen", "-q", "-t", CA_KIND, "-N", "", "-C", "protoaudit-lab host CA", "-f", str(ca))
    host_pub = key_path(run, CERTIFICATE.target, CERTIFICATE.key + ".pub")
    _run(
        "ssh-keygen",
        "-q",
        "-s",
        str(ca),
        "-h",
        "-I",
        CERTIFICATE.key_id,
        "-z",
        str(CERTIFICATE.serial),
        "-n",
        ",".join(CERTIFICATE.principals),
        "-V",
        CERTIFICATE.validity,
        str(host_pub),
    )


def fingerprint(pub: Path) -> dict[str, Any]:
    """Type, bits and SHA256 fingerprint of a public key file (ssh-keygen -lf)."""
    out = _run("ssh-keygen", "-E", "sha256", "-lf", str(pub)).strip()
    m = re.fullmatch(r"(\d+) (SHA256:\S+) .*\((\w+)\)", out)
    if not m:
        raise ValueError(f"ssh-keygen -lf {pub}: {out!r}")
    bits, fp, label = int(m[1]), m[2], m[3]
    return {
        "key_type": KEY_TYPE_BY_LABEL[label].format(bits=bits),
        "bits": bits,
        "fingerprint_sha256": fp,
    }


def certificate_facts(path: Path) -> dict[str, Any]:
    """The fields of `ssh-keygen -Lf CERT` that the lab's truth names."""
    return parse_certificate(_run("ssh-keygen", "-Lf", str(path)))


def parse_certificate(text: str) -> dict[str, Any]:
    """Parse `ssh-keygen -L` output (also used by verify.py on ssh-keyscan -c)."""
    lines = [line.strip() for line in text.splitlines()]
    out: dict[str, Any] = {}
    for i, line in enumerate(lines):
        if m := re.match(r"Type: (\S+) host certificate", line):
            out["type"] = m[1]
        elif m := re.match(r"Public key: \S+ (SHA256:\S+)", line):
            out["key_fingerprint_sha256"] = m[1]
        elif m := re.match(r"Signing CA: (\S+) (SHA256:\S+) \(using (\S+)\)", line):
            label = KEY_TYPE_BY_LABEL.get(m[1], m[1])  # an ECDSA CA would stay "ECDSA"
            out["ca_key_type"], out["ca_fingerprint_sha256"] = label, m[2]
            out["signature_algorithm"] = m[3]
        elif m := re.match(r'Key ID: "(.*)"', line):
            out["key_id"] = m[1]
        elif m := re.match(r"Serial: (\d+)", line):
            out["serial"] = int(m[1])
        elif m := re.match(r"Valid: from (\S+) to (\S+)", line):
            out["valid_after"], out["valid_before"] = m[1], m[2]
        elif line == "Principals:":
            principals = []
            for nxt in lines[i + 1 :]:
                if re.match(r"[A-Z][\w ]+:", nxt):
                    break
                principals.append(nxt)
            out["principals"] = principals
    return out


def hostkeys(run: Path) -> dict[str, Any]:
    ca_pub = run / "keys" / f"{CA_FILE}.pub"
    targets: dict[str, list[dict[str, Any]]] = {}
    for target, specs in KEYS.items():
        entries = []
        for spec in specs:
            pub = Path(f"{key_path(run, target, spec.file)}.pub")
            entry = {"file": f"keys/{target}/{spec.file}", **fingerprint(pub), "certificate": None}
            if target == CERTIFICATE.target and spec.file == CERTIFICATE.key:
                cert = certificate_facts(cert_path(run))
                entry["certificate"] = {"file": f"keys/{target}/{spec.file}-cert.pub", **cert}
            entries.append(entry)
        targets[target] = entries
    return {
        "generated_by": "lab/ssh/keys.py at start (keys are new every start)",
        "ca": {"file": CA_FILE, **fingerprint(ca_pub), "public_key": ca_pub.read_text().strip()},
        "targets": targets,
    }


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: keys.py RUN/ssh", file=sys.stderr)
        return 2
    run = Path(sys.argv[1])
    generate(run)
    facts = hostkeys(run)
    (run / "hostkeys.json").write_text(json.dumps(facts, indent=2) + "\n")
    print(f"keys.py: host keys and certificate in {run / 'keys'}, facts in {run / 'hostkeys.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
