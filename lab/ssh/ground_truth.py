"""Write lab/ssh/ground_truth.json from the ssh sub-lab's configuration.

    python3 lab/ssh/ground_truth.py            # rewrite lab/ssh/ground_truth.json
    python3 lab/ssh/ground_truth.py --check    # exit 1 if the file is stale

Where each fact comes from (each target's "sources" repeats it per field):
- Addresses: targets.env (inetd.conf.in for which daemon is on which port).
- ssh-hardened, ssh-legacy (OpenSSH sshd): the templates rendered into a
  scratch run dir with scratch keys (keys.py), read back with `sshd -T -f`:
  kexalgorithms, ciphers, macs, compression, hostkey/hostcertificate (in
  order), hostkeyalgorithms, and the *authentication settings. On top, the
  rules sshd 9.2 applies that no setting shows, each written where applied:
  the host-key list is built key by key (sshd.c list_hostkey_types), the
  kex list gets the strict-kex marker, compression "no" sends "none" only,
  auth methods are listed in auth2.c's order. Group exchange (legacy): the
  prime sizes of sshd -T's modulifile and dh.c choose_dh's rule (gex.py), with the
  answer to a few requests as examples.
- dropbear: nothing is configurable (the 2022.83 server has no option that
  chooses algorithms). Ciphers and MACs: `dbclient -c help` / `-m help`,
  the same build's tables (common-algo.c sshciphers/sshhashes), which the
  server sends as they are. Kex, host-key order and compression: dropbear
  2022.83's common-algo.c tables (sshkex, sigalgs, ssh_delaycompress) as
  Debian builds them, written below; every name is checked to be in the
  binary. Auth methods: publickey, and password unless targets.env's
  DROPBEAR_OPTIONS has -s (svr-auth.c; Debian builds no PAM method).
- paramiko: the constants of paramiko_server.py (read with ast) and paramiko's
  own rules as a server (its transport.py, read the same way from Debian's
  package: the preferred host-key order).
- Strict kex (CVE-2023-48795, "Terrapin"): whether the installed package's
  Debian changelog names CVE-2023-48795 (openssh-server, dropbear-bin: yes,
  backported; python3-paramiko: no, and its transport.py has no
  kex-strict name). terrapin_vulnerable = no strict kex and either
  chacha20-poly1305@openssh.com or a CBC cipher with an EtM MAC on offer.
- Identification lines: the upstream version of the installed package
  (dpkg-query); OpenSSH's Debian revision is matched as deb12uN so that a
  Debian point release does not make this file stale.
- Host keys: keys.py's KEYS and CERTIFICATE (types, sizes, certificate
  fields). Fingerprints change at every start: start.sh writes them to
  RUN/ssh/hostkeys.json (keys.py), not here.
- Plaintext services: the daemons' first bytes to a fixed probe, as sent by
  Debian 12's builds (inetutils telnetd 2.4, netkit rsh-server 0.17), in
  plaintext.py with the source of each string.
verify.py checks every one of these facts against the running servers.
"""

from __future__ import annotations

import ast
import gzip
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # keep lab/ free of __pycache__
sys.path.insert(0, str(HERE))
import keys  # noqa: E402  (lab/ssh is not a package)
from gex import GEX_REQUESTS, gex_modulus_bits, moduli_bits  # noqa: E402
from plaintext import PLAINTEXT  # noqa: E402

OUT = HERE / "ground_truth.json"
SSHD = "/usr/sbin/sshd"
DROPBEAR = "/usr/sbin/dropbear"
PARAMIKO_TRANSPORT = Path("/usr/lib/python3/dist-packages/paramiko/transport.py")
STRICT_KEX_S = "kex-strict-s-v00@openssh.com"
TERRAPIN_CVE = "CVE-2023-48795"
# The user every auth-method probe names: no such account exists.
PROBE_USER = "protoaudit-nosuchuser"


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, env=keys.ENV, capture_output=True, text=True, check=True).stdout


def read_env(path: Path) -> dict[str, str]:
    """KEY='value' lines (the format start.sh sources)."""
    out = {}
    for line in path.read_text().splitlines():
        if m := re.match(r"([A-Z_][A-Z0-9_]*)='([^']*)'", line):
            out[m[1]] = m[2]
    return out


