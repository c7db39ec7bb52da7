#!/usr/bin/env python3
"""Benchmark protoaudit against ssh-audit and nmap on the SSH lab.

For each SSH target of lab/ssh/ground_truth.json every tool runs as a
subprocess, one after another (never two at once), with wall time measured
around the subprocess. Each tool's machine-readable output is parsed into the
server's KEXINIT name-lists (kex, host key, encryption, MAC, compression) and
its host keys' SHA256 fingerprints, then compared with the lab's truth (the
kexinit lists of ground_truth.json, the fingerprints of this start's
RUN/ssh/hostkeys.json) and with each other.

    python3 benchmarks/ssh.py [--targets ssh-hardened,dropbear] [--tools ...] [--repeat N]

Prints a Markdown table and a list explaining every difference, and writes
them, the raw outputs and a summary.json under benchmarks/results/ssh-RUN_ID/
(git-ignored). Standard library only. Only 127.0.0.1 is ever scanned.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SRC = ROOT / "src"
SSH_LAB = ROOT / "lab" / "ssh"
TRUTH = SSH_LAB / "ground_truth.json"
DEFAULT_RESULTS = HERE / "results"
SSH_AUDIT_VENV = HERE / ".venv-ssh-audit"
ONLY_HOST = "127.0.0.1"
TOOLS = ("protoaudit", "ssh-audit", "nmap")
NETNS_ENV = "PROTOAUDIT_BENCH_PRIVATE_SSH_LAB"

# The KEXINIT fields, as protoaudit's SshAlgorithms observation and the
# ground truth name them, grouped into the table's columns.
COLUMNS: dict[str, tuple[str, ...]] = {
    "kex": ("kex",),
    "hostkey algs": ("host_key",),
    "ciphers": ("encryption_client_to_server", "encryption_server_to_client"),
    "macs": ("mac_client_to_server", "mac_server_to_client"),
    "compression": ("compression_client_to_server", "compression_server_to_client"),
}
FIELDS = tuple(f for fields in COLUMNS.values() for f in fields)

# What nmap 7.93's ssh-hostkey offers (nselib/ssh2.lua fetch_host_key and
# kex_init's defaults): used to explain the host keys it cannot fetch.
NMAP_HOSTKEY_KEX = {
    "diffie-hellman-group1-sha1",
    "diffie-hellman-group14-sha1",
    "diffie-hellman-group14-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group-exchange-sha1",
    "diffie-hellman-group-exchange-sha256",
}
NMAP_HOSTKEY_MACS = {"hmac-md5", "hmac-sha1", "hmac-ripemd160"}
NMAP_HOSTKEY_TYPES = (
    "ssh-dss",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-ed25519",
)
NMAP_READ_TIMEOUT = 30.0  # its socket timeout in fetch_host_key
# Pseudo-algorithms a server adds to its kex list (strict kex, dropbear's
# guess, RFC 8308's ext-info): a tool that folds or drops them would differ.
MARKER_PREFIXES = ("kex-strict-", "kexguess", "ext-info-")


def fingerprint(text: str) -> str:
    """A SHA256 fingerprint as OpenSSH prints it, without prefix or padding."""
    return text.removeprefix("SHA256:").rstrip("=")


def fingerprint_of_blob(blob_base64: str) -> str:
    digest = hashlib.sha256(base64.b64decode(blob_base64)).digest()
    return base64.b64encode(digest).decode().rstrip("=")


# --- what a tool said ---------------------------------------------------------------------


@dataclass
class Parsed:
    lists: dict[str, list[str]] = field(default_factory=dict)  # only the fields it reports
    fingerprints: set[tuple[str, str]] | None = None  # (key type, SHA256); None: not reported
    certificate: str | None = None  # what it says about a host certificate's CA
    # nmap: (SHA256 from its text, SHA256 of its key blob) per key, for the cross-check
    nmap_fingerprint_pairs: list[tuple[str | None, str | None]] = field(default_factory=list)
    nmap_postscript_error: str | None = None
    problems: list[str] = field(default_factory=list)
    scan_seconds: float | None = None
    fatal: bool = False


@dataclass
class Target:
    name: str
    port: int
    kexinit: dict[str, list[str]]


@dataclass
class Run:
    tool: str
    target: str
    status: str  # ok | not installed | target down | timeout | failed
    seconds: float | None = None
    returncode: int | None = None
    detail: str = ""
    parsed: Parsed | None = None
    truth_fingerprints: set[tuple[str, str]] = field(default_factory=set)
    truth_ca: str | None = None  # the host certificate's CA fingerprint, if there is one
    files: list[str] = field(default_factory=list)


def parse_protoaudit(path: Path) -> Parsed:
    """protoaudit --json: targets[0].observations, ssh_algorithms and ssh_host_key."""
    doc = json.loads(path.read_text())
    fps: set[tuple[str, str]] = set()
    out = Parsed(fingerprints=fps)
    out.problems += [f"{e.get('target')}: {e.get('reason')}" for e in doc.get("errors", [])]
    targets = doc.get("targets") or []
    if not targets:
        out.fatal = True
        out.problems.append("no target in the report")
        return out
    if isinstance(targets[0].get("duration_seconds"), int | float):
        out.scan_seconds = float(targets[0]["duration_seconds"])
    for obs in targets[0].get("observations", []):
        if obs.get("kind") == "ssh_algorithms":
            out.lists = {f: list(obs[f]) for f in FIELDS if f in obs}
        elif obs.get("kind") == "ssh_host_key":
            fps.add((obs["key_type"], fingerprint(obs["fingerprint_sha256"])))
            if cert := obs.get("certificate"):
                out.certificate = (
                    f"{obs['algorithm']}, CA {cert.get('ca_key_type')} "
                    f"{fingerprint(cert.get('ca_fingerprint_sha256') or '?')}"
                )
    if not out.lists:
        out.fatal = True
        out.problems.append("no ssh_algorithms observation")
    return out


def parse_ssh_audit(path: Path) -> Parsed:
    """ssh-audit -j: kex/key/enc/mac lists of {algorithm}, compression, fingerprints.

    ssh-audit keeps one list per kind: enc, mac and compression are the
    server-to-client lists (kex.server in its code).
    """
    doc = json.loads(path.read_text())
    fps: set[tuple[str, str]] = set()
    out = Parsed(fingerprints=fps)
    if not isinstance(doc, dict) or "kex" not in doc:
        out.fatal = True
        out.problems.append(f"no kex in the JSON: {str(doc)[:200]}")
        return out
    out.lists = {
        "kex": [a["algorithm"] for a in doc["kex"]],
        "host_key": [a["algorithm"] for a in doc.get("key", [])],
        "encryption_server_to_client": [a["algorithm"] for a in doc.get("enc", [])],
        "mac_server_to_client": [a["algorithm"] for a in doc.get("mac", [])],
        "compression_server_to_client": list(doc.get("compression", [])),
    }
    for fp in doc.get("fingerprints", []):
        if fp.get("hash_alg") == "SHA256":
            fps.add((fp["hostkey"], fingerprint(fp["hash"])))
    for key in doc.get("key", []):
        if key.get("ca_algorithm"):
            out.certificate = (
                f"{key['algorithm']}, CA {key['ca_algorithm']} {key.get('casize')} bits"
                " (no CA fingerprint)"
            )
    return out


_NMAP_LISTS = {
    "kex_algorithms": ("kex",),
    "server_host_key_algorithms": ("host_key",),
    # ssh2-enum-algos folds the two directions into one list when they are equal
    "encryption_algorithms": ("encryption_client_to_server", "encryption_server_to_client"),
    "mac_algorithms": ("mac_client_to_server", "mac_server_to_client"),
    "compression_algorithms": ("compression_client_to_server", "compression_server_to_client"),
    **{
        f"{kind}_algorithms_{way}": (f"{kind}_{way}",)
        for kind in ("encryption", "mac", "compression")
        for way in ("client_to_server", "server_to_client")
    },
}
_NMAP_SHA256 = re.compile(r"^\s*(\d+) SHA256:(\S+) \((\w+)\)", re.MULTILINE)


def parse_nmap(path: Path, port: int) -> Parsed:
    """nmap -oX: the port's ssh2-enum-algos tables and ssh-hostkey keys.

    ssh-hostkey's XML gives per key its type, bits, MD5 fingerprint and (with
    `full`) the key blob; its SHA256 fingerprint only in the output text (with
    `sha256`). That text is what counts; the blob's SHA256 is a cross-check.
    """
    root = ET.parse(path).getroot()
    out = Parsed()
    for script in root.iterfind("postscript/script"):
        if "ERROR" in (script.get("output") or ""):
            out.nmap_postscript_error = f"{script.get('id')}: {script.get('output', '').strip()}"
    port_el = next(
        (p for p in root.iter("port") if p.get("portid") == str(port)),
        None,
    )
    state = port_el.find("state") if port_el is not None else None
    if port_el is None or state is None or state.get("state") != "open":
        out.fatal = True
        out.problems.append(f"port {port} not open in the scan")
        return out
    scripts = {s.get("id"): s for s in port_el.findall("script")}
    algos = scripts.get("ssh2-enum-algos")
    if algos is None:
        out.problems.append("no ssh2-enum-algos result")
    else:
        for table in algos.findall("table"):
            for name in _NMAP_LISTS.get(table.get("key") or "", ()):
                out.lists[name] = [e.text or "" for e in table.findall("elem")]
    hostkey = scripts.get("ssh-hostkey")
    fps: set[tuple[str, str]] = set()
    out.fingerprints = fps
    if hostkey is None:
        return out
    text_fps = _NMAP_SHA256.findall(hostkey.get("output") or "")
    for i, table in enumerate(hostkey.findall("table")):
        elems = {e.get("key"): e.text or "" for e in table.findall("elem")}
        from_blob = fingerprint_of_blob(elems["key"]) if elems.get("key") else None
        own = fingerprint(text_fps[i][1]) if i < len(text_fps) else None
        if own and from_blob and own != from_blob:
            out.problems.append(
                f"{elems.get('type')}: SHA256 {own} but its key hashes to {from_blob}"
            )
        out.nmap_fingerprint_pairs.append((own, from_blob))
        if own or from_blob:
            fps.add((elems.get("type", "?"), own or from_blob or ""))
    return out


PARSERS: dict[str, Callable[[Path, int], Parsed]] = {
    "protoaudit": lambda path, _port: parse_protoaudit(path),
    "ssh-audit": lambda path, _port: parse_ssh_audit(path),
    "nmap": parse_nmap,
}


# --- running the tools ---------------------------------------------------------------------


def find_protoaudit() -> list[str] | None:
    # Its own venv first (install.sh makes it, like ssh-audit's): both tools then
    # start the same way. Else the console script beside this interpreter, not a
    # version manager's shim (pyenv's adds ~0.1 s that ssh-audit does not pay).
    venv = HERE / ".venv-protoaudit" / "bin" / "protoaudit"
    if venv.exists():
        return [str(venv)]
    beside = Path(sys.executable).parent / "protoaudit"
    if beside.is_file():
        return [str(beside)]
    probe = subprocess.run(
        [sys.executable, "-c", "import protoaudit.cli"],
        capture_output=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    return [sys.executable, "-m", "protoaudit"] if probe.returncode == 0 else None


def find_ssh_audit() -> list[str] | None:
    venv = SSH_AUDIT_VENV / "bin" / "ssh-audit"
    if venv.exists():
        return [str(venv)]
    exe = shutil.which("ssh-audit")
    return [exe] if exe else None


def find_nmap() -> list[str] | None:
    exe = shutil.which("nmap")
    return [exe] if exe else None


FINDERS = {"protoaudit": find_protoaudit, "ssh-audit": find_ssh_audit, "nmap": find_nmap}


def command(
    tool: str, exe: list[str], port: int, stem: Path, rate_test: bool
) -> tuple[list[str], Path, bool]:
    """argv, the file with its machine-readable output, and whether that is its stdout."""
    if tool == "protoaudit":
        out = stem.with_suffix(".json")
        return [*exe, "audit", f"ssh://{ONLY_HOST}:{port}", "--json", str(out)], out, False
    if tool == "ssh-audit":
        # -j writes the JSON to stdout. The DHEat connection-rate test (38
        # connections in a burst) is skipped unless asked for: protoaudit
        # does nothing like it.
        argv = [*exe, "-j", "-p", str(port)]
        if not rate_test:
            argv.append("--skip-rate-test")
        return [*argv, ONLY_HOST], stem.with_suffix(".json"), True
    if tool == "nmap":
        # "+" forces the scripts on a port nmap does not take for SSH; -n: no
        # DNS at all. "sha256 full": its own SHA256 fingerprints and the keys.
        out = stem.with_suffix(".xml")
        argv = [*exe, "-Pn", "-n", "-p", str(port), "--script", "+ssh2-enum-algos,+ssh-hostkey"]
        argv += ["--script-args", "ssh_hostkey='sha256 full'", "-oX", str(out), ONLY_HOST]
        return argv, out, False
    raise ValueError(tool)


def batch_seconds(
    tool: str, exe: list[str], targets: list[Target], out_dir: Path, *, timeout: float
) -> float | None:
    """Wall time of one invocation that audits every target (an estate, in small)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if tool == "protoaudit":
        urls = [f"ssh://{ONLY_HOST}:{t.port}" for t in targets]
        argv = [*exe, "audit", *urls, "--json", str(out_dir / "protoaudit-batch.json"), "-q"]
    else:
        listing = out_dir / "ssh-audit-targets.txt"
        listing.write_text("".join(f"{ONLY_HOST}:{t.port}\n" for t in targets))
        argv = [*exe, "-j", "--skip-rate-test", "-T", str(listing)]
    started = time.monotonic()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None
    seconds = time.monotonic() - started
    # Count a run only if it reported on every target (a down lab answers fast).
    if tool == "protoaudit":
        report = json.loads((out_dir / "protoaudit-batch.json").read_text())
        kinds = [{o["kind"] for o in t["observations"]} for t in report["targets"]]
        ok = len(kinds) == len(targets) and all("ssh_algorithms" in k for k in kinds)
    else:
        ok = done.stdout.count('"kex"') >= len(targets)
    return seconds if ok else None


