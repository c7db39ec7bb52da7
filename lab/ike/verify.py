#!/usr/bin/env python3
"""Check the running ike lab against ground_truth.json with an independent client: ike-scan.

Every IKEv1 suite of the truth must get a Main Mode handshake (ike-scan -M
--trans=E[/L],H,1,G) with that very suite in the answer; suites the truth
lacks must get NO-PROPOSAL-CHOSEN; Aggressive Mode must answer with a hash
when the truth says it does; IKEv1 and IKEv2 must show the truth's Vendor IDs.
(ike-scan cannot send custom IKEv2 transforms, so IKEv2's transform lists are
checked by the lab tests, against the same truth.) Prints one line per check
and a count; exits 1 on any mismatch. Standard library only.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

TRUTH = json.loads((Path(__file__).resolve().parent / "ground_truth.json").read_text())
TARGET = TRUTH["targets"]["ike"]
HOST = TARGET["host"]
ENCRYPTION_NAMES = {1: "DES", 5: "3DES", 7: "AES"}
HASH_NAMES = {1: "MD5", 2: "SHA1", 4: "SHA2-256", 5: "SHA2-384", 6: "SHA2-512"}
results: list[tuple[bool, str]] = []


def ike_scan(*args: str) -> str:
    command = ["ike-scan", "-s", "0", "-r", "2", "-t", "500", *args, HOST]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False).stdout


def check(ok: bool, what: str) -> None:
    results.append((ok, what))
    print(("ok   " if ok else "FAIL ") + what)


def trans(suite: dict[str, int | None], auth: int = 1) -> str:
    cipher = f"{suite['encryption']}" + (f"/{suite['key_length']}" if suite["key_length"] else "")
    return f"{cipher},{suite['hash']},{auth},{suite['group']}"


def vids(output: str) -> list[str]:
    return re.findall(r"VID=([0-9a-f]+)", output)


main_mode = TARGET["ikev1"]["main_mode"]
for suite in main_mode["suites"]:
    out = ike_scan("-M", f"--trans={trans(suite)}")
    name = ENCRYPTION_NAMES[suite["encryption"]]
    bits = f"KeyLength={suite['key_length']}" if suite["key_length"] else ""
    ok = "Main Mode Handshake returned" in out and f"Enc={name}" in out and bits in out
    ok = ok and f"Hash={HASH_NAMES[suite['hash']]}" in out and f"Group={suite['group']}:" in out
    check(ok, f"IKEv1 Main Mode accepts {trans(suite)}")
    check(vids(out) == TARGET["ikev1"]["vendor_ids"], f"IKEv1 Vendor IDs {vids(out)}")

accepted = {trans(s) for s in main_mode["suites"]}
for candidate in ("1,1,1,1", "1,2,1,2", "7/256,2,1,14", "7/128,4,1,2", "5,2,1,2", "7/256,4,1,5"):
    if candidate in accepted:
        continue
    out = ike_scan("-M", f"--trans={candidate}")
    check("NO-PROPOSAL-CHOSEN" in out, f"IKEv1 Main Mode refuses {candidate}")

aggressive = TARGET["ikev1"]["aggressive_mode"]
suite = next(s for s in main_mode["suites"] if s["group"] == 2)
out = ike_scan("-A", "--id=verify@lab.test", f"--trans={trans(suite)}", "--dhgroup=2")
answered = "Aggressive Mode Handshake returned" in out
check(answered == aggressive["accepted"], f"IKEv1 Aggressive Mode answered: {answered}")
check(("Hash(" in out) == aggressive["psk_hash_exposed"], "Aggressive Mode HASH_R sent")
check(f"Value={aggressive['responder_identity']}" in out, "Aggressive Mode responder identity")

out = ike_scan("--ikev2")
check("INVALID_KE_PAYLOAD" in out or "SA_INIT Handshake returned" in out, "IKEv2 answers")
check(vids(out) == TARGET["ikev2"]["vendor_ids"], f"IKEv2 Vendor IDs {vids(out)}")

failed = sum(not ok for ok, _ in results)
print(f"ike lab: {len(results)} checks, {failed} mismatches")
sys.exit(1 if failed else 0)
