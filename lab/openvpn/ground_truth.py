"""Write lab/openvpn/ground_truth.json from the openvpn sub-lab's configuration.

    python3 lab/openvpn/ground_truth.py            # rewrite lab/openvpn/ground_truth.json
    python3 lab/openvpn/ground_truth.py --check    # exit 1 if the file is stale

Where each fact comes from (each target's "sources" repeats it):
- The server configs: instances.py renders server.conf.in for every
  instance into a scratch directory, and this reads the directives back
  (proto, local, port, dev, cert, tls-auth, tls-crypt, tls-version-min,
  tls-cipher).
- OpenVPN 2.6's rules on top, each written where applied: with tls-auth or
  tls-crypt every packet without a valid HMAC is dropped, so a hard reset
  from a client without the key gets no answer (over UDP: silence; over TCP
  the server ends the connection: multi_tcp, SIGUSR1 to the instance); a
  P_CONTROL_HARD_RESET_CLIENT_V3 is only taken with tls-crypt-v2, which no
  target has, so nobody answers it; tls-version-min defaults to 1.2 and the
  maximum is the library's (OpenSSL 3.0: TLS 1.3); OpenVPN tears a session
  down when its TLS fails, so an unsupported version gets no ServerHello.
- Cipher suites per version, in the server's order: what OpenSSL itself
  lists (`openssl ciphers -s -stdname -v -tls1_x`) for the target's
  tls-cipher, or OpenVPN 2.6's default list when it has none
  (ssl_openssl.c, tls_ctx_restrict_ciphers), keeping the suites its
  certificate can serve (Au), without DHE (the configs say `dh none`).
  OpenVPN sets the server-preference option, so the order is the server's.
- Certificates: pki.py's CERTIFICATES (subject, key, signature hash); the
  chain a server sends is its certificate then the lab CA (OpenSSL builds
  the chain from --ca).
- Findings: the ids of policy/data/protoaudit_openvpn_baseline.json each
  target must produce.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "ground_truth.json"
sys.dont_write_bytecode = True
sys.path.insert(0, str(HERE))
import instances  # noqa: E402  (lab/openvpn is not a package)
import pki  # noqa: E402

TLS_VERSIONS = {"1.0": 0x0301, "1.1": 0x0302, "1.2": 0x0303, "1.3": 0x0304}
DEFAULT_TLS_VERSION_MIN = "1.2"  # OpenVPN 2.6 (--tls-version-min)
LIBRARY_TLS_VERSION_MAX = "1.3"  # OpenSSL 3.0
OPENVPN_DEFAULT_CIPHERS = "DEFAULT:!EXP:!LOW:!MEDIUM:!kDH:!kECDH:!DSS:!PSK:!SRP:!kRSA"
OPENSSL_VERSION_FLAG = {"1.0": "-tls1", "1.1": "-tls1_1", "1.2": "-tls1_2", "1.3": "-tls1_3"}
CERTIFICATE_AU = {"RSA": "RSA", "EC": "ECDSA"}
# No target sets tls-groups, so OpenSSL 3.0's default list applies (ssl/t1_lib.c,
# supported_groups_default); before TLS 1.3 only its elliptic curves do ECDHE.
OPENSSL_DEFAULT_GROUPS = [
    "x25519", "secp256r1", "x448", "secp521r1", "secp384r1",
    "ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192",
]  # fmt: skip
WEAK_RSA_BELOW = 2048  # protoaudit_openvpn_baseline.json thresholds.rsa_key_bits_min


def directives(config: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for raw in config.splitlines():
        line = raw.strip()
        if line and not line.startswith(("#", ";")):
            name, _, rest = line.partition(" ")
            found[name] = rest.split()
    return found


def suites(cipher_string: str, version: str, key_type: str) -> list[str]:
    """IANA names of the suites a server with this key accepts at `version`, in its order."""
    flag = OPENSSL_VERSION_FLAG[version]
    listing = subprocess.run(
        ["openssl", "ciphers", "-s", "-stdname", "-v", flag, cipher_string],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = []
    for line in listing.splitlines():
        words = line.split()
        fields = dict(word.split("=", 1) for word in words if "=" in word)
        tls13 = fields["Kx"] == "any"
        if tls13 != (version == "1.3"):
            continue
        if tls13 or (fields["Au"] == CERTIFICATE_AU[key_type] and fields["Kx"] in ("ECDH", "RSA")):
            names.append(words[0])
    return names


def tls_findings(suites_by_version: dict[str, list[str]]) -> list[str]:
    """The TLS audit's cipher findings these suites call for (tls_rules.CIPHER_CLASSES)."""
    every = {name for names in suites_by_version.values() for name in names}
    # RSA key transport is the only class the lab's OpenSSL can still offer.
    return ["tls.cipher.no_forward_secrecy"] if any("TLS_RSA_" in n for n in every) else []


