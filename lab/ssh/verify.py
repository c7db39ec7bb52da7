"""Check lab/ssh/ground_truth.json and RUN/ssh/hostkeys.json against the running ssh sub-lab.

Run through lab/ssh/verify.sh. Every fact is checked with clients that share
no code with protoaudit, from 127.0.0.1:
- The identification line: probe.py reads it off a plain socket.
- The KEXINIT lists: `ssh -vvv` prints the server's proposal ("peer server
  KEXINIT proposal", debug2) before it negotiates, so it is there even when
  negotiation fails. All nine fields are compared exactly, markers included.
- Strict kex: ssh -vvv says "will use strict KEX ordering" when the server
  advertises it (ssh itself always offers it); the Terrapin verdict is
  recomputed from the lists seen.
- Each algorithm works: one connection per kex, host-key, cipher, MAC (with a
  non-AEAD cipher; none exists on ssh-hardened, whose MACs are then listed as
  not negotiable) and compression algorithm, the client restricted to that
  one; ssh's "kex: ..." lines must name it and the connection must reach user
  authentication. Protocol markers (kex-strict-*, kexguess2, ext-info-*) are
  not algorithms and are only compared as list entries.
- Host keys: `ssh-keyscan -t TYPE` piped to `ssh-keygen -lf -` for type, bits
  and fingerprint, compared with RUN/ssh/hostkeys.json (and its static half
  with the truth); the key each host-key algorithm negotiates ("Server host
  key: ..."); no key beyond the truth's.
- The host certificate: `ssh-keyscan -c` then `ssh-keygen -L` (key id,
  serial, principals, validity, CA and its fingerprint); and a connection
  with RUN/ssh/known_hosts.ca and StrictHostKeyChecking=yes, which only a
  certificate signed by the lab CA for the name 127.0.0.1 gets through.
- Group exchange (ssh-legacy): the prime's size ("bits set: X/N") for each
  request ssh makes (its n follows from the cipher and MAC: 3072, 7680,
  8192), and for paramiko's (1024, 2048, 8192) through gex_client.py; each
  must be what the truth's rule gives for the moduli file's prime sizes.
- Auth methods: ssh with PreferredAuthentications=none for a user that does
  not exist prints "Authentications that can continue: ...".
- Plaintext services: probe.py sends each probe of the truth and compares the
  reply byte for byte (the reserved-port probes need root).
- Every listening socket of every lab server is on the lab address only.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True
sys.path.insert(0, str(HERE))
import ground_truth as gt  # noqa: E402
import keys  # noqa: E402
import probe as pr  # noqa: E402
from gex import gex_modulus_bits  # noqa: E402

TRUTH = json.loads((HERE / "ground_truth.json").read_text())
RUN = Path(os.environ.get("PROTOAUDIT_LAB_DIR", "/tmp/protoaudit-lab")) / "ssh"
HOSTKEYS = json.loads((RUN / "hostkeys.json").read_text())
ENV = {**os.environ, "LC_ALL": "C", "TZ": "UTC"}
MARKERS = re.compile(
    r"^(kex-strict-[cs]-v00@openssh\.com|kexguess2@matt\.ucc\.asn\.au|ext-info-[cs])$"
)
AEAD = ("chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com")
# ssh -vvv's proposal lines, in KEXINIT order, and the truth's field names.
PROPOSAL = [
    ("KEX algorithms", "kex"),
    ("host key algorithms", "host_key"),
    ("ciphers ctos", "encryption_client_to_server"),
    ("ciphers stoc", "encryption_server_to_client"),
    ("MACs ctos", "mac_client_to_server"),
    ("MACs stoc", "mac_server_to_client"),
    ("compression ctos", "compression_client_to_server"),
    ("compression stoc", "compression_server_to_client"),
]
KEYSCAN_TYPE = {"ssh-ed25519": "ed25519", "ssh-rsa": "rsa", "ssh-dss": "dsa"}


def keyscan_type(key_type: str) -> str:
    return KEYSCAN_TYPE.get(key_type, "ecdsa")


def ssh(
    t: dict[str, Any], *options: str, known_hosts: str = "/dev/null", strict: str = "no"
) -> str:
    """ssh -vvv up to user authentication ('none' only); its debug output."""
    cmd = [
        "ssh",
        "-F",
        "/dev/null",
        "-vvv",
        "-o",
        "BatchMode=yes",
        "-o",
        f"StrictHostKeyChecking={strict}",
        "-o",
        f"UserKnownHostsFile={known_hosts}",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "PreferredAuthentications=none",
        "-o",
        "ConnectTimeout=5",
        "-o",
        "LogLevel=DEBUG3",
    ]
    for opt in options:
        cmd += ["-o", opt]
    cmd += ["-p", str(t["port"]), "-l", t["auth"]["username"], t["host"], "true"]
    try:
        p = subprocess.run(
            cmd,
            env=ENV,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        return str(e.stderr or "")
    return p.stderr


def peer_proposal(debug: str) -> dict[str, list[str]] | None:
    _, found, rest = debug.partition("debug2: peer server KEXINIT proposal\n")
    if not found:
        return None
    out: dict[str, list[str]] = {}
    lines = rest.splitlines()
    for label, field in PROPOSAL:
        line = next((x for x in lines if x.startswith(f"debug2: {label}: ")), None)
        value = line[len(f"debug2: {label}: ") :] if line else ""
        out[field] = value.split(",") if value else []
    follows = next((x for x in lines if x.startswith("debug2: first_kex_follows ")), "")
    out["first_kex_packet_follows"] = follows.split()[-1:] == ["1"]  # type: ignore[assignment]
    return out


def auth_methods(debug: str) -> list[str] | None:
    m = re.search(r"Authentications that can continue: (\S*)", debug)
    return m[1].split(",") if m else None


def negotiated(debug: str) -> dict[str, str]:
    out = {}
    if m := re.search(r"debug1: kex: algorithm: (\S+)", debug):
        out["kex"] = m[1]
    if m := re.search(r"debug1: kex: host key algorithm: (\S+)", debug):
        out["host_key"] = m[1]
    if m := re.search(
        r"debug1: kex: server->client cipher: (\S+) MAC: (\S+) compression: (\S+)", debug
    ):
        out["cipher"], out["mac"], out["compression"] = m[1], m[2], m[3]
    if m := re.search(r"debug1: Server host (?:key|certificate): \S+ (SHA256:[^\s,]+)", debug):
        out["fingerprint"] = m[1]
    return out


def keygen_l(text: str, flag: str = "-lf") -> str:
    p = subprocess.run(
        ["ssh-keygen", "-E", "sha256", flag, "-"],
        env=ENV,
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
    return p.stdout


def keyscan(t: dict[str, Any], *args: str) -> str:
    p = subprocess.run(
        ["ssh-keyscan", "-T", "5", *args, "-p", str(t["port"]), t["host"]],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return p.stdout


class Check:
    def __init__(self, name: str, t: dict[str, Any]) -> None:
        self.name, self.t = name, t
        self.passed = 0
        self.failed: list[str] = []
        self.unchecked: list[str] = []

    def chk(self, what: str, ok: bool, detail: str = "") -> None:
        if ok:
            self.passed += 1
        else:
            self.failed.append(f"{self.name}: {what} {detail}".rstrip())

    def run(self) -> Check:
        steps = (
            [
                self.identification,
                self.kexinit,
                self.auth,
                self.algorithms,
                self.gex,
                self.host_keys,
                self.certificate,
            ]
            if self.t["protocol"] == "ssh"
            else [self.plaintext]
        )
        for step in steps:
            try:
                step()
            except (OSError, subprocess.SubprocessError, KeyError, ValueError) as e:
                self.chk(step.__name__, False, f"raised {e!r}")
        return self

    # ------------------------------------------------------------ SSH

    def identification(self) -> None:
        t = self.t
        line = pr.identification(t["host"], t["port"])
        self.chk("identification prefix", line.startswith(t["identification_prefix"]), repr(line))
        self.chk(
            "identification pattern", bool(re.match(t["identification_pattern"], line)), repr(line)
        )

    def kexinit(self) -> None:
        t = self.t
        debug = ssh(t)
        seen = peer_proposal(debug)
        self.chk("KEXINIT received", seen is not None, debug[-300:])
        if seen is None:
            return
        for field, want in t["kexinit"].items():
            self.chk(
                f"kexinit {field}", seen.get(field) == want, f"got {seen.get(field)} want {want}"
            )
        strict_seen = "will use strict KEX ordering" in debug
        self.chk(
            "strict kex in use", strict_seen == t["strict_kex"], f"ssh says strict={strict_seen}"
        )
        self.chk("strict kex marker", (gt.STRICT_KEX_S in seen["kex"]) == t["strict_kex"])
        self.chk("ext-info-s marker", ("ext-info-s" in seen["kex"]) == t["ext_info_s"])
        verdict = gt.terrapin(
            seen["kex"], seen["encryption_server_to_client"], seen["mac_server_to_client"]
        )
        self.chk("terrapin verdict", verdict == t["terrapin"], f"from the lists seen: {verdict}")
        self.chk("terrapin_vulnerable", verdict["vulnerable"] == t["terrapin_vulnerable"])
        version = re.search(r"remote software version (.+)", debug)
        self.chk(
            "ssh sees the identification",
            bool(version) and f"SSH-2.0-{version[1]}".startswith(t["identification_prefix"]),  # type: ignore[index]
        )

    def auth(self) -> None:
        debug = ssh(self.t)
        methods = auth_methods(debug)
        self.chk("auth methods", methods == self.t["auth"]["methods"], f"got {methods}")
        self.chk("'none' refused", "Authentication succeeded" not in debug)

    def one(self, what: str, name: str, options: list[str], key: str, want: str) -> dict[str, str]:
        debug = ssh(self.t, *options)
        got = negotiated(debug)
        reached = auth_methods(debug) is not None
        self.chk(
            f"{what} {name} negotiates",
            got.get(key) == want and reached,
            f"got {got.get(key)} auth reached={reached}",
        )
        return got

    def algorithms(self) -> None:
        k = self.t["kexinit"]
        for alg in k["kex"]:
            if not MARKERS.match(alg):
                self.one("kex", alg, [f"KexAlgorithms={alg}"], "kex", alg)
        fingerprints = self.fingerprints_by_algorithm()
        for alg in k["host_key"]:
            got = self.one("host key", alg, [f"HostKeyAlgorithms={alg}"], "host_key", alg)
            want = fingerprints.get(alg)
            self.chk(
                f"host key {alg} is its key",
                got.get("fingerprint") == want,
                f"got {got.get('fingerprint')} want {want}",
            )
        for alg in k["encryption_server_to_client"]:
            self.one("cipher", alg, [f"Ciphers={alg}"], "cipher", alg)
        plain = [c for c in k["encryption_server_to_client"] if c not in AEAD]
        for alg in k["mac_server_to_client"]:
            if plain:
                self.one("MAC", alg, [f"Ciphers={plain[0]}", f"MACs={alg}"], "mac", alg)
            else:
                self.unchecked.append(f"MAC {alg} (AEAD ciphers only: no MAC is ever negotiated)")
        self.terrapin_combination()
        for alg in k["compression_server_to_client"]:
            # ssh offers "none" alone with Compression=no; with yes it offers
            # zlib@openssh.com first, which every zlib server here has.
            option = "Compression=no" if alg == "none" else "Compression=yes"
            if alg in ("none", "zlib@openssh.com"):
                self.one("compression", alg, [option], "compression", alg)
            else:
                self.unchecked.append(f"compression {alg} (ssh cannot offer it alone)")

    def terrapin_combination(self) -> None:
        """The combinations Terrapin needs really negotiate, with or without strict kex."""
        t, k = self.t, self.t["kexinit"]
        ciphers, macs = k["encryption_server_to_client"], k["mac_server_to_client"]
        combos = []
        if t["terrapin"]["chacha20_poly1305"]:
            combos.append(["Ciphers=chacha20-poly1305@openssh.com"])
        if t["terrapin"]["cbc_with_etm"]:
            cbc = next(c for c in ciphers if c.endswith("-cbc"))
            etm = next(m for m in macs if m.endswith("-etm@openssh.com"))
            combos.append([f"Ciphers={cbc}", f"MACs={etm}"])
        for options in combos:
            debug = ssh(t, *options)
            got = negotiated(debug)
            want_cipher = options[0].split("=")[1]
            strict = "will use strict KEX ordering" in debug
            self.chk(
                f"Terrapin-relevant {' '.join(options)} negotiates",
                got.get("cipher") == want_cipher and auth_methods(debug) is not None,
                f"{got}",
            )
            self.chk(
                f"{' '.join(options)} with strict kex={t['strict_kex']}", strict == t["strict_kex"]
            )

    def gex(self) -> None:
        """The prime each group exchange gets, for the requests ssh makes.

        ssh's request (min<n<max) follows from the cipher and MAC it uses:
        aes128-ctr with umac-64 asks for 3072, with hmac-sha1 for 7680,
        chacha20-poly1305 for 8192. "bits set: X/N" names the prime's size N.
        """
        gex = self.t.get("gex")
        if not gex:
            return
        sizes = gex["prime_bits_available"]
        ciphers = self.t["kexinit"]["encryption_server_to_client"]
        macs = self.t["kexinit"]["mac_server_to_client"]
        trials = [
            ["Ciphers=aes128-ctr", "MACs=umac-64@openssh.com"],
            ["Ciphers=aes128-ctr", "MACs=hmac-sha1"],
            ["Ciphers=chacha20-poly1305@openssh.com"],
        ]
        for alg in gex["algorithms"]:
            for options in trials:
                if any(o.split("=")[1] not in ciphers + macs for o in options):
                    continue
                debug = ssh(self.t, f"KexAlgorithms={alg}", *options)
                req = re.search(r"GEX_REQUEST\((\d+)<(\d+)<(\d+)\) sent", debug)
                bits = re.search(r"debug2: bits set: \d+/(\d+)", debug)
                if not (req and bits):
                    self.chk(f"gex {alg} {options}", False, "no request or group seen")
                    continue
                requested = [int(x) for x in req.groups()]
                want = gex_modulus_bits(sizes, requested)
                self.chk(
                    f"gex {alg} {requested}", int(bits[1]) == want, f"got {bits[1]} want {want}"
                )
            self.gex_paramiko(alg, sizes)

    def gex_paramiko(self, alg: str, sizes: list[int]) -> None:
        """The (1024, 2048, 8192) request, from Debian's paramiko (gex_client.py)."""
        cmd = [
            "/usr/bin/python3",
            "-I",
            str(HERE / "gex_client.py"),
            self.t["host"],
            str(self.t["port"]),
            alg,
        ]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
        fields = [int(x) for x in p.stdout.split()]
        if len(fields) != 4:
            self.chk(f"gex {alg} (paramiko client)", False, p.stderr.strip()[-200:])
            return
        requested, bits = fields[:3], fields[3]
        want = gex_modulus_bits(sizes, requested)
        self.chk(
            f"gex {alg} {requested} (paramiko client)", bits == want, f"got {bits} want {want}"
        )

    def fingerprints_by_algorithm(self) -> dict[str, str]:
        facts = HOSTKEYS["targets"][self.name]
        out = {}
        for static, fact in zip(self.t["host_keys"], facts, strict=True):
            for alg in static["algorithms"]:
                cert = fact["certificate"]
                out[alg] = (
                    cert["key_fingerprint_sha256"]
                    if "-cert-" in alg and cert
                    else fact["fingerprint_sha256"]
                )
        return out

    def host_keys(self) -> None:
        t, facts = self.t, HOSTKEYS["targets"][self.name]
        self.chk("hostkeys.json entries", len(facts) == len(t["host_keys"]), f"{len(facts)}")
        for static, fact in zip(t["host_keys"], facts, strict=True):
            self.chk(
                f"{static['file']} static facts",
                (fact["file"], fact["key_type"], fact["bits"])
                == (static["file"], static["key_type"], static["bits"]),
                f"hostkeys.json {fact}",
            )
            lines = keyscan(t, "-t", keyscan_type(static["key_type"]))
            fp = keygen_l(lines).split()
            label = fp[-1].strip("()") if fp else ""
            got = (
                (int(fp[0]), fp[1], keys.KEY_TYPE_BY_LABEL.get(label, "?").format(bits=fp[0]))
                if fp
                else None
            )
            want = (fact["bits"], fact["fingerprint_sha256"], fact["key_type"])
            self.chk(f"keyscan {static['key_type']}", got == want, f"got {got} want {want}")
        every = keyscan(t, "-t", "rsa,dsa,ecdsa,ed25519")
        seen = sorted(line.split()[1] for line in keygen_l(every).splitlines() if line.strip())
        self.chk(
            "no other host keys", seen == sorted(f["fingerprint_sha256"] for f in facts), f"{seen}"
        )

    def certificate(self) -> None:
        t = self.t
        certs = [
            (s, f)
            for s, f in zip(t["host_keys"], HOSTKEYS["targets"][self.name], strict=True)
            if s["certificate"]
        ]
        # ssh-keyscan -c prints "TYPE BASE64" (no host field) per certificate.
        scanned = []
        for line in keyscan(t, "-c").splitlines():
            fields = line.split()
            at = [i for i, f in enumerate(fields) if f.endswith("-cert-v01@openssh.com")]
            if at and len(fields) > at[0] + 1:
                scanned.append(" ".join(fields[at[0] : at[0] + 2]))
        self.chk("certificates served", len(scanned) == len(certs), f"{len(scanned)}")
        for (static, fact), line in zip(certs, scanned, strict=False):  # counted above
            got = keys.parse_certificate(keygen_l(line + "\n", "-Lf"))
            want = {
                **{
                    k: static["certificate"][k]
                    for k in (
                        "type",
                        "key_id",
                        "serial",
                        "principals",
                        "valid_after",
                        "valid_before",
                        "ca_key_type",
                        "signature_algorithm",
                    )
                },
                "key_fingerprint_sha256": fact["fingerprint_sha256"],
                "ca_fingerprint_sha256": HOSTKEYS["ca"]["fingerprint_sha256"],
            }
            for k, v in want.items():
                self.chk(f"certificate {k}", got.get(k) == v, f"got {got.get(k)!r} want {v!r}")
            alg = static["certificate"]["type"]
            debug = ssh(
                t, f"HostKeyAlgorithms={alg}", known_hosts=str(RUN / "known_hosts.ca"), strict="yes"
            )
            trusted = (
                "matches the" in debug
                and "host certificate" in debug
                and auth_methods(debug) is not None
            )
            self.chk(
                "certificate validates against the lab CA for 127.0.0.1",
                trusted,
                (debug.strip().splitlines() or [""])[-1],
            )

    # ------------------------------------------------------------ plaintext

    def plaintext(self) -> None:
        for p in self.t["probes"]:
            if p["from"] == "reserved port" and not pr.is_root():
                self.unchecked.append("probe from a reserved port (needs root)")
                continue
            ok, got = pr.run_probe(self.t, p)
            self.chk(f"probe from {p['from']}", ok, f"got {got}")


