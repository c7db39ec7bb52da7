#!/usr/bin/env python3
"""Benchmark protoaudit's IKE probe against ike-scan and nmap on the IKE lab (lab/ike).

    python3 benchmarks/ike.py [--repeat N]

Each tool runs as a subprocess, one after another, against each target of
the lab (lab/ike/ground_truth.json: ike, ike-cookie, ike-pq; started with
lab/ike/start.sh if they do not answer, and stopped again afterwards). What
each finds is parsed from its output and compared with protoaudit's:

- ike-scan -M (Main Mode, its default 8 transforms): the transform the
  responder picks and its Vendor IDs;
- ike-scan --ikev2: whether IKEv2 answers, the group INVALID_KE_PAYLOAD asks for,
  Vendor IDs;
- ike-scan -A --id=... (Aggressive Mode): whether it answers with a hash (PSK
  exposure);
- nmap -sU -p 500 --script ike-version: the vendor it names.

protoaudit's packet count includes its one request to UDP 4500 (NAT-T).

protoaudit runs from benchmarks/.venv-protoaudit when bench/install.sh made
it (as the peers run from their own installs), else from this interpreter.
protoaudit must find everything they find, plus the accepted transform sets
(and the ML-KEM additional key exchanges, which neither peer can offer).
Prints a Markdown table with times (median of --repeat runs). Standard
library only; only the lab's loopback address is ever scanned.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import protoaudit_venv

ROOT = Path(__file__).resolve().parents[1]
TARGETS = json.loads((ROOT / "lab" / "ike" / "ground_truth.json").read_text())["targets"]
IKE_SCAN = ["ike-scan", "-s", "0", "-r", "2", "-t", "500"]
PROTOAUDIT = """
import asyncio, json, dataclasses
from datetime import UTC, datetime
from protoaudit.engine.limits import Limiter
from protoaudit.engine.transport import Timeouts
from protoaudit.probes.context import ProbeContext
from protoaudit.probes.ike import run_ike_probes
context = ProbeContext(host={host!r}, address={host!r}, port={port}, server_name=None,
    timeouts=Timeouts(2.0, 1.0), limiter=Limiter(4, 2), ca_file=None, now=datetime.now(UTC),
    retries=1)
