"""Check lab/services/ground_truth.json against the running services sub-lab.

Run through lab/services/verify.sh. Two kinds of check:

- TLS: the TLS lab's own checker (lab/verify_truth.py's TargetCheck: every
  version, every suite s_client can offer alone, the cipher order, groups, DH,
  certificates and validation) with each handshake run through the target's
  dialog: `openssl s_client -starttls ftp|ldap|postgres|xmpp`, and
  `gnutls-cli --starttls-proto` for the suites only gnutls offers. Each dialog
  is first shown to work with both clients, so a refused suite is a refusal of
  the suite and not of the dialog.
- The protocol facts, with the protocols' own clients: Python's ftplib (login
  in clear, PROT P, anonymous, the data channel's TLS and session reuse),
  ldapsearch/ldapwhoami (StartTLS in the root DSE, a bind over each), a raw
  SSLRequest, and a raw XMPP stream (features before and after STARTTLS).
"""

from __future__ import annotations

import ftplib
import json
import os
import re
import socket
import ssl
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # keep lab/ free of __pycache__
sys.path.insert(0, str(HERE.parent))
import verify_truth as vt  # noqa: E402  (lab/ is not a package)

RUN = Path(os.environ.get("PROTOAUDIT_LAB_DIR", "/tmp/protoaudit-lab"))
SVC = RUN / "services"
CA = RUN / "pki" / "ca.pem"
TRUTH = json.loads((HERE / "ground_truth.json").read_text())["targets"]
HOST = "127.0.0.1"
STARTTLS_LDAP_OID = "1.3.6.1.4.1.1466.20037"

# ------------------------------------------------------------- TLS through dialogs

DIALOG = {t["port"]: t for t in TRUTH.values()}
_s_client = vt.s_client


def s_client(port: int, *args: str) -> dict[str, Any]:
    t = DIALOG[port]
    extra: list[str] = []
    if t["tls_start"] == "starttls":
        extra = ["-starttls", t["protocol"]]
        if t["protocol"] == "xmpp":
            extra += ["-xmpphost", "localhost"]
    return _s_client(port, *extra, *args)


def gnutls_cli(port: int, priority: str) -> str | None:
    t = DIALOG[port]
    cmd = ["gnutls-cli", "--insecure", "--sni-hostname", "localhost", "-p", str(port)]
    cmd += ["--priority", priority]
    if t["tls_start"] == "starttls":
        cmd.append(f"--starttls-proto={t['protocol']}")
    # The XMPP dialog names the host it connects to as the stream's domain.
    cmd.append("localhost" if t["protocol"] == "xmpp" else HOST)
    try:
        p = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=15, check=False
        )
    except subprocess.TimeoutExpired:
        return None
    m = re.search(r"- Description: (.+)", p.stdout)
    return m[1] if p.returncode == 0 and m else None


# TargetCheck calls these module functions: route them through the dialogs.
vt.s_client = s_client
vt.gnutls_cli = gnutls_cli
vt.CA = CA


class ServiceCheck(vt.TargetCheck):
    def run(self, gnutls_extra: list[tuple[str, str]]) -> None:
        # Without a working dialog every refusal below would pass for nothing.
        self.chk("dialog + handshake (s_client)", s_client(self.port)["ok"])
        self.chk("dialog + handshake (gnutls-cli)", gnutls_cli(self.port, "NORMAL") is not None)
        super().run(gnutls_extra)
        for v in self.versions:
            self.full_order(v)

    def full_order(self, v: str) -> None:
        """With the server's order, offer all in reverse and peel off its picks."""
        order = self.t["cipher_order"].get(v)
        if not order:
            return
        iana_to_openssl = {i: o for _, i, o in vt.client_suites(v)}
        pool = [iana_to_openssl[n] for n in order if n in iana_to_openssl]
        picks = []
        while pool:
            offer = list(reversed(pool))
            if v == "TLS 1.3":
                r = s_client(self.port, "-tls1_3", "-ciphersuites", ":".join(offer))
            else:
                r = s_client(
                    self.port, vt.S_CLIENT_VERSION[v], "-cipher", ":".join(offer) + ":@SECLEVEL=0"
                )
            if not r["ok"]:
                break
            picks.append(r["cipher"])
            pool.remove(r["cipher"])
        want = [iana_to_openssl[n] for n in order if n in iana_to_openssl]
        self.chk(f"{v} full cipher order", picks == want, f"got {picks[:5]}... want {want[:5]}...")