def listeners_on_lab_address() -> list[str]:
    """The lab servers listen on exactly the targets' addresses and the whole-host ones."""
    pids = set()
    for pidfile in RUN.glob("*/pid"):
        pid = pidfile.read_text().strip()
        pids.add(pid)
        children = subprocess.run(["pgrep", "-P", pid], capture_output=True, text=True, check=False)
        pids.update(children.stdout.split())
    out = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True).stdout
    whole = TRUTH["whole_host"]
    expected = {f"{gt.HOST}:{t['port']}" for t in TRUTH["targets"].values()}
    expected |= {f"{whole['address']}:{port}" for port in whole["open_ports"]}
    bad, seen = [], set()
    for line in out.splitlines():
        if any(f"pid={p}," in line for p in pids):
            local = line.split()[3]
            seen.add(local)
            if local not in expected:
                bad.append(line)
    if missing := expected - seen:
        bad.append(f"not listening: {sorted(missing)}")
    return bad


def main() -> int:
    with ThreadPoolExecutor(max_workers=len(TRUTH["targets"])) as pool:
        checks = list(pool.map(lambda kv: Check(*kv).run(), TRUTH["targets"].items()))
    bad = listeners_on_lab_address()
    failed = [f for c in checks for f in c.failed] + [
        f"listening beyond {gt.HOST}: {b}" for b in bad
    ]
    for c in checks:
        state = "ok" if not c.failed else f"{len(c.failed)} MISMATCHES"
        extra = (
            f" ({len(c.unchecked)} not checked: {'; '.join(c.unchecked)})" if c.unchecked else ""
        )
        print(f"{c.name:14} {c.passed + len(c.failed):4} checks  {state}{extra}")
    print(f"{'listeners':14} {1:4} checks  {'ok' if not bad else 'MISMATCH'}")
    for line in failed:
        print(f"MISMATCH {line}")
    total = sum(c.passed for c in checks) + len(failed) + (0 if bad else 1)
    print(f"ssh verify: {total} checks, {len(failed)} mismatches")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