def answers_ssh(port: int) -> bool:
    try:
        with socket.create_connection((ONLY_HOST, port), timeout=3) as sock:
            return sock.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def read_host_keys(name: str) -> tuple[set[tuple[str, str]], str | None]:
    """This lab start's (key type, SHA256) for target `name`, and its certificate CA's SHA256.

    Read before every run: keys are new at every lab start (hostkeys.json).
    """
    lab_dir = Path(os.environ.get("PROTOAUDIT_LAB_DIR", "/tmp/protoaudit-lab"))
    try:
        doc = json.loads((lab_dir / "ssh" / "hostkeys.json").read_text())
    except (OSError, ValueError):
        return set(), None
    keys = doc.get("targets", {}).get(name, [])
    cas = [k["certificate"]["ca_fingerprint_sha256"] for k in keys if k.get("certificate")]
    fps = {(k["key_type"], fingerprint(k["fingerprint_sha256"])) for k in keys}
    return fps, fingerprint(cas[0]) if cas else None


def run_tool(
    tool: str,
    exe: list[str] | None,
    target: Target,
    out_dir: Path,
    run_no: int,
    *,
    timeout: float,
    rate_test: bool,
) -> Run:
    run = Run(tool=tool, target=target.name, status="ok")
    if exe is None:
        run.status = "not installed"
        return run
    if not answers_ssh(target.port):
        run.status = "target down"
        return run
    run.truth_fingerprints, run.truth_ca = read_host_keys(target.name)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"{tool}-run{run_no}"
    argv, output, output_is_stdout = command(tool, exe, target.port, stem, rate_test)
    stdout_path = output if output_is_stdout else stem.with_suffix(".stdout")
    stderr_path = stem.with_suffix(".stderr")
    stem.with_suffix(".cmd").write_text(" ".join(argv) + "\n")
    env = {**os.environ, "PYTHONPATH": str(SRC)} if exe[0] == sys.executable else None
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            cwd=out_dir,
            env=env,
            start_new_session=True,
        )
        try:
            run.returncode = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            run.status, run.detail = "timeout", f"killed after {timeout:.0f} s"
        finally:
            if proc.returncode is None:  # timeout or Ctrl-C: the tool has its own session
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        run.seconds = time.perf_counter() - start
    run.files = [
        str(p.relative_to(out_dir.parent))
        for p in dict.fromkeys((output, stdout_path, stderr_path))
        if p.exists()
    ]
    if run.status != "ok":
        return run
    if not answers_ssh(target.port):
        run.status = "target went down during the run"
        return run
    if not output.exists() or output.stat().st_size == 0:
        tail = stderr_path.read_text(errors="replace").strip().splitlines()[-2:]
        run.status, run.detail = "failed", f"exit {run.returncode}, no output; " + " | ".join(tail)
        return run
    try:
        run.parsed = PARSERS[tool](output, target.port)
    except (ValueError, KeyError, TypeError, ET.ParseError) as exc:
        run.status, run.detail = "failed", f"exit {run.returncode}, unparsable output: {exc!r}"
        return run
    if not run.truth_fingerprints:
        run.parsed.problems.append("no fingerprints for this target in RUN/ssh/hostkeys.json")
    run.detail = " ".join("; ".join(run.parsed.problems).split())[:300]
    if run.parsed.fatal:
        run.status = "failed"
    return run