ENV = read_env(HERE / "targets.env")
HOST = ENV["SSH_LAB_HOST"]


def render(template: Path, run: Path) -> str:
    """What start.sh's render() writes: @RUN@ and @KEY@ from targets.env."""
    text = template.read_text().replace("@RUN@", str(run))
    return re.sub(r"@([A-Z_][A-Z0-9_]*)@", lambda m: ENV[m[1]], text)


def dpkg_version(package: str) -> str:
    return _run("dpkg-query", "-W", "-f=${Version}", package)


def upstream_version(package: str) -> str:
    """'1:9.2p1-2+deb12u10' -> '9.2p1'."""
    return dpkg_version(package).split(":", 1)[-1].rsplit("-", 1)[0]


def changelog_names(package: str, what: str) -> bool:
    path = Path(f"/usr/share/doc/{package}/changelog.Debian.gz")
    return what in gzip.decompress(path.read_bytes()).decode("utf-8", "replace")


def terrapin(kex: list[str], ciphers: list[str], macs: list[str]) -> dict[str, Any]:
    """The Terrapin (CVE-2023-48795) verdict from a server's KEXINIT lists.

    Exploitable sequence-number manipulation needs chacha20-poly1305 or a CBC
    cipher with an encrypt-then-MAC MAC, and a peer without strict kex.
    """
    strict = STRICT_KEX_S in kex
    chacha = "chacha20-poly1305@openssh.com" in ciphers
    cbc_etm = any(c.endswith("-cbc") for c in ciphers) and any(
        m.endswith("-etm@openssh.com") for m in macs
    )
    return {
        "strict_kex": strict,
        "chacha20_poly1305": chacha,
        "cbc_with_etm": cbc_etm,
        "vulnerable": not strict and (chacha or cbc_etm),
    }


def kexinit(
    kex: list[str], host_key: list[str], ciphers: list[str], macs: list[str], compression: list[str]
) -> dict[str, Any]:
    """The fields of protoaudit's SshAlgorithms observation; both directions alike."""
    return {
        "kex": kex,
        "host_key": host_key,
        "encryption_client_to_server": ciphers,
        "encryption_server_to_client": ciphers,
        "mac_client_to_server": macs,
        "mac_server_to_client": macs,
        "compression_client_to_server": compression,
        "compression_server_to_client": compression,
        "first_kex_packet_follows": False,
    }


def ssh_target(
    name: str,
    *,
    port: int,
    server: str,
    ident: dict[str, str],
    algos: dict[str, Any],
    host_keys: list[dict[str, Any]],
    methods: list[str],
    sources: dict[str, str],
    notes: list[str],
) -> dict[str, Any]:
    t = terrapin(algos["kex"], algos["encryption_server_to_client"], algos["mac_server_to_client"])
    return {
        "name": name,
        "host": HOST,
        "port": port,
        "protocol": "ssh",
        "server": server,
        **ident,
        "kexinit": algos,
        "strict_kex": t["strict_kex"],
        "ext_info_s": "ext-info-s" in algos["kex"],
        "terrapin_vulnerable": t["vulnerable"],
        "terrapin": t,
        "host_keys": host_keys,
        "auth": {"username": PROBE_USER, "methods": methods, "none_accepted": False},
        "sources": sources,
        "notes": notes,
    }


def static_host_keys(target: str, algorithms: dict[str, list[str]]) -> list[dict[str, Any]]:
    """keys.py's specs for TARGET; fingerprints are in RUN/ssh/hostkeys.json."""
    out = []
    for spec in keys.KEYS[target]:
        key_type = keys.key_type(spec.kind, spec.bits)
        cert = None
        c = keys.CERTIFICATE
        if c.target == target and c.key == spec.file:
            ca_type = keys.key_type(keys.CA_KIND, 256)
            assert ca_type == "ssh-ed25519", "ssh-keygen -s signs with the CA's own algorithm"
            cert = {
                "file": f"keys/{target}/{spec.file}-cert.pub",
                "type": f"{key_type}-cert-v01@openssh.com",
                "key_id": c.key_id,
                "serial": c.serial,
                "principals": list(c.principals),
                "valid_after": c.valid_after,
                "valid_before": c.valid_before,
                "ca_file": keys.CA_FILE,
                "ca_key_type": ca_type,
                "signature_algorithm": ca_type,
            }
        out.append(
            {
                "file": f"keys/{target}/{spec.file}",
                "key_type": key_type,
                "bits": spec.bits,
                "algorithms": algorithms[spec.file],
                "certificate": cert,
            }
        )
    return out