# ------------------------------------------------------------- FTP


def tls_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(CA))


class FTPS(ftplib.FTP_TLS):
    """ftplib's FTP_TLS, optionally resuming the control session on the data
    connection (what vsftpd's require_ssl_reuse asks for), optionally implicit."""

    def __init__(self, *, implicit: bool = False, reuse: bool = True) -> None:
        super().__init__(context=tls_context(), timeout=10)
        self.implicit, self.reuse = implicit, reuse
        self.data_versions: list[str] = []

    def connect(self, host: str = "", port: int = 0, timeout: float = -999, source_address=None):
        if not self.implicit:
            return super().connect(host, port)
        self.host, self.port = host, port
        self.sock = self.context.wrap_socket(
            socket.create_connection((host, port), self.timeout), server_hostname=host
        )
        self.af = self.sock.family
        self.file = self.sock.makefile("r", encoding=self.encoding)
        self.welcome = self.getresp()
        return self.welcome

    def ntransfercmd(self, cmd: str, rest: Any = None) -> tuple[socket.socket, int | None]:
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            session = self.sock.session if self.reuse else None
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=session)
            self.data_versions.append(conn.version() or "")
        return conn, size


def ftp_reply(f: ftplib.FTP, cmd: str) -> str:
    """The reply to cmd, errors included (they are what some checks expect)."""
    try:
        return f.sendcmd(cmd)
    except ftplib.Error as e:
        return str(e)


def ftp_list(f: FTPS) -> tuple[bool, str]:
    try:
        names = f.nlst()
        return True, ",".join(names)
    except ftplib.Error as e:  # the refusal is the reply itself
        return False, str(e).strip()
    except (OSError, EOFError) as e:
        # The data channel failed after the server's 150: its verdict follows
        # on the control connection.
        try:
            reply = f.getresp()
        except ftplib.Error as e2:
            reply = str(e2)
        return False, f"{type(e).__name__}: {e}; then {reply.strip()}"


