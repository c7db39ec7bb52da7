"""Check lab/mail/ground_truth.json against the running mail lab.

Run through lab/mail/verify.sh. Two kinds of evidence, from 127.0.0.1:
- The dialog (mailprobe.py, stdlib sockets): the greeting; the capabilities
  before TLS, hence starttls_offered and plaintext_auth_before_tls; a real
  login with the test user before TLS, which must succeed exactly where the
  truth says plaintext auth is offered; STARTTLS (or implicit TLS) validated
  against the lab root for the name localhost; the capabilities after TLS and
  a login over TLS.
- Handshakes with `openssl s_client [-starttls smtp|imap|pop3]`, the TLS lab's
  method (lab/verify_truth.py, whose client tables are reused): every version;
  every suite s_client can offer, alone; the 3DES suites s_client lacks, with
  `gnutls-cli --starttls-proto`; cipher order; groups; the DH prime; the
  certificate chain and its validation by name and by IP.
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
import mailprobe as mp  # noqa: E402
import verify_truth as vt  # noqa: E402

TRUTH = json.loads(mp.TRUTH.read_text())


def s_client(t: dict[str, Any], *args: str) -> dict[str, Any]:
    """One handshake through the target's dialog (the TLS lab's s_client, with -starttls)."""
    return vt.s_client(t["port"], *starttls(t), *args, host=t["host"])


def starttls(t: dict[str, Any]) -> list[str]:
    # The notls target is asked for STARTTLS too: that it fails is the check.
    return [] if t["tls_start"] == "implicit" else ["-starttls", t["protocol"]]


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
        self.passed, self.failed = 0, []
        self.codes = {v: {s["code"] for s in t["cipher_suites"].get(v, [])} for v in gt.VERSIONS}

    def chk(self, what: str, ok: bool, detail: str = "") -> None:
        if ok:
            self.passed += 1
        else:
            self.failed.append(f"{self.name}: {what} {detail}".rstrip())

    def run(self) -> Check:
        for step in (self.dialog, self.logins, self.tls_dialog, self.versions, self.handshakes):
            try:
                step()
            except (OSError, mp.ProbeError) as e:
                self.chk(step.__name__, False, f"raised {e!r}")
        return self

    # ------------------------------------------------------------ dialog

    def dialog(self) -> None:
        t = self.t
        with mp.Conn(t, mp.lab_ca()) as c:
            self.chk("greeting", c.greeting == t["greeting"], repr(c.greeting))
            if t["tls_start"] == "implicit":
                return
            caps = c.capabilities()
        self.chk("capabilities_before", caps == t["capabilities_before"], f"got {caps}")
        offered = "STARTTLS" in caps or "STLS" in caps
        self.chk("starttls_offered", offered == t["starttls_offered"], f"got {offered}")
        auth = mp.plaintext_auth(t["protocol"], caps)
        self.chk(
            "plaintext_auth_before_tls",
            auth["offered"] == t["plaintext_auth_before_tls"],
            f"got {auth['offered']}",
        )

    def logins(self) -> None:
        """The flaw for real: are the test user's credentials taken in cleartext?"""
        t, u = self.t, TRUTH["test_user"]
        if t["tls_start"] == "implicit":
            return
        with mp.Conn(t, None) as c:
            if c.proto == "smtp":
                c.smtp("EHLO client.lab.invalid")
            accepted, answer = c.login(u["user"], u["password"])
        want = bool(t["plaintext_auth_before_tls"])
        self.chk(
            "cleartext login accepted" if want else "cleartext login refused",
            accepted == want,
            f"server said {answer!r}",
        )

    def tls_dialog(self) -> None:
        t, u = self.t, TRUTH["test_user"]
        if t["tls_start"] == "none":
            with mp.Conn(t, None) as c:
                if c.proto == "smtp":
                    c.smtp("EHLO client.lab.invalid")
                try:
                    c.starttls(mp.lab_ca())
                    self.chk("STARTTLS refused", False, "the upgrade worked")
                except mp.ProbeError as e:
                    self.chk("STARTTLS refused", True, str(e))
            return
        if t.get("upgrade_fails"):
            with mp.Conn(t, None) as c:
                c.smtp("EHLO client.lab.invalid")
                code, lines = c.smtp("STARTTLS")
                self.chk("STARTTLS agreed", code == "220", f"{code} {lines}")
                try:
                    c._wrap(mp.lab_ca())
                    self.chk("handshake after STARTTLS fails", False, "it worked")
                except (OSError, mp.ProbeError) as e:
                    self.chk("handshake after STARTTLS fails", True, str(e))
            return
        # Validates the chain against the lab root and the name localhost.
        with mp.Conn(t, mp.lab_ca()) as c:
            if t["tls_start"] == "starttls":
                if c.proto == "smtp":
                    c.smtp("EHLO client.lab.invalid")
                c.starttls(mp.lab_ca())
            trusted = t["certificate"]["trusted_by_lab_ca"]
            self.chk("TLS validated by the lab CA for localhost", trusted)
            caps = c.capabilities()
            self.chk("capabilities_after", caps == t["capabilities_after"], f"got {caps}")
            accepted, answer = c.login(u["user"], u["password"])
            self.chk("login over TLS accepted", accepted, f"server said {answer!r}")

    # ------------------------------------------------------------ handshakes

    def versions(self) -> None:
        for v in gt.VERSIONS:
            flag = vt.S_CLIENT_VERSION[v]
            r = s_client(self.t, flag, "-ciphersuites", vt.ALL_13, "-cipher", vt.ALL_12)
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
        for code, iana in EXTRA if v != "TLS 1.3" else []:
            prio = vt.gnutls_suite_priority(v, iana)
            if prio:
                tested.add(code)
                desc = gnutls_cli(self.t, prio)
                ok = (desc is not None) == (code in self.codes[v])
                self.chk(f"{v} {iana} (gnutls-cli)", ok, f"{desc}")
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
        # server order: the same pick both times; client order: the client's first.
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

    def groups(self, v: str) -> None:
        truth = {g["name"] for g in self.t["groups"].get(v, [])}
        if v == "TLS 1.3":
            trials = [(g, ["-tls1_3", "-groups", g]) for g in vt.GROUPS_13]
        else:
            ecdhe = ":".join(o for o in self.accepted(v) if "ECDHE" in o) + ":@SECLEVEL=0"
            flag = vt.S_CLIENT_VERSION[v]
            trials = [(g, [flag, "-cipher", ecdhe, "-groups", g]) for g in vt.GROUPS_12_EC]
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
        if not self.chk_served(r):
            return
        leaf = certs[0]
        self.chk("leaf key type", vt.key_type(leaf) == truth["key_type"], vt.key_type(leaf))
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n.value) for n in san]
        self.chk("leaf SAN", names == truth["san"], f"{names}")
        self.chk("chain served", len(certs) == len(truth["chain_served"]), f"{len(certs)} certs")
        val = self.t["validation"]
        by_name = s_client(self.t, "-CAfile", str(mp.CA), "-verify_hostname", "localhost")
        want = {vt.VERIFY_CODE[p][0] for p in val["problems"]} or {0}
        code = by_name["verify"]
        self.chk("validation by name localhost", code in want, f"code {code}")
        by_ip = s_client(self.t, "-CAfile", str(mp.CA), "-verify_ip", self.t["host"])
        want = {vt.VERIFY_CODE[p][1] for p in val["problems"]} or {0}
        if not val["ip_in_san"]:
            want = {vt.VERIFY_CODE["hostname_mismatch"][1]}
        code = by_ip["verify"]
        self.chk(f"validation by IP {self.t['host']}", code in want, f"code {code}")

    def chk_served(self, r: dict[str, Any]) -> bool:
        self.chk("certificate served", r["ok"] and bool(r["certs"]), f"{r['tail']}")
        return r["ok"] and bool(r["certs"])


EXTRA = vt.gnutls_only_suites()  # 3DES: this s_client cannot offer it


def main() -> int:
    with ThreadPoolExecutor(max_workers=len(TRUTH["targets"])) as pool:
        checks = list(pool.map(lambda kv: Check(*kv).run(), TRUTH["targets"].items()))
    failed = [f for c in checks for f in c.failed]
    for c in checks:
        state = "ok" if not c.failed else f"{len(c.failed)} MISMATCHES"
        print(f"{c.name:16} {c.passed + len(c.failed):4} checks  {state}")
    for line in failed:
        print(f"MISMATCH {line}")
    total = sum(c.passed for c in checks) + len(failed)
    print(f"mail verify: {total} checks, {len(failed)} mismatches")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
