"""Check the running socks sub-lab against ground_truth.json with independent clients.

    PROTOAUDIT_LAB_DIR=... python3 lab/socks/verify.py

For every target: curl through it without authentication (--socks5 and
--socks4) and with the lab's user name and password (and with a wrong one),
to a small HTTP target this script serves on 127.0.0.1; and nmap's
socks-auth-info script for the methods it accepts. Each outcome must be what
the ground truth says. Prints one line per check, a count, and exits 1 on any
mismatch. Nothing leaves loopback: the only destination is the local target.
"""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent
TRUTH: dict[str, Any] = json.loads((HERE / "ground_truth.json").read_text())
BODY = b"protoaudit socks lab target\n"
NMAP_METHODS = {"No authentication": 0x00, "GSSAPI": 0x01, "Username and password": 0x02}


class Target(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *_: object) -> None:
        pass


def curl(proxy: str, url: str) -> bool:
    """True when the page came back through the proxy."""
    result = subprocess.run(
        ["curl", "-s", "--max-time", "5", "--noproxy", "", *proxy.split(), url],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0 and result.stdout == BODY


def nmap_methods(host: str, port: int) -> set[int]:
    result = subprocess.run(
        ["nmap", "-Pn", "-n", "-p", str(port), "--script", "+socks-auth-info", host],
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.findall(r"^\|[_ ]\s+(.+?)\s*$", result.stdout, re.MULTILINE)
    return {NMAP_METHODS[name] for name in found if name in NMAP_METHODS}


def main() -> int:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Target)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    checks = mismatches = 0

    def check(name: str, what: str, seen: object, expected: object) -> None:
        nonlocal checks, mismatches
        checks += 1
        ok = seen == expected
        mismatches += not ok
        verdict = "ok  " if ok else "FAIL"
        print(f"{verdict} {name}: {what}: {seen!r}" + ("" if ok else f", truth {expected!r}"))

    for name, truth in TRUTH["targets"].items():
        address = f"{truth['host']}:{truth['port']}"
        user, password = TRUTH["credentials"][truth["server"]]
        no_auth = curl(f"--socks5 {address}", url)
        check(name, "curl --socks5 (no auth)", no_auth, truth["socks5_connect"])
        check(name, "curl --socks4", curl(f"--socks4 {address}", url), truth["socks4_connect"])
        # curl with a user name offers NO AUTHENTICATION REQUIRED and USERNAME/PASSWORD
        # both: a server that prefers the first never looks at the pair.
        no_auth_first = truth["socks5_connect"] and truth["preferred"] == 0x00
        with_pair = curl(f"--socks5 {user}:{password}@{address}", url)
        expected = truth["username_password"] or no_auth_first
        check(name, "curl --socks5 with the lab's user and password", with_pair, expected)
        wrong = curl(f"--socks5 {user}:wrong-{password}@{address}", url)
        check(name, "curl --socks5 with a wrong password", wrong, no_auth_first)
        methods = nmap_methods(truth["host"], truth["port"])
        check(name, "nmap socks-auth-info methods", sorted(methods), truth["methods_accepted"])
    server.shutdown()
    print(f"socks/verify.py: {checks} checks, {mismatches} mismatches")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