# --- judging -------------------------------------------------------------------------------


@dataclass
class Diff:
    missing: list[str]
    extra: list[str]
    order_differs: bool

    @property
    def ok(self) -> bool:
        return not self.missing and not self.extra


def diff_lists(want: list[str], have: list[str]) -> Diff:
    missing = [a for a in want if a not in have]
    extra = [a for a in have if a not in want]
    same_set = not missing and not extra
    return Diff(missing, extra, same_set and want != have)


def diff_column(truth: dict[str, list[str]], parsed: Parsed, column: str) -> Diff | None:
    """Truth against the fields of `column` the tool reports; None if it reports none."""
    fields = [f for f in COLUMNS[column] if f in parsed.lists]
    if not fields:
        return None
    missing: set[str] = set()
    extra: set[str] = set()
    order = False
    for f in fields:
        d = diff_lists(truth[f], parsed.lists[f])
        missing.update(d.missing)
        extra.update(d.extra)
        order = order or d.order_differs
    return Diff(sorted(missing), sorted(extra), order)


def diff_fingerprints(run: Run) -> Diff | None:
    assert run.parsed is not None
    if run.parsed.fingerprints is None:
        return None
    want = {f"{t} {fp}" for t, fp in run.truth_fingerprints}
    have = {f"{t} {fp}" for t, fp in run.parsed.fingerprints}
    return Diff(sorted(want - have), sorted(have - want), order_differs=False)