# ---------------------------------------------------------------- OpenSSH

# Host-key algorithm names per key type, in the order sshd 9.2 appends them
# (sshd.c list_hostkey_types: RSA gets the SHA-2 names first).
SSHD_KEY_ALGS = {
    "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
    "ssh-dss": ["ssh-dss"],
    "ssh-ed25519": ["ssh-ed25519"],
}
SSHD_CERT_ALGS = {
    "ssh-rsa": [
        "rsa-sha2-512-cert-v01@openssh.com",
        "rsa-sha2-256-cert-v01@openssh.com",
        "ssh-rsa-cert-v01@openssh.com",
    ],
    "ssh-dss": ["ssh-dss-cert-v01@openssh.com"],
    "ssh-ed25519": ["ssh-ed25519-cert-v01@openssh.com"],
}
# auth2.c authmethods[], in order, with the sshd -T setting that enables each.
SSHD_AUTH_ORDER = [
    ("publickey", "pubkeyauthentication"),
    ("gssapi-with-mic", "gssapiauthentication"),
    ("password", "passwordauthentication"),
    ("keyboard-interactive", "kbdinteractiveauthentication"),
    ("hostbased", "hostbasedauthentication"),
]


HARDENED_NOTES = [
    "Public keys only; no account has authorized keys, so no login succeeds.",
    "Strict kex is always advertised by Debian's sshd 9.2: chacha20-poly1305 on offer is not "
    "Terrapin-exploitable.",
    "The ed25519 key comes with a host certificate from the lab host CA "
    "(RUN/ssh/keys/ca/host_ca.pub; RUN/ssh/known_hosts.ca trusts it for 127.0.0.1 and "
    "localhost).",
    "No mlkem768x25519-sha256: OpenSSH 9.2 does not have it.",
]
LEGACY_NOTES = [
    "chacha20-poly1305 and CBC ciphers with EtM MACs are on offer, but strict kex is "
    "advertised (sshd 9.2 in Debian has no setting to drop it): not Terrapin-vulnerable.",
    "1024-bit RSA (also as ssh-rsa, SHA-1) and 1024-bit DSA host keys; SHA-1 key exchanges "
    "incl. group1 and group-exchange-sha1 (moduli: the system's /etc/ssh/moduli, sshd picks "
    "2048 bits or more).",
    "Password and keyboard-interactive through PAM (Debian's /etc/pam.d/sshd).",
]


def sshd_effective(config: Path) -> dict[str, list[str]]:
    """`sshd -T -f CONFIG`: every keyword with its values, repeated ones in order."""
    # sshd refuses to run, even with -T, without its privilege separation
    # directory; on a machine without the system service nobody made it.
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    out: dict[str, list[str]] = {}
    for line in _run(SSHD, "-T", "-f", str(config)).splitlines():
        key, _, value = line.partition(" ")
        out.setdefault(key, []).append(value)
    return out


def key_type_of(pub: Path) -> str:
    return pub.read_text().split()[0]


