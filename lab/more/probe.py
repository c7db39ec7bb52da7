"""A small blocking client for the more-lab's own scripts.

    python3 lab/more/probe.py greet NAME   # exit 0 if target NAME greets (and upgrades)
    python3 lab/more/probe.py status       # one line per target; exit 1 if any is down

start.sh and status.sh use it to see that each target answers its protocol
(through TLS for the implicit ones) and that the STARTTLS ones complete the
upgrade and a TLS handshake. verify.py uses it to read the greeting and the
capabilities before and after TLS and to try a cleartext login. Stdlib only
and independent of protoaudit, so the ground truth is never checked by the
code it is meant to check.

What "capabilities" means per protocol (the truth's capabilities_before/after):
- lmtp: the LHLO keywords, without the first line (the server's name);
- sieve: one entry per capability line of the greeting, its quoted strings
  joined by a space, empty strings dropped ('"SASL" ""' is "SASL");
- nntp: the lines of the CAPABILITIES list;
- irc: the tokens of the CAP LS 302 reply;
- mysql: none (see ground_truth.py); the greeting packet is parsed instead.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import ssl
import struct
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TRUTH = HERE / "ground_truth.json"
RUN = Path(os.environ.get("PROTOAUDIT_LAB_DIR", "/tmp/protoaudit-lab"))
CA = RUN / "pki" / "ca.pem"
TIMEOUT = 5.0
MAX_LINE = 8192
MAX_LINES = 200
CLEARTEXT_SASL = ("PLAIN", "LOGIN")
# MySQL capability flags (include/mysql_com.h), the ones the truth names.
CLIENT_PROTOCOL_41 = 1 << 9
CLIENT_SSL = 1 << 11
CLIENT_SECURE_CONNECTION = 1 << 15
CLIENT_PLUGIN_AUTH = 1 << 19


def targets() -> dict[str, dict[str, Any]]:
    return json.loads(TRUTH.read_text())["targets"]


class ProbeError(Exception):
    pass


def unquoted(line: str) -> list[str]:
    """The quoted strings of a ManageSieve line, backslash escapes undone."""
    out, cur, esc = [], None, False
    for ch in line:
        if cur is None:
            if ch == '"':
                cur = []
        elif esc:
            cur.append(ch)
            esc = False
        elif ch == "\\":
            esc = True
        elif ch == '"':
            out.append("".join(cur))
            cur = None
        else:
            cur.append(ch)
    return out


class Conn:
    """One session with a target; upgrade() switches it to TLS in place."""

    def __init__(self, t: dict[str, Any], ctx: ssl.SSLContext | None = None) -> None:
        self.t = t
        self.proto = t["protocol"].removesuffix("s") if t["protocol"] != "mysql" else "mysql"
        self.sock: socket.socket | ssl.SSLSocket = socket.create_connection(
            (t["host"], t["port"]), timeout=TIMEOUT
        )
        self.buf = b""
        self.tls = False
        self.greeting: Any = None
        self.caps_greeting: list[str] = []  # sieve: the greeting is the capability list
        if t["tls_start"] == "implicit":
            self._wrap(ctx or unverified())
        self._read_greeting()

    # -------------------------------------------------------- transport

    def _wrap(self, ctx: ssl.SSLContext) -> None:
        self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
        self.tls = True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self) -> Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode() + b"\r\n")

    def _fill(self) -> None:
        data = self.sock.recv(4096)
        if not data:
            raise ProbeError(f"connection closed (after {self.buf[:80]!r})")
        self.buf += data

    def line(self) -> str:
        while b"\n" not in self.buf:
            if len(self.buf) > MAX_LINE:
                raise ProbeError("line too long")
            self._fill()
        raw, self.buf = self.buf.split(b"\n", 1)
        return raw.rstrip(b"\r").decode("utf-8", "replace")

    def exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    # -------------------------------------------------------- greetings

    def _read_greeting(self) -> None:
        if self.proto in ("lmtp", "nntp"):
            self.greeting = self.line()
        elif self.proto == "sieve":
            self.caps_greeting, self.greeting = self._sieve_caps()
        elif self.proto == "mysql":
            self.greeting = self._mysql_greeting()
        # irc: the server says nothing until the client does

    def _sieve_caps(self) -> tuple[list[str], str]:
        caps = []
        for _ in range(MAX_LINES):
            ln = self.line()
            if ln.startswith('"'):
                caps.append(" ".join(s for s in unquoted(ln) if s))
                continue
            if ln.split(" ", 1)[0] in ("OK", "NO", "BYE"):
                return caps, ln
            raise ProbeError(f"unexpected ManageSieve line {ln!r}")
        raise ProbeError("endless ManageSieve capability list")

    def _mysql_greeting(self) -> dict[str, Any]:
        head = self.exact(4)
        length, seq = int.from_bytes(head[:3], "little"), head[3]
        p = self.exact(length)
        if seq != 0 or not p or p[0] != 10:
            raise ProbeError(f"not a HandshakeV10 greeting: {head + p[:40]!r}")
        end = p.index(b"\0", 1)
        version = p[1:end].decode("latin-1")
        i = end + 1 + 4 + 8 + 1  # connection id, auth data part 1, filler
        cap1 = struct.unpack_from("<H", p, i)[0]
        cap2 = struct.unpack_from("<H", p, i + 5)[0]  # after charset and status
        caps = cap1 | cap2 << 16
        auth_len = p[i + 7]
        j = i + 8 + 6 + 4  # reserved (6), MariaDB extended capabilities (4)
        if caps & CLIENT_SECURE_CONNECTION:
            j += max(13, auth_len - 8)
        plugin = p[j:].split(b"\0", 1)[0].decode("latin-1") if caps & CLIENT_PLUGIN_AUTH else ""
        return {
            "server_version": version,
            "capability_flags": caps,
            "ssl_offered": bool(caps & CLIENT_SSL),
            "auth_plugin": plugin,
        }

    # -------------------------------------------------------- capabilities

    def capabilities(self) -> list[str] | None:
        if self.proto == "lmtp":
            self.send("LHLO client.lab.invalid")
            lines = []
            for _ in range(MAX_LINES):
                ln = self.line()
                lines.append(ln[4:])
                if ln[3:4] != "-":
                    if not ln.startswith("250"):
                        raise ProbeError(f"LHLO: {ln}")
                    return lines[1:]
            raise ProbeError("endless LHLO reply")
        if self.proto == "sieve":
            if self.tls and self.t["tls_start"] == "starttls":
                return self.caps_greeting  # re-sent after TLS (RFC 5804 2.2)
            self.send("CAPABILITY")
            caps, status = self._sieve_caps()
            if not status.startswith("OK"):
                raise ProbeError(f"CAPABILITY: {status}")
            return caps
        if self.proto == "nntp":
            self.send("CAPABILITIES")
            status = self.line()
            if not status.startswith("101"):
                raise ProbeError(f"CAPABILITIES: {status}")
            body = []
            for _ in range(MAX_LINES):
                ln = self.line()
                if ln == ".":
                    return body
                body.append(ln)
            raise ProbeError("endless CAPABILITIES list")
        if self.proto == "irc":
            self.send("CAP LS 302")
            tokens: list[str] = []
            for _ in range(MAX_LINES):
                words = self.line().split(" ")
                if len(words) >= 4 and words[1] == "CAP" and words[3] == "LS":
                    more = words[4] == "*"
                    rest = " ".join(words[5 if more else 4 :])
                    tokens += rest.removeprefix(":").split()
                    if not more:
                        return tokens
            raise ProbeError("no CAP LS reply")
        return None  # mysql

    # -------------------------------------------------------- STARTTLS

    def starttls(self, ctx: ssl.SSLContext) -> None:
        if self.proto == "mysql":
            flags = CLIENT_SSL | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION
            payload = struct.pack("<IIB23x", flags, 1 << 24, 33)
            self.sock.sendall(len(payload).to_bytes(3, "little") + b"\x01" + payload)
            self._wrap(ctx)
            return
        self.send("STARTTLS")
        if self.proto == "irc":
            for _ in range(MAX_LINES):
                words = self.line().split(" ")
                if len(words) > 1 and words[1] in ("670", "691", "421", "451"):
                    if words[1] != "670":
                        raise ProbeError(f"STARTTLS refused: {' '.join(words)}")
                    break
            else:
                raise ProbeError("no reply to STARTTLS")
        else:
            reply = self.line()
            want = {"lmtp": "220", "nntp": "382", "sieve": "OK"}[self.proto]
            if not reply.startswith(want):
                raise ProbeError(f"STARTTLS refused: {reply}")
        if self.buf:
            raise ProbeError(f"bytes after the STARTTLS reply: {self.buf[:40]!r}")
        self._wrap(ctx)
        if self.proto == "sieve":
            self.caps_greeting, _ = self._sieve_caps()

    def handshake_done(self) -> str:
        """Make the TLS handshake happen (a wrapped socket shakes hands on first I/O)."""
        assert isinstance(self.sock, ssl.SSLSocket)
        self.sock.do_handshake()
        return f"{self.sock.version()} {self.sock.cipher()[0]}"  # type: ignore[index]

    # -------------------------------------------------------- logins

    def login(self, user: str, password: str) -> tuple[bool, str]:
        """A cleartext login the way the protocol has one: (accepted, the answer)."""
        if self.proto == "sieve":
            token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
            self.send(f'AUTHENTICATE "PLAIN" "{token}"')
            ln = self.line()
            return ln.startswith("OK"), ln
        if self.proto == "nntp":
            self.send(f"AUTHINFO USER {user}")
            ln = self.line()
            if not ln.startswith("381"):
                return False, ln
            self.send(f"AUTHINFO PASS {password}")
            ln = self.line()
            return ln.startswith("281"), ln
        raise ProbeError(f"no cleartext login for {self.proto}")


def plaintext_auth(protocol: str, caps: list[str] | None) -> list[str]:
    """The ways to send a password in the clear that a capability list offers."""
    proto = protocol.removesuffix("s")
    words = [c.split() for c in caps or []]
    sasl: list[str] = []
    command: list[str] = []
    if proto == "sieve":
        sasl = next((w[1:] for w in words if w[:1] == ["SASL"]), [])
    elif proto == "nntp":
        if any(w[:1] == ["AUTHINFO"] and "USER" in w[1:] for w in words):
            command = ["AUTHINFO USER"]
        sasl = next((w[1:] for w in words if w[:1] == ["SASL"]), [])
    elif proto == "lmtp":
        sasl = next((w[1:] for w in words if w[:1] == ["AUTH"]), [])
    elif proto == "irc":
        value = next((c.partition("=")[2] for c in caps or [] if c.partition("=")[0] == "sasl"), "")
        sasl = value.split(",") if value else []
    return command + [m for m in sasl if m.upper() in CLEARTEXT_SASL]


def unverified() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def lab_ca() -> ssl.SSLContext:
    """Trusts the lab root only and checks the name the lab's leaves carry."""
    return ssl.create_default_context(cafile=str(CA))


GREETING_START = {"lmtp": "220 ", "nntp": ("200 ", "201 "), "sieve": "OK"}


def greet(t: dict[str, Any]) -> str:
    """The greeting, then (for STARTTLS targets) the upgrade and a handshake."""
    with Conn(t) as c:
        if c.proto == "mysql":
            if not c.greeting["ssl_offered"]:
                raise ProbeError("greeting without CLIENT_SSL")
        elif c.proto in GREETING_START and not c.greeting.startswith(GREETING_START[c.proto]):
            raise ProbeError(f"unexpected greeting {c.greeting!r}")
        if t["tls_start"] == "implicit":
            if c.proto == "irc":
                c.capabilities()
            return f"answers over TLS ({c.handshake_done()})"
        c.starttls(unverified())
        how = "SSLRequest" if c.proto == "mysql" else "STARTTLS"
        return f"{how} ({c.handshake_done()})"


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
                state = f"up, {greet(t)}"
            except (OSError, ProbeError) as e:
                state, rc = f"DOWN ({e!r})", 1
            where = f"{t['host']}:{t['port']}"
            print(f"{name:15} {where:15} {t['protocol']:6} {t['server']:38} {state}", flush=True)
        return rc
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