def cell(diffs: list[Diff | None]) -> str:
    """One table cell from the runs' diffs (the last run's numbers)."""
    if not diffs:
        return "—"
    last = diffs[-1]
    if last is None:
        return "not reported"
    if last.ok:
        text = "ok" + (" (order differs)" if last.order_differs else "")
    else:
        parts = [f"missing {len(last.missing)}"] if last.missing else []
        parts += [f"extra {len(last.extra)}"] if last.extra else []
        text = ", ".join(parts)
    good = sum(1 for d in diffs if d is not None and d.ok)
    if 0 < good < len(diffs):
        text += f" ({good}/{len(diffs)} runs ok)"
    return text


# --- explanations ----------------------------------------------------------------------------


def explain(target: Target, tool: str, run: Run) -> list[str]:
    """Every difference of one tool's last run from the truth, with its cause where known."""
    assert run.parsed is not None
    parsed, lines = run.parsed, []
    for f in FIELDS:
        if f not in parsed.lists:
            continue
        d = diff_lists(target.kexinit[f], parsed.lists[f])
        if d.missing or d.extra:
            lines.append(f"`{f}`: missing {d.missing or '[]'}, extra {d.extra or '[]'}")
        elif d.order_differs:
            lines.append(f"`{f}`: same names, other order: {parsed.lists[f]}")
    for f in FIELDS:
        if f not in parsed.lists and f.endswith("_client_to_server"):
            twin = f.replace("_client_to_server", "_server_to_client")
            if target.kexinit[f] != target.kexinit[twin]:
                lines.append(f"`{f}` differs from `{twin}` here, and {tool} does not show it")
    fp = diff_fingerprints(run)
    if fp is not None and not fp.ok:
        lines.append(f"fingerprints missing {fp.missing or '[]'}, extra {fp.extra or '[]'}")
        if tool == "nmap":
            lines += explain_nmap_hostkeys(target, run)
    lines += [f"problem: {p}" for p in parsed.problems]
    return lines


