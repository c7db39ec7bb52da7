"""Write lab/ground_truth.json from the lab's own configuration.

    python3 lab/ground_truth.py            # rewrite lab/ground_truth.json
    python3 lab/ground_truth.py --check    # exit 1 if the file is stale

Nothing here is typed from memory. The inputs are:
- lab/nginx.conf.in and lab/targets.env: what each server is told to enable;
- lab/pki.py's LEAVES: which certificate each target serves, and what is wrong
  with it on purpose;
- the tools' own expansion of each setting: `openssl ciphers -V -stdname` (the
  same libssl nginx and s_server run on) and `gnutls-cli --priority P --list`;
- /etc/testssl/cipher-mapping.txt and curves-mapping.txt (package testssl.sh,
  IANA names by code point) for the names OpenSSL cannot give: this libssl has no
  3DES suites, so it cannot name the ones gnutls offers.

On top of the expansion come the rules a server applies when it picks a suite,
each written down below as a comment where it is applied. lab/verify_truth.sh
then checks the result against the running servers.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LAB = Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # keep lab/ free of __pycache__
sys.path.insert(0, str(LAB))
import pki  # noqa: E402  (lab/ is not a package)

OUT = LAB / "ground_truth.json"
HOST = "127.0.0.1"
MAPPING = Path("/etc/testssl/cipher-mapping.txt")
GROUP_MAPPING = Path("/etc/testssl/curves-mapping.txt")
# The host's openssl.cnf could raise the security level or a minimum protocol
# for every OpenSSL program; the lab runs servers, clients and this expansion
# with library defaults (start.sh and verify_truth.sh set the same).
ENV = {**os.environ, "OPENSSL_CONF": "/dev/null"}

VERSIONS = ("TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3")
OPENSSL_PROTO = {
    "TLSv1": "TLS 1.0",
    "TLSv1.1": "TLS 1.1",
    "TLSv1.2": "TLS 1.2",
    "TLSv1.3": "TLS 1.3",
}
CIPHERS_FLAG = {
    "TLS 1.0": "-tls1",
    "TLS 1.1": "-tls1_1",
    "TLS 1.2": "-tls1_2",
    "TLS 1.3": "-tls1_3",
}
GNUTLS_PROTO = {
    "VERS-TLS1.0": "TLS 1.0",
    "VERS-TLS1.1": "TLS 1.1",
    "VERS-TLS1.2": "TLS 1.2",
    "VERS-TLS1.3": "TLS 1.3",
}
# gnutls-cli --list: lowest version per suite (SSL 3.0 is compiled out: TLS 1.0).
GNUTLS_MIN_VERSION = {
    "SSL3.0": "TLS 1.0",
    "TLS1.0": "TLS 1.0",
    "TLS1.1": "TLS 1.1",
    "TLS1.2": "TLS 1.2",
    "TLS1.3": "TLS 1.3",
}
# OpenSSL accepts several spellings of one group; IANA has one.
OPENSSL_GROUP_ALIAS = {
    "prime256v1": "secp256r1",
    "p-256": "secp256r1",
    "p-384": "secp384r1",
    "p-521": "secp521r1",
}
DH_BITS = {"dh1024": pki.DH_WEAK_BITS, pki.DH_NAMED_GROUP: 2048}
VALIDATION_NAME = "localhost"  # the name a test client asks for (and 127.0.0.1)


# ---------------------------------------------------------------- registries


def _code(text: str) -> str:
    """'0xC0,0x2F' or '0xc0, 0x2f' -> '0xC02F'."""
    hi, lo = (int(x, 16) for x in text.replace(" ", "").split(","))
    return f"0x{hi:02X}{lo:02X}"


def iana_suites() -> dict[str, str]:
    table = {}
    for line in MAPPING.read_text().splitlines():
        f = line.split()
        if len(f) >= 4 and f[0].startswith("0x") and "," in f[0] and f[0].count("0x") == 2:
            table[_code(f[0])] = f[3]
    return table


def iana_groups() -> dict[str, tuple[str, int]]:
    """lower-case IANA name -> (name, code)."""
    table = {}
    for line in GROUP_MAPPING.read_text().splitlines():
        f = line.split()
        if len(f) >= 3 and f[0].startswith("0x"):
            table[f[2].lower()] = (f[2], int(_code(f[0]), 16))
    return table


def group_entry(name: str) -> dict[str, Any]:
    key = name.lower()
    key = OPENSSL_GROUP_ALIAS.get(key, key)
    iana, code = iana_groups()[key]
    return {"name": iana, "code": code}


# ---------------------------------------------------------------- expansion


@dataclass(frozen=True)
class Suite:
    code: str
    name: str
    kx: str  # OpenSSL's Kx= (RSA, DH, ECDH, PSK, ... any) or gnutls' kx part
    au: str  # OpenSSL's Au= (RSA, ECDSA, DSS, None, PSK, SRP, any)


def openssl_expand(version: str, cipher: str, ciphersuites: str | None = None) -> list[Suite]:
    """The suites libssl would enable for `version` under these settings.

    -s keeps only suites valid for the version and security level. -psk/-srp stop
    the CLI from dropping PSK/SRP suites, so the rule about them stays visible here.
    """
    cmd = ["openssl", "ciphers", "-s", "-V", "-stdname", "-psk", "-srp", CIPHERS_FLAG[version]]
    if ciphersuites is not None:  # else the library's default TLS 1.3 suites
        cmd += ["-ciphersuites", ciphersuites]
    cmd.append(cipher)
    out = subprocess.run(cmd, env=ENV, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return []  # "no cipher match": nothing for this version
    suites = []
    for line in out.stdout.splitlines():
        m = re.match(r"\s*(0x..,0x..) - (\S+)\s+- \S+\s+(\S+)\s+Kx=(\S+)\s+Au=(\S+)", line)
        if not m:
            raise ValueError(f"unparsed openssl ciphers line: {line!r}")
        code, name, proto, kx, au = m.groups()
        # -ciphersuites always rides along; keep 1.3 suites for 1.3 only and the
        # rest for the others.
        if (proto == "TLSv1.3") == (version == "TLS 1.3"):
            suites.append(Suite(_code(code), name, kx, au))
    return suites


def openssl_server_filter(
    suites: list[Suite], key_types: set[str], dh: str | None, groups: list[str]
) -> list[Suite]:
    kept = []
    for s in suites:
        # TLS 1.3 suites do not name kx or auth: any certificate serves them.
        if s.au == "any":
            kept.append(s)
            continue
        # Auth must match a served key: an RSA-only server cannot sign with ECDSA,
        # and no lab target has a DSA certificate, so DHE-DSS never happens.
        if s.au == "RSA" and not any(k.startswith("RSA") for k in key_types):
            continue
        if s.au == "ECDSA" and not any(k.startswith("ECDSA") for k in key_types):
            continue
        if s.au == "DSS":
            continue
        # PSK and SRP suites need a PSK callback or an SRP verifier file, which no
        # lab server is given, so the server never selects them.
        if "PSK" in s.kx or "SRP" in s.kx or s.au in ("PSK", "SRP"):
            continue
        # Finite-field DHE (also anonymous DH) needs DH parameters; nginx sets
        # none unless ssl_dhparam is given, s_server uses its -dhparam file.
        if s.kx == "DH" and dh is None:
            continue
        # ECDHE needs at least one configured curve.
        if s.kx == "ECDH" and not groups:
            continue
        # Au=None (anonymous DH/ECDH) needs no certificate: accepted whenever the
        # cipher string lets it through (only @SECLEVEL=0 does).
        kept.append(s)
    return kept


def gnutls_list(priority: str) -> tuple[list[tuple[str, str, str]], list[str], list[str]]:
    """(suites as (gnutls name, code, min version), versions, groups) for a priority."""
    out = subprocess.run(
        ["gnutls-cli", "--priority", priority, "--list"], capture_output=True, text=True, check=True
    ).stdout
    suites, versions, groups = [], [], []
    for line in out.splitlines():
        m = re.match(r"(TLS_\S+)\s+(0x..,\s*0x..)\s+(\S+)", line)
        if m:
            suites.append((m[1], _code(m[2]), m[3]))
        elif line.startswith("Protocols:"):
            versions = [GNUTLS_PROTO[v.strip()] for v in line.split(":", 1)[1].split(",")]
        elif line.startswith("Groups:"):
            groups = [g.strip().removeprefix("GROUP-") for g in line.split(":", 1)[1].split(",")]
    return suites, versions, groups


def _has_kx(suites: list[Suite], *kx: str) -> bool:
    return any(s.kx in kx for s in suites)


# ---------------------------------------------------------------- configs


@dataclass
class NginxServer:
    name: str
    d: dict[str, list[str]] = field(default_factory=dict)


def parse_nginx(path: Path) -> list[NginxServer]:
    """Tiny parser for our own template: one directive per line, http > server."""
    http: dict[str, list[str]] = {}
    servers: list[NginxServer] = []
    stack: list[str] = []
    cur: NginxServer | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if m := re.match(r"# target: (\S+)", line):
            assert cur is not None, "target marker outside a server block"
            cur.name = m[1]
            continue
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.endswith("{"):
            stack.append(line[:-1].strip())
            if stack == ["http", "server"]:
                cur = NginxServer("")
            continue
        if line == "}":
            if stack == ["http", "server"]:
                assert cur is not None
                assert cur.name, "server block without '# target:'"
                # nginx inheritance: a directive set in the server replaces the
                # http-level one(s) wholesale (also the array-valued ones).
                merged = {**http, **cur.d}
                servers.append(NginxServer(cur.name, merged))
                cur = None
            stack.pop()
            continue
        key, _, value = line.rstrip(";").partition(" ")
        target = cur.d if cur is not None else http if stack == ["http"] else None
        if target is not None:
            target.setdefault(key, []).append(value.strip())
    return servers


def read_env(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = shlex.split(value)[0]
    return env


def label_of(cert_path: str) -> str:
    """'@RUN@/pki/rsa.chain.pem' -> 'rsa'."""
    return Path(cert_path).name.removesuffix(".chain.pem")


# ---------------------------------------------------------------- facts


def certificate_facts(labels: list[str]) -> dict[str, Any]:
    certs, problems = [], set()
    for label in labels:
        leaf = pki.LEAVES[label]
        chain = ["leaf", "intermediate"] if leaf.chain_complete else ["leaf"]
        certs.append(
            {
                "label": label,
                "key_type": leaf.key_type,
                "subject_cn": leaf.names[0],
                "san": list(leaf.names),
                "issuer_cn": pki.INTERMEDIATE_CN
                if leaf.issuer == "intermediate"
                else leaf.names[0],
                "chain_served": chain,
                "expired": leaf.expired,
            }
        )
        # The reasons a validator with only the lab root as trust anchor must give.
        if leaf.expired:
            problems.add("expired")
        if leaf.issuer == "self":
            problems.add("self_signed")
        elif not leaf.chain_complete:
            problems.add("incomplete_chain")  # issuer exists but is not served
        if VALIDATION_NAME not in leaf.names or HOST not in leaf.names:
            problems.add("hostname_mismatch")
    return {
        "certificates": certs,
        "validation": {
            "hostname": VALIDATION_NAME,
            "ip": HOST,
            "trust_anchor": "lab root (RUN/pki/ca.pem)",
            "trusted_by_lab_ca": not problems,
            "problems": sorted(problems),
        },
        "key_types": sorted({c["key_type"] for c in certs}),
    }


def suite_list(suites: list[Suite]) -> list[dict[str, str]]:
    iana = iana_suites()
    out = []
    for s in suites:
        # OpenSSL's -stdname is the IANA name; the testssl table must agree.
        if iana.get(s.code, s.name) != s.name:
            raise ValueError(f"{s.code}: openssl says {s.name}, mapping says {iana[s.code]}")
        out.append({"name": s.name, "code": s.code})
    return sorted(out, key=lambda d: d["code"])


def nginx_target(srv: NginxServer) -> dict[str, Any]:
    d = srv.d
    port = int(d["listen"][0].split()[0].rsplit(":", 1)[1])
    labels = [label_of(p) for p in d["ssl_certificate"]]
    cert = certificate_facts(labels)
    key_types = set(cert["key_types"])
    versions = [OPENSSL_PROTO[v] for v in d["ssl_protocols"][0].split()]
    ciphersuites = next(
        c.split(None, 1)[1] for c in d["ssl_conf_command"] if c.startswith("Ciphersuites ")
    )
    groups = d["ssl_ecdh_curve"][0].split(":")
    dh = label_of(d["ssl_dhparam"][0]).removesuffix(".pem") if "ssl_dhparam" in d else None
    per_version = {}
    for v in versions:
        s = openssl_server_filter(
            openssl_expand(v, d["ssl_ciphers"][0], ciphersuites), key_types, dh, groups
        )
        if s:
            per_version[v] = s
    return _target(
        srv.name,
        port,
        "nginx",
        per_version,
        # nginx's ssl_ecdh_curve is SSL_CTX_set1_curves_list: one list for TLS 1.2
        # ECDHE and TLS 1.3 key shares alike.
        {v: groups for v, s in per_version.items() if v == "TLS 1.3" or _has_kx(s, "ECDH")},
        d["ssl_prefer_server_ciphers"][0] == "on",
        cert,
        dh,
        ffdhe_negotiated=False,
    )


def legacy_target(env: dict[str, str]) -> dict[str, Any]:
    cert = certificate_facts([env["LEGACY_CERT"]])
    lo, hi = (
        VERSIONS.index(OPENSSL_PROTO[env[k]])
        for k in ("LEGACY_MIN_PROTOCOL", "LEGACY_MAX_PROTOCOL")
    )
    groups = env["LEGACY_GROUPS"].split(":")
    dh = env["LEGACY_DHPARAM"]
    per_version = {}
    for v in VERSIONS[lo : hi + 1]:
        s = openssl_server_filter(
            openssl_expand(v, env["LEGACY_CIPHER"]),
            set(cert["key_types"]),
            dh,
            groups,
        )
        if s:
            per_version[v] = s
    return _target(
        "legacy",
        int(env["LEGACY_PORT"]),
        "openssl s_server",
        per_version,
        {v: groups for v, s in per_version.items() if _has_kx(s, "ECDH")},
        False,  # no -serverpref: s_server follows the client's order
        cert,
        dh,
        ffdhe_negotiated=False,
        notes=[
            "openssl s_server is single-threaded: it serves one connection at a time, "
            "so concurrent probes queue (a queued handshake is not a refusal)."
        ],
    )


def legacy_3des_target(env: dict[str, str]) -> dict[str, Any]:
    cert = certificate_facts([env["LEGACY_3DES_CERT"]])
    key_types = set(cert["key_types"])
    suites, versions, groups = gnutls_list(env["LEGACY_3DES_PRIORITY"])
    iana = iana_suites()
    per_version: dict[str, list[Suite]] = {}
    for gname, code, min_ver in suites:
        # gnutls-serv gets an RSA key and no PSK or SRP password file: suites that
        # authenticate with RSA work, ECDSA/DSS/PSK/SRP ones cannot be chosen.
        if any(x in gname for x in ("PSK", "SRP", "DSS")):
            continue
        if "ECDSA" in gname and not any(k.startswith("ECDSA") for k in key_types):
            continue
        if "RSA" in gname and not any(k.startswith("RSA") for k in key_types):
            continue
        kx = "ECDH" if "_ECDHE_" in gname else "DH" if "_DHE_" in gname else "RSA"
        for v in versions:
            # --list gives the lowest version a suite works in; TLS 1.3 suites are
            # only in the list when VERS-TLS1.3 is.
            old_enough = VERSIONS.index(v) >= VERSIONS.index(GNUTLS_MIN_VERSION[min_ver])
            if old_enough and code.startswith("0x13") == (v == "TLS 1.3"):
                per_version.setdefault(v, []).append(Suite(code, iana[code], kx, "RSA"))
    return _target(
        "legacy-3des",
        int(env["LEGACY_3DES_PORT"]),
        "gnutls-serv",
        per_version,
        # gnutls uses the EC groups for ECDHE and, per RFC 7919, the FFDHE groups
        # for DHE when the client lists one (below TLS 1.3 too).
        {v: groups for v, s in per_version.items() if _has_kx(s, "ECDH", "DH")},
        "%SERVER_PRECEDENCE" in env["LEGACY_3DES_PRIORITY"],
        cert,
        env["LEGACY_3DES_DHPARAM"],
        ffdhe_negotiated=True,
        notes=[
            "gnutls-serv runs in a private network namespace; 127.0.0.1:4434 on the host "
            "is a socat bridge to it through a unix socket.",
            "TLS 1.1 is not enabled although TLS 1.0 and 1.2 are: a client offering at "
            "most TLS 1.1 gets a protocol_version alert.",
            "gnutls-serv runs with -a: it never asks for a client certificate.",
        ],
    )


def _target(  # noqa: PLR0917  (one call per server kind, all arguments named in place)
    name: str,
    port: int,
    server: str,
    per_version: dict[str, list[Suite]],
    groups: dict[str, list[str]],
    server_order: bool,
    cert: dict[str, Any],
    dh: str | None,
    *,
    ffdhe_negotiated: bool,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    uses_dhe = any(s.kx in ("DH", "DHE") for suites in per_version.values() for s in suites)
    return {
        "host": HOST,
        "port": port,
        "server": server,
        "versions": [v for v in VERSIONS if v in per_version],
        "cipher_suites": {v: suite_list(per_version[v]) for v in VERSIONS if v in per_version},
        "groups": {v: [group_entry(g) for g in gs] for v, gs in groups.items()},
        "server_cipher_order": server_order,
        # OpenSSL lists a cipher string in preference order: with the server's
        # order enforced, that order (filtered as above) is the one it picks by.
        "cipher_order": (
            {v: [s.name for s in per_version[v]] for v in VERSIONS if v in per_version}
            if server_order
            else {}
        ),
        **cert,
        "dh": (
            {
                "prime_bits": DH_BITS[dh],
                "params": dh,
                # gnutls picks an RFC 7919 group from the client's list instead of
                # its own params when the client offers one; OpenSSL ignores them.
                "ffdhe_negotiated": ffdhe_negotiated,
            }
            if uses_dhe and dh
            else None
        ),
        "notes": notes or [],
    }


def build() -> dict[str, Any]:
    env = read_env(LAB / "targets.env")
    targets = {s.name: nginx_target(s) for s in parse_nginx(LAB / "nginx.conf.in")}
    targets["legacy"] = legacy_target(env)
    targets["legacy-3des"] = legacy_3des_target(env)
    return {
        "schema": 1,
        "generated_by": "lab/ground_truth.py (do not edit by hand)",
        "versions_known": list(VERSIONS),
        "notes": [
            "Suites per version are exactly those the server accepts when a client "
            "offers that suite alone (with SNI localhost).",
            "Group names and codes are IANA TLS Supported Groups; suite names and codes "
            "are IANA TLS Cipher Suites.",
            "SSL 2.0/3.0 are compiled out of every lab server.",
        ],
        "targets": dict(sorted(targets.items(), key=lambda kv: kv[1]["port"])),
    }


def main() -> int:
    text = json.dumps(build(), indent=2) + "\n"
    if "--check" in sys.argv[1:]:
        if OUT.read_text() != text:
            print("ground_truth.json is stale: run python3 lab/ground_truth.py", file=sys.stderr)
            return 1
        print("ground_truth.json is up to date")
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
