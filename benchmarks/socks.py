#!/usr/bin/env python3
"""Benchmark protoaudit against nmap's SOCKS scripts on the SOCKS lab (lab/socks).

For each target of lab/socks/ground_truth.json, one tool at a time with wall
time measured around the subprocess:
- protoaudit: `protoaudit audit socks5://HOST:PORT --socks-probe-target
  127.0.80.80:80 --json FILE`, a small HTTP target this script serves on
  loopback;
- nmap: `nmap -Pn -n -p PORT --script +socks-auth-info,+socks-open-proxy
  --script-args proxy.url=http://TARGET/,proxy.pattern=...` (the `+`
  forces the scripts on a non-standard port). socks-open-proxy reaches for
  www.google.com, www.wikipedia.org and www.computerhistory.org unless given
  proxy.url: it is always given the local target here, and the lab proxies
  relay only to 127.0.0.0/8 anyway. nmap's proxy library asks for port 80
  whatever the URL says (proxy.lua connectProxy), so the target listens on
  TARGET_ADDRESS port 80, a loopback address of its own. And it resolves the
  URL's host with a DNS query even when it is an address (proxy.lua
  socksHandshake, dns.query): nmap gets `--dns-servers` naming this script's
  own responder on loopback (DNS_ADDRESS), which answers an IPv4 literal
  with itself and anything else with NXDOMAIN, so that no query leaves the
  machine.
Both are compared with the truth and with each other: the authentication
methods accepted, and whether relaying without authentication was proved.
protoaudit must find everything nmap finds.

    python3 benchmarks/socks.py [--targets dante-open,microsocks] [--repeat N] [--tools ...]

Prints Markdown tables and writes them, the raw outputs and summary.json
under benchmarks/results/socks-RUN_ID/ (git-ignored). Standard library only.
Only 127.0.0.1 is ever scanned or named.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.server
import ipaddress
import json
import os
import re
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import protoaudit_venv

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TRUTH = ROOT / "lab" / "socks" / "ground_truth.json"
RESULTS = HERE / "results"
ONLY_HOST = "127.0.0.1"
TARGET_ADDRESS = ("127.0.80.80", 80)  # nmap's proxy checks always use port 80
DNS_ADDRESS = "127.0.80.53"  # nmap's resolver for the run: see the docstring
TOOLS = ("protoaudit", "nmap")
# What the target serves, and nmap's pattern for it: plain letters, because proxy.pattern is
# a Lua pattern ("-" is a quantifier there).
BODY = b"protoauditsocksbenchmark\n"
PATTERN = "protoauditsocksbenchmark"
NMAP_METHODS = {"No authentication": 0x00, "GSSAPI": 0x01, "Username and password": 0x02}
METHOD_NAMES = {0x00: "none", 0x01: "gssapi", 0x02: "user/pass"}


class Target(http.server.BaseHTTPRequestHandler):
    """What both tools CONNECT to through the proxies; it counts the requests."""

    requests = 0

    def do_GET(self) -> None:
        Target.requests += 1
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *_: object) -> None:
        pass


@dataclass
class Found:
    methods: set[int] = field(default_factory=set)
    open_proxy: bool | None = None  # relaying without authentication proved
    socks4: bool | None = None
    rfc1929_answered: bool | None = None
    note: str = ""


@dataclass
class Run:
    tool: str
    target: str
    seconds: list[float] = field(default_factory=list)
    found: Found = field(default_factory=Found)
    error: str = ""


def serve_dns(sock: socket.socket) -> None:
    """Answer A queries for an IPv4 literal with that address; NXDOMAIN to anything else."""
    while True:
        try:
            data, peer = sock.recvfrom(512)
        except OSError:
            return
        if len(data) < 17:
            continue
        position, labels = 12, []
        while position < len(data) and data[position]:
            length = data[position]
            labels.append(data[position + 1 : position + 1 + length].decode("ascii", "replace"))
            position += 1 + length
        question = data[12 : position + 5]
        query_type = int.from_bytes(data[position + 1 : position + 3], "big")
        try:
            address = ipaddress.IPv4Address(".".join(labels))
        except ValueError:
            address = None
        header = data[:2]
        if address is not None and address.is_loopback and query_type == 1:
            answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + address.packed
            reply = header + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0) + question + answer
        else:
            reply = header + struct.pack(">HHHHH", 0x8183, 1, 0, 0, 0) + question
        sock.sendto(reply, peer)


def parse_protoaudit(path: Path) -> Found:
    document = json.loads(path.read_text())
    (target,) = document["targets"]
    found = Found()
    for observation in target["observations"]:
        kind = observation["kind"]
        if kind == "socks_methods":
            found.methods = set(observation["accepted"])
        elif kind == "socks_connect":
            found.open_proxy = bool(found.open_proxy) or observation["succeeded"]
        elif kind == "socks4_detection":
            found.socks4 = observation["speaks_socks4"]
        elif kind == "socks_username_password":
            found.rfc1929_answered = observation["answered"]
        elif kind == "connection_failure":
            found.note = f"{observation['reason']}: {observation['detail']}"
    if found.open_proxy is None:
        found.open_proxy = False
    return found


def parse_nmap(path: Path) -> Found:
    found = Found(open_proxy=False)
    for script in ET.parse(path).iter("script"):
        output = script.get("output", "")
        if script.get("id") == "socks-auth-info":
            found.methods = {
                code
                for name, code in NMAP_METHODS.items()
                if re.search(rf"^\s*{name}\s*$", output, re.MULTILINE)
            }
        elif script.get("id") == "socks-open-proxy":
            status = next((e.text for e in script.iter("elem") if e.get("key") == "status"), "")
            versions = [e.text or "" for e in script.iter("elem") if e.get("key") is None]
            found.open_proxy = status == "open"
            found.socks4 = "socks4" in versions if found.open_proxy else None
            found.note = f"{status} ({', '.join(versions)})"
    return found


def command(tool: str, truth: dict[str, Any], out: Path) -> list[str]:
    host, port = truth["host"], truth["port"]
    assert host == ONLY_HOST
    address, target_port = TARGET_ADDRESS
    if tool == "protoaudit":
        return [
            *protoaudit_venv.command(), "audit", f"socks5://{host}:{port}",
            "--socks-probe-target", f"{address}:{target_port}",
            "--json", str(out), "-q", "--timeout", "2",
        ]  # fmt: skip
    return [
        "nmap", "-Pn", "-n", "--dns-servers", DNS_ADDRESS, "-p", str(port),
        "--script", "+socks-auth-info,+socks-open-proxy",
        "--script-args", f"proxy.url=http://{address}/,proxy.pattern={PATTERN}",
        "-oX", str(out), host,
    ]  # fmt: skip


def run_tool(tool: str, name: str, truth: dict[str, Any], out_dir: Path, repeat: int) -> Run:
    run = Run(tool, name)
    out = out_dir / f"{name}.{tool}.{'json' if tool == 'protoaudit' else 'xml'}"
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for _ in range(repeat):
        started = time.monotonic()
        done = subprocess.run(
            command(tool, truth, out),
            capture_output=True,
            text=True,
            env=environment,
            check=False,
        )
        run.seconds.append(time.monotonic() - started)
        if done.returncode not in (0, 1) or not out.is_file():
            run.error = (done.stderr or done.stdout)[-300:]
            return run
    run.found = parse_protoaudit(out) if tool == "protoaudit" else parse_nmap(out)
    return run


def methods_text(methods: set[int]) -> str:
    return ", ".join(METHOD_NAMES.get(code, f"0x{code:02x}") for code in sorted(methods)) or "none"


def yes_no(value: bool | None) -> str:
    return "—" if value is None else "yes" if value else "no"


def covers(protoaudit: Found, nmap: Found) -> bool:
    """protoaudit found everything nmap found."""
    return nmap.methods <= protoaudit.methods and (
        not nmap.open_proxy or bool(protoaudit.open_proxy)
    )


def render(names: list[str], truth: dict[str, Any], runs: dict[tuple[str, str], Run]) -> str:
    header = (
        "target",
        "truth: methods / open",
        "nmap: methods / open",
        "nmap s",
        "protoaudit: methods / open / SOCKS 4 / RFC 1929",
        "protoaudit s",
        "protoaudit ⊇ nmap",
    )
    lines = ["| " + " | ".join(header) + " |", "|---|---|---|---:|---|---:|---|"]
    for name in names:
        t = truth[name]
        truth_open = t["socks5_connect"] or t["socks4_connect"]
        cells = [name, f"{methods_text(set(t['methods_accepted']))} / {yes_no(truth_open)}"]
        nmap, ours = runs.get(("nmap", name)), runs.get(("protoaudit", name))
        for run, describe in ((nmap, "nmap"), (ours, "protoaudit")):
            if run is None:
                cells += ["—", "—"]
            elif run.error:
                cells += [f"error: {run.error[:60]}", "—"]
            else:
                found = run.found
                text = f"{methods_text(found.methods)} / {yes_no(found.open_proxy)}"
                if describe == "protoaudit":
                    text += f" / {yes_no(found.socks4)} / {yes_no(found.rfc1929_answered)}"
                cells += [text, f"{statistics.median(run.seconds):.2f}"]
        verdict = "—"
        if nmap and ours and not nmap.error and not ours.error:
            verdict = "yes" if covers(ours.found, nmap.found) else "**NO**"
        cells.append(verdict)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def truth_check(
    names: list[str], truth: dict[str, Any], runs: dict[tuple[str, str], Run]
) -> list[str]:
    problems = []
    for (tool, name), run in sorted(runs.items()):
        if run.error:
            problems.append(f"{tool} on {name}: {run.error}")
            continue
        expected = set(truth[name]["methods_accepted"])
        if run.found.methods != expected:
            problems.append(
                f"{tool} on {name}: methods {sorted(run.found.methods)}, truth {sorted(expected)}"
            )
        truth_open = truth[name]["socks5_connect"] or truth[name]["socks4_connect"]
        if run.found.open_proxy != truth_open:
            problems.append(
                f"{tool} on {name}: open proxy {run.found.open_proxy}, truth {truth_open}"
            )
    return problems


def answers(port: int) -> bool:
    try:
        socket.create_connection((ONLY_HOST, port), timeout=2).close()
    except OSError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", help="comma-separated names from lab/socks/ground_truth.json")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per tool and target (median shown)"
    )
    args = parser.parse_args(argv)
    print(protoaudit_venv.refresh(), file=sys.stderr)
    truth: dict[str, Any] = json.loads(TRUTH.read_text())["targets"]
    names = args.targets.split(",") if args.targets else sorted(truth)
    tools = [tool for tool in args.tools.split(",") if tool]
    if "nmap" in tools and shutil.which("nmap") is None:
        print("socks.py: nmap not found: apt-get install nmap", file=sys.stderr)
        return 2
    down = [name for name in names if not answers(truth[name]["port"])]
    if down:
        print(f"socks.py: lab targets down: {down}; run lab/socks/start.sh", file=sys.stderr)
        return 2
    try:
        server = http.server.ThreadingHTTPServer(TARGET_ADDRESS, Target)
    except OSError as error:
        print(f"socks.py: cannot serve the target on {TARGET_ADDRESS}: {error}", file=sys.stderr)
        return 2
    threading.Thread(target=server.serve_forever, daemon=True).start()
    resolver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        resolver.bind((DNS_ADDRESS, 53))
    except OSError as error:
        print(f"socks.py: cannot answer DNS on {DNS_ADDRESS}:53: {error}", file=sys.stderr)
        return 2
    threading.Thread(target=serve_dns, args=(resolver,), daemon=True).start()
    run_id = dt.datetime.now(dt.UTC).strftime("socks-%Y%m%d-%H%M%S")
    out_dir = RESULTS / run_id
    out_dir.mkdir(parents=True)
    runs: dict[tuple[str, str], Run] = {}
    for name in names:
        for tool in tools:
            runs[(tool, name)] = run_tool(tool, name, truth[name], out_dir, args.repeat)
    server.shutdown()
    resolver.close()
    table = render(names, truth, runs)
    problems = truth_check(names, truth, runs)
    text = "\n".join(
        [
            f"## SOCKS: protoaudit and nmap on lab/socks ({args.repeat} runs each, median seconds)",
            "",
            table,
            "",
            "Differences from the truth: " + ("none" if not problems else ""),
            *[f"- {problem}" for problem in problems],
            "",
            f"Requests the local target served through the proxies: {Target.requests}",
        ]
    )
    print(text)
    (out_dir / "report.md").write_text(text + "\n")
    summary = {
        f"{tool}/{name}": {
            "seconds": run.seconds,
            "methods": sorted(run.found.methods),
            "open_proxy": run.found.open_proxy,
            "socks4": run.found.socks4,
            "note": run.found.note,
            "error": run.error,
        }
        for (tool, name), run in runs.items()
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nwritten to {out_dir}")
    pairs = [(runs.get(("protoaudit", name)), runs.get(("nmap", name))) for name in names]
    missed = [1 for ours, nmap in pairs if ours and nmap and not covers(ours.found, nmap.found)]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