def explain_nmap_hostkeys(target: Target, run: Run) -> list[str]:
    """Why nmap's ssh-hostkey missed keys, from what the server offers (see tool_notes)."""
    assert run.parsed is not None
    offered = ",".join(target.kexinit["host_key"])
    tried = [t for t in NMAP_HOSTKEY_TYPES if t in offered]  # its own substring test
    out = []
    if not set(target.kexinit["kex"]) & NMAP_HOSTKEY_KEX:
        out.append(
            f"cause: the server offers no classic DH kex, so nmap gives up on {', '.join(tried)}"
            " (debug: `No shared KEX methods supported by server`)."
        )
    elif not set(target.kexinit["mac_server_to_client"]) & NMAP_HOSTKEY_MACS:
        out.append(
            "cause: the server has none of nmap's MACs and drops the connection after the"
            f" KEXINITs, for {', '.join(tried)} (paramiko logs `Incompatible ssh server"
            " (no acceptable macs)`)."
        )
    elif run.seconds and run.seconds >= NMAP_READ_TIMEOUT:
        out.append(
            "cause: the server sends its KEXINIT in the same segment as its identification"
            " line; nmap reads the line with receive_lines(1), loses the KEXINIT buffered"
            f" behind it and waits {NMAP_READ_TIMEOUT:.0f} s for it, once for each of"
            f" {', '.join(tried)} (seen with --script-trace): {run.seconds:.0f} s."
        )
    if run.parsed.nmap_postscript_error and not run.parsed.fingerprints:
        out.append(
            f"with no key at all, its postrule fails too (`{run.parsed.nmap_postscript_error}`"
            " in <postscript>: ssh-hostkey.nse line 377 iterates an empty registry)."
        )
    return out


def tool_notes(targets: list[Target], tools: list[str], runs: list[Run]) -> list[str]:
    """How each tool reports, once, with what this run's outputs show of it."""
    last = {(r.target, r.tool): r for r in runs if r.status == "ok" and r.parsed is not None}
    notes = []
    markers = {m for t in targets for m in t.kexinit["kex"] if m.startswith(MARKER_PREFIXES)}
    counts = []
    for tool in tools:
        kept = [
            all(m in (r.parsed.lists.get("kex") or []) for m in markers & set(t.kexinit["kex"]))
            for t in targets
            if (r := last.get((t.name, tool))) and r.parsed
        ]
        counts.append(f"{tool} on {sum(kept)} of {len(kept)} targets")
    if markers:
        notes.append(
            f"kex markers ({', '.join(sorted(markers))}) kept in the kex list: "
            + ", ".join(counts)
            + "."
        )
    if "ssh-audit" in tools:
        same = all(
            t.kexinit[f] == t.kexinit[f.replace("client_to_server", "server_to_client")]
            for t in targets
            for f in FIELDS
            if f.endswith("client_to_server")
        )
        notes += [
            "ssh-audit: one list per kind; enc, mac and compression are the server-to-client"
            " lists (`kex.server` in its code), so the client-to-server ones go unchecked"
            + (" (on these targets the two directions are equal)." if same else "."),
            "ssh-audit: one fingerprint per host key (SHA256 and MD5), certificate algorithms"
            " skipped and rsa-sha2-* folded into ssh-rsa; its text output hides ECDSA and DSA"
            " fingerprints without -v, its JSON (used here) lists them.",
        ]
    if "nmap" in tools:
        pairs = [
            pair
            for t in targets
            if (r := last.get((t.name, "nmap"))) and r.parsed
            for pair in r.parsed.nmap_fingerprint_pairs
        ]
        agree = sum(1 for own, blob in pairs if own and own == blob)
        notes += [
            "nmap: ssh2-enum-algos prints one list per kind when both directions are equal,"
            " two when not; a single list counts for both directions.",
            f"nmap: ssh-hostkey tries {', '.join(NMAP_HOSTKEY_TYPES)} (never a certificate),"
            " each with a classic DH kex only (group1/14/16 and GEX, no ECDH or curve25519)"
            " and MACs hmac-md5, hmac-sha1, hmac-ripemd160 (nselib/ssh2.lua).",
            "nmap: the XML's per-key table has the MD5 fingerprint and (`full`) the key blob;"
            " SHA256 only appears in the text (`sha256` format), which is what is compared;"
            f" it equals the SHA256 of the key blob for {agree} of {len(pairs)} keys.",
        ]
    for t in targets:
        certs = [
            f"{tool}: {r.parsed.certificate}"
            + (" (matches)" if r.truth_ca and r.truth_ca in r.parsed.certificate else "")
            for tool in tools
            if (r := last.get((t.name, tool))) and r.parsed and r.parsed.certificate
        ]
        truth_ca = next((r.truth_ca for r in runs if r.target == t.name and r.truth_ca), None)
        if truth_ca:
            silent = [x for x in tools if not any(c.startswith(f"{x}:") for c in certs)]
            notes.append(
                f"{t.name} host certificate (lab CA {truth_ca}): "
                + "; ".join(certs + [f"{x}: nothing" for x in silent])
            )
    return notes


