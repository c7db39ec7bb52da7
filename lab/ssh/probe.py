"""A small blocking client for the ssh sub-lab's own scripts (stdlib only).

    python3 lab/ssh/probe.py up NAME    # exit 0 if target NAME answers its protocol
    python3 lab/ssh/probe.py status     # one line per target; exit 1 if any is down

"Answers its protocol" means: an SSH target sends an identification line
starting "SSH-2.0-"; telnet opens with IAC option negotiation; rexec, rlogin
and rsh give the reply the ground truth names to its probe (rsh and the rlogin
reserved-port probe need root for a source port below 1024; without root
only the probes from unreserved ports run). verify.py uses the same functions
for its byte-for-byte checks. Independent of protoaudit: the lab's truth is
never checked by the code it is meant to check.
"""

from __future__ import annotations

import errno
import json
import os
import random
import socket
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TRUTH = HERE / "ground_truth.json"
TIMEOUT = 5.0
MAX_REPLY = 4096
IAC = 0xFF


def targets() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = json.loads(TRUTH.read_text())["targets"]
    return out


def identification(host: str, port: int) -> str:
    """The server's identification line (RFC 4253 4.2), without CR LF."""
    with socket.create_connection((host, port), timeout=TIMEOUT) as s:
        data = b""
        while b"\n" not in data and len(data) < 1024:
            chunk = s.recv(256)
            if not chunk:
                break
            data += chunk
    for line in data.split(b"\n"):
        if line.startswith(b"SSH-"):
            return line.rstrip(b"\r").decode("utf-8", "replace")
    return data.decode("utf-8", "replace")


def connect(host: str, port: int, reserved: bool) -> socket.socket:
    """A connection from a reserved source port (512-1023, root only) or any port."""
    if not reserved:
        return socket.create_connection((host, port), timeout=TIMEOUT)
    # In random order, and reusable: a port just used may be in TIME_WAIT.
    for local in random.sample(range(512, 1024), 512):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.settimeout(TIMEOUT)
        try:
            s.bind((host, local))
            s.connect((host, port))
        except OSError as e:
            s.close()
            if e.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL):
                continue  # this source port is busy: try another
            raise
        return s
    raise OSError("no free reserved source port")


def exchange(
    host: str, port: int, send: bytes, *, reserved: bool, want: int | None, quiet: float = 1.5
) -> tuple[bytes, bool]:
    """Send SEND, read the reply: up to WANT bytes, else until the server closes
    (or QUIET seconds pass with nothing more). Returns (reply, server_closed)."""
    with connect(host, port, reserved) as s:
        if send:
            s.sendall(send)
        reply, closed = b"", False
        deadline = time.monotonic() + TIMEOUT
        while len(reply) < MAX_REPLY and (want is None or len(reply) < want):
            s.settimeout(max(0.1, min(quiet, deadline - time.monotonic())))
            try:
                chunk = s.recv(MAX_REPLY)
            except TimeoutError:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            reply += chunk
            if time.monotonic() > deadline:
                break
    return reply, closed


def is_root() -> bool:
    return os.geteuid() == 0


def run_probe(t: dict[str, Any], probe: dict[str, Any]) -> tuple[bool, str]:
    """One of the truth's plaintext probes: (reply as the truth says, what came)."""
    reserved = probe["from"] == "reserved port"
    send = bytes.fromhex(probe["send_hex"])
    if "reply_prefix_hex" in probe:
        want = bytes.fromhex(probe["reply_prefix_hex"])
        reply, _ = exchange(t["host"], t["port"], send, reserved=reserved, want=len(want))
        return reply[: len(want)] == want, reply.hex()
    want = bytes.fromhex(probe["reply_hex"])
    reply, closed = exchange(t["host"], t["port"], send, reserved=reserved, want=None)
    return reply == want and closed, f"{reply!r} closed={closed}"


def up(t: dict[str, Any]) -> tuple[bool, str]:
    try:
        if t["protocol"] == "ssh":
            line = identification(t["host"], t["port"])
            return line.startswith("SSH-2.0-"), line
        # The most telling probe this user can run: one that gets a reply,
        # from an unreserved port if there is such a probe.
        usable = [p for p in t["probes"] if is_root() or p["from"] != "reserved port"]
        telling = [p for p in usable if p.get("reply_hex") != ""] or usable
        telling.sort(key=lambda p: p["from"] == "reserved port")
        if not telling:
            return False, "no probe runs without root"
        ok, got = run_probe(t, telling[0])
        return ok, f"{telling[0]['from']}: {got}"
    except OSError as e:
        return False, f"{e!r}"


def main() -> int:
    args = sys.argv[1:]
    all_targets = targets()
    if args[:1] == ["up"] and len(args) == 2:
        ok, got = up(all_targets[args[1]])
        if not ok:
            print(f"{args[1]}: {got}", file=sys.stderr)
        return 0 if ok else 1
    if args == ["status"]:
        rc = 0
        for name, t in all_targets.items():
            ok, got = up(t)
            rc |= not ok
            state = "up" if ok else "DOWN"
            print(f"{name:18} {t['host']}:{t['port']:<5} {t['protocol']:7} {state} ({got[:60]})")
        return rc
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