def check_ftp(name: str, t: dict[str, Any], rep: vt.Report) -> None:
    facts, port = t["facts"], t["port"]
    implicit = t["tls_start"] == "implicit"
    user, password = (SVC / "ftp" / "credentials").read_text().strip().split(":", 1)

    def chk(what: str, ok: bool, detail: str = "") -> None:
        rep.check(name, what, ok, detail)

    if not implicit:
        # STARTTLS offered: AUTH TLS in FEAT.
        f = ftplib.FTP(timeout=10)
        f.connect(HOST, port)
        feat = ftp_reply(f, "FEAT")
        chk(
            "AUTH TLS in FEAT",
            ("AUTH TLS" in feat) == t["starttls_offered"],
            feat.replace("\n", " "),
        )
        g = ftplib.FTP(timeout=10)
        g.connect(HOST, port)
        r = ftp_reply(g, "AUTH TLS")
        chk("AUTH TLS accepted", r.startswith("234") == facts["auth_tls_accepted"], r)
        g.close()
        # Login in clear: USER and PASS before AUTH TLS.
        r1 = ftp_reply(f, f"USER {user}")
        r2 = ftp_reply(f, f"PASS {password}") if r1.startswith("331") else r1
        chk(
            "plaintext login",
            r2.startswith("230") == facts["plaintext_login_before_tls"],
            f"{r1} / {r2}",
        )
        if r2.startswith("230"):
            # PROT C data channel: a cleartext listing works when PROT P is not required.
            ok, detail = ftp_list(f)  # type: ignore[arg-type]
            chk("cleartext (PROT C) listing", ok == (not facts["prot_p_required"]), detail)
        f.close()
        # Anonymous in clear.
        f = ftplib.FTP(timeout=10)
        f.connect(HOST, port)
        r = ftp_reply(f, "USER anonymous")
        r = ftp_reply(f, "PASS lab@example.org") if r.startswith("331") else r
        want = facts["anonymous_login"] and facts["plaintext_login_before_tls"]
        chk("anonymous login in clear", r.startswith("230") == want, r)
        f.close()

    # Anonymous over TLS.
    f = FTPS(implicit=implicit)
    f.connect(HOST, port)
    if not implicit:
        f.auth()
    r = ftp_reply(f, "USER anonymous")
    r = ftp_reply(f, "PASS lab@example.org") if r.startswith("331") else r
    chk("anonymous login over TLS", r.startswith("230") == facts["anonymous_login_over_tls"], r)
    if r.startswith("230"):
        f.prot_p()
        ok, detail = ftp_list(f)
        data_tls = ok and bool(f.data_versions) and f.data_versions[-1].startswith("TLS")
        chk(
            "anonymous LIST over PROT P (data channel is TLS)",
            data_tls and facts["anonymous_file"] in detail,
            f"{detail} data={f.data_versions}",
        )
    f.close()

    # The local user over TLS, one connection per check: vsftpd ends the
    # session after a refused data connection.
    def login() -> FTPS:
        f = FTPS(implicit=implicit)
        f.connect(HOST, port)
        r = f.login(user, password)
        chk("local login over TLS", r.startswith("230"), r)
        return f

    f = login()
    ftp_reply(f, "PBSZ 0")
    r = ftp_reply(f, "PROT C")
    ok, detail = ftp_list(f) if r.startswith("200") else (False, r)
    chk("PROT P required", (not ok) == facts["prot_p_required"], f"PROT C: {r}; LIST: {detail}")
    f.close()

    f = login()
    f.prot_p()
    ok, detail = ftp_list(f)
    chk(
        "LIST over PROT P (resumed session)",
        ok == facts["data_channel_tls_possible"]
        and (not ok or f.data_versions[-1].startswith("TLS")),
        f"{detail} data={f.data_versions}",
    )
    # Passive port inside the range; active mode (PORT) refused or not.
    r = ftp_reply(f, "PASV")
    m = re.search(r"\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)", r)
    pasv = int(m[5]) * 256 + int(m[6]) if m else -1
    lo, hi = facts["passive_ports"]
    chk("passive port in range", lo <= pasv <= hi, r)
    r = ftp_reply(f, "PORT 127,0,0,1,200,1")
    chk("active mode", r.startswith("200") == facts["active_mode"], r)
    f.close()

    f = login()
    f.prot_p()
    f.reuse = False
    ok, detail = ftp_list(f)
    chk(
        "data channel without session reuse refused",
        (not ok) == facts["data_channel_session_reuse_required"],
        detail,
    )
    f.close()


# ------------------------------------------------------------- LDAP