def compare_tools(a: Run, b: Run) -> str:
    """Two tools' last runs, field by field and in order, where both report."""
    assert a.parsed is not None
    assert b.parsed is not None
    both = [f for f in FIELDS if f in a.parsed.lists and f in b.parsed.lists]
    differ = [f for f in both if a.parsed.lists[f] != b.parsed.lists[f]]
    text = (
        f"lists differ in {', '.join(differ)}"
        if differ
        else f"{len(both)} lists identical, in order"
    )
    if a.parsed.fingerprints is not None and b.parsed.fingerprints is not None:
        only_a = len(a.parsed.fingerprints - b.parsed.fingerprints)
        only_b = len(b.parsed.fingerprints - a.parsed.fingerprints)
        if only_a or only_b:
            text += f"; fingerprints only in {a.tool}: {only_a}, only in {b.tool}: {only_b}"
        else:
            text += f"; the same {len(a.parsed.fingerprints)} fingerprints"
    return f"{a.tool} vs {b.tool}: {text}"


# --- report ----------------------------------------------------------------------------------


def median(values: Iterable[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return statistics.median(got) if got else None


def render(
    targets: list[Target], tools: list[str], runs: list[Run]
) -> tuple[str, list[str], list[str], list[dict[str, Any]]]:
    head = "| target | tool | wall s (median) | ratio to protoaudit | " + " | ".join(COLUMNS)
    lines = [head + " | fingerprints |", "|---|---|---:|---:|" + "---|" * (len(COLUMNS) + 1)]
    details: list[str] = []
    against: list[str] = []  # the tools compared with each other
    goal: list[dict[str, Any]] = []
    for target in targets:
        mine = {t: [r for r in runs if r.target == target.name and r.tool == t] for t in tools}
        done = {t: [r for r in rs if r.status == "ok" and r.parsed] for t, rs in mine.items()}
        walls = {t: median(r.seconds for r in rs) for t, rs in done.items()}
        base = walls.get("protoaudit")
        for tool in tools:
            if not done[tool]:
                status = mine[tool][-1].status if mine[tool] else "not run"
                why = f": {mine[tool][-1].detail}" if mine[tool] and mine[tool][-1].detail else ""
                lines.append(
                    f"| {target.name} | {tool} | — | — | {status}{why} |" + " — |" * len(COLUMNS)
                )
                continue
            wall = walls[tool]
            secs = [r.seconds for r in done[tool] if r.seconds is not None]
            spread = f" ({min(secs):.2f}-{max(secs):.2f})" if len(secs) > 1 else ""
            failed = len(mine[tool]) - len(done[tool])
            spread += f" ({failed} run(s) {mine[tool][-1].status})" if failed else ""
            ratio = f"{wall / base:.2f}x" if wall and base else "—"
            cells = [
                cell([diff_column(target.kexinit, r.parsed, c) for r in done[tool] if r.parsed])
                for c in COLUMNS
            ]
            cells.append(cell([diff_fingerprints(r) for r in done[tool]]))
            lines.append(
                f"| {target.name} | {tool} | {wall:.2f}{spread} | {ratio} | "
                + " | ".join(cells)
                + " |"
            )
            if differences := explain(target, tool, done[tool][-1]):
                details.append(f"- **{target.name} / {tool}**:")
                details += [f"  - {d}" for d in differences]
        pa, sa = done.get("protoaudit"), done.get("ssh-audit")
        pairs = [
            compare_tools(done[first][-1], done[second][-1])
            for i, first in enumerate(tools)
            for second in tools[i + 1 :]
            if done[first] and done[second]
        ]
        if pairs:
            against.append(f"- **{target.name}**: " + "; ".join(pairs))
        if pa and sa and base and walls["ssh-audit"]:
            own = median(r.parsed.scan_seconds for r in pa if r.parsed)
            goal.append(
                {
                    "target": target.name,
                    "protoaudit_wall": base,
                    "protoaudit_own_scan": own,
                    "ssh_audit_wall": walls["ssh-audit"],
                    "met": base <= walls["ssh-audit"],
                }
            )
    return "\n".join(lines) + "\n", details, against, goal


def goal_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    lines = [
        "Goal: protoaudit no slower than ssh-audit (median wall time).",
        "",
        "| target | protoaudit wall s | protoaudit own scan s | ssh-audit wall s | goal |",
        "|---|---:|---:|---:|---|",
    ]
    for r in rows:
        own = f"{r['protoaudit_own_scan']:.2f}" if r["protoaudit_own_scan"] else "—"
        lines.append(
            f"| {r['target']} | {r['protoaudit_wall']:.2f} | {own} | {r['ssh_audit_wall']:.2f}"
            f" | {'met' if r['met'] else 'missed'} |"
        )
    return "\n".join(lines) + "\n"


def tool_versions(found: dict[str, list[str] | None]) -> dict[str, str]:
    probes = {"protoaudit": ["--version"], "ssh-audit": ["--help"], "nmap": ["--version"]}
    patterns = {
        "protoaudit": r"(\d+\.\d+[\w.]*)",
        "ssh-audit": r"ssh-audit v(\S+?),",
        "nmap": r"Nmap version (\S+)",
    }
    out = {}
    for tool, exe in found.items():
        if exe is None:
            out[tool] = "not installed"
            continue
        try:
            proc = subprocess.run(
                [*exe, *probes[tool]], capture_output=True, text=True, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            out[tool] = "?"
            continue
        m = re.search(patterns[tool], proc.stdout + proc.stderr)
        out[tool] = m.group(1) if m else "?"
    return out


# --- the lab ---------------------------------------------------------------------------------


def load_targets(wanted: list[str] | None) -> list[Target]:
    doc = json.loads(TRUTH.read_text())
    available: dict[str, Target] = {}
    for name, entry in doc["targets"].items():
        if entry.get("protocol") != "ssh" or "kexinit" not in entry:
            continue
        if entry.get("host") != ONLY_HOST:
            raise SystemExit(
                f"ssh.py: refusing target {name} at {entry.get('host')}: {ONLY_HOST} only"
            )
        available[name] = Target(
            name,
            int(entry["port"]),
            {f: list(entry["kexinit"][f]) for f in FIELDS},
        )
    names = wanted or list(available)
    unknown = [n for n in names if n not in available]
    if unknown:
        raise SystemExit(f"ssh.py: unknown SSH target(s) {unknown}; known: {', '.join(available)}")
    return [available[n] for n in dict.fromkeys(names)]


def can_run_private_lab() -> bool:
    return os.geteuid() == 0 and bool(shutil.which("unshare")) and bool(shutil.which("ip"))


def rerun_in_private_lab(argv: list[str]) -> int:
    """This script again, inside a new network namespace with a loopback only and its own lab."""
    lab_dir = tempfile.mkdtemp(prefix="protoaudit-bench-ssh-lab-")
    os.chmod(lab_dir, 0o755)
    env = {**os.environ, NETNS_ENV: "1", "PROTOAUDIT_LAB_DIR": lab_dir}
    cmd = ["unshare", "-n", "--", sys.executable, str(Path(__file__).resolve()), *argv]
    try:
        child = subprocess.Popen(cmd, env=env)
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                continue  # the child got the same SIGINT: let it stop its lab first
    finally:
        shutil.rmtree(lab_dir, ignore_errors=True)


def start_lab() -> bool:
    done = subprocess.run(
        ["bash", str(SSH_LAB / "start.sh")], check=False, stdout=subprocess.DEVNULL
    )
    return done.returncode == 0


def prepare_lab(targets: list[Target], no_start: bool) -> tuple[str, bool]:
    """Make sure the SSH lab answers: (description, whether to stop it afterwards)."""
    if os.environ.get(NETNS_ENV) == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        if not start_lab():
            raise SystemExit("ssh.py: lab/ssh/start.sh failed in the private network namespace")
        return f"private (own network namespace, {os.environ['PROTOAUDIT_LAB_DIR']})", True
    if all(answers_ssh(t.port) for t in targets):
        return "shared (already running on the host)", False
    if no_start:
        print("ssh.py: SSH lab targets do not answer: bash lab/ssh/start.sh", file=sys.stderr)
        return "shared (NOT all targets answered)", False
    print("ssh.py: SSH lab targets do not answer; starting lab/ssh/start.sh", file=sys.stderr)
    return "shared (started by ssh.py)", start_lab()


# --- main ----------------------------------------------------------------------------------


def split_list(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--targets", help="comma-separated SSH targets (default: all four)")
    parser.add_argument("--tools", default=",".join(TOOLS), help=f"subset of {','.join(TOOLS)}")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool and target")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per tool run")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument(
        "--ssh-audit-rate-test",
        action="store_true",
        help="let ssh-audit run its DHEat connection-rate test (skipped by default)",
    )
    parser.add_argument(
        "--lab",
        choices=("auto", "shared", "private"),
        default="auto",
        help="private: a fresh SSH lab in a new network namespace (root); shared: the lab on"
        " the host's loopback, started if down; auto (default): private where possible",
    )
    parser.add_argument("--no-start-lab", action="store_true", help="shared: never start it")
    args = parser.parse_args(None if argv is None else list(argv))
    argv_list = sys.argv[1:] if argv is None else list(argv)
    if os.environ.get(NETNS_ENV) != "1" and args.lab != "shared":
        if can_run_private_lab():
            return rerun_in_private_lab(argv_list)
        if args.lab == "private":
            parser.error("--lab private needs root, unshare and ip")
    tools = split_list(args.tools) or list(TOOLS)
    if bad := [t for t in tools if t not in TOOLS]:
        parser.error(f"unknown tool(s) {bad}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    targets = load_targets(split_list(args.targets))

    found = {tool: FINDERS[tool]() for tool in tools}
    versions = tool_versions(found)
    run_id = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_root = args.results / f"ssh-{run_id}"
    out_root.mkdir(parents=True, exist_ok=True)
    print(f"# protoaudit SSH benchmark {run_id}; raw output in {out_root}", file=sys.stderr)
    print("tools: " + ", ".join(f"{t} {versions[t]}" for t in tools), file=sys.stderr)
    lab_note, stop_after = prepare_lab(targets, args.no_start_lab)
    print(f"lab: {lab_note}", file=sys.stderr)
    runs: list[Run] = []
    batch: dict[str, float] = {}
    try:
        for target in targets:
            for n in range(1, args.repeat + 1):
                for tool in tools:
                    run = run_tool(
                        tool,
                        found[tool],
                        target,
                        out_root / target.name,
                        n,
                        timeout=args.timeout,
                        rate_test=args.ssh_audit_rate_test,
                    )
                    runs.append(run)
                    secs = f"{run.seconds:.2f} s" if run.seconds is not None else ""
                    print(
                        f"  {target.name:13} {tool:10} run {n}: {run.status} {secs}"
                        + (f" ({run.detail[:120]})" if run.detail else ""),
                        file=sys.stderr,
                        flush=True,
                    )
        # Every target in one invocation, while the lab is still up.
        if {"protoaudit", "ssh-audit"} <= set(tools) and len(targets) > 1:
            for tool in ("protoaudit", "ssh-audit"):
                exe = found[tool]
                if exe is None:
                    continue
                times = [
                    batch_seconds(tool, exe, targets, out_root / "batch", timeout=args.timeout)
                    for _ in range(args.repeat)
                ]
                done = [t for t in times if t is not None]
                if done:
                    batch[tool] = median(done)
                    print(f"  all targets    {tool:10} {batch[tool]:.2f} s", file=sys.stderr)
    finally:
        if stop_after:
            subprocess.run(
                ["bash", str(SSH_LAB / "stop.sh")], check=False, stdout=subprocess.DEVNULL
            )

    table, details, against, goal = render(targets, tools, runs)
    rate = (
        "ssh-audit with its DHEat connection-rate test"
        if args.ssh_audit_rate_test
        else "ssh-audit with --skip-rate-test (no DHEat connection-rate test)"
    )
    header = [
        f"Run {run_id}: {args.repeat} run(s) per tool and target, one tool at a time; wall s is"
        " the median (min-max), ratio = tool time / protoaudit time. Cells: the last run"
        " against lab/ssh/ground_truth.json (kexinit) and RUN/ssh/hostkeys.json,"
        " order-insensitive.",
        "Tools: " + ", ".join(f"{t} {versions[t]}" for t in tools) + f"; {rate}.",
        f"Lab: {lab_note}.",
        "",
        "",
    ]
    text = "\n".join(header) + table
    if goal:
        text += "\n" + goal_table(goal)
    if len(batch) == 2:
        ratio = batch["ssh-audit"] / batch["protoaudit"]
        text += (
            f"\nAll {len(targets)} targets in one invocation (protoaudit with every URL,"
            f" ssh-audit -T FILE --skip-rate-test), median of {args.repeat}:"
            f" protoaudit {batch['protoaudit']:.2f} s, ssh-audit {batch['ssh-audit']:.2f} s"
            f" ({ratio:.2f}x).\n"
        )
    if details:
        text += "\nDifferences, explained (last run of each tool):\n\n" + "\n".join(details) + "\n"
    if against:
        text += "\nThe tools against each other (last runs, fields both report):\n\n"
        text += "\n".join(against) + "\n"
    if notes := tool_notes(targets, tools, runs):
        text += "\nHow each tool reports (from this run's outputs):\n\n"
        text += "\n".join(f"- {n}" for n in notes) + "\n"
    print(text)
    (out_root / "table.md").write_text(text)
    summary = {
        "run_id": run_id,
        "repeat": args.repeat,
        "tools": versions,
        "lab": lab_note,
        "ssh_audit_rate_test": args.ssh_audit_rate_test,
        "batch_seconds": batch,
        "speed_goal": goal,
        "runs": [
            {
                "target": r.target,
                "tool": r.tool,
                "status": r.status,
                "seconds": r.seconds,
                "returncode": r.returncode,
                "detail": r.detail,
                "files": r.files,
                "lists": r.parsed.lists if r.parsed else None,
                "fingerprints": sorted(r.parsed.fingerprints)
                if r.parsed and r.parsed.fingerprints is not None
                else None,
                "truth_fingerprints": sorted(r.truth_fingerprints),
                "scan_seconds": r.parsed.scan_seconds if r.parsed else None,
            }
            for r in runs
        ],
    }
    (out_root / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    latest = args.results / "ssh-latest"
    with contextlib.suppress(OSError):
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(out_root.name)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("ssh.py: interrupted", file=sys.stderr)
        sys.exit(130)
