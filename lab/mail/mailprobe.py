"""A small blocking mail client for the mail lab's own scripts.

    python3 lab/mail/mailprobe.py greet NAME   # exit 0 if target NAME greets (and upgrades)
    python3 lab/mail/mailprobe.py status       # one line per target; exit 1 if any is down

start.sh and status.sh use it to see that each target greets, through TLS for
the implicit ones, and that the STARTTLS ones complete the upgrade. verify.py
uses it to read capabilities before and after TLS and to try a plaintext login.
Stdlib only and independent of protoaudit, so the ground truth is never checked
by the code it is meant to check.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TRUTH = HERE / "ground_truth.json"
RUN = Path(os.environ.get("PROTOAUDIT_LAB_DIR", "/tmp/protoaudit-lab"))
CA = RUN / "pki" / "ca.pem"
TIMEOUT = 5.0
MAX_LINE = 8192
MAX_LINES = 100
# SASL mechanisms that carry the password itself (RFC 4616 PLAIN, the LOGIN draft).
CLEARTEXT_SASL = ("PLAIN", "LOGIN")


def targets() -> dict[str, dict[str, Any]]:
    return json.loads(TRUTH.read_text())["targets"]


class ProbeError(Exception):
    pass


class Conn:
    """One line-based session; upgrade() switches it to TLS in place."""

    def __init__(self, t: dict[str, Any], ctx: ssl.SSLContext | None) -> None:
        self.t, self.proto = t, t["protocol"].removesuffix("s")  # smtps -> smtp
        self.sock: socket.socket | ssl.SSLSocket = socket.create_connection(
            (t["host"], t["port"]), timeout=TIMEOUT
        )
        self.buf = b""
        self.tls = False
        if t["tls_start"] == "implicit":
            self._wrap(ctx or unverified())
        self.greeting = self.line()

    def _wrap(self, ctx: ssl.SSLContext) -> None:
        self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
        self.tls = True

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode() + b"\r\n")

    def line(self) -> str:
        while b"\r\n" not in self.buf:
            if len(self.buf) > MAX_LINE:
                raise ProbeError("line too long")
            data = self.sock.recv(4096)
            if not data:
                raise ProbeError(f"connection closed (after {self.buf[:80]!r})")
            self.buf += data
        raw, self.buf = self.buf.split(b"\r\n", 1)
        return raw.decode("utf-8", "replace")

    # -------------------------------------------------------- protocol replies

    def smtp(self, cmd: str) -> tuple[str, list[str]]:
        """(code, text of each line) of a possibly multi-line reply."""
        self.send(cmd)
        lines = []
        for _ in range(MAX_LINES):
            ln = self.line()
            lines.append(ln[4:])
            if ln[3:4] != "-":
                return ln[:3], lines
        raise ProbeError("endless SMTP reply")

    def imap(self, cmd: str, tag: str = "a") -> tuple[str, list[str]]:
        """(tagged status line, untagged lines)."""
        self.send(f"{tag} {cmd}")
        untagged = []
        for _ in range(MAX_LINES):
            ln = self.line()
            if ln.startswith(f"{tag} "):
                return ln[len(tag) + 1 :], untagged
            untagged.append(ln)
        raise ProbeError("endless IMAP reply")

    def pop3(self, cmd: str, multiline: bool = False) -> tuple[str, list[str]]:
        self.send(cmd)
        status = self.line()
        body: list[str] = []
        if multiline and status.startswith("+OK"):
            for _ in range(MAX_LINES):
                ln = self.line()
                if ln == ".":
                    return status, body
                body.append(ln)
            raise ProbeError("endless POP3 reply")
        return status, body

    # -------------------------------------------------------- what the truth lists

    def capabilities(self) -> list[str]:
        """As the server lists them: EHLO keywords, IMAP tokens, POP3 CAPA lines."""
        if self.proto == "smtp":
            code, lines = self.smtp("EHLO client.lab.invalid")
            if code != "250":
                raise ProbeError(f"EHLO: {code} {lines}")
            return lines[1:]  # the first line is the server's name
        if self.proto == "imap":
            status, untagged = self.imap("CAPABILITY")
            caps = [ln.split()[2:] for ln in untagged if ln.startswith("* CAPABILITY ")]
            if not status.startswith("OK") or len(caps) != 1:
                raise ProbeError(f"CAPABILITY: {status} {untagged}")
            return caps[0]
        status, body = self.pop3("CAPA", multiline=True)
        if not status.startswith("+OK"):
            raise ProbeError(f"CAPA: {status}")
        return body

    def starttls(self, ctx: ssl.SSLContext) -> None:
        if self.proto == "smtp":
            code, lines = self.smtp("STARTTLS")
            ok = code == "220"
        elif self.proto == "imap":
            status, lines = self.imap("STARTTLS", "s")
            ok = status.startswith("OK")
        else:
            status, lines = self.pop3("STLS")
            ok = status.startswith("+OK")
        if not ok:
            raise ProbeError(f"STARTTLS refused: {lines or status}")
        self._wrap(ctx)

    def login(self, user: str, password: str) -> tuple[bool, str]:
        """Log in the plainest way the protocol has: (accepted, the server's answer)."""
        if self.proto == "smtp":
            token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
            code, lines = self.smtp(f"AUTH PLAIN {token}")
            return code == "235", f"{code} {' '.join(lines)}"
        if self.proto == "imap":
            status, _ = self.imap(f"LOGIN {user} {password}", "l")
            return status.startswith("OK"), status
        status, _ = self.pop3(f"USER {user}")
        if not status.startswith("+OK"):
            return False, status
        status, _ = self.pop3(f"PASS {password}")
        return status.startswith("+OK"), status


def plaintext_auth(protocol: str, caps: list[str]) -> dict[str, Any]:
    """What a capability list offers for logging in with a cleartext password.

    "offered" is the truth's plaintext_auth_before_tls, spelled as the server
    spells it: SMTP's AUTH mechanisms; IMAP's LOGIN command (allowed unless
    LOGINDISABLED) and AUTH=X tokens; POP3's USER and SASL mechanisms.
    """
    proto = protocol.removesuffix("s")
    command, sasl, offered = None, [], []
    if proto == "smtp":
        for c in caps:
            words = c.split()
            if words and words[0].upper() == "AUTH":
                sasl = [m for m in words[1:] if m.upper() in CLEARTEXT_SASL]
        offered = list(sasl)
    elif proto == "imap":
        if "LOGINDISABLED" not in caps:
            command = "LOGIN"
        auth = [c for c in caps if c[:5].upper() == "AUTH=" and c[5:].upper() in CLEARTEXT_SASL]
        sasl = [c[5:] for c in auth]
        offered = ([command] if command else []) + auth
    else:
        if "USER" in caps:
            command = "USER"
        for c in caps:
            words = c.split()
            if words and words[0] == "SASL":
                sasl = [m for m in words[1:] if m.upper() in CLEARTEXT_SASL]
        offered = ([command] if command else []) + sasl
    return {"offered": offered, "command": command, "sasl": sasl}


def unverified() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def lab_ca() -> ssl.SSLContext:
    """Trusts the lab root only and checks the name the lab's leaves carry."""
    return ssl.create_default_context(cafile=str(CA))


def greet(t: dict[str, Any]) -> str:
    """The greeting, then (for STARTTLS targets) the upgrade: how the target is up."""
    with Conn(t, None) as c:
        ok = c.greeting.startswith({"smtp": "220 ", "imap": "* OK", "pop3": "+OK"}[c.proto])
        if not ok:
            raise ProbeError(f"unexpected greeting {c.greeting!r}")
        if t["tls_start"] == "implicit":
            return "greeting over TLS"
        if t["tls_start"] == "none":
            return "greeting, no TLS"
        if c.proto == "smtp":
            c.smtp("EHLO client.lab.invalid")
        if t.get("upgrade_fails"):
            code, lines = c.smtp("STARTTLS")
            if code != "220":
                raise ProbeError(f"STARTTLS refused: {lines}")
            return "greeting, STARTTLS agreed (TLS fails, as meant)"
        c.starttls(unverified())
        return "greeting, STARTTLS"


def main(argv: list[str]) -> int:
    ts = targets()
    if argv[:1] == ["greet"] and len(argv) == 2:
        try:
            print(greet(ts[argv[1]]))
        except (OSError, ProbeError) as e:
            print(f"{argv[1]}: {e!r}", file=sys.stderr)
            return 1
        return 0
    if argv == ["status"]:
        rc = 0
        for name, t in ts.items():
            try:
                state = f"up ({greet(t)})"
            except (OSError, ProbeError) as e:
                state, rc = f"down ({e!r})", 1
            print(f"{name:18} {t['host']}:{t['port']:<5} {t['protocol']:5} {state}", flush=True)
        return rc
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
