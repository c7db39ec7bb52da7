"""Check lab/ground_truth.json against the running lab with real clients.

Run through lab/verify_truth.sh. Every claim in the truth is tested by a
handshake: each suite the local `openssl s_client` can offer is tried alone, at
each version, and must succeed exactly when the truth lists it; likewise groups,
versions, cipher order, DH size, key types and certificate validation.

What s_client cannot offer is tried with `gnutls-cli` instead: this libssl has no
3DES suites (so the legacy-3des target's 3DES suites, and their absence
everywhere else, are checked with gnutls-cli), and OpenSSL never negotiates
RFC 7919 FFDHE groups below TLS 1.3 (gnutls-cli checks those on the gnutls
target). Anything neither client can offer is reported as UNVERIFIED.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

LAB = Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # keep lab/ free of __pycache__
sys.path.insert(0, str(LAB))
import ground_truth as gt  # noqa: E402

RUN = Path(os.environ.get("PROTOAUDIT_LAB_DIR", "/tmp/protoaudit-lab"))
CA = RUN / "pki" / "ca.pem"
ENV = gt.ENV
HOST = gt.HOST
S_CLIENT_VERSION = {
    "TLS 1.0": "-tls1",
    "TLS 1.1": "-tls1_1",
    "TLS 1.2": "-tls1_2",
    "TLS 1.3": "-tls1_3",
}
GNUTLS_VERSION = {"TLS 1.0": "VERS-TLS1.0", "TLS 1.1": "VERS-TLS1.1", "TLS 1.2": "VERS-TLS1.2"}
ALL_12 = "ALL:COMPLEMENTOFALL:@SECLEVEL=0"
ALL_13 = ":".join(
    [
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_AES_128_CCM_SHA256",
        "TLS_AES_128_CCM_8_SHA256",
    ]
)  # every TLS 1.3 suite OpenSSL 3.0 implements
# Groups offered one at a time. Negatives matter as much as positives, so the
# lists include groups no lab server should accept.
GROUPS_13 = [
    "X25519",
    "X448",
    "secp256r1",
    "secp384r1",
    "secp521r1",
    "ffdhe2048",
    "ffdhe3072",
    "ffdhe4096",
    "ffdhe6144",
    "ffdhe8192",
]
GROUPS_12_EC = [
    "X25519",
    "X448",
    "secp256r1",
    "secp384r1",
    "secp521r1",
    "secp224r1",
    "secp192r1",
    "brainpoolP256r1",
    "brainpoolP384r1",
    "brainpoolP512r1",
]
# OpenSSL verify codes for each certificate problem (hostname check, IP check).
# incomplete_chain is 21, "unable to verify the first certificate": the server
# sent the leaf alone, so OpenSSL cannot even find the issuer's name in a chain.
VERIFY_CODE = {
    "expired": (10, 10),
    "self_signed": (18, 18),
    "incomplete_chain": (21, 21),
    "hostname_mismatch": (62, 64),
}
# gnutls-cli priority tokens by IANA name part, for the suites only gnutls offers.
GNUTLS_KX = {
    "RSA": "RSA",
    "DHE_RSA": "DHE-RSA",
    "ECDHE_RSA": "ECDHE-RSA",
    "ECDHE_ECDSA": "ECDHE-ECDSA",
}
GNUTLS_CIPHER = {"3DES_EDE_CBC": "3DES-CBC", "AES_128_CBC": "AES-128-CBC"}
GNUTLS_MAC = {"SHA": "SHA1"}
GNUTLS_ONLY_PRIORITY = (
    "NONE:+VERS-TLS1.2:+VERS-TLS1.1:+VERS-TLS1.0:+3DES-CBC:+SHA1:+RSA:+DHE-RSA:"
    "+ECDHE-RSA:+ECDHE-ECDSA:+COMP-NULL:+SIGN-ALL:+GROUP-ALL:+CTYPE-X509"
)


class Report:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.passed = 0
        self.failed: list[str] = []
        self.unverified: list[str] = []

    def check(self, target: str, what: str, ok: bool, detail: str = "") -> None:
        with self.lock:
            if ok:
                self.passed += 1
            else:
                self.failed.append(f"{target}: {what} {detail}".rstrip())


def s_client(port: int, *args: str, host: str = "127.0.0.1") -> dict[str, Any]:
    """One handshake; what s_client reports about it (the sub-labs' verifiers use it too)."""
    cmd = [
        "openssl",
        "s_client",
        "-connect",
        f"{host}:{port}",
        "-servername",
        "localhost",
        "-showcerts",
        *args,
    ]
    try:
        p = subprocess.run(
            cmd,
            env=ENV,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
        out = p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        out = ""
    m = re.search(r"^New, (\S+), Cipher is (\S+)", out, re.M)
    ok = bool(m) and m[2] != "(NONE)"
    temp = re.search(r"Server Temp Key: (.+)", out)
    code = re.search(r"Verify return code: (\d+)", out)
    pems = re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", out, re.S)
    return {
        "ok": ok,
        "version": m[1] if ok and m else None,
        "cipher": m[2] if ok and m else None,
        "temp_key": temp[1].strip() if temp else None,
        "verify": int(code[1]) if code else None,
        "certs": [x509.load_pem_x509_certificate(p.encode()) for p in pems],
        "tail": out.strip().splitlines()[-1:] if out.strip() else [],
    }


def gnutls_cli(port: int, priority: str) -> str | None:
    """One gnutls-cli handshake; its session description, or None if it failed."""
    cmd = [
        "gnutls-cli",
        "--insecure",
        "--sni-hostname",
        "localhost",
        "-p",
        str(port),
        "--priority",
        priority,
        "127.0.0.1",
    ]
    try:
        p = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=15, check=False
        )
    except subprocess.TimeoutExpired:
        return None
    m = re.search(r"- Description: (.+)", p.stdout)
    return m[1] if p.returncode == 0 and m else None


def key_type(cert: x509.Certificate) -> str:
    k = cert.public_key()
    if isinstance(k, rsa.RSAPublicKey):
        return f"RSA-{k.key_size}"
    if isinstance(k, ec.EllipticCurvePublicKey) and k.curve.name == "secp256r1":
        return "ECDSA-P256"
    return type(k).__name__


def client_suites(version: str) -> list[tuple[str, str, str]]:
    """(code, IANA name, OpenSSL name) of every suite s_client can offer at version."""
    if version == "TLS 1.3":
        return [(s.code, s.name, s.name) for s in gt.openssl_expand(version, "ALL", ALL_13)]
    cmd = ["openssl", "ciphers", "-s", "-V", "-stdname", "-psk", "-srp"]
    cmd += [S_CLIENT_VERSION[version], ALL_12]
    out = subprocess.run(cmd, env=ENV, capture_output=True, text=True, check=True).stdout
    suites = []
    for line in out.splitlines():
        m = re.match(r"\s*(0x..,0x..) - (\S+)\s+- (\S+)\s+(\S+)", line)
        if m and m[4] != "TLSv1.3":
            suites.append((gt._code(m[1]), m[2], m[3]))
    return suites


def offer(version: str, openssl_name: str) -> list[str]:
    """s_client arguments that offer exactly one suite."""
    if version == "TLS 1.3":
        return [S_CLIENT_VERSION[version], "-ciphersuites", openssl_name]
    extra = []
    if "PSK" in openssl_name:
        extra = ["-psk", "0123456789abcdef0123456789abcdef"]
    elif "SRP" in openssl_name:
        extra = ["-srpuser", "lab", "-srppass", "labpassword"]
    return [S_CLIENT_VERSION[version], "-cipher", f"{openssl_name}:@SECLEVEL=0", *extra]


def gnutls_suite_priority(version: str, iana: str) -> str | None:
    m = re.match(r"TLS_(.+)_WITH_(.+)_(SHA)$", iana)
    if not m or m[1] not in GNUTLS_KX or m[2] not in GNUTLS_CIPHER:
        return None
    return (
        f"NONE:+{GNUTLS_VERSION[version]}:+{GNUTLS_CIPHER[m[2]]}:+{GNUTLS_MAC[m[3]]}:"
        f"+{GNUTLS_KX[m[1]]}:+COMP-NULL:+SIGN-ALL:+GROUP-ALL:+CTYPE-X509"
    )


def gnutls_only_suites() -> list[tuple[str, str]]:
    """(code, IANA name) of the suites gnutls-cli offers that s_client cannot."""
    suites, _, _ = gt.gnutls_list(GNUTLS_ONLY_PRIORITY)
    iana = gt.iana_suites()
    openssl_codes = {c for v in ("TLS 1.0", "TLS 1.2") for c, _, _ in client_suites(v)}
    return [(code, iana[code]) for _, code, _ in suites if code not in openssl_codes]


class TargetCheck:
    """Every check of one target, run one after another."""

    def __init__(self, name: str, t: dict[str, Any], rep: Report) -> None:
        self.name, self.t, self.rep, self.port = name, t, rep, t["port"]
        self.versions: list[str] = t["versions"]
        self.codes = {v: {s["code"] for s in t["cipher_suites"].get(v, [])} for v in gt.VERSIONS}

    def chk(self, what: str, ok: bool, detail: str = "") -> None:
        self.rep.check(self.name, what, ok, detail)

    def accepted(self, v: str) -> list[str]:
        """OpenSSL names of the truth's suites at v that s_client can offer."""
        return [o for c, _, o in client_suites(v) if c in self.codes[v]]

    def run(self, gnutls_extra: list[tuple[str, str]]) -> None:
        self.versions_()
        for v in self.versions:
            self.suites(v, gnutls_extra)
            self.cipher_order(v)
            self.groups(v)
            if v != "TLS 1.3":
                self.dh(v)
        self.certificates()

    def versions_(self) -> None:
        # Everything this client has, at one version at a time. (SSL 2.0/3.0 are
        # compiled out of this s_client, as of every lab server.)
        for v in gt.VERSIONS:
            r = s_client(self.port, S_CLIENT_VERSION[v], "-ciphersuites", ALL_13, "-cipher", ALL_12)
            self.chk(f"version {v}", r["ok"] == (v in self.versions), f"handshake={r['ok']}")

    def suites(self, v: str, gnutls_extra: list[tuple[str, str]]) -> None:
        """Each suite alone: accepted exactly when the truth lists it."""
        tested = set()
        for code, iana, oname in client_suites(v):
            tested.add(code)
            r = s_client(self.port, *offer(v, oname))
            want = code in self.codes[v]
            self.chk(
                f"{v} {iana}",
                r["ok"] == want and (not want or r["cipher"] == oname),
                f"truth={want} handshake={r['ok']} got={r['cipher']}",
            )
        for code, iana in gnutls_extra if v != "TLS 1.3" else []:
            prio = gnutls_suite_priority(v, iana)
            if prio is None:
                continue
            tested.add(code)
            desc = gnutls_cli(self.port, prio)
            want = code in self.codes[v]
            self.chk(f"{v} {iana} (gnutls-cli)", (desc is not None) == want, f"got={desc}")
        for s in self.t["cipher_suites"].get(v, []):
            if s["code"] not in tested:
                self.rep.unverified.append(f"{self.name}: {v} {s['name']} (no client offers it)")

    def cipher_order(self, v: str) -> None:
        """Two accepted suites offered in both orders: who decides?"""
        pool = self.accepted(v)
        if len(pool) < 2:
            return
        a, b = pool[:2]
        flag, tail = ("-ciphersuites", "") if v == "TLS 1.3" else ("-cipher", ":@SECLEVEL=0")
        first = s_client(self.port, S_CLIENT_VERSION[v], flag, f"{a}:{b}{tail}")["cipher"]
        second = s_client(self.port, S_CLIENT_VERSION[v], flag, f"{b}:{a}{tail}")["cipher"]
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
            for g in GROUPS_13:
                r = s_client(self.port, "-tls1_3", "-groups", g)
                want = gt.group_entry(g)["name"] in truth
                self.chk(f"{v} group {g}", r["ok"] == want, f"truth={want} key={r['temp_key']}")
            return
        # Below TLS 1.3 a group only matters to ECDHE: offer every ECDHE suite the
        # truth has, with one curve.
        ecdhe = [o for o in self.accepted(v) if "ECDHE" in o or o.startswith("AECDH")]
        if not ecdhe and any(not g.startswith("ffdhe") for g in truth):
            self.chk(f"{v} groups", False, "truth lists EC groups but no ECDHE suite")
        for g in GROUPS_12_EC if ecdhe else []:
            cipher = ":".join(ecdhe) + ":@SECLEVEL=0"
            r = s_client(self.port, S_CLIENT_VERSION[v], "-cipher", cipher, "-groups", g)
            want = gt.group_entry(g)["name"] in truth
            self.chk(f"{v} group {g}", r["ok"] == want, f"truth={want} key={r['temp_key']}")
        # RFC 7919 groups below TLS 1.3: s_client never offers them, gnutls-cli does.
        if self.t["dh"] and self.t["dh"]["ffdhe_negotiated"]:
            for g in sorted(x for x in truth if x.startswith("ffdhe")):
                desc = gnutls_cli(
                    self.port,
                    f"NONE:+{GNUTLS_VERSION[v]}:+AES-128-CBC:+SHA1:+DHE-RSA:"
                    f"+COMP-NULL:+SIGN-ALL:+GROUP-{g.upper()}:+CTYPE-X509",
                )
                ok = bool(desc and f"DHE-{g.upper()}" in desc)
                self.chk(f"{v} group {g} (gnutls-cli)", ok, f"got={desc}")

    def dh(self, v: str) -> None:
        """The server's own DH prime (s_client asks for no RFC 7919 group)."""
        if not self.t["dh"]:
            r = s_client(self.port, S_CLIENT_VERSION[v], "-cipher", "kDHE:@SECLEVEL=0")
            self.chk(f"{v} no finite-field DHE", not r["ok"], f"got={r['cipher']}")
            return
        dhe = [o for o in self.accepted(v) if o.startswith(("DHE-", "EDH-", "ADH-"))]
        if dhe:
            r = s_client(self.port, S_CLIENT_VERSION[v], "-cipher", f"{dhe[0]}:@SECLEVEL=0")
            want = f"DH, {self.t['dh']['prime_bits']} bits"
            self.chk(f"{v} DH prime bits", r["temp_key"] == want, f"{dhe[0]} -> {r['temp_key']}")

    def certificates(self) -> None:
        """Per key type the client can ask for: served or not, then its facts."""
        top = self.versions[-1]
        for kt in ("RSA-2048", "ECDSA-P256"):
            if top == "TLS 1.3":
                sig = (
                    "rsa_pss_rsae_sha256:rsa_pss_pss_sha256" if kt[:3] == "RSA" else "ECDSA+SHA256"
                )
                args = ["-tls1_3", "-sigalgs", sig]
            else:
                auth = "aRSA" if kt[:3] == "RSA" else "aECDSA"
                args = [S_CLIENT_VERSION[top], "-cipher", f"{auth}:@SECLEVEL=0"]
            r = s_client(self.port, *args)
            want = kt in self.t["key_types"]
            served = key_type(r["certs"][0]) if r["ok"] and r["certs"] else None
            self.chk(f"key type {kt}", served == kt if want else not r["ok"], f"served={served}")
            if want and r["ok"]:
                self.certificate(kt, args, r["certs"])

    def certificate(self, kt: str, args: list[str], certs: list[x509.Certificate]) -> None:
        truth = next(c for c in self.t["certificates"] if c["key_type"] == kt)
        leaf = certs[0]
        cn = leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n.value) for n in san]
        ok = cn == truth["subject_cn"] and names == truth["san"]
        self.chk(f"{kt} leaf names", ok, f"cn={cn} san={names}")
        ok = len(certs) == len(truth["chain_served"])
        self.chk(f"{kt} chain length", ok, f"served {len(certs)}")
        expired = leaf.not_valid_after_utc < dt.datetime.now(dt.UTC)
        self.chk(f"{kt} expiry", expired == truth["expired"], f"{leaf.not_valid_after_utc}")
        problems = self.t["validation"]["problems"]
        for i, name_check in enumerate((["-verify_hostname", "localhost"], ["-verify_ip", HOST])):
            r = s_client(self.port, *args, "-CAfile", str(CA), *name_check)
            allowed = {VERIFY_CODE[p][i] for p in problems} or {0}
            self.chk(
                f"{kt} validation {' '.join(name_check)}",
                r["verify"] in allowed,
                f"verify code {r['verify']}, truth problems={problems}",
            )


def main() -> int:
    truth = json.loads(gt.OUT.read_text())
    rep = Report()
    extra = gnutls_only_suites()
    # One thread per target; each target's checks run one after another (s_server
    # serves a single connection at a time anyway).
    with ThreadPoolExecutor(max_workers=len(truth["targets"])) as pool:
        futs = [pool.submit(TargetCheck(n, t, rep).run, extra) for n, t in truth["targets"].items()]
        for f in futs:
            f.result()
    for line in rep.failed:
        print(f"MISMATCH {line}")
    for line in rep.unverified:
        print(f"UNVERIFIED {line}")
    print(
        f"verify_truth: {rep.passed + len(rep.failed)} checks, {len(rep.failed)} mismatches, "
        f"{len(rep.unverified)} claims no local client can test"
    )
    return 1 if rep.failed else 0


if __name__ == "__main__":
    sys.exit(main())