def sshd_target(name: str, template: str, run: Path, notes: list[str]) -> dict[str, Any]:
    conf = run / f"sshd-{name.removeprefix('ssh-')}" / "sshd_config"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(render(HERE / template, run))
    t = sshd_effective(conf)
    one = {k: v[0] for k, v in t.items()}
    assert one["authenticationmethods"] == "any", "AuthenticationMethods is not modelled"
    host, port = one["listenaddress"].rsplit(":", 1)
    assert host == HOST
    # The only other address is the whole-host one (see whole_host()).
    assert all(a.startswith(ENV["WHOLE_HOST"] + ":") for a in t["listenaddress"][1:])

    # list_hostkey_types(): key by key in HostKey order, each key's names and
    # then its certificate's (a HostCertificate belongs to the key it
    # certifies: here KEY-cert.pub), each kept only if HostKeyAlgorithms
    # allows it; the result keeps this order.
    allowed = one["hostkeyalgorithms"].split(",")
    certs = {c.removesuffix("-cert.pub"): c for c in t.get("hostcertificate", [])}
    assert set(certs) <= set(t["hostkey"]), "a certificate without its key"
    host_key_algs: list[str] = []
    per_file: dict[str, list[str]] = {}
    for path in t["hostkey"]:
        ktype = key_type_of(Path(f"{path}.pub"))
        names = SSHD_KEY_ALGS.get(ktype, [ktype])
        if path in certs:
            names = names + SSHD_CERT_ALGS.get(ktype, [f"{ktype}-cert-v01@openssh.com"])
        kept = [n for n in names if n in allowed and n not in host_key_algs]
        host_key_algs += kept
        per_file[Path(path).name] = kept

    # kex: the configured list, then the strict-kex marker that Debian's
    # backport of the Terrapin fix always appends to the server's proposal
    # (OpenSSH 9.2 sends no ext-info-s; that came with 9.6).
    kex = one["kexalgorithms"].split(",")
    if changelog_names("openssh-server", TERRAPIN_CVE):
        kex.append(STRICT_KEX_S)
    # sshd.c do_ssh2_kex(): "Compression no" proposes "none" only; yes and
    # delayed propose the default "none,zlib@openssh.com".
    compression = ["none"] if one["compression"] == "no" else ["none", "zlib@openssh.com"]
    algos = kexinit(
        kex, host_key_algs, one["ciphers"].split(","), one["macs"].split(","), compression
    )
    methods = [m for m, setting in SSHD_AUTH_ORDER if one[setting] == "yes"]

    upstream = upstream_version("openssh-server")
    # sshd's comment is "Debian-" + the package revision ("2+deb12u10"): any
    # deb12uN matches, so a stable point release keeps this file current.
    revision = re.escape(dpkg_version("openssh-server").rsplit("-", 1)[1])
    revision = re.sub(r"deb12u\d+$", r"deb12u\\d+", revision)
    ident = {
        "identification_prefix": f"SSH-2.0-OpenSSH_{upstream}",
        "identification_pattern": f"^SSH-2\\.0-OpenSSH_{re.escape(upstream)} Debian-{revision}$",
    }
    settings = {
        k: one[k]
        for k in (
            "pubkeyauthentication",
            "passwordauthentication",
            "kbdinteractiveauthentication",
            "usepam",
            "permitrootlogin",
        )
    }
    target = ssh_target(
        name,
        port=int(port),
        server=f"OpenSSH {upstream} sshd (Debian openssh-server)",
        ident=ident,
        algos=algos,
        host_keys=static_host_keys(name, per_file),
        methods=methods,
        sources={
            "kexinit": f"sshd -T -f (lab/ssh/{template}) kexalgorithms + {STRICT_KEX_S} "
            "(Debian's CVE-2023-48795 backport), hostkey/hostcertificate/hostkeyalgorithms "
            "through sshd.c list_hostkey_types, ciphers, macs, compression",
            "auth": "sshd -T *authentication settings in auth2.c order",
            "identification": "dpkg-query -W openssh-server",
            "host_keys": "lab/ssh/keys.py KEYS/CERTIFICATE; fingerprints in RUN/ssh/hostkeys.json",
        },
        notes=notes,
    )
    target["sshd_settings"] = settings
    gex = [k for k in kex if k.startswith("diffie-hellman-group-exchange-")]
    if gex:
        sizes = moduli_bits(Path(one["modulifile"]))
        target["gex"] = {
            "algorithms": gex,
            "moduli_file": one["modulifile"],
            "prime_bits_available": sizes,
            "rule": "dh.c choose_dh: n (clamped to 2048..8192) if present, else the smallest "
            "size above n, else the largest below, within [max(min, 2048), min(max, 8192)]",
            "examples": [
                {"requested": list(r), "modulus_bits": gex_modulus_bits(sizes, r)}
                for r in GEX_REQUESTS
            ],
        }
        target["sources"]["gex"] = "sshd -T modulifile, the file's prime sizes, dh.c choose_dh"
    return target


