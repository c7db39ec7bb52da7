#!/usr/bin/env python3
"""Write lab/ike/ground_truth.json from the lab's config: what each charon accepts, per IKE version.

    ground_truth.py            write the file
    ground_truth.py --check    exit 1 if the file differs from what the config says today

Three targets, one charon each: `ike` (strongswan.conf.in, swanctl.conf.in),
`ike-cookie` (strongswan-cookie.conf.in, swanctl-cookie.conf.in) and `ike-pq`
(strongswan-pq.conf.in, swanctl-pq.conf.in: strongSwan 6.0 from Debian 13 in a
chroot, IKEv2 only). The proposals
come from the swanctl file (one `proposals` line per connection), translated
from strongSwan's keywords to IANA numbers with the table below (strongSwan's
"IKEv2 Cipher Suites" documentation, 5.9). strongSwan's rules applied here:
- IKEv2: a proposal is a set per transform type; with no `prf` keyword, the
  PRFs are those matching the integrity algorithms (sha256 -> PRF_HMAC_SHA2_256).
  A responder takes any combination within one proposal, so the accepted set
  per type is the union over the proposals.
- IKEv2 with several connections (ike-pq): charon 6.0 selects from the
  proposals of every connection that matches, so the sets are the union over
  them all; the first choice is the first proposal of the first connection.
- RFC 9370 (strongSwan 6.0): `keN_METHOD` is additional key exchange N
  (transform type 5+N); `keN_none` makes it optional. A proposal without an
  additional key exchange, or whose every ADDKE type includes none, admits an
  IKE SA without one: `additional_key_exchange_required` is true when no
  proposal does (null when none has an ADDKE), and
  `first_choice_additional_required` the same for the first proposal.
- ike-pq negotiates ML-KEM in IKE_SA_INIT but cannot complete it: Debian's
  strongSwan 6.0 has no ML-KEM provider (no ml, botan or wolfssl plugin, and its
  openssl plugin offers none), so the IKE_INTERMEDIATE exchange that would run
  ML-KEM fails. An unauthenticated probe sends only IKE_SA_INIT, where the
  negotiation is real wire behaviour; the truth says so
  (`additional_key_exchange_completes`, `note`), and verify.py checks both sides.
- IKEv1: each proposal is expanded into every combination of its algorithms
  (suites); the PRF is the hash.
- IKEv1 Main Mode: charon 5.9 selects the transform without looking at the
  authentication method (it checks it at message 5), and answers the RSA and
  El-Gamal encryption methods as pre-shared key: `auth_checked_in_main_mode`
  says so, and the lab tests only require PSK among the methods found.
- Vendor IDs: "strongSwan" (send_vendor_id = yes) in both versions; IKEv1 also
  XAUTH and DPD always, and RFC 3947 NAT-T and IKE fragmentation when the
  initiator offered them (its own charon code: ike_vendor / isakmp_vendor).
- COOKIE (RFC 7296 2.6): `cookie_threshold = 1` plus the half-open IKEv1 SA that
  start.sh leaves behind (strongswan-cookie.conf.in says why) make charon ask
  every IKEv2 initiator for a cookie; the relaxed thresholds of the first charon
  never do.
- NAT-T: each relay bridges UDP 4500 too, and charon answers IKE there behind the
  RFC 3948 non-ESP marker (`nat_t.answers_ike`).
- `common_suites_accepted`: whether some IKEv1 suite uses only the values a
  scanner tries first (AES-CBC 128/256, 3DES, DES; SHA2-256, SHA1, MD5; MODP
  768-2048, ECP 256/384). The second charon has none: a scanner must search the
  whole space to find its suites.
Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TRUTH = HERE / "ground_truth.json"
TARGETS = HERE / "targets.env"
# target name -> (its address in targets.env, its strongswan.conf, its swanctl.conf)
CHARONS = {
    "ike": ("IKE_LAB_HOST", "strongswan.conf.in", "swanctl.conf.in"),
    "ike-cookie": ("IKE_COOKIE_HOST", "strongswan-cookie.conf.in", "swanctl-cookie.conf.in"),
    "ike-pq": ("IKE_PQ_HOST", "strongswan-pq.conf.in", "swanctl-pq.conf.in"),
}
BOOKWORM = "strongSwan 5.9.8 (Debian 12 strongswan-charon)"
TRIXIE = "strongSwan 6.0 (Debian 13 trixie strongswan-charon, in a chroot)"
IMPLEMENTATION = {"ike": BOOKWORM, "ike-cookie": BOOKWORM, "ike-pq": TRIXIE}
# Which key exchange methods the target's charon can compute (its plugins): an
# additional key exchange it negotiates with another method cannot complete.
# Debian 13 builds strongSwan 6.0 without any ML-KEM provider (verify.py asks
# charon for its algorithms: no ML_KEM_* among them).
ML_KEM_PROVIDER = {"ike": False, "ike-cookie": False, "ike-pq": False}
PQ_NOTE = (
    "negotiates ML-KEM as an additional key exchange (RFC 9370) in IKE_SA_INIT but cannot "
    "complete it: Debian's strongSwan 6.0 build has no ML-KEM provider (no ml, botan or "
    "wolfssl plugin; its openssl plugin offers none), so IKE_INTERMEDIATE would fail"
)

# strongSwan keyword -> (IKEv2 ENCR id, key length) / IKEv1 (encryption, key length).
ENCRYPTION = {
    "aes128": (12, 128),
    "aes192": (12, 192),
    "aes256": (12, 256),
    "aes128gcm16": (20, 128),
    "aes256gcm16": (20, 256),
    "3des": (3, None),
    "camellia128": (23, 128),
    "camellia192": (23, 192),
    "camellia256": (23, 256),
}
ENCRYPTION_V1 = {
    "aes128": (7, 128),
    "aes192": (7, 192),
    "aes256": (7, 256),
    "3des": (5, None),
    "camellia128": (8, 128),
    "camellia192": (8, 192),
    "camellia256": (8, 256),
}
# What protoaudit's Main Mode probe tries first (probes/ike_v1.py, _common): a suite
# made only of these is found without searching the rest.
COMMON_ENCRYPTION_V1 = {(7, 128), (7, 256), (5, None), (1, None)}
COMMON_HASH_V1 = {4, 2, 1}
COMMON_GROUPS_V1 = {14, 2, 5, 1, 19, 20}
INTEGRITY = {"md5": 1, "sha1": 2, "sha256": 12, "sha384": 13, "sha512": 14}
PRF_OF_INTEGRITY = {"md5": 1, "sha1": 2, "sha256": 5, "sha384": 6, "sha512": 7}
PRF = {"prfmd5": 1, "prfsha1": 2, "prfsha256": 5, "prfsha384": 6, "prfsha512": 7}
HASH_V1 = {"md5": 1, "sha1": 2, "sha256": 4, "sha384": 5, "sha512": 6}
GROUPS = {
    "modp768": 1,
    "modp1024": 2,
    "modp1536": 5,
    "modp2048": 14,
    "modp3072": 15,
    "modp4096": 16,
    "ecp256": 19,
    "ecp384": 20,
    "ecp521": 21,
    "x25519": 31,
    "curve25519": 31,
}
# strongSwan 6.0's additional key exchange methods (keN_METHOD), IANA numbers.
ADDITIONAL = {"mlkem512": 35, "mlkem768": 36, "mlkem1024": 37, "none": 0}
ADDKE1 = 6  # transform type of ke1_; keN_ is type 5+N (RFC 9370 2.2.1)
PSK = 1


def vid(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def env(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Z_][A-Z0-9_]*)='([^']*)'", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def connections(text: str) -> dict[str, dict[str, str]]:
    """name -> {version, aggressive, proposals} of each connection block."""
    found: dict[str, dict[str, str]] = {}
    current = None
    depth = 0
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.endswith("{"):
            depth += 1
            if depth == 2:
                current = line[:-1].strip()
                found[current] = {}
            continue
        if line == "}":
            depth -= 1
            continue
        if depth == 2 and current and "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            found[current][key] = value
    return found


def requires_additional(proposal: str) -> bool | None:
    """Whether the proposal admits no IKE SA without an additional key exchange (None: none)."""
    slots: dict[str, set[str]] = {}
    for word in proposal.strip().split("-"):
        match = re.fullmatch(r"ke([1-7])_(\w+)", word)
        if match:
            slots.setdefault(match.group(1), set()).add(match.group(2))
    if not slots:
        return None
    return any("none" not in methods for methods in slots.values())


def ikev2(proposals: str) -> dict[str, Any]:
    encryption: list[dict[str, Any]] = []
    prf: list[int] = []
    integrity: list[int] = []
    groups: list[int] = []
    additional: list[int] = []
    slots: dict[int, list[int]] = {}
    for proposal in proposals.split(","):
        words = proposal.strip().split("-")
        explicit_prf = [PRF[w] for w in words if w in PRF]
        for word in words:
            match = re.fullmatch(r"ke([1-7])_(\w+)", word)
            if match:
                if match.group(2) not in ADDITIONAL:
                    raise SystemExit(f"ground_truth.py: unknown method {word!r} in {proposal!r}")
                code = ADDITIONAL[match.group(2)]
                if code:
                    kind = ADDKE1 + int(match.group(1)) - 1
                    additional += [code] if code not in additional else []
                    slots.setdefault(kind, [])
                    slots[kind] += [code] if code not in slots[kind] else []
            elif word in ENCRYPTION:
                code, bits = ENCRYPTION[word]
                entry = {"id": code, "key_length": bits}
                if entry not in encryption:
                    encryption.append(entry)
            elif word in INTEGRITY:
                integrity += [INTEGRITY[word]] if INTEGRITY[word] not in integrity else []
                if not explicit_prf and PRF_OF_INTEGRITY[word] not in prf:
                    prf.append(PRF_OF_INTEGRITY[word])
            elif word in GROUPS:
                groups += [GROUPS[word]] if GROUPS[word] not in groups else []
            elif word not in PRF:
                raise SystemExit(f"ground_truth.py: unknown keyword {word!r} in {proposal!r}")
        prf += [p for p in explicit_prf if p not in prf]
    return {
        "encryption": encryption,
        "prf": prf,
        "integrity": integrity,
        "key_exchange": groups,
        "additional_key_exchange": additional,
        # transform type (as a string: JSON keys) -> methods; NONE left out
        "additional_key_exchange_slots": {str(k): v for k, v in sorted(slots.items())},
    }


def ikev1(proposals: str) -> list[dict[str, Any]]:
    suites: list[dict[str, Any]] = []
    for proposal in proposals.split(","):
        words = proposal.strip().split("-")
        ciphers = [ENCRYPTION_V1[w] for w in words if w in ENCRYPTION_V1]
        hashes = [HASH_V1[w] for w in words if w in HASH_V1]
        groups = [GROUPS[w] for w in words if w in GROUPS]
        for (code, bits), hash_, group in itertools.product(ciphers, hashes, groups):
            suites.append({"encryption": code, "key_length": bits, "hash": hash_, "group": group})
    return suites


def setting(text: str, name: str) -> str | None:
    match = re.search(rf"^\s*{re.escape(name)}\s*=\s*(\S+)", text, re.MULTILINE)
    return match.group(1) if match else None


def common(suite: dict[str, Any]) -> bool:
    return (
        (suite["encryption"], suite["key_length"]) in COMMON_ENCRYPTION_V1
        and suite["hash"] in COMMON_HASH_V1
        and suite["group"] in COMMON_GROUPS_V1
    )


def target(name: str, host: str, port: int, strongswan: str, swanctl: str) -> dict[str, Any]:
    conns = connections(swanctl)
    v2_proposals = [c["proposals"] for c in conns.values() if c.get("version") == "2"]
    v1 = next((c for c in conns.values() if c.get("version") == "1"), None)
    sends_vid = "send_vendor_id = yes" in strongswan
    strongswan_vid = [vid("strongSwan")] if sends_vid else []
    every = [p.strip() for proposals in v2_proposals for p in proposals.split(",")]
    requirements = [requires_additional(p) for p in every]
    any_additional = any(r is not None for r in requirements)
    first = every[0]
    ikev2_truth = {
        **ikev2(", ".join(every)),
        "first_choice": ikev2(first),
        "additional_key_exchange_required": all(requirements) if any_additional else None,
        "first_choice_additional_required": requires_additional(first),
        "cookie_required": setting(strongswan, "cookie_threshold") == "1",
        "fragmentation_supported": "fragmentation = yes" in strongswan,
        "nat_detected": False,
        "vendor_ids": strongswan_vid,
    }
    if any_additional:
        ikev2_truth["additional_key_exchange_completes"] = ML_KEM_PROVIDER[name]
        ikev2_truth["note"] = PQ_NOTE
    return {
        "host": host,
        "port": port,
        "implementation": IMPLEMENTATION[name],
        "ikev2": ikev2_truth,
        "ikev1": None if v1 is None else ikev1_truth(v1, swanctl, strongswan_vid, strongswan),
        "nat_t": {"port": int(setting(strongswan, "port_nat_t") or 4500), "answers_ike": True},
    }


def ikev1_truth(
    v1: dict[str, str], swanctl: str, strongswan_vid: list[str], strongswan: str
) -> dict[str, Any]:
    identity = re.search(r"^\s*id\s*=\s*(\S+)", swanctl, re.MULTILINE)
    suites = ikev1(v1["proposals"])
    return {
        "main_mode": {
            "suites": suites,
            "encryption": list(
                {
                    json.dumps([s["encryption"], s["key_length"]]): [
                        s["encryption"],
                        s["key_length"],
                    ]
                    for s in suites
                }.values()
            ),
            "hash": list(dict.fromkeys(s["hash"] for s in suites)),
            "groups": list(dict.fromkeys(s["group"] for s in suites)),
            "auth_required": [PSK],
            "auth_checked_in_main_mode": False,
            "common_suites_accepted": any(common(s) for s in suites),
        },
        "aggressive_mode": {
            "accepted": v1.get("aggressive") == "yes",
            "psk_hash_exposed": v1.get("aggressive") == "yes"
            and "i_dont_care_about_security_and_use_aggressive_mode_psk = yes" in strongswan,
            "responder_identity": identity.group(1) if identity else "",
        },
        "vendor_ids": [*strongswan_vid, "09002689dfd6b712", "afcad71368a1f1c96b8696fc77570100"],
        "vendor_ids_when_offered": [vid("RFC 3947"), vid("FRAGMENTATION") + "80000000"],
    }


def build() -> dict[str, Any]:
    addresses = env(TARGETS)
    targets = {
        name: target(
            name,
            addresses[host],
            int(addresses["IKE_PORT"]),
            (HERE / strongswan).read_text(),
            (HERE / swanctl).read_text(),
        )
        for name, (host, strongswan, swanctl) in CHARONS.items()
    }
    return {
        "_comment": "Generated by lab/ike/ground_truth.py from the strongswan*.conf.in and "
        "swanctl*.conf.in files and targets.env; do not edit by hand.",
        "targets": targets,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = json.dumps(build(), indent=2) + "\n"
    if args.check:
        if TRUTH.read_text() != text:
            print("ike ground_truth.json is stale: run lab/ike/ground_truth.py", file=sys.stderr)
            return 1
        print("ike ground_truth.json matches the config")
        return 0
    TRUTH.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