sink = []
asyncio.run(run_ike_probes(context, sink))
print(json.dumps([dict(kind=o.kind, **dataclasses.asdict(o)) for o in sink]))
"""


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    return time.perf_counter() - started, done.stdout


def vids(text: str) -> set[str]:
    return set(re.findall(r"VID=([0-9a-f]+)", text))


def run_once(host: str, port: int) -> dict[str, tuple[float, dict[str, object]]]:
    results: dict[str, tuple[float, dict[str, object]]] = {}
    seconds, out = timed([protoaudit_venv.python(), "-c", PROTOAUDIT.format(host=host, port=port)])
    observations = {o["kind"]: o for o in json.loads(out)}
    v2, main, aggressive, nat_t = (
        observations["ike_v2_sa_init"],
        observations["ike_v1_main_mode"],
        observations["ike_v1_aggressive_mode"],
        observations["ike_nat_t"],
    )
    results["protoaudit"] = (
        seconds,
        {
            "ikev2": v2["status"] == "enumerated",
            "ikev2 group asked": v2["requested_group"],
            "ikev1 suites": {
                (s["encryption"], s["key_length"], s["hash"], s["group"]) for s in main["accepted"]
            },
            "aggressive hash": bool(aggressive["hash_length"]),
            "vids": set(v2["vendor_ids"]) | set(main["vendor_ids"]),
            "vendor": "strongSwan"
            if "882fe56d6fd20dbc2251613b2ebe5beb" in v2["vendor_ids"]
            else "",
            "ikev2 transforms": sum(
                len(v2[k]) for k in ("encryption", "prf", "integrity", "key_exchange")
            ),
            "packets": v2["packets_sent"]
            + main["packets_sent"]
            + aggressive["packets_sent"]
            + nat_t["packets_sent"],
            "nat-t": nat_t["answers_ike"],
            "ml-kem": v2["additional_key_exchange"],
        },
    )
    s1, main_out = timed([*IKE_SCAN, "-M", host])
    s2, v2_out = timed([*IKE_SCAN, "--ikev2", host])
    s3, aggressive_out = timed([*IKE_SCAN, "-A", "-M", "--id=bench@lab.test", host])
    suite = re.search(r"SA=\(Enc=(\S+)(?: KeyLength=(\d+))? Hash=(\S+) Group=(\d+)", main_out)
    asked = re.search(r"INVALID_KE_PAYLOAD", v2_out)
    results["ike-scan (-M, --ikev2, -A)"] = (
        s1 + s2 + s3,
        {
            "ikev2": bool(asked) or "Handshake returned" in v2_out or "IKEv2)" in v2_out,
            "ikev1 suites": {suite.groups()} if suite else set(),
            "aggressive hash": "Hash(" in aggressive_out,
            "vids": vids(main_out) | vids(v2_out),
            "vendor": "strongSwan" if "(strongSwan)" in main_out + v2_out else "",
            "packets": 3 * 1,
        },
    )
    if shutil.which("nmap"):
        seconds, out = timed(
            ["nmap", "-n", "-sU", "-p", str(port), "--script", "ike-version", host]
        )
        vendor = re.search(r"vendor_id: (.+)", out)
        results["nmap --script ike-version"] = (
            seconds,
            {"vendor": vendor.group(1).strip() if vendor else "", "ikev2": None},
        )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(protoaudit_venv.refresh(), file=sys.stderr)
    started_lab = False
    if subprocess.run(
        ["bash", str(ROOT / "lab/ike/status.sh")], capture_output=True, check=False
    ).returncode:
        subprocess.run(["bash", str(ROOT / "lab/ike/start.sh")], check=True)
        started_lab = True
    try:
        for name, truth in TARGETS.items():
            if "error" in truth or "host" not in truth:
                continue
            report(name, truth["host"], truth["port"], args.repeat)
    finally:
        if started_lab:
            subprocess.run(["bash", str(ROOT / "lab/ike/stop.sh")], check=False)
    return 0


def report(name: str, host: str, port: int, repeat: int) -> None:
    runs = [run_once(host, port) for _ in range(repeat)]
    last = runs[-1]
    ours = last["protoaudit"][1]
    print(f"\n### {name} ({host}:{port}), median of {repeat} runs\n")
    print(
        "| tool | time (s) | IKEv2 | IKEv1 Main Mode | Aggressive Mode PSK hash | vendor "
        "| everything it found is in protoaudit's |"
    )
    print("|---|---|---|---|---|---|---|")
    for tool in last:
        seconds = statistics.median(run[tool][0] for run in runs)
        found = last[tool][1]
        suites = found.get("ikev1 suites")
        if tool == "protoaudit":
            v1 = f"{len(suites)} PSK suites + methods" if isinstance(suites, set) else "n/a"
            v2 = f"enumerated ({ours['ikev2 transforms']} transforms, {ours['packets']} packets)"
            if ours["ml-kem"]:
                v2 += f"; ML-KEM additional key exchanges {ours['ml-kem']}"
            covered = "-"
        else:
            v1 = (
                ", ".join("/".join(x for x in s if x) for s in suites)
                if isinstance(suites, set) and suites
                else "n/a"
            )
            v2 = (
                "answers" if found.get("ikev2") else ("n/a" if found.get("ikev2") is None else "no")
            )
            ok = found.get("vids", set()) <= ours["vids"]  # type: ignore[operator]
            ok = ok and found.get("aggressive hash", False) <= ours["aggressive hash"]  # type: ignore[operator]
            ok = ok and (not found.get("vendor") or "strongswan" in str(found["vendor"]).lower())
            ours_suites = ours["ikev1 suites"]
            ok = ok and (
                not isinstance(suites, set)
                or not isinstance(ours_suites, set)
                or len(suites) <= len(ours_suites)
            )
            covered = "yes" if ok else "NO"
        hash_cell = {True: "yes", False: "no", None: "n/a"}[found.get("aggressive hash")]  # type: ignore[index]
        vendor = found.get("vendor") or "-"
        print(f"| {tool} | {seconds:.2f} | {v2} | {v1} | {hash_cell} | {vendor} | {covered} |")
    print(f"\nprotoaudit: the responder answers IKE on UDP 4500 too: {ours['nat-t']}")


if __name__ == "__main__":
    sys.exit(main())