# ---------------------------------------------------------------- dropbear

# dropbear 2022.83 common-algo.c sshkex[] as Debian builds it (curve25519,
# ECDH, group14 with SHA-256 and SHA-1; no group1, group16 or sntrup761 in
# this version), then the kexguess2 marker, then Debian's strict-kex backport
# (2022.83-1+deb12u1) appends the server marker.
DROPBEAR_KEX = [
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp521",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp256",
    "diffie-hellman-group14-sha256",
    "diffie-hellman-group14-sha1",
    "kexguess2@matt.ucc.asn.au",
]
# common-algo.c sigalgs[] order; the server drops the types it has no key for
# (svr-runopts.c), whatever the -r order.
DROPBEAR_SIGALGS = [
    ("ssh-ed25519", "ssh-ed25519"),
    ("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256"),
    ("ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384"),
    ("ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521"),
    ("ssh-rsa", "rsa-sha2-256"),
    ("ssh-rsa", "ssh-rsa"),
    ("ssh-dss", "ssh-dss"),
]
# ssh_delaycompress[]: the server's default (zlib only after authentication).
DROPBEAR_COMPRESSION = ["zlib@openssh.com", "none"]


def dbclient_list(flag: str) -> list[str]:
    p = subprocess.run(
        ["dbclient", flag, "help"], env=keys.ENV, capture_output=True, text=True, check=False
    )
    m = re.search(r"Available \w+: (\S+)", p.stdout + p.stderr)
    assert m, f"dbclient {flag} help: {p.stdout + p.stderr!r}"
    return m[1].split(",")


def dropbear_target() -> dict[str, Any]:
    binary = _run("strings", DROPBEAR)
    kex = list(DROPBEAR_KEX)
    if changelog_names("dropbear-bin", TERRAPIN_CVE):
        kex.append(STRICT_KEX_S)
    for name in kex + [a for _, a in DROPBEAR_SIGALGS] + DROPBEAR_COMPRESSION:
        assert name in binary, f"{name} is not in {DROPBEAR}: the table above is stale"
    key_types = [keys.key_type(s.kind, s.bits) for s in keys.KEYS["dropbear"]]
    host_key_algs = [alg for ktype, alg in DROPBEAR_SIGALGS if ktype in key_types]
    per_file = {
        s.file: [alg for ktype, alg in DROPBEAR_SIGALGS if ktype == kt]
        for s, kt in zip(keys.KEYS["dropbear"], key_types, strict=True)
    }
    algos = kexinit(
        kex, host_key_algs, dbclient_list("-c"), dbclient_list("-m"), DROPBEAR_COMPRESSION
    )
    options = ENV["DROPBEAR_OPTIONS"].split()
    methods = ["publickey"] + ([] if "-s" in options else ["password"])
    upstream = upstream_version("dropbear-bin").split("-")[0]
    return ssh_target(
        "dropbear",
        port=int(ENV["DROPBEAR_PORT"]),
        server=f"dropbear {upstream} (Debian dropbear-bin)",
        ident={
            "identification_prefix": f"SSH-2.0-dropbear_{upstream}",
            "identification_pattern": f"^SSH-2\\.0-dropbear_{re.escape(upstream)}$",
        },
        algos=algos,
        host_keys=static_host_keys("dropbear", per_file),
        methods=methods,
        sources={
            "kexinit": "ciphers and MACs: dbclient -c help / -m help (same build); kex, host "
            "keys, compression: dropbear 2022.83 common-algo.c tables (ground_truth.py), "
            f"{STRICT_KEX_S} from Debian's CVE-2023-48795 backport (changelog)",
            "auth": "svr-auth.c: publickey, password unless -s (targets.env DROPBEAR_OPTIONS)",
            "identification": "dpkg-query -W dropbear-bin",
            "host_keys": "lab/ssh/keys.py KEYS; fingerprints in RUN/ssh/hostkeys.json",
        },
        notes=[
            "Strict kex is advertised (Debian backport), so chacha20-poly1305 on offer "
            "is not Terrapin-exploitable.",
            "Debian's build also accepts a DSS host key (ssh-dss), which the lab does not load.",
        ],
    )


