"""Check lab/more/ground_truth.json against the running more-lab.

Run through lab/more/verify.sh. Two kinds of evidence, from 127.0.0.1:
- The dialog (probe.py, stdlib sockets): the greeting (MariaDB's greeting
  packet: version, CLIENT_SSL, auth plugin); the capabilities before TLS,
  hence starttls_offered and plaintext_auth_before_tls; on ManageSieve and
  NNTP a cleartext login before TLS, which must be refused (the truth offers
  none); the upgrade (or implicit TLS) validated against the lab root for the
  name localhost; the capabilities after TLS; a ManageSieve login over TLS.
- Handshakes with `openssl s_client [-starttls lmtp|sieve|mysql|nntp|irc]`,
  the TLS lab's method (lab/verify_truth.py's client tables are reused):
  every version; every suite s_client can offer, alone; cipher order; each
  group alone; the DH prime; the certificate chain and its validation by name
  and by IP. The 3DES suites s_client lacks are offered with gnutls-cli where
  it can reach TLS: directly on the implicit targets, with --starttls-proto
  on lmtp, sieve and nntp. gnutls-cli has no IRC or MySQL dialog, so on
  irc-starttls and mysql-ssl those suites are listed as not checked (the
  same GnuTLS profile serves ircs-implicit, where they are; MariaDB's libssl
  has no 3DES at all).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cryptography import x509

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True
sys.path[:0] = [str(HERE.parent), str(HERE)]  # lab/ first: its ground_truth, verify_truth
import ground_truth as gt  # noqa: E402
import probe as pr  # noqa: E402
import verify_truth as vt  # noqa: E402

TRUTH = json.loads(pr.TRUTH.read_text())
# What gnutls-cli --starttls-proto can speak (gnutls 3.7).
GNUTLS_STARTTLS = {"lmtp", "sieve", "nntp", "smtp", "imap", "pop3", "ftp", "xmpp", "ldap"}
S_CLIENT_STARTTLS = {"lmtp", "sieve", "mysql", "nntp", "irc"}


def starttls_args(t: dict[str, Any]) -> list[str]:
    if t["tls_start"] == "implicit":
        return []
    assert t["protocol"] in S_CLIENT_STARTTLS
    return ["-starttls", t["protocol"]]


def s_client(t: dict[str, Any], *args: str) -> dict[str, Any]:
    """One handshake through the target's dialog (the TLS lab's s_client, with -starttls)."""
    return vt.s_client(t["port"], *starttls_args(t), *args, host=t["host"])


def gnutls_cli(t: dict[str, Any], priority: str) -> str | None:
    cmd = ["gnutls-cli", "--insecure", "--sni-hostname", "localhost", "-p", str(t["port"])]
    if t["tls_start"] != "implicit":
        cmd.append(f"--starttls-proto={t['protocol']}")
    cmd += ["--priority", priority, t["host"]]
    try:
        p = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=15, check=False
        )
    except subprocess.TimeoutExpired:
        return None
    m = re.search(r"- Description: (.+)", p.stdout)
    return m[1] if p.returncode == 0 and m else None


class Check:
    def __init__(self, name: str, t: dict[str, Any]) -> None:
        self.name, self.t = name, t
        self.passed, self.failed, self.unchecked = 0, [], []
        self.codes = {v: {s["code"] for s in t["cipher_suites"].get(v, [])} for v in gt.VERSIONS}

    def chk(self, what: str, ok: bool, detail: str = "") -> None:
        if ok:
            self.passed += 1
        else:
            self.failed.append(f"{self.name}: {what} {detail}".rstrip())

    def run(self) -> Check:
        steps = (self.dialog, self.logins, self.tls_dialog, self.versions, self.handshakes)
        for step in steps:
            try:
                step()
            except (OSError, pr.ProbeError) as e:
                self.chk(step.__name__, False, f"raised {e!r}")
        return self

    # ------------------------------------------------------------ dialog

    def dialog(self) -> None:
        t = self.t
        with pr.Conn(t) as c:
            if c.proto == "mysql":
                g, want = c.greeting, t["mysql_greeting"]
                self.chk(
                    "server version",
                    bool(re.match(want["server_version_pattern"], g["server_version"])),
                    repr(g["server_version"]),
                )
                self.chk("CLIENT_SSL", g["ssl_offered"] == want["ssl_offered"], f"{g}")
                self.chk(
                    "auth plugin", g["auth_plugin"] == want["auth_plugin"], repr(g["auth_plugin"])
                )
                self.chk("starttls_offered", g["ssl_offered"] == t["starttls_offered"])
                self.chk(
                    "no plaintext auth plugin",
                    (g["auth_plugin"] in ("mysql_clear_password", "dialog"))
                    == bool(t["plaintext_auth_before_tls"]),
                )
                return
            self.chk("greeting", c.greeting == t["greeting"], repr(c.greeting))
            if t["tls_start"] == "implicit":
                return
            caps = c.capabilities()
        self.chk("capabilities_before", caps == t["capabilities_before"], f"got {caps}")
        word = "tls" if c.proto == "irc" else "STARTTLS"
        self.chk("starttls_offered", (word in (caps or [])) == t["starttls_offered"])
        auth = pr.plaintext_auth(t["protocol"], caps)
        self.chk("plaintext_auth_before_tls", auth == t["plaintext_auth_before_tls"], f"got {auth}")

    def logins(self) -> None:
        """The flaw for real: does the server take a password in the clear?"""
        t, u = self.t, TRUTH["test_user"]
        if t["tls_start"] != "starttls" or t["protocol"] not in ("sieve", "nntp"):
            return
        with pr.Conn(t) as c:
            accepted, answer = c.login(u["user"], u["password"])
        want = bool(t["plaintext_auth_before_tls"])
        what = "cleartext login accepted" if want else "cleartext login refused"
        self.chk(what, accepted == want, f"server said {answer!r}")

    def tls_dialog(self) -> None:
        """Validated against the lab root for localhost; capabilities after TLS."""
        t = self.t
        with pr.Conn(t, pr.lab_ca()) as c:
            if t["tls_start"] == "starttls":
                if c.proto == "irc":
                    c.capabilities()
                c.starttls(pr.lab_ca())
            desc = c.handshake_done()
            self.chk(
                "TLS validated by the lab CA for localhost",
                t["certificate"]["trusted_by_lab_ca"],
                desc,
            )
            if c.proto == "mysql":
                return
            caps = c.capabilities()
            self.chk("capabilities_after", caps == t["capabilities_after"], f"got {caps}")
            if c.proto == "sieve":
                u = TRUTH["test_user"]
                accepted, answer = c.login(u["user"], u["password"])
                self.chk("login over TLS accepted", accepted, f"server said {answer!r}")

    # ------------------------------------------------------------ handshakes

    def versions(self) -> None:
        for v in gt.VERSIONS:
            r = s_client(
                self.t, vt.S_CLIENT_VERSION[v], "-ciphersuites", vt.ALL_13, "-cipher", vt.ALL_12
            )
            want = v in self.t["versions"]
            self.chk(f"version {v}", r["ok"] == want, f"truth={want} got={r['ok']} {r['tail']}")

    def handshakes(self) -> None:
        for v in self.t["versions"]:
            self.suites(v)
            self.order(v)
            self.groups(v)
            if v != "TLS 1.3":
                self.dh(v)
        if self.t["versions"]:
            self.certificate()

    def accepted(self, v: str) -> list[str]:
        return [o for c, _, o in vt.client_suites(v) if c in self.codes[v]]

    def suites(self, v: str) -> None:
        tested = set()
        for code, iana, oname in vt.client_suites(v):
            tested.add(code)
            r = s_client(self.t, *vt.offer(v, oname))
            want = code in self.codes[v]
            ok = r["ok"] == want and (not want or r["cipher"] == oname)
            self.chk(f"{v} {iana}", ok, f"truth={want} got={r['cipher']}")
        if v == "TLS 1.3":
            pass
        elif self.t["tls_start"] == "implicit" or self.t["protocol"] in GNUTLS_STARTTLS:
            for code, iana in EXTRA:
                prio = vt.gnutls_suite_priority(v, iana)
                if prio:
                    tested.add(code)
                    desc = gnutls_cli(self.t, prio)
                    ok = (desc is not None) == (code in self.codes[v])
                    self.chk(f"{v} {iana} (gnutls-cli)", ok, f"{desc}")
        else:
            self.unchecked += [f"{v} {iana}" for _, iana in EXTRA]
        for s in self.t["cipher_suites"][v]:
            self.chk(f"{v} {s['name']} testable", s["code"] in tested, "no client offers it")

    def order(self, v: str) -> None:
        pool = self.accepted(v)
        if len(pool) < 2:
            return
        a, b = pool[:2]
        flag, tail = ("-ciphersuites", "") if v == "TLS 1.3" else ("-cipher", ":@SECLEVEL=0")
        first = s_client(self.t, vt.S_CLIENT_VERSION[v], flag, f"{a}:{b}{tail}")["cipher"]
        second = s_client(self.t, vt.S_CLIENT_VERSION[v], flag, f"{b}:{a}{tail}")["cipher"]
        observed = None
        if first and first == second:
            observed = True
        elif (first, second) == (a, b):
            observed = False
        self.chk(
            f"{v} server cipher order",
            observed == self.t["server_cipher_order"],
            f"{a}:{b} -> {first}, {b}:{a} -> {second}",
        )
        if self.t["server_cipher_order"] and first:
            order = self.t["cipher_order"][v]
            iana = {o: i for _, i, o in vt.client_suites(v)} if v != "TLS 1.3" else {a: a, b: b}
            want = min((a, b), key=lambda o: order.index(iana[o]))
            self.chk(f"{v} server picks by cipher_order", first == want, f"{first} (want {want})")

    def groups(self, v: str) -> None:
        truth = {g["name"] for g in self.t["groups"].get(v, [])}
        if v == "TLS 1.3":
            trials = [(g, ["-tls1_3", "-groups", g]) for g in vt.GROUPS_13]
        else:
            ecdhe = [o for o in self.accepted(v) if "ECDHE" in o]
            if not ecdhe:
                self.chk(f"{v} no ECDHE, no groups", not truth, f"{truth}")
                return
            flag = vt.S_CLIENT_VERSION[v]
            cipher = ":".join(ecdhe) + ":@SECLEVEL=0"
            trials = [(g, [flag, "-cipher", cipher, "-groups", g]) for g in vt.GROUPS_12_EC]
        for g, args in trials:
            r = s_client(self.t, *args)
            want = gt.group_entry(g)["name"] in truth
            self.chk(f"{v} group {g}", r["ok"] == want, f"truth={want} key={r['temp_key']}")

    def dh(self, v: str) -> None:
        dhe = [o for o in self.accepted(v) if o.startswith("DHE-")]
        if not self.t["dh"] or not dhe:
            self.chk(f"{v} DHE only with dh", not dhe and not self.t["dh"], f"dh={self.t['dh']}")
            return
        r = s_client(self.t, vt.S_CLIENT_VERSION[v], "-cipher", dhe[0])
        want = f"DH, {self.t['dh']['prime_bits']} bits"
        self.chk(f"{v} DH prime", r["temp_key"] == want, f"{dhe[0]} -> {r['temp_key']}")

    def certificate(self) -> None:
        (truth,) = self.t["certificates"]
        r = s_client(self.t)
        certs = r["certs"]
        self.chk("certificate served", r["ok"] and bool(certs), f"{r['tail']}")
        if not (r["ok"] and certs):
            return
        leaf = certs[0]
        self.chk("leaf key type", vt.key_type(leaf) == truth["key_type"], vt.key_type(leaf))
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n.value) for n in san]
        self.chk("leaf SAN", names == truth["san"], f"{names}")
        self.chk("chain served", len(certs) == len(truth["chain_served"]), f"{len(certs)} certs")
        val = self.t["validation"]
        by_name = s_client(self.t, "-CAfile", str(pr.CA), "-verify_hostname", "localhost")
        want = {vt.VERIFY_CODE[p][0] for p in val["problems"]} or {0}
        self.chk(
            "validation by name localhost", by_name["verify"] in want, f"code {by_name['verify']}"
        )
        by_ip = s_client(self.t, "-CAfile", str(pr.CA), "-verify_ip", self.t["host"])
        want = {vt.VERIFY_CODE[p][1] for p in val["problems"]} or {0}
        if not val["ip_in_san"]:
            want = {vt.VERIFY_CODE["hostname_mismatch"][1]}
        self.chk(
            f"validation by IP {self.t['host']}", by_ip["verify"] in want, f"code {by_ip['verify']}"
        )


EXTRA = vt.gnutls_only_suites()  # 3DES: this s_client cannot offer it


def main() -> int:
    with ThreadPoolExecutor(max_workers=len(TRUTH["targets"])) as pool:
        checks = list(pool.map(lambda kv: Check(*kv).run(), TRUTH["targets"].items()))
    failed = [f for c in checks for f in c.failed]
    for c in checks:
        state = "ok" if not c.failed else f"{len(c.failed)} MISMATCHES"
        extra = (
            f" ({len(c.unchecked)} 3DES suites not checked: no gnutls-cli dialog)"
            if c.unchecked
            else ""
        )
        print(f"{c.name:16} {c.passed + len(c.failed):4} checks  {state}{extra}")
    for line in failed:
        print(f"MISMATCH {line}")
    total = sum(c.passed for c in checks) + len(failed)
    print(f"more verify: {total} checks, {len(failed)} mismatches")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
