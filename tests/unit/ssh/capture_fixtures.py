"""Re-capture the golden SSH server bytes in fixtures/ from a real sshd and dropbear.

Run by hand, on purpose, and review the diff (needs openssh-server, openssh-client and
dropbear-bin; only 127.0.0.1 is used, and the servers are stopped at the end):

    python3 tests/unit/ssh/capture_fixtures.py

It makes throwaway host keys (RSA 2048, ECDSA P-256/P-384/P-521, Ed25519, DSA),
two CAs and three host certificates in a temporary directory, starts sshd twice
(OpenSSH's defaults, and a legacy configuration that adds ssh-dss, ssh-rsa and the
SHA-1 methods) and dropbear once, runs our KeyExchange client against them with a
seeded rng (so that the client's bytes, and so the exchange hash, are replayable),
and saves everything each server sent as fixtures/<capture>.hex. What the tests
assert comes from the servers' own tools, written to fixtures/expected.json:
`ssh-keygen -l` fingerprints and bits, `ssh-keygen -L` certificate fields, `sshd -T`
algorithm lists.

Before writing, it runs every key exchange method we implement and every host-key
algorithm the servers can offer, and stops if any signature fails to verify.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from ssh_helpers import FIXTURES, seeded_rng

from protoaudit.proto.ssh.kex import (
    ClientOffer,
    Event,
    KexReplyReceived,
    KeyExchange,
    Malformed,
    NoCommonAlgorithm,
)
from protoaudit.proto.ssh.methods import supported_kex_methods

HOST = "127.0.0.1"
OPENSSH_PORT = 22201
LEGACY_PORT = 22202
DROPBEAR_PORT = 22203
VALIDITY = "20260101000000Z:20360101000000Z"
# (file stem, ssh-keygen arguments)
HOST_KEYS = {
    "host_rsa": ["-t", "rsa", "-b", "2048"],
    "host_ecdsa256": ["-t", "ecdsa", "-b", "256"],
    "host_ecdsa384": ["-t", "ecdsa", "-b", "384"],
    "host_ecdsa521": ["-t", "ecdsa", "-b", "521"],
    "host_ed25519": ["-t", "ed25519"],
    "host_dsa": ["-t", "dsa"],
    "ca_ed25519": ["-t", "ed25519"],
    "ca_rsa": ["-t", "rsa", "-b", "2048"],
}
# dropbear key kind: dropbearkey arguments. Dropbear 2022.83 loads at most four host keys.
DROPBEAR_KEYS = {
    "rsa": ["-s", "2048"],
    "ecdsa256": ["-s", "256"],
    "ed25519": [],
    "dss": [],
}
# certificate stem: (host key, CA, CA signature format, serial, key id, principals, validity)
CERTIFICATES = {
    "host_ed25519-cert": (
        "host_ed25519",
        "ca_ed25519",
        None,
        42,
        "ed25519 host",
        "localhost,127.0.0.1",
        VALIDITY,
    ),
    "host_rsa-cert": ("host_rsa", "ca_rsa", "rsa-sha2-512", 7, "rsa host", "localhost", VALIDITY),
    "host_ecdsa384-cert": (
        "host_ecdsa384",
        "ca_ed25519",
        None,
        0,
        "forever",
        "",
        "always:forever",
    ),
}
# capture name: (server, kex, host-key algorithm, stop_after, host key stem)
CAPTURES = {
    "openssh_curve25519_ed25519": (
        "openssh",
        "curve25519-sha256",
        "ssh-ed25519",
        "reply",
        "host_ed25519",
    ),
    "openssh_libssh_rsa512": (
        "openssh",
        "curve25519-sha256@libssh.org",
        "rsa-sha2-512",
        "reply",
        "host_rsa",
    ),
    "openssh_nistp256": (
        "openssh",
        "ecdh-sha2-nistp256",
        "ecdsa-sha2-nistp256",
        "reply",
        "host_ecdsa256",
    ),
    "openssh_nistp384": (
        "openssh",
        "ecdh-sha2-nistp384",
        "ecdsa-sha2-nistp384",
        "reply",
        "host_ecdsa384",
    ),
    "openssh_nistp521": (
        "openssh",
        "ecdh-sha2-nistp521",
        "ecdsa-sha2-nistp521",
        "reply",
        "host_ecdsa521",
    ),
    "openssh_group14_rsa256": (
        "openssh",
        "diffie-hellman-group14-sha256",
        "rsa-sha2-256",
        "reply",
        "host_rsa",
    ),
    "openssh_group16_ed25519": (
        "openssh",
        "diffie-hellman-group16-sha512",
        "ssh-ed25519",
        "reply",
        "host_ed25519",
    ),
    "openssh_group18_ecdsa256": (
        "openssh",
        "diffie-hellman-group18-sha512",
        "ecdsa-sha2-nistp256",
        "reply",
        "host_ecdsa256",
    ),
    "openssh_gex256_ed25519": (
        "openssh",
        "diffie-hellman-group-exchange-sha256",
        "ssh-ed25519",
        "reply",
        "host_ed25519",
    ),
    "openssh_gex_group_only": (
        "openssh",
        "diffie-hellman-group-exchange-sha256",
        "ssh-ed25519",
        "gex_group",
        "host_ed25519",
    ),
    "openssh_cert_ed25519": (
        "openssh",
        "curve25519-sha256",
        "ssh-ed25519-cert-v01@openssh.com",
        "reply",
        "host_ed25519-cert",
    ),
    "openssh_cert_rsa512": (
        "openssh",
        "curve25519-sha256",
        "rsa-sha2-512-cert-v01@openssh.com",
        "reply",
        "host_rsa-cert",
    ),
    "openssh_cert_ecdsa384": (
        "openssh",
        "curve25519-sha256",
        "ecdsa-sha2-nistp384-cert-v01@openssh.com",
        "reply",
        "host_ecdsa384-cert",
    ),
    "legacy_group1_dss": (
        "legacy",
        "diffie-hellman-group1-sha1",
        "ssh-dss",
        "reply",
        "host_dsa",
    ),
    "legacy_gex1_ssh_rsa": (
        "legacy",
        "diffie-hellman-group-exchange-sha1",
        "ssh-rsa",
        "reply",
        "host_rsa",
    ),
    "dropbear_curve25519_ed25519": (
        "dropbear",
        "curve25519-sha256",
        "ssh-ed25519",
        "reply",
        "dropbear_ed25519",
    ),
    "dropbear_group14_rsa256": (
        "dropbear",
        "diffie-hellman-group14-sha256",
        "rsa-sha2-256",
        "reply",
        "dropbear_rsa",
    ),
    "dropbear_nistp256": (
        "dropbear",
        "ecdh-sha2-nistp256",
        "ecdsa-sha2-nistp256",
        "reply",
        "dropbear_ecdsa256",
    ),
    "dropbear_nistp521_dss": (
        "dropbear",
        "ecdh-sha2-nistp521",
        "ssh-dss",
        "reply",
        "dropbear_dss",
    ),
}
# Captures whose client bytes are kept too, so that the client's encoding is golden.
GOLDEN_CLIENT_BYTES = ("openssh_curve25519_ed25519", "openssh_gex256_ed25519")
LEGACY_OPTIONS = [
    "HostKeyAlgorithms +ssh-dss,ssh-rsa,ssh-rsa-cert-v01@openssh.com",
    "KexAlgorithms +diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,"
    "diffie-hellman-group-exchange-sha1",
]


def run(*command: str, directory: Path | None = None) -> str:
    done = subprocess.run(command, cwd=directory, capture_output=True, text=True, check=True)
    return done.stdout + done.stderr


def make_keys(directory: Path) -> None:
    for stem, arguments in HOST_KEYS.items():
        run("ssh-keygen", "-q", *arguments, "-N", "", "-C", stem, "-f", str(directory / stem))
    for stem, (key, ca, ca_format, serial, key_id, principals, validity) in CERTIFICATES.items():
        command = ["ssh-keygen", "-q", "-s", str(directory / ca), "-I", key_id, "-h"]
        command += ["-z", str(serial), "-V", validity]
        if principals:
            command += ["-n", principals]
        if ca_format:
            command += ["-t", ca_format]
        run(*command, str(directory / f"{key}.pub"))
        assert (directory / f"{stem}.pub").exists(), stem
    for kind, arguments in DROPBEAR_KEYS.items():
        stem = f"dropbear_{kind}"
        key_type = "ecdsa" if kind.startswith("ecdsa") else kind
        run("dropbearkey", "-t", key_type, *arguments, "-f", str(directory / stem))
        public = run("dropbearkey", "-y", "-f", str(directory / stem))
        line = next(line for line in public.splitlines() if line.startswith(("ssh-", "ecdsa-")))
        (directory / f"{stem}.pub").write_text(line + "\n")


def key_facts(directory: Path, stem: str) -> dict[str, Any]:
    """What ssh-keygen says of one public key or certificate file."""
    path = directory / f"{stem}.pub"
    key_type, blob = path.read_text().split()[:2]
    bits, fingerprint = run("ssh-keygen", "-l", "-f", str(path)).split()[:2]
    facts: dict[str, Any] = {
        "type": key_type,
        "blob": blob,
        "bits": int(bits),
        "fingerprint": fingerprint,
    }
    if stem.endswith("-cert"):
        facts["certificate"] = certificate_facts(run("ssh-keygen", "-L", "-f", str(path)))
    return facts


def certificate_facts(listing: str) -> dict[str, Any]:
    """The fields `ssh-keygen -L` prints, as the tests compare them."""
    ca = re.search(r"Signing CA: \S+ (SHA256:\S+) \(using (\S+)\)", listing)
    key_id = re.search(r'Key ID: "(.*)"', listing)
    serial = re.search(r"Serial: (\d+)", listing)
    valid = re.search(r"Valid: (.*)", listing)
    principals_block = listing.split("Principals:", 1)[1].split("Critical Options:", 1)[0]
    assert ca is not None, listing
    assert key_id is not None, listing
    assert serial is not None, listing
    assert valid is not None, listing
    return {
        "host": "host certificate" in listing,
        "ca_fingerprint": ca.group(1),
        "signature_algorithm": ca.group(2),
        "key_id": key_id.group(1),
        "serial": int(serial.group(1)),
        "valid": valid.group(1).strip(),
        "principals": [
            line.strip()
            for line in principals_block.splitlines()
            if line.strip() and line.strip() != "(none)"
        ],
    }


def sshd_config(directory: Path, name: str, port: int, extra: list[str]) -> Path:
    lines = [f"HostKey {directory / stem}" for stem in HOST_KEYS if stem.startswith("host_")]
    lines += [f"HostCertificate {directory / stem}.pub" for stem in CERTIFICATES]
    lines += [
        f"ListenAddress {HOST}:{port}",
        f"PidFile {directory / name}.pid",
        "UsePAM no",
        *extra,
    ]
    path = directory / f"{name}.conf"
    path.write_text("\n".join(lines) + "\n")
    return path


def sshd_lists(config: Path) -> dict[str, Any]:
    listing = run("/usr/sbin/sshd", "-T", "-f", str(config))
    wanted = ("kexalgorithms", "hostkeyalgorithms", "ciphers", "macs", "compression")
    lists: dict[str, Any] = {}
    for line in listing.splitlines():
        key, _, value = line.partition(" ")
        if key in wanted:
            lists[key] = value if key == "compression" else value.split(",")
    return lists


def wait_for(port: int) -> None:
    for _ in range(100):
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


@contextlib.contextmanager
def servers(directory: Path) -> Iterator[dict[str, Any]]:
    """sshd (defaults), sshd (legacy) and dropbear on loopback; stopped on the way out."""
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
    openssh = sshd_config(directory, "openssh", OPENSSH_PORT, [])
    legacy = sshd_config(directory, "legacy", LEGACY_PORT, LEGACY_OPTIONS)
    log = (directory / "servers.log").open("w")
    commands = [["/usr/sbin/sshd", "-D", "-e", "-f", str(config)] for config in (openssh, legacy)]
    dropbear = ["dropbear", "-F", "-E", "-s", "-p", f"{HOST}:{DROPBEAR_PORT}"]
    for kind in DROPBEAR_KEYS:
        dropbear += ["-r", str(directory / f"dropbear_{kind}")]
    commands.append(dropbear)
    processes = [subprocess.Popen(command, stderr=log) for command in commands]
    try:
        for port in (OPENSSH_PORT, LEGACY_PORT, DROPBEAR_PORT):
            wait_for(port)
        yield {"openssh": sshd_lists(openssh), "legacy": sshd_lists(legacy)}
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=5)
        log.close()


def exchange(port: int, machine: KeyExchange) -> tuple[bytes, list[Event], bytes]:
    """Run `machine` against the server: what the server sent, the events, what we sent."""
    received = bytearray()
    sent = bytearray()
    events: list[Event] = []
    with socket.create_connection((HOST, port), timeout=5) as connection:
        while not machine.finished:
            outgoing = machine.bytes_to_send()
            if outgoing:
                connection.sendall(outgoing)
                sent += outgoing
            data = connection.recv(65536)
            if not data:
                break
            received += data
            machine.receive_data(data)
            while (event := machine.next_event()) is not None:
                events.append(event)
    return bytes(received), events, bytes(sent)


PORTS = {"openssh": OPENSSH_PORT, "legacy": LEGACY_PORT, "dropbear": DROPBEAR_PORT}


def check_live() -> list[str]:
    """Every method with one host key, every host-key algorithm with one method; the failures."""
    failures: list[str] = []
    combinations = [("legacy", kex, "ssh-ed25519") for kex in supported_kex_methods()]
    combinations += [
        ("legacy", "curve25519-sha256", host_key)
        for host_key in (
            "ssh-rsa",
            "rsa-sha2-256",
            "rsa-sha2-512",
            "ssh-dss",
            "ecdsa-sha2-nistp256",
            "ecdsa-sha2-nistp384",
            "ecdsa-sha2-nistp521",
            "ssh-ed25519",
            "ssh-rsa-cert-v01@openssh.com",
            "rsa-sha2-256-cert-v01@openssh.com",
            "rsa-sha2-512-cert-v01@openssh.com",
            "ecdsa-sha2-nistp384-cert-v01@openssh.com",
            "ssh-ed25519-cert-v01@openssh.com",
        )
    ]
    combinations += [
        ("dropbear", kex, host_key)
        for kex in ("curve25519-sha256", "ecdh-sha2-nistp521", "diffie-hellman-group14-sha1")
        for host_key in (
            "ssh-ed25519",
            "ssh-rsa",
            "rsa-sha2-256",
            "ecdsa-sha2-nistp256",
            "ssh-dss",
        )
    ]
    for server, kex, host_key in combinations:
        machine = KeyExchange(ClientOffer(kex, host_key), seeded_rng(0))
        _, events, _ = exchange(PORTS[server], machine)
        replies = [e for e in events if isinstance(e, KexReplyReceived)]
        no_common = [e for e in events if isinstance(e, NoCommonAlgorithm)]
        malformed = [e for e in events if isinstance(e, Malformed)]
        if replies and replies[0].signature_valid:
            outcome = f"ok ({replies[0].host_key.blob_type}, {replies[0].host_key.bits} bits)"
        elif no_common:
            outcome = f"not offered by the server ({no_common[0].category})"
        else:
            outcome = f"FAILED {replies or malformed or events}"
            failures.append(f"{server} {kex} {host_key}: {outcome}")
        print(f"  {server:9} {kex:38} {host_key:42} {outcome}")
    return failures


def write_hex(name: str, note: str, data: bytes) -> None:
    lines = [f"# {line}" for line in note.splitlines()]
    lines += [data[start : start + 32].hex() for start in range(0, len(data), 32)]
    (FIXTURES / name).write_text("\n".join(lines) + "\n")


def main() -> None:
    for tool in ("ssh-keygen", "/usr/sbin/sshd", "dropbear", "dropbearkey"):
        if shutil.which(tool) is None:
            sys.exit(
                f"{tool} is missing: apt-get install openssh-server openssh-client dropbear-bin"
            )
    FIXTURES.mkdir(exist_ok=True)
    today = datetime.now(UTC).date().isoformat()
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        os.chmod(directory, 0o755)
        make_keys(directory)
        stems = [*HOST_KEYS, *CERTIFICATES, *(f"dropbear_{kind}" for kind in DROPBEAR_KEYS)]
        keys = {stem: key_facts(directory, stem) for stem in stems}
        with servers(directory) as sshd_t:
            print("live check, every method and host-key algorithm:")
            failures = check_live()
            if failures:
                sys.exit("signatures failed:\n" + "\n".join(failures))
            captures: dict[str, Any] = {}
            for seed, (capture, (server, kex, host_key, stop, stem)) in enumerate(CAPTURES.items()):
                machine = KeyExchange(ClientOffer(kex, host_key), seeded_rng(seed), stop_after=stop)
                received, events, sent = exchange(PORTS[server], machine)
                assert machine.finished, (capture, events)
                write_hex(
                    f"{capture}.hex",
                    f"{server} bytes for {kex} / {host_key} (stop after {stop}), captured {today}\n"
                    "by tests/unit/ssh/capture_fixtures.py; the client used seeded_rng("
                    f"{seed}).",
                    received,
                )
                if capture in GOLDEN_CLIENT_BYTES:
                    write_hex(
                        f"client_{capture}.hex",
                        f"What our client sent for {capture}.hex (seeded_rng({seed})).",
                        sent,
                    )
                captures[capture] = {
                    "server": server,
                    "kex": kex,
                    "host_key_algorithm": host_key,
                    "stop_after": stop,
                    "seed": seed,
                    "host_key": stem,
                }
                print(f"{capture}: {len(received)} bytes")
    versions = {
        "openssh": run("ssh", "-V").strip(),
        "dropbear": run("dropbear", "-V").strip(),
    }
    document = {
        "note": f"Written by capture_fixtures.py on {today}; do not edit by hand.",
        "versions": versions,
        "sshd_T": sshd_t,
        "keys": keys,
        "captures": captures,
    }
    (FIXTURES / "expected.json").write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