# ---------------------------------------------------------------- paramiko


def module_constants(path: Path, names: set[str], class_name: str | None = None) -> dict[str, Any]:
    """Literal assignments in a module (or one class body), without importing it."""
    tree = ast.parse(path.read_text())
    body = tree.body
    if class_name:
        body = next(
            n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name
        ).body
    out = {}
    for node in body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in names:
                out[target.id] = ast.literal_eval(node.value)
    missing = names - set(out)
    assert not missing, f"{path}: no literal {missing}"
    return out


def paramiko_target() -> dict[str, Any]:
    script = HERE / "paramiko_server.py"
    c = module_constants(script, {"KEX", "CIPHERS", "MACS", "COMPRESSION", "AUTH_METHODS"})
    preferred = module_constants(PARAMIKO_TRANSPORT, {"_preferred_keys"}, "Transport")[
        "_preferred_keys"
    ]
    # As a server paramiko adds nothing to its kex list (ext-info-c is for
    # clients only, no strict-kex marker before 3.4) and lists the preferred
    # host-key algorithms it holds a key for: an Ed25519Key answers to
    # "ssh-ed25519" only.
    strict = (
        changelog_names("python3-paramiko", TERRAPIN_CVE)
        or "kex-strict" in PARAMIKO_TRANSPORT.read_text()
    )
    assert not strict, "this paramiko has the Terrapin fix: the target would not be vulnerable"
    assert not any(k.startswith("diffie-hellman-group-exchange") for k in c["KEX"]), (
        "GEX needs moduli"
    )
    assert [s.kind for s in keys.KEYS["paramiko"]] == ["ed25519"]
    held = {"ssh-ed25519"}
    host_key_algs = [k for k in preferred if k in held]
    algos = kexinit(
        list(c["KEX"]), host_key_algs, list(c["CIPHERS"]), list(c["MACS"]), list(c["COMPRESSION"])
    )
    upstream = upstream_version("python3-paramiko")
    return ssh_target(
        "paramiko",
        port=int(ENV["PARAMIKO_PORT"]),
        server=f"paramiko {upstream} (Debian python3-paramiko) in lab/ssh/paramiko_server.py",
        ident={
            "identification_prefix": f"SSH-2.0-paramiko_{upstream}",
            "identification_pattern": f"^SSH-2\\.0-paramiko_{re.escape(upstream)}$",
        },
        algos=algos,
        host_keys=static_host_keys("paramiko", {keys.KEYS["paramiko"][0].file: host_key_algs}),
        methods=c["AUTH_METHODS"].split(","),
        sources={
            "kexinit": "paramiko_server.py KEX/CIPHERS/MACS/COMPRESSION; host keys: paramiko "
            "transport.py Transport._preferred_keys filtered by the key held",
            "auth": "paramiko_server.py AUTH_METHODS (get_allowed_auths)",
            "identification": "dpkg-query -W python3-paramiko (SSH-2.0-paramiko_VERSION)",
            "strict_kex": "python3-paramiko changelog and transport.py name no strict kex",
            "host_keys": "lab/ssh/keys.py KEYS; fingerprints in RUN/ssh/hostkeys.json",
        },
        notes=[
            "Terrapin-vulnerable on purpose: no strict kex, CBC ciphers with EtM MACs "
            "(CBC-EtM). paramiko 2.12 has no chacha20-poly1305.",
            "A default OpenSSH client negotiates aes128-ctr with hmac-sha2-256-etm here; "
            "one that offers CBC (-o Ciphers=aes128-cbc) gets the CBC-EtM combination.",
        ],
    )


# ---------------------------------------------------------------- plaintext