def facts(config: str) -> dict[str, Any]:
    seen = directives(config)
    transport = {"udp4": "udp", "tcp4-server": "tcp"}[seen["proto"][0]]
    hmac = next((name for name in ("tls-auth", "tls-crypt") if name in seen), None)
    certificate_name = Path(seen["cert"][0]).stem
    spec = pki.CERTIFICATES[certificate_name]
    key_type, key_bits = pki.key_facts(spec.key)
    ca_type, ca_bits = pki.key_facts(pki.CA_KEY)
    minimum = seen.get("tls-version-min", [DEFAULT_TLS_VERSION_MIN])[0]
    names = list(TLS_VERSIONS)
    versions = names[names.index(minimum) : names.index(LIBRARY_TLS_VERSION_MAX) + 1]
    answers = hmac is None
    found = {
        "transport": transport,
        "host": seen["local"][0],
        "port": int(seen["port"][0]),
        "device": seen["dev"][0],
        "hmac_firewall": hmac,
        "answers_reset_v2": answers,
        "answers_reset_v3": False,
        "unanswered_outcome": None if answers else {"udp": "silent", "tcp": "closed"}[transport],
        "tls_versions": [TLS_VERSIONS[name] for name in versions] if answers else [],
        "handshake_version": TLS_VERSIONS[LIBRARY_TLS_VERSION_MAX] if answers else None,
        "certificate": {
            "subject": f"CN={spec.common_name}",
            "issuer": f"CN={pki.CA_NAME}",
            "key_type": key_type,
            "key_bits": key_bits,
            "signature_hash": spec.hash_name,
        },
        "chain_subjects": [f"CN={spec.common_name}", f"CN={pki.CA_NAME}"],
        "ca": {"subject": f"CN={pki.CA_NAME}", "key_type": ca_type, "key_bits": ca_bits},
        "tls_cipher": seen.get("tls-cipher", [None])[0],
    }
    cipher_string = found["tls_cipher"] or OPENVPN_DEFAULT_CIPHERS
    found["tls_suites"] = {
        name: suites(cipher_string, name, key_type)
        for name, code in TLS_VERSIONS.items()
        if code in found["tls_versions"]
    }
    found["tls_findings"] = tls_findings(found["tls_suites"])
    curves = [g for g in OPENSSL_DEFAULT_GROUPS if "ffdhe" not in g]
    if key_type == "EC":
        # Before TLS 1.3 an ECDSA server needs its certificate's curve in the client's
        # list too (RFC 8422 5.1), and with it offered it prefers that one to any curve
        # after it in its order: those curves cannot be shown (probes/tls/groups.py).
        own = {256: "secp256r1", 384: "secp384r1", 521: "secp521r1"}[key_bits]
        curves = curves[: curves.index(own) + 1]
    found["tls_groups"] = {
        version: OPENSSL_DEFAULT_GROUPS if version == "1.3" else curves
        for version in ("1.2", "1.3")
        if version in found["tls_suites"]
    }
    findings = ["openvpn.unauthenticated_reset" if answers else "openvpn.hmac_firewall"]
    if answers:
        if any(version < 0x0303 for version in found["tls_versions"]):
            findings.append("openvpn.tls.legacy_version")
        if key_type == "RSA" and key_bits < WEAK_RSA_BELOW:
            findings.append("openvpn.certificate.weak_key")
        if spec.hash_name in ("sha1", "md5"):
            findings.append("openvpn.certificate.weak_signature")
    found["findings"] = sorted(findings)
    found["sources"] = {
        "address, transport, hmac_firewall, certificate file": "server.conf.in via instances.py",
        "answers_reset_*, unanswered_outcome": "OpenVPN 2.6 HMAC firewall; no tls-crypt-v2",
        "tls_versions": "tls-version-min (default 1.2) to OpenSSL 3.0's TLS 1.3",
        "tls_suites": "openssl ciphers for tls-cipher (or OpenVPN's default), by key, no DHE",
        "tls_findings": "the TLS audit's cipher rules over tls_suites",
        "tls_groups": "OpenSSL 3.0's default groups (no tls-groups set); curves only before 1.3",
        "certificate, chain_subjects": "pki.py CERTIFICATES; OpenSSL chain building from --ca",
    }
    return found


def build() -> dict[str, Any]:
    targets: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        run = Path(scratch)
        for instance in instances.INSTANCES:
            targets[instance.name] = facts(instances.server_config(instance, run))
    return {
        "_generated_by": "lab/openvpn/ground_truth.py (do not edit by hand)",
        "targets": targets,
    }


def main(argv: list[str]) -> int:
    text = json.dumps(build(), indent=2, sort_keys=True) + "\n"
    if argv[1:] == ["--check"]:
        if not OUT.is_file() or OUT.read_text() != text:
            print(f"{OUT} is stale: run python3 {Path(__file__).name}", file=sys.stderr)
            return 1
        print(f"{OUT.name}: up to date")
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