def ldap_cmd(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LDAPTLS_CACERT": str(CA), "LDAPTLS_REQCERT": "demand"}
    return subprocess.run(
        list(args), env=env, capture_output=True, text=True, timeout=15, check=False
    )


def check_ldap(name: str, t: dict[str, Any], rep: vt.Report) -> None:
    url = f"{t['protocol']}://{HOST}:{t['port']}"
    if t["tls_start"] == "starttls":
        p = ldap_cmd(
            "ldapsearch", "-x", "-LLL", "-H", url, "-b", "", "-s", "base", "supportedExtension"
        )
        rep.check(
            name,
            "StartTLS in root DSE (read in clear)",
            (STARTTLS_LDAP_OID in p.stdout) == t["facts"]["starttls_supported"],
            p.stdout.replace("\n", " ") + p.stderr,
        )
    zz = ["-ZZ"] if t["tls_start"] == "starttls" else []
    p = ldap_cmd(
        "ldapsearch", "-x", "-LLL", *zz, "-H", url, "-b", "dc=lab,dc=test", "-s", "base", "dc"
    )
    rep.check(name, "search over TLS (lab CA, verified)", "dc: lab" in p.stdout, p.stderr.strip())


# ------------------------------------------------------------- PostgreSQL


def check_postgres(name: str, t: dict[str, Any], rep: vt.Report) -> None:
    with socket.create_connection((HOST, t["port"]), timeout=10) as s:
        s.sendall(struct.pack("!II", 8, 80877103))  # SSLRequest
        answer = s.recv(1)
    rep.check(name, "SSLRequest answered 'S'", (answer == b"S") == t["facts"]["ssl"], repr(answer))


# ------------------------------------------------------------- XMPP


def xmpp_read_features(sock: socket.socket) -> str:
    data = b""
    while b"</stream:features>" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


def xmpp_open(sock: socket.socket) -> str:
    sock.sendall(
        b"<?xml version='1.0'?><stream:stream to='localhost' version='1.0' "
        b"xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
    )
    return xmpp_read_features(sock)


def mechanisms(features: str) -> list[str]:
    return re.findall(r"<mechanism>([^<]+)</mechanism>", features)


def check_xmpp(name: str, t: dict[str, Any], rep: vt.Report) -> None:
    raw = socket.create_connection((HOST, t["port"]), timeout=10)
    if t["tls_start"] == "implicit":
        sock = tls_context().wrap_socket(raw, server_hostname="localhost")
        feats = xmpp_open(sock)
        rep.check(name, "SASL offered over implicit TLS", bool(mechanisms(feats)), feats)
        sock.close()
        return
    feats = xmpp_open(raw)
    starttls = re.search(r"<starttls [^>]*>(.*?)</starttls>|<starttls [^>]*/>", feats, re.S)
    rep.check(name, "<starttls/> offered", bool(starttls) == t["starttls_offered"], feats)
    required = bool(starttls and starttls[1] and "<required" in starttls[1])
    rep.check(name, "<starttls/> required", required == t["facts"]["starttls_required"], feats)
    before = mechanisms(feats)
    rep.check(
        name,
        "SASL mechanisms before TLS",
        before == t["facts"]["sasl_mechanisms_before_tls"],
        str(before),
    )
    raw.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    proceed = raw.recv(4096)
    sock = tls_context().wrap_socket(raw, server_hostname="localhost")
    after = mechanisms(xmpp_open(sock))
    rep.check(name, "SASL mechanisms after TLS", b"<proceed" in proceed and bool(after), str(after))
    sock.close()


PROTOCOL_CHECKS = {
    "ftp": check_ftp,
    "ftps": check_ftp,
    "ldap": check_ldap,
    "ldaps": check_ldap,
    "postgres": check_postgres,
    "xmpp": check_xmpp,
}


def run_target(name: str, t: dict[str, Any], rep: vt.Report, extra: list[tuple[str, str]]) -> None:
    try:
        PROTOCOL_CHECKS[t["protocol"]](name, t, rep)
    except Exception as e:  # noqa: BLE001  (a crash is a mismatch, the rest goes on)
        rep.check(name, "protocol checks", False, f"{type(e).__name__}: {e}")
    ServiceCheck(name, t, rep).run(extra)


def main() -> int:
    rep = vt.Report()
    extra = vt.gnutls_only_suites()
    with ThreadPoolExecutor(max_workers=len(TRUTH)) as pool:
        futs = [pool.submit(run_target, n, t, rep, extra) for n, t in TRUTH.items()]
        for f in futs:
            f.result()
    for line in rep.failed:
        print(f"MISMATCH {line}")
    for line in rep.unverified:
        print(f"UNVERIFIED {line}")
    print(
        f"services/verify: {rep.passed + len(rep.failed)} checks, {len(rep.failed)} mismatches, "
        f"{len(rep.unverified)} claims no local client can test"
    )
    return 1 if rep.failed else 0


if __name__ == "__main__":
    sys.exit(main())