def plaintext_targets(run: Path) -> list[dict[str, Any]]:
    text = render(HERE / "inetd.conf.in", run)
    out = []
    pending = None
    for line in text.splitlines():
        if m := re.match(r"#\s*target:\s*(\S+)", line):
            pending = m[1]
            continue
        if pending == "whole-host":
            continue  # the same daemons again; whole_host() describes them
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        assert pending, f"inetd.conf.in: no '# target:' before {line!r}"
        service, _stype, proto, _wait, user, daemon, *_argv = line.split()
        host, port = service.rsplit(":", 1)
        assert host == HOST
        assert proto == "tcp"
        facts = PLAINTEXT[pending]
        package = "inetutils-telnetd" if pending == "telnet" else "rsh-server"
        out.append(
            {
                "name": pending,
                "host": host,
                "port": int(port),
                "protocol": pending,
                "server": f"{facts['server']} {upstream_version(package)}, via inetutils-inetd",
                "daemon": daemon,
                "daemon_user": user,
                "plaintext": True,
                "probes": facts["probes"],
                "confirmed_by": facts["confirmed_by"],
                "sources": {
                    "address": "lab/ssh/inetd.conf.in",
                    "probes": "ground_truth.py PLAINTEXT",
                },
            }
        )
        pending = None
    return out


# ---------------------------------------------------------------- output


def build() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="protoaudit-ssh-truth-") as tmp:
        run = Path(tmp)
        keys.generate(run)
        targets = [
            sshd_target("ssh-hardened", "sshd-hardened.conf.in", run, HARDENED_NOTES),
            sshd_target("ssh-legacy", "sshd-legacy.conf.in", run, LEGACY_NOTES),
            dropbear_target(),
            paramiko_target(),
            *plaintext_targets(run),
        ]
        text = json.dumps(targets).replace(str(run), "RUN/ssh")
    targets = sorted(json.loads(text), key=lambda t: t["port"])
    return {
        "schema": 1,
        "generated_by": "lab/ssh/ground_truth.py (do not edit by hand)",
        "client_address": HOST,
        "host_keys_file": "RUN/ssh/hostkeys.json",
        "notes": [
            "kexinit: the server's SSH_MSG_KEXINIT name-lists in its order, with the markers "
            "it adds (kex-strict-s-v00@openssh.com, kexguess2@matt.ucc.asn.au, ext-info-s) "
            "left in; field names as protoaudit's SshAlgorithms observation.",
            "terrapin_vulnerable: no strict kex and chacha20-poly1305 or CBC+EtM on offer.",
            "host_keys: static facts; SHA256 fingerprints and the certificate's CA "
            "fingerprint are new at every start and live in RUN/ssh/hostkeys.json "
            "(RUN = $PROTOAUDIT_LAB_DIR, default /tmp/protoaudit-lab).",
            "auth.methods: what USERAUTH_FAILURE lists after a 'none' request for "
            "auth.username, an account that does not exist.",
            "Plaintext services: probes[].send_hex is sent on connect; reply_hex is the "
            "complete reply (the server then closes), reply_prefix_hex the first bytes of "
            "a reply that goes on. "
            "A reserved source port (512-1023) needs root.",
        ],
        "targets": {t["name"]: t for t in targets},
        "whole_host": whole_host(),
    }


def whole_host() -> dict[str, object]:
    """What listens on WHOLE_HOST, read from the templates that bind it."""
    services = {"telnetd": "telnet", "in.rexecd": "rexec", "in.rlogind": "rlogin", "in.rshd": "rsh"}
    listening: dict[str, str] = {}
    for line in (HERE / "inetd.conf.in").read_text().splitlines():
        if found := re.match(r"@WHOLE_HOST@:(\d+) .* (\S+)$", line):
            listening[found[1]] = services[found[2]]
    sshd = (HERE / "sshd-hardened.conf.in").read_text()
    for port in re.findall(r"^ListenAddress @WHOLE_HOST@:(\d+)$", sshd, re.MULTILINE):
        listening[port] = "ssh"
    return {
        "address": ENV["WHOLE_HOST"],
        "note": "ssh is ssh-hardened, the others are the inetd services of the same names; "
        "no other TCP port is open on this address.",
        "open_ports": dict(sorted(listening.items(), key=lambda item: int(item[0]))),
    }


def main() -> int:
    text = json.dumps(build(), indent=2) + "\n"
    if "--check" in sys.argv[1:]:
        if not OUT.exists() or OUT.read_text() != text:
            print("stale: run python3 lab/ssh/ground_truth.py", file=sys.stderr)
            return 1
        print("ssh ground_truth.json is up to date")
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
