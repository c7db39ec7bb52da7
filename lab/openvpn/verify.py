"""Check the running openvpn sub-lab against ground_truth.json with a real OpenVPN client.

    PROTOAUDIT_LAB_DIR=... python3 lab/openvpn/verify.py

For every target, Debian's openvpn as a client (client.conf.in: --dev null,
no ifconfig, no routes, so it changes nothing on the host), all at once:
- with the lab's client certificate and, where the server has one, its
  tls-auth/tls-crypt key: it must connect, and its "Control Channel:" line
  must show the truth's TLS version, certificate key and signature hash;
- with --tls-version-max 1.1 (at security level 0): it connects only where
  the truth lists TLS 1.0/1.1;
- without the tls-auth/tls-crypt key, where the server has one: it must get
  no answer at all (the HMAC firewall).
Prints one line per check, a count, and exits 1 on any mismatch.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True
sys.path.insert(0, str(HERE))
from instances import INSTANCES, Instance, client_config  # noqa: E402

RUN = Path(os.environ.get("PROTOAUDIT_LAB_DIR", "/tmp/protoaudit-lab")) / "openvpn"
TRUTH: dict[str, Any] = json.loads((HERE / "ground_truth.json").read_text())["targets"]
CONNECTED = "Initialization Sequence Completed"
WAIT = 8.0  # seconds a client may take to connect
KEYLESS_WAIT = 3.0  # seconds a client without the key waits for any answer
TLS_NAMES = {"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}
CHANNEL = re.compile(
    r"Control Channel: (?P<version>TLSv[0-9.]+), cipher \S+ (?P<cipher>\S+), "
    r"peer certificate: (?P<bits>\d+) bits? (?P<type>\S+), signature: (?P<signature>[^,\s]+)"
)


def run_client(
    instance: Instance, *, with_key: bool = True, extra: tuple[str, ...] = (), wait: float = WAIT
) -> str:
    """The client's log: it stops at the first of connected, exited, or `wait` seconds."""
    config = client_config(instance, RUN)
    if not with_key:
        config = "\n".join(
            line for line in config.splitlines() if not line.startswith(("tls-auth", "tls-crypt"))
        )
    config += "\nhand-window 5\n" + "\n".join(extra) + "\n"
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "client.conf"
        path.write_text(config)
        process = subprocess.Popen(
            ["openvpn", "--config", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "OPENSSL_CONF": "/dev/null"},
        )
        log = b""
        try:
            assert process.stdout is not None
            descriptor = process.stdout.fileno()
            with selectors.DefaultSelector() as selector:
                # Raw reads: a buffered readline() would hide lines from select().
                selector.register(descriptor, selectors.EVENT_READ)
                end = time.monotonic() + wait
                while CONNECTED.encode() not in log and time.monotonic() < end:
                    if not selector.select(end - time.monotonic()):
                        break
                    chunk = os.read(descriptor, 65536)
                    if not chunk:
                        break
                    log += chunk
        finally:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return log.decode("utf-8", "replace")


Check = tuple[str, str, object, object]  # target, what, seen, truth


def with_key(instance: Instance) -> list[Check]:
    truth = TRUTH[instance.name]
    log = run_client(instance)
    name = instance.name
    found: list[Check] = [
        (name, "a client with the lab's certificate and key connects", CONNECTED in log, True)
    ]
    channel = CHANNEL.search(log)
    if channel is None:
        found.append((name, "its log has a Control Channel line", False, True))
        return found
    certificate = truth["certificate"]
    key = ("RSA" if channel["type"] == "RSA" else "EC", int(channel["bits"]))
    signature_hash = channel["signature"].lower().rsplit("-", 1)[-1].replace("with", "")
    return [
        *found,
        (name, "TLS version", TLS_NAMES.get(channel["version"]), 0x0304),
        (name, "peer key", key, (certificate["key_type"], certificate["key_bits"])),
        (name, "signature hash", signature_hash, certificate["signature_hash"]),
    ]


def legacy_client(instance: Instance) -> list[Check]:
    truth = TRUTH[instance.name]
    log = run_client(
        instance,
        extra=(
            "tls-version-max 1.1",
            "tls-cipher DEFAULT:@SECLEVEL=0",
            "tls-cert-profile insecure",
        ),
    )
    expected = any(version < 0x0303 for version in truth["tls_versions"])
    return [(instance.name, "a TLS 1.1 client connects", CONNECTED in log, expected)]


def keyless_client(instance: Instance) -> list[Check]:
    log = run_client(instance, with_key=False, wait=KEYLESS_WAIT)
    answered = "TLS: Initial packet" in log or "Peer Connection Initiated" in log
    what = "a client without the tls-auth/tls-crypt key gets an answer"
    return [(instance.name, what, answered, False)]


def main() -> int:
    # One client per server at a time: the server would take a second session with the
    # same certificate as a reconnection and drop the first (no duplicate-cn).
    def per_server(instance: Instance) -> list[Check]:
        found = with_key(instance)
        if TRUTH[instance.name]["hmac_firewall"] is None:
            return found + legacy_client(instance)
        return found + keyless_client(instance)

    with ThreadPoolExecutor(len(INSTANCES)) as pool:
        results = [check for found in pool.map(per_server, INSTANCES) for check in found]
    mismatches = 0
    for name, what, seen, expected in results:
        ok = seen == expected
        mismatches += not ok
        verdict = "ok  " if ok else "FAIL"
        tail = "" if ok else f", truth {expected!r}"
        print(f"{verdict} {name}: {what}: {seen!r}{tail}")
    print(f"openvpn/verify.py: {len(results)} checks, {mismatches} mismatches")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
