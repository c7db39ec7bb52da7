#!/usr/bin/env python3
"""Benchmark protoaudit against nmap's service detection on the OpenVPN lab (lab/openvpn).

For each target of lab/openvpn/ground_truth.json, one tool at a time with
wall time measured around the subprocess:
- protoaudit: `protoaudit audit openvpn://127.0.0.1:PORT/udp|tcp --json FILE`;
- nmap -sV (TCP) or -sU -sV (UDP), as the issue asks: nmap's OpenVPN probes
  (nmap-service-probes, rarity 9) are only sent to ports 1194, 443 and 500 at
  the default intensity, so on the lab's ports nmap says "unknown";
- nmap -sV --version-all (and -sU -sV --version-all): every probe on every
  port, nmap's best; over UDP it takes minutes per port (every probe waits
  for its timeout on a silent port). --quick leaves it out.
nmap runs with -Pn -n (no ping, no DNS). What each finds is compared with the
truth and with protoaudit: whether an OpenVPN server was identified (nmap's
service "openvpn"; protoaudit: the V2 reset answered). protoaudit must find
everything nmap finds; it also reports what nmap cannot: the silence of a
tls-auth/tls-crypt server as such, the TLS versions, every cipher suite and
group per version (counted in the table), and the certificate.

    python3 benchmarks/openvpn.py [--targets ovpn-udp,ovpn-tcp] [--quick] [--repeat N]

Prints a Markdown table and writes it, the raw outputs and summary.json
under benchmarks/results/openvpn-RUN_ID/ (git-ignored). Standard library
only. Only 127.0.0.1 is ever scanned.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import protoaudit_venv

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TRUTH = ROOT / "lab" / "openvpn" / "ground_truth.json"
RESULTS = HERE / "results"
ONLY_HOST = "127.0.0.1"
TOOLS = ("protoaudit", "nmap", "nmap-all")
TLS_NAMES = {0x0301: "1.0", 0x0302: "1.1", 0x0303: "1.2", 0x0304: "1.3"}
NMAP_TIMEOUT = "15m"


@dataclass
class Found:
    identified: bool = False  # an OpenVPN server was recognised
    text: str = ""  # what the tool said, short


@dataclass
class Run:
    tool: str
    target: str
    seconds: list[float] = field(default_factory=list)
    found: Found = field(default_factory=Found)
    error: str = ""


def parse_protoaudit(path: Path) -> Found:
    (target,) = json.loads(path.read_text())["targets"]
    resets: dict[int, dict[str, Any]] = {}
    versions: list[str] = []
    leaf = ""
    suites = groups = 0
    for observation in target["observations"]:
        kind = observation["kind"]
        if kind == "openvpn_reset":
            resets[int(observation["reset_opcode"])] = observation
        elif kind == "openvpn_tls_version" and observation["supported"]:
            code = observation["version"]
            code = int(code["code"], 16) if isinstance(code, dict) else int(code)
            versions.append(TLS_NAMES.get(code, hex(code)))
        elif kind == "cipher_suites":
            suites += len(observation["accepted"])
        elif kind == "key_exchange_groups":
            groups += len(observation["accepted"])
        elif kind == "openvpn_tls_handshake" and observation["certificates"]:
            certificate = observation["certificates"][0]
            leaf = f"{certificate['key_type']} {certificate['key_bits']}"
    v2 = resets.get(7)
    if v2 is None:
        return Found(False, "no reset observation")
    if not v2["answered"]:
        if v2["outcome"] == "closed":
            return Found(False, "hung up on the reset: HMAC firewall")
        return Found(False, f"{v2['outcome']}: HMAC firewall, or nothing there")
    listed = f"{suites} suites, {groups} groups"
    return Found(True, f"OpenVPN; TLS {', '.join(sorted(versions))} ({listed}); {leaf}")


def parse_nmap(path: Path) -> Found:
    port = next(ET.parse(path).iter("port"), None)
    if port is None:
        return Found(False, "no port in output")
    state = port.find("state")
    service = port.find("service")
    state_text = state.get("state", "?") if state is not None else "?"
    name = service.get("name", "") if service is not None else ""
    product = service.get("product", "") if service is not None else ""
    return Found(name == "openvpn", f"{state_text} {name or 'unknown'} {product}".strip())


def command(tool: str, truth: dict[str, Any], out: Path) -> list[str]:
    host, port, transport = truth["host"], truth["port"], truth["transport"]
    assert host == ONLY_HOST
    if tool == "protoaudit":
        target = f"openvpn://{host}:{port}/{transport}"
        return [*protoaudit_venv.command(), "audit", target, "--json", str(out), "-q",
                "--timeout", "2"]  # fmt: skip
    scan = ["-sU", "-sV"] if transport == "udp" else ["-sV"]
    if tool == "nmap-all":
        scan.append("--version-all")
    return ["nmap", "-Pn", "-n", *scan, "--host-timeout", NMAP_TIMEOUT, "-p", str(port),
            "-oX", str(out), host]  # fmt: skip


def run_tool(tool: str, name: str, truth: dict[str, Any], out_dir: Path, repeat: int) -> Run:
    run = Run(tool, name)
    out = out_dir / f"{name}.{tool}.{'json' if tool == 'protoaudit' else 'xml'}"
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    # nmap over UDP takes minutes (every probe waits out its timeout): nmap runs once.
    times = repeat if tool == "protoaudit" else 1
    for _ in range(times):
        started = time.monotonic()
        done = subprocess.run(
            command(tool, truth, out), capture_output=True, text=True, env=environment, check=False
        )
        run.seconds.append(time.monotonic() - started)
        if done.returncode not in (0, 1) or not out.is_file():
            run.error = (done.stderr or done.stdout)[-300:]
            return run
    run.found = parse_protoaudit(out) if tool == "protoaudit" else parse_nmap(out)
    return run


def up(name: str) -> bool:
    """The lab's own check (lab/openvpn/probe.py): live, answering or holding its port."""
    probe = [sys.executable, str(ROOT / "lab" / "openvpn" / "probe.py"), "up", name]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def render(
    names: list[str], tools: list[str], truth: dict[str, Any], runs: dict[tuple[str, str], Run]
) -> str:
    titles = {"protoaudit": "protoaudit", "nmap": "nmap -sV", "nmap-all": "nmap -sV --version-all"}
    header = ["target", "truth"]
    for tool in tools:
        header += [titles[tool], "s"]
    header.append("protoaudit ⊇ nmap")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name in names:
        t = truth[name]
        expected = "answers anyone" if t["answers_reset_v2"] else f"{t['hmac_firewall']}: silent"
        cells = [f"{name} ({t['transport']} {t['port']})", expected]
        for tool in tools:
            run = runs.get((tool, name))
            if run is None or run.error:
                cells += [f"error: {run.error[:60]}" if run else "—", "—"]
                continue
            # "open|filtered" must not split a Markdown cell.
            cells += [run.found.text.replace("|", "\\|"), f"{statistics.median(run.seconds):.1f}"]
        ours = runs.get(("protoaudit", name))
        peers = [
            runs[(tool, name)] for tool in tools if tool != "protoaudit" and (tool, name) in runs
        ]
        verdict = "—"
        if ours and not ours.error and peers:
            missed = any(peer.found.identified and not ours.found.identified for peer in peers)
            verdict = "**NO**" if missed else "yes"
        cells.append(verdict)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--targets", help="comma-separated names from lab/openvpn/ground_truth.json"
    )
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--quick", action="store_true", help="leave out nmap --version-all")
    parser.add_argument("--repeat", type=int, default=3, help="protoaudit runs per target (median)")
    args = parser.parse_args(argv)
    print(protoaudit_venv.refresh(), file=sys.stderr)
    truth: dict[str, Any] = json.loads(TRUTH.read_text())["targets"]
    names = args.targets.split(",") if args.targets else sorted(truth)
    tools = [tool for tool in args.tools.split(",") if tool and tool in TOOLS]
    if args.quick:
        tools = [tool for tool in tools if tool != "nmap-all"]
    if any(tool.startswith("nmap") for tool in tools) and shutil.which("nmap") is None:
        print("openvpn.py: nmap not found: apt-get install nmap", file=sys.stderr)
        return 2
    down = [name for name in names if not up(name)]
    if down:
        print(f"openvpn.py: lab targets down: {down}; run lab/openvpn/start.sh", file=sys.stderr)
        return 2
    out_dir = RESULTS / dt.datetime.now(dt.UTC).strftime("openvpn-%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True)
    runs: dict[tuple[str, str], Run] = {}
    for name in names:
        for tool in tools:
            runs[(tool, name)] = run_tool(tool, name, truth[name], out_dir, args.repeat)
            print(f"  {name} {tool}: {runs[(tool, name)].found.text or runs[(tool, name)].error}",
                  file=sys.stderr)  # fmt: skip
    problems = [
        f"protoaudit on {name}: identified {run.found.identified}, truth "
        f"{truth[name]['answers_reset_v2']}"
        for (tool, name), run in runs.items()
        if tool == "protoaudit" and run.found.identified != truth[name]["answers_reset_v2"]
    ]
    text = "\n".join(
        [
            f"## OpenVPN: protoaudit (median of {args.repeat} runs) and nmap (one run) "
            "on lab/openvpn, seconds",
            "",
            render(names, tools, truth, runs),
            "",
            "protoaudit against the truth: " + ("no difference" if not problems else ""),
            *[f"- {problem}" for problem in problems],
        ]
    )
    print(text)
    (out_dir / "report.md").write_text(text + "\n")
    summary = {
        f"{tool}/{name}": {"seconds": run.seconds, "found": run.found.text, "error": run.error}
        for (tool, name), run in runs.items()
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nwritten to {out_dir}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
