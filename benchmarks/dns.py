#!/usr/bin/env python3
"""Benchmark protoaudit's DNSSEC validator against delv, unbound-host and ldns-verify-zone.

Issue 5's peer comparison, on the DNS lab (lab/dns): every query of
lab/dns/ground_truth.json is validated, one tool at a time and with wall time
measured around each subprocess, by
- protoaudit (`protoaudit dnssec NAME TYPE`, iterating from the lab root with
  the lab trust anchor), and once more with every name in one invocation
  (`protoaudit audit dnssec:NAME/TYPE ...`, which validates them concurrently);
- delv (BIND 9.18) with the same anchor, through the lab's NON-validating
  recursor, so that delv makes its own verdict (a validating upstream would
  hand it SERVFAIL for every bogus answer);
- unbound-host (libunbound) iterating from the lab's root hints with the same
  anchor (RUN/dns/unbound-host.conf);
and ldns-verify-zone checks every signed zone file as served (per zone, mapped
to the zone's names). Each tool's verdict (secure / insecure / bogus /
indeterminate) is compared with the truth and with the others; protoaudit's
reasons with the truth's, the peers' free-text reasons are shown.

    python3 benchmarks/dns.py [--names www.tampered.test,nsec3.test] [--tools ...] [--repeat N]

Prints a Markdown table, totals and an explanation of every difference, and
writes them, the raw outputs and a summary.json under
benchmarks/results/dns-RUN_ID/ (git-ignored). Standard library only. By
default (as root) it reruns itself in a new network namespace with only a
loopback and a private DNS lab, so nothing can reach a real root server;
with --no-start-lab it uses the lab already running on the host. No tool is
ever given an address outside 127.0.0.0/8 (checked before anything runs).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import ipaddress
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import protoaudit_venv

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SRC = ROOT / "src"
LAB = ROOT / "lab"
DNS_LAB = LAB / "dns"
TRUTH_FILE = DNS_LAB / "ground_truth.json"
DEFAULT_RESULTS = HERE / "results"
PROTOAUDIT_VENV = HERE / ".venv-protoaudit"
TOOLS = ("protoaudit", "delv", "unbound-host", "ldns-verify-zone")
VALIDATORS = ("protoaudit", "delv", "unbound-host")  # the per-name tools
NETNS_ENV = "PROTOAUDIT_BENCH_PRIVATE_DNS_LAB"
VENV_NOTE_ENV = "PROTOAUDIT_BENCH_DNS_VENV_NOTE"
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
PEER_ENV = {**os.environ, "LC_ALL": "C", "TZ": "UTC"}
STATUSES = ("secure", "insecure", "bogus", "indeterminate")

# delv's and unbound-host's messages -> the truth's bogus reasons (as lab/dns/verify.py
# maps them). Free text: shown and noted, never counted as a disagreement.
DELV_REASONS: list[tuple[str, set[str]]] = [
    ("RRSIG has expired", {"signature_expired"}),
    ("RRSIG validity period has not begun", {"signature_not_yet_valid"}),
    ("RRSIG failed to verify", {"signature_invalid"}),
    # BIND: an unsigned RRset in a zone whose DS exists fails the insecurity proof.
    ("insecurity proof failed", {"missing_rrsig"}),
    # The DNSKEY RRset is not signed by any key that a DS names.
    ("no valid signature found (DS)", {"ds_digest_mismatch", "no_key_matches_ds"}),
]
UNBOUND_REASONS: list[tuple[str, set[str]]] = [
    ("signature expired", {"signature_expired"}),
    ("signature before inception date", {"signature_not_yet_valid"}),
    ("signature crypto failed", {"signature_invalid"}),
    ("signature verification failed", {"signature_invalid"}),
    ("no signatures", {"missing_rrsig"}),
    ("DS hash mismatches key", {"ds_digest_mismatch"}),
    ("no keys have a DS with algorithm", {"no_key_matches_ds"}),
]
# delv's "resolution failed: X" is a validation failure (bogus) when X or the lines
# before it say so; anything else (timed out, SERVFAIL, unreachable) is indeterminate.
DELV_BOGUS_MARKERS = (
    "RRSIG failed to verify",
    "broken trust chain",
    "insecurity proof failed",
    "no valid RRSIG",
    "no valid DS",
    "no valid KEY",
    "no valid signature",
    "RRSIG has expired",
    "RRSIG validity period has not begun",
    "must-be-secure",
)

# The truth's insecure reasons in protoaudit's words (src/protoaudit/proto/dnssec/reasons.py):
# the bogus reasons are the same words on both sides.
PROTOAUDIT_INSECURE_WORDS = {
    "nsec3_optout_span": {"opt_out"},
    "nsec3_iterations_over_limit": {"nsec3_iterations"},
    "unsupported_algorithm": {"unsupported_algorithm"},
}

# Where a peer departs from the truth by design or by a known quirk: (tool, the truth's
# reason) -> (what the tool says, why). lab/dns/README.md documents the delv and
# ldns-verify-zone ones. Anything not here is listed as UNEXPLAINED.
KNOWN: dict[tuple[str, str | None], tuple[str, str]] = {
    ("delv", "nsec3_optout_span"): (
        "secure",
        "BIND 9.18's delv calls an NXDOMAIN 'negative response, fully validated' when the next"
        " closer name is covered by an opt-out NSEC3; RFC 5155 section 9.2 says the AD bit MUST"
        " NOT be set then (an unsigned delegation may be there). unbound-host follows the RFC,"
        " as the truth does (lab/dns/README.md, known peer differences).",
    ),
    ("ldns-verify-zone", "unsupported_algorithm"): (
        "secure",
        "ldns still implements DSA (algorithm 3) and verifies the zone's signatures; RFC 8624"
        " says validators MUST NOT, and a validator with no supported algorithm treats the zone"
        " as unsigned (RFC 4035 section 5.2). ldns-verify-zone checks signatures, not policy.",
    ),
    ("ldns-verify-zone", "ds_digest_mismatch"): (
        "secure",
        "the wrong DS is in the parent zone test.: ldns-verify-zone reads one zone file and"
        " never checks a DS in the parent against the child's keys.",
    ),
    ("ldns-verify-zone", "no_key_matches_ds"): (
        "secure",
        "the parent's DS names a key the zone never publishes: ldns-verify-zone reads one zone"
        " file and never checks the parent's DS.",
    ),
    ("ldns-verify-zone", "no_ds"): (
        "secure",
        "the zone file is signed correctly; that the parent has no DS for it (an island of"
        " security) is visible only from the parent, which ldns-verify-zone does not read.",
    ),
    ("ldns-verify-zone", "nsec3_iterations_over_limit"): (
        "secure",
        "the NSEC3 chain verifies at any iteration count; treating more than 150 iterations as"
        " insecure is a validator's rule (RFC 9276 section 3.2), not a zone-file check.",
    ),
    ("ldns-verify-zone", "nsec3_optout_span"): (
        "secure",
        "the opt-out NSEC3 records verify; that an opt-out span makes the NXDOMAIN insecure is"
        " a validator's rule (RFC 5155 section 9.2), not a zone-file check.",
    ),
}


# --- the lab's truth -------------------------------------------------------------------------


@dataclass
class Query:
    index: int
    name: str
    type: str
    zone: str
    status: str
    reason: str | None
    rcode: str | None
    proof: str | None
    response: str  # answer / nxdomain / nodata

    @property
    def label(self) -> str:
        return f"{self.name} {self.type}"

    @property
    def slug(self) -> str:
        return f"{self.index:02d}-{self.name.strip('.') or 'root'}-{self.type}"

    def truth_words(self) -> str:
        extra = [w for w in (self.reason, self.proof) if w]
        text = self.status + (f" ({', '.join(extra)})" if extra else "")
        if self.response != "answer":
            text += f", {self.response.upper()}"
        return text


def load_truth() -> dict[str, Any]:
    return json.loads(TRUTH_FILE.read_text())


def load_queries(truth: dict[str, Any], wanted: list[str] | None) -> list[Query]:
    queries = [
        Query(
            index=i,
            name=q["name"],
            type=q["type"],
            zone=q["zone"],
            status=q["status"],
            reason=q.get("reason"),
            rcode=q.get("rcode"),
            proof=q.get("proof"),
            response=q.get("response", "answer"),
        )
        for i, q in enumerate(truth["queries"], 1)
    ]
    if not wanted:
        return queries

    def fqdn(text: str) -> str:
        text = text.strip().lower()
        return text if text.endswith(".") else text + "."

    chosen: list[Query] = []
    for want in wanted:
        name, _, rrtype = want.partition("/")
        hits = [
            q
            for q in queries
            if q.name == fqdn(name) and (not rrtype or q.type.upper() == rrtype.upper())
        ]
        if not hits:
            raise SystemExit(f"dns.py: no lab query for {want!r} (see lab/dns/ground_truth.json)")
        chosen += [q for q in hits if q not in chosen]
    return sorted(chosen, key=lambda q: q.index)


def lab_addresses() -> dict[str, str]:
    """KEY -> value of lab/dns/targets.env (plain KEY='value' lines)."""
    out = {}
    for line in (DNS_LAB / "targets.env").read_text().splitlines():
        if m := re.match(r"^(\w+)='([^']*)'", line.strip()):
            out[m.group(1)] = m.group(2)
    return out


def lab_dir() -> Path:
    return Path(os.environ.get("PROTOAUDIT_LAB_DIR", "/tmp/protoaudit-lab"))


def refuse_unless_loopback(run_dns: Path, addresses: dict[str, str]) -> None:
    """Every address a tool is given, or can learn from the lab's files, is in 127.0.0.0/8."""
    bad = []
    for key, value in addresses.items():
        if key.endswith("_ADDR") and ipaddress.ip_address(value) not in LOOPBACK:
            bad.append(f"targets.env {key}={value}")
    files = [run_dns / "root.hints", run_dns / "unbound-host.conf"]
    for path in files:
        if not path.exists():
            raise SystemExit(f"dns.py: {path} missing: is the DNS lab started (lab/dns/start.sh)?")
        text = path.read_text()
        for literal in re.findall(r"(?<![\w.:])(\d{1,3}(?:\.\d{1,3}){3})(?![\w.])", text):
            with contextlib.suppress(ValueError):
                if ipaddress.ip_address(literal) not in LOOPBACK:
                    bad.append(f"{path.name}: {literal}")
        if re.search(r"\sAAAA\s", text):
            bad.append(f"{path.name}: an IPv6 address (AAAA)")
    conf = (run_dns / "unbound-host.conf").read_text()
    if f'root-hints: "{run_dns / "root.hints"}"' not in conf:
        bad.append("unbound-host.conf: root-hints is not the lab's root.hints")
    if f'trust-anchor-file: "{run_dns / "trust-anchor.ds"}"' not in conf:
        bad.append("unbound-host.conf: trust-anchor-file is not the lab's anchor")
    if not re.search(r"^\s*do-ip6: no\s*$", conf, re.M):
        bad.append("unbound-host.conf: IPv6 not off (do-ip6: no)")
    if re.search(r"^\s*(forward|stub)-", conf, re.M):
        bad.append("unbound-host.conf: forward or stub zones")
    if bad:
        raise SystemExit("dns.py: refusing to run, not loopback-only: " + "; ".join(bad))


# --- verdicts --------------------------------------------------------------------------------


@dataclass
class Verdict:
    status: str  # secure | insecure | bogus | indeterminate
    reason: str | None = None  # protoaudit: its reason word; peers: their text, shortened
    text: str = ""  # the peer's full message (or protoaudit's detail)
    mapped: set[str] | None = None  # peers: the truth's bogus reasons their text maps to
    rcode: str | None = None
    proof: str | None = None  # protoaudit: nsec / nsec3 / nsec3_optout, where insecure
    own_seconds: float | None = None  # protoaudit: duration_seconds from its report
    problems: list[str] = field(default_factory=list)

    def words(self) -> str:
        return self.status + (f" ({self.reason})" if self.reason else "")


def first_match(text: str, table: list[tuple[str, set[str]]]) -> tuple[str, set[str]] | None:
    for needle, mapped in table:
        if needle in text:
            return needle, mapped
    return None


def parse_delv(out: str) -> Verdict:
    rcode = "NXDOMAIN" if "ncache nxdomain" in out else "NOERROR"
    verdict = re.search(r"^; (?:negative response, )?(fully validated|unsigned answer)", out, re.M)
    if verdict:
        status = "secure" if verdict.group(1) == "fully validated" else "insecure"
        return Verdict(status, rcode=rcode, text=verdict.group(0).lstrip("; "))
    failed = re.search(r"^;; resolution failed: (.+)$", out, re.M)
    if not failed:
        tail = (out.strip().splitlines() or ["no output"])[-1]
        return Verdict("indeterminate", reason="no verdict", text=tail[:200])
    failure = failed.group(1).strip()
    lines = [ln.removeprefix(";; ") for ln in out.splitlines() if ln.startswith(";; ")]
    text = " | ".join(dict.fromkeys(lines))
    if not any(marker in out for marker in DELV_BOGUS_MARKERS):
        return Verdict("indeterminate", reason=failure, text=text)
    hit = first_match(out, DELV_REASONS)
    return Verdict(
        "bogus", reason=hit[0] if hit else failure, text=text, mapped=hit[1] if hit else None
    )


def parse_unbound_host(out: str) -> Verdict:
    rcode = "NXDOMAIN" if "(NXDOMAIN)" in out else "SERVFAIL" if "(SERVFAIL)" in out else "NOERROR"
    if "(BOGUS" in out:
        why = re.search(r"^validation failure <[^>]*>: (.*)$", out, re.M)
        text = why.group(1).strip() if why else out.strip().splitlines()[-1]
        hit = first_match(text, UNBOUND_REASONS)
        return Verdict(
            "bogus",
            reason=hit[0] if hit else text[:60],
            text=text,
            mapped=hit[1] if hit else None,
            rcode=rcode,
        )
    for status in ("insecure", "secure"):
        if f"({status})" in out:
            return Verdict(status, rcode=rcode, text=out.strip().splitlines()[0][:200])
    tail = (out.strip().splitlines() or ["no output"])[-1]
    return Verdict("indeterminate", reason=tail[:60], text=tail[:200], rcode=rcode)


def protoaudit_proof(obs: dict[str, Any]) -> str | None:
    """How protoaudit proved an insecure status: nsec, nsec3 or nsec3_optout."""

    def word(denial: dict[str, Any] | None) -> str | None:
        if not denial:
            return None
        mech = denial.get("mechanism")
        return f"{mech}_optout" if mech == "nsec3" and denial.get("opt_out") else mech

    for zone in obs.get("chain") or []:
        if zone.get("status") == "insecure" and zone.get("ds_denial"):
            return word(zone["ds_denial"])
    return word(obs.get("denial"))


def protoaudit_verdict(doc: dict[str, Any], name: str, rrtype: str) -> Verdict:
    for target in doc.get("targets") or []:
        for obs in target.get("observations", []):
            if (
                obs.get("kind") == "dnssec_status"
                and obs.get("name", "").lower() == name.lower()
                and obs.get("rdtype") == rrtype
            ):
                own = target.get("duration_seconds")
                return Verdict(
                    obs.get("status") or "indeterminate",
                    reason=obs.get("reason"),
                    text=obs.get("detail") or "",
                    rcode=obs.get("rcode"),
                    proof=protoaudit_proof(obs) if obs.get("status") == "insecure" else None,
                    own_seconds=float(own) if isinstance(own, int | float) else None,
                )
    errors = "; ".join(f"{e.get('target')}: {e.get('reason')}" for e in doc.get("errors", []))
    return Verdict("indeterminate", reason="no dnssec_status", text=errors or "no observation")


# --- running the tools -----------------------------------------------------------------------


def imports_dnssec(python: str, env: dict[str, str] | None = None) -> str | None:
    """None if `python` can import protoaudit's DNSSEC validator, else the error."""
    done = subprocess.run(
        [python, "-c", "import protoaudit.cli, protoaudit.probes.dnssec"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode == 0:
        return None
    return (done.stderr.strip().splitlines() or ["?"])[-1]


def find_protoaudit() -> tuple[list[str] | None, str]:
    """Its venv first (as benchmarks/ssh.py), if that can run the DNSSEC validator."""
    notes = []
    venv = PROTOAUDIT_VENV / "bin" / "protoaudit"
    if venv.exists():
        why = imports_dnssec(str(PROTOAUDIT_VENV / "bin" / "python"))
        if why is None:
            return [str(venv)], "benchmarks/.venv-protoaudit/bin/protoaudit"
        notes.append(f"benchmarks/.venv-protoaudit cannot validate DNSSEC ({why})")
    beside = Path(sys.executable).parent / "protoaudit"
    if beside.is_file() and imports_dnssec(sys.executable) is None:
        notes.append(f"using {beside}")
        return [str(beside)], "; ".join(notes)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    if imports_dnssec(sys.executable, env) is None:
        notes.append(f"using {sys.executable} -m protoaudit (PYTHONPATH=src)")
        return [sys.executable, "-m", "protoaudit"], "; ".join(notes)
    return None, "; ".join(notes) or "protoaudit not importable"


def find_tools(tools: list[str]) -> tuple[dict[str, list[str] | None], str]:
    found: dict[str, list[str] | None] = {}
    note = ""
    for tool in tools:
        if tool == "protoaudit":
            found[tool], note = find_protoaudit()
        else:
            exe = shutil.which(tool)
            found[tool] = [exe] if exe else None
    return found, note


def tool_versions(found: dict[str, list[str] | None]) -> dict[str, str]:
    probes = {
        "protoaudit": (["--version"], r"version (\S+)"),
        "delv": (["-v"], r"delv (\S+)"),
        "unbound-host": (["-h"], r"Version (\S+)"),
        "ldns-verify-zone": (["-v"], r"version (\S+)"),
    }
    out = {}
    for tool, exe in found.items():
        if exe is None:
            out[tool] = "not installed"
            continue
        args, pattern = probes[tool]
        try:
            done = subprocess.run(
                [*exe, *args], capture_output=True, text=True, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            out[tool] = "?"
            continue
        m = re.search(pattern, done.stdout + done.stderr)
        out[tool] = m.group(1) if m else "?"
    return out


@dataclass
class Run:
    tool: str
    key: str  # the query's slug, or the zone for ldns-verify-zone, or "batch"
    run_no: int
    status: str  # ok | not installed | timeout | failed
    seconds: float | None = None
    returncode: int | None = None
    verdict: Verdict | None = None
    detail: str = ""
    files: list[str] = field(default_factory=list)


def timed(
    argv: list[str], stem: Path, *, timeout: float, env: dict[str, str] | None
) -> tuple[str, float, int | None, Path, Path]:
    """Run argv alone, stdout and stderr to files: (status, wall s, exit code, stdout, stderr)."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    stdout_path, stderr_path = stem.with_suffix(".stdout"), stem.with_suffix(".stderr")
    stem.with_suffix(".cmd").write_text(" ".join(argv) + "\n")
    status = "ok"
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            cwd=stem.parent,
            env=env,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            status = "timeout"
        finally:
            if proc.returncode is None:  # timeout or Ctrl-C: the tool has its own session
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        seconds = time.perf_counter() - start
    return status, seconds, proc.returncode, stdout_path, stderr_path


@dataclass
class Setup:
    run_dns: Path
    root_server: str
    recursor: str
    port: str
    timeout: float

    @property
    def anchor_ds(self) -> Path:
        return self.run_dns / "trust-anchor.ds"


def validator_argv(tool: str, exe: list[str], q: Query, setup: Setup, stem: Path) -> list[str]:
    if tool == "protoaudit":
        return [
            *exe,
            "dnssec",
            q.name,
            q.type,
            "--root-server",
            f"{setup.root_server}:{setup.port}",
            "--trust-anchor",
            str(setup.anchor_ds),
            "--json",
            str(stem.with_suffix(".json")),
        ]
    if tool == "delv":
        # +root=.: validate from the anchor for "." in -a (the lab root KSK, as static-ds
        # and static-key); through the recursor, which does not validate (see module doc).
        return [
            *exe,
            "-4",
            f"@{setup.recursor}",
            "-p",
            setup.port,
            "-a",
            str(setup.run_dns / "delv-anchor.conf"),
            "+root=.",
            q.name,
            q.type,
        ]
    if tool == "unbound-host":
        conf = setup.run_dns / "unbound-host.conf"
        return [*exe, "-4", "-C", str(conf), "-v", "-t", q.type, q.name]
    raise ValueError(tool)


def run_validator(
    tool: str, exe: list[str] | None, q: Query, setup: Setup, *, out_dir: Path, run_no: int
) -> Run:
    run = Run(tool, q.slug, run_no, "ok")
    if exe is None:
        run.status = "not installed"
        return run
    stem = out_dir / q.slug / f"{tool}-run{run_no}"
    argv = validator_argv(tool, exe, q, setup, stem)
    env = PEER_ENV
    if exe[0] == sys.executable:
        env = {**PEER_ENV, "PYTHONPATH": str(SRC)}
    run.status, run.seconds, run.returncode, stdout, stderr = timed(
        argv, stem, timeout=setup.timeout, env=env
    )
    json_out = stem.with_suffix(".json")
    run.files = [str(p.relative_to(out_dir)) for p in (json_out, stdout, stderr) if p.exists()]
    if run.status != "ok":
        run.detail = f"killed after {setup.timeout:.0f} s"
        return run
    text = stdout.read_text(errors="replace") + stderr.read_text(errors="replace")
    if tool == "protoaudit":
        try:
            run.verdict = protoaudit_verdict(json.loads(json_out.read_text()), q.name, q.type)
        except (OSError, ValueError) as exc:
            tail = " | ".join(stderr.read_text(errors="replace").strip().splitlines()[-2:])
            run.status, run.detail = "failed", f"exit {run.returncode}, no report ({exc}): {tail}"
            return run
        if run.returncode != 0:  # no --fail-on: 0 is the only expected code
            run.verdict.problems.append(f"exit code {run.returncode}")
    elif tool == "delv":
        run.verdict = parse_delv(text)
    else:
        run.verdict = parse_unbound_host(text)
    return run


def protoaudit_batch(
    exe: list[str], queries: list[Query], setup: Setup, out_dir: Path, run_no: int
) -> tuple[Run, dict[str, Verdict]]:
    """Every name in one `protoaudit audit` invocation (it validates them concurrently)."""
    run = Run("protoaudit", "batch", run_no, "ok")
    stem = out_dir / "batch" / f"protoaudit-batch-run{run_no}"
    report = stem.with_suffix(".json")
    argv = [
        *exe,
        "audit",
        *[f"dnssec:{q.name}/{q.type}" for q in queries],
        "--root-server",
        f"{setup.root_server}:{setup.port}",
        "--trust-anchor",
        str(setup.anchor_ds),
        "--json",
        str(report),
        "-q",
    ]
    env = {**PEER_ENV, "PYTHONPATH": str(SRC)} if exe[0] == sys.executable else PEER_ENV
    batch_timeout = setup.timeout * max(1, len(queries) // 4)
    run.status, run.seconds, run.returncode, _, stderr = timed(
        argv, stem, timeout=batch_timeout, env=env
    )
    verdicts: dict[str, Verdict] = {}
    if run.status != "ok":
        return run, verdicts
    try:
        doc = json.loads(report.read_text())
    except (OSError, ValueError) as exc:
        run.status, run.detail = "failed", f"exit {run.returncode}, no report ({exc})"
        return run, verdicts
    for q in queries:
        verdicts[q.slug] = protoaudit_verdict(doc, q.name, q.type)
    missing = [s for s, v in verdicts.items() if v.reason == "no dnssec_status"]
    if missing or run.returncode != 0:
        tail = " | ".join(stderr.read_text(errors="replace").strip().splitlines()[-2:])
        run.status = "failed"
        run.detail = f"exit {run.returncode}; {len(missing)} name(s) without a verdict {tail}"
    return run, verdicts


# --- ldns-verify-zone ------------------------------------------------------------------------


@dataclass
class ZoneCheck:
    zone: str
    file: str
    expected_pass: bool | None  # the truth's ldns_verify_zone.passes
    runs: list[Run] = field(default_factory=list)
    passes: bool | None = None
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (owner, type, message)
    first_error: str = ""


_LDNS_ERROR = re.compile(r"^Error: (.*?) for (\S+)\s+(\S+)\s*$")


def run_ldns(
    exe: list[str] | None, check: ZoneCheck, setup: Setup, out_dir: Path, run_no: int
) -> Run:
    run = Run("ldns-verify-zone", check.zone, run_no, "ok")
    if exe is None:
        run.status = "not installed"
        return run
    slug = check.zone.strip(".") or "root"
    stem = out_dir / "zones" / f"ldns-verify-zone-{slug}-run{run_no}"
    argv = [*exe, "-V", "2"]
    if check.zone == ".":  # the one zone whose key the trust anchor names
        argv += ["-k", str(setup.anchor_ds)]
    argv.append(check.file)
    run.status, run.seconds, run.returncode, stdout, stderr = timed(
        argv, stem, timeout=setup.timeout, env=PEER_ENV
    )
    run.files = [str(p.relative_to(out_dir)) for p in (stdout, stderr)]
    if run.status != "ok":
        return run
    text = stdout.read_text(errors="replace") + stderr.read_text(errors="replace")
    check.passes = run.returncode == 0
    check.errors = [
        (m.group(2).lower(), m.group(3).upper(), m.group(1))
        for line in text.splitlines()
        if (m := _LDNS_ERROR.match(line.strip()))
    ]
    check.first_error = next((ln.strip() for ln in text.splitlines() if ln.startswith("Error")), "")
    run.detail = "pass" if check.passes else f"FAIL (exit {run.returncode})"
    return run


def ldns_for_name(q: Query, checks: dict[str, ZoneCheck]) -> Verdict | None:
    """ldns-verify-zone's word on the RRset of one query: from its zone file's check.

    bogus when an error names the RRset (owner and type) or the zone's DNSKEY set (the
    keys every signature hangs on); secure otherwise (the file's signatures and NSEC(3)
    chain verify). None for an unsigned zone (nothing to check).
    """
    check = checks.get(q.zone)
    if check is None or check.passes is None:
        return None
    own = [m for owner, t, m in check.errors if owner == q.name.lower() and t == q.type]
    keys = [m for owner, t, m in check.errors if owner == q.zone.lower() and t == "DNSKEY"]
    if own or keys:
        why = (own or keys)[0]
        where = "this RRset" if own else f"{q.zone} DNSKEY"
        return Verdict("bogus", reason=f"{where}: {why}", text=why)
    if check.passes:
        return Verdict("secure", reason="zone passes")
    return Verdict("secure", reason="zone FAILS, not this RRset", text=check.first_error)


# --- judging ---------------------------------------------------------------------------------


def median(values: Iterable[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return statistics.median(got) if got else None


def protoaudit_reasons_expected(q: Query) -> set[str | None]:
    if q.status == "secure":
        return {None}
    if q.reason == "no_ds":
        # proven by an NSEC/NSEC3 denial of the DS; by an opt-out span, protoaudit's
        # "opt_out" says which (RFC 5155 section 6), "unsigned_delegation" is not wrong
        if q.proof == "nsec3_optout":
            return {"opt_out", "unsigned_delegation"}
        return {"unsigned_delegation"}
    if q.reason in PROTOAUDIT_INSECURE_WORDS:
        return set(PROTOAUDIT_INSECURE_WORDS[q.reason])
    return {q.reason}


@dataclass
class Judgement:
    status_ok: bool
    known: str | None  # the explanation when the difference is a known one
    notes: list[str]  # every other difference of this tool on this name (reason, rcode, ...)


def judge(tool: str, q: Query, v: Verdict) -> Judgement:
    notes: list[str] = []
    status_ok = v.status == q.status
    known = None
    if not status_ok:
        rule = KNOWN.get((tool, q.reason))
        if rule and rule[0] == v.status:
            known = rule[1]
    if tool == "protoaudit":
        if status_ok and v.reason not in protoaudit_reasons_expected(q):
            notes.append(
                f"reason `{v.reason}`, truth `{q.reason}` (protoaudit's word for it:"
                f" {' or '.join(sorted(str(r) for r in protoaudit_reasons_expected(q)))})"
            )
        if status_ok and q.status == "insecure" and q.proof and v.proof != q.proof:
            notes.append(f"proof `{v.proof}`, truth `{q.proof}`")
        notes += [f"problem: {p}" for p in v.problems]
    elif tool in ("delv", "unbound-host") and status_ok and q.status == "bogus":
        if v.mapped is None:
            notes.append(f"(reason text only) says `{v.reason}`; no word of it maps to a reason")
        elif q.reason not in v.mapped:
            notes.append(
                f"(reason text only) `{v.reason}` means {'/'.join(sorted(v.mapped))},"
                f" truth `{q.reason}`"
            )
        elif len(v.mapped) > 1:
            notes.append(
                f"(reason text only) `{v.reason}` does not tell"
                f" {' from '.join(sorted(v.mapped))}: it covers the truth's `{q.reason}`"
            )
    if (
        tool != "ldns-verify-zone"
        and status_ok
        and q.status != "bogus"
        and v.rcode
        and q.rcode
        and v.rcode != q.rcode
    ):
        notes.append(f"rcode {v.rcode}, truth {q.rcode}")
    return Judgement(status_ok, known, notes)


# --- report ----------------------------------------------------------------------------------


def fmt_s(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "—"


def md(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


@dataclass
class Row:
    q: Query
    verdicts: dict[str, Verdict | None]  # the last good run's verdict per tool
    seconds: dict[str, float | None]  # median wall per tool
    states: dict[str, str]  # tool -> run status when it never ran ok
    judgements: dict[str, Judgement]
    flaky: dict[str, list[str]]  # tool -> the distinct statuses over the repeats, if > 1


def build_rows(
    queries: list[Query],
    tools: list[str],
    runs: list[Run],
    checks: dict[str, ZoneCheck],
) -> list[Row]:
    rows = []
    for q in queries:
        verdicts: dict[str, Verdict | None] = {}
        seconds: dict[str, float | None] = {}
        states: dict[str, str] = {}
        flaky: dict[str, list[str]] = {}
        judgements: dict[str, Judgement] = {}
        for tool in (t for t in tools if t in VALIDATORS):
            mine = [r for r in runs if r.tool == tool and r.key == q.slug]
            good = [r for r in mine if r.status == "ok" and r.verdict]
            seconds[tool] = median(r.seconds for r in good)
            verdicts[tool] = good[-1].verdict if good else None
            if not good:
                states[tool] = (
                    f"{mine[-1].status}: {mine[-1].detail}".rstrip(": ") if mine else "not run"
                )
            seen = list(dict.fromkeys(r.verdict.words() for r in good if r.verdict))
            if len(seen) > 1:
                flaky[tool] = seen
        if "ldns-verify-zone" in tools:
            verdicts["ldns-verify-zone"] = ldns_for_name(q, checks)
        for tool, v in verdicts.items():
            if v is not None:
                judgements[tool] = judge(tool, q, v)
        rows.append(Row(q, verdicts, seconds, states, judgements, flaky))
    return rows


def verdict_cell(row: Row, tool: str) -> str:
    v = row.verdicts.get(tool)
    if v is None:
        if tool == "ldns-verify-zone":
            return "n/a (unsigned zone)"
        return md(row.states.get(tool, "—"))
    j = row.judgements[tool]
    text = v.words()
    if tool == "ldns-verify-zone":
        text = f"{v.status} ({v.reason})"
    if not j.status_ok:
        text += " **[known]**" if j.known else " **[DIFFERS]**"
    elif j.notes and not all(n.startswith("(reason text only)") for n in j.notes):
        text += " *[see notes]*"
    if tool in row.flaky:
        text += f" (varied: {' / '.join(row.flaky[tool])})"
    return md(text)


def agreement_cell(row: Row, tools: list[str]) -> str:
    statuses = {"truth": row.q.status}
    for tool in (t for t in tools if t in VALIDATORS):
        v = row.verdicts.get(tool)
        statuses[tool] = v.status if v else "no verdict"
    groups: dict[str, list[str]] = {}
    for who, status in statuses.items():
        groups.setdefault(status, []).append(who)
    if len(groups) == 1:
        return "all agree"
    return "; ".join(f"{' = '.join(who)}: {status}" for status, who in groups.items())


def render_table(rows: list[Row], tools: list[str]) -> str:
    vals = [t for t in tools if t in VALIDATORS]
    head = ["#", "name", "type", "truth"]
    for tool in vals:
        head += [tool, "s"]
    if "ldns-verify-zone" in tools:
        head.append("ldns-verify-zone (zone file)")
    head.append("agreement (status)")
    align = ["---:", "---", "---", "---"]
    for _ in vals:
        align += ["---", "---:"]
    if "ldns-verify-zone" in tools:
        align.append("---")
    align.append("---")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    for row in rows:
        cells = [str(row.q.index), f"`{row.q.name}`", row.q.type, md(row.q.truth_words())]
        for tool in vals:
            cells += [verdict_cell(row, tool), fmt_s(row.seconds.get(tool))]
        if "ldns-verify-zone" in tools:
            cells.append(verdict_cell(row, "ldns-verify-zone"))
        cells.append(agreement_cell(row, tools))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render_zones(checks: dict[str, ZoneCheck], queries: list[Query]) -> str:
    lines = [
        "| zone | truth | ldns-verify-zone | s (median) | names in this run | first error |",
        "|---|---|---|---:|---:|---|",
    ]
    for check in checks.values():
        names = sum(1 for q in queries if q.zone == check.zone)
        want = {True: "passes", False: "fails", None: "—"}[check.expected_pass]
        got = {True: "pass", False: "FAIL", None: "did not run"}[check.passes]
        if check.passes is not None and check.passes != check.expected_pass:
            got += " **[DIFFERS]**"
        secs = median(r.seconds for r in check.runs if r.status == "ok")
        lines.append(
            f"| `{check.zone}` | {want} | {got} | {fmt_s(secs)} | {names} |"
            f" {md(check.first_error[:90])} |"
        )
    return "\n".join(lines) + "\n"


def explanations(rows: list[Row], checks: dict[str, ZoneCheck], out_root: Path) -> list[str]:
    lines: list[str] = []
    for row in rows:
        q = row.q
        items: list[str] = []
        for tool, j in row.judgements.items():
            v = row.verdicts[tool]
            assert v is not None
            if not j.status_ok:
                head = f"{tool} says **{v.words()}**, truth {q.truth_words()}"
                if j.known:
                    items.append(f"{head}. Known: {j.known}")
                else:
                    raw = f" Its message: `{md(v.text[:300])}`." if v.text else ""
                    items.append(
                        f"{head}. **UNEXPLAINED**: no known cause; a bug in {tool} or in the"
                        f" truth. Raw output under {out_root.name}/{q.slug}/.{raw}"
                    )
            items += [f"{tool}: {n}" for n in j.notes]
        for tool in VALIDATORS:
            if tool in row.states:
                items.append(f"{tool}: no verdict ({row.states[tool]})")
            if tool in row.flaky:
                items.append(f"{tool}: verdicts varied over the runs: {row.flaky[tool]}")
        if items:
            lines.append(f"- **{q.label}** (truth {q.truth_words()}):")
            lines += [f"  - {md(i)}" for i in items]
    for check in checks.values():
        if check.passes is not None and check.passes != check.expected_pass:
            lines.append(
                f"- **ldns-verify-zone {check.zone}**: {'passes' if check.passes else 'fails'},"
                f" truth {'passes' if check.expected_pass else 'fails'}: {check.first_error}"
            )
    return lines


def totals(
    rows: list[Row],
    tools: list[str],
    batch: list[Run],
    checks: dict[str, ZoneCheck],
    *,
    startup: float | None,
    repeat: int,
) -> tuple[str, dict[str, Any]]:
    summary: dict[str, Any] = {}
    lines = [
        "| tool | names | status = truth | sum of per-name median wall s | mean s per name |"
        " ratio to protoaudit (sum) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    sums = {}
    for tool in (t for t in tools if t in VALIDATORS):
        secs = [r.seconds[tool] for r in rows if r.seconds.get(tool) is not None]
        total = sum(secs) if secs else None
        sums[tool] = total
        agree = sum(1 for r in rows if tool in r.judgements and r.judgements[tool].status_ok)
        known = sum(
            1
            for r in rows
            if tool in r.judgements
            and not r.judgements[tool].status_ok
            and r.judgements[tool].known
        )
        summary[tool] = {"names": len(secs), "status_agrees": agree, "known": known, "sum": total}
    base = sums.get("protoaudit")
    for tool, total in sums.items():
        s = summary[tool]
        mean = total / s["names"] if total is not None and s["names"] else None
        ratio = f"{total / base:.2f}x" if total and base else "—"
        known = f" (+{s['known']} known)" if s["known"] else ""
        lines.append(
            f"| {tool} | {s['names']} | {s['status_agrees']}/{len(rows)}{known} |"
            f" {fmt_s(total)} | {fmt_s(mean)} | {ratio} |"
        )
    if "ldns-verify-zone" in tools:
        zone_secs = [median(r.seconds for r in c.runs if r.status == "ok") for c in checks.values()]
        zsum = sum(s for s in zone_secs if s is not None) if zone_secs else None
        ok = sum(1 for c in checks.values() if c.passes == c.expected_pass)
        lines.append(
            f"| ldns-verify-zone | {len(checks)} zone files | {ok}/{len(checks)} zones as the"
            f" truth says | {fmt_s(zsum)} (per zone) | — | — |"
        )
        summary["ldns-verify-zone"] = {"zones": len(checks), "as_truth": ok, "sum": zsum}
    text = "\n".join(lines) + "\n"
    extra = []
    good_batch = [r.seconds for r in batch if r.status == "ok" and r.seconds is not None]
    batch_s = median(good_batch)
    summary["protoaudit_batch"] = batch_s
    if batch:
        if batch_s is None:
            extra.append(f"protoaudit, all names in one invocation: failed ({batch[-1].detail}).")
        else:
            parts = [
                f"{tool} {sums[tool]:.2f} s ({sums[tool] / batch_s:.2f}x protoaudit's batch)"
                for tool in ("delv", "unbound-host")
                if sums.get(tool)
            ]
            per = f"{batch_s / len(rows):.3f} s per name" if rows else ""
            extra.append(
                f"protoaudit, all {len(rows)} names in one invocation (`protoaudit audit"
                f" dnssec:NAME/TYPE ...`, validated concurrently), median of"
                f" {len(good_batch)}: **{batch_s:.2f} s** ({per})"
                + (f"; against the sum of per-name runs: {', '.join(parts)}" if parts else "")
                + (f"; protoaudit one name at a time: {base:.2f} s" if base else "")
                + ". delv and unbound-host have no batch mode (one name per invocation), so"
                " their sum is the comparable figure."
            )
    own = [
        r.verdicts["protoaudit"].own_seconds
        for r in rows
        if r.verdicts.get("protoaudit") and r.verdicts["protoaudit"].own_seconds is not None
    ]
    if own and base:
        own_sum = sum(v for v in own if v is not None)
        summary["protoaudit_own_validation_sum"] = own_sum
        summary["protoaudit_startup"] = startup
        start = (
            f"; `protoaudit --version` alone takes {startup:.2f} s (median of {repeat})"
            if startup
            else ""
        )
        extra.append(
            f"Of protoaudit's {base:.2f} s one name at a time, {own_sum:.2f} s is validation"
            f" (duration_seconds in its reports, last runs); the rest is starting Python and"
            f" importing protoaudit once per name{start}."
        )
    if extra:
        text += "\n" + "\n".join(f"- {e}" for e in extra) + "\n"
    return text, summary


def how_run(
    tools: list[str], setup: Setup, exe_note: str, venv_note: str, batch_diffs: list[str]
) -> list[str]:
    notes = []
    if "protoaudit" in tools:
        notes.append(
            f"protoaudit: `protoaudit dnssec NAME TYPE --root-server {setup.root_server}:"
            f"{setup.port} --trust-anchor RUN/dns/trust-anchor.ds --json FILE` ({exe_note};"
            f" {venv_note}). Its insecure reasons are its own words, read as the truth's:"
            " unsigned_delegation = no_ds (NSEC/NSEC3 denial of the DS), opt_out = no_ds by an"
            " opt-out span or nsec3_optout_span, nsec3_iterations = nsec3_iterations_over_limit;"
            " bogus reasons are the same words. It iterates from the lab root in every process"
            " (no cache between runs)."
        )
    if "delv" in tools:
        notes.append(
            f"delv: `delv -4 @{setup.recursor} -p {setup.port} -a RUN/dns/delv-anchor.conf"
            " +root=. NAME TYPE`, through the lab's non-validating recursor (it sets no CD bit,"
            " so a validating upstream would turn every bogus answer into SERVFAIL). Its time"
            " includes the recursor's cache: after the first run of a name, the recursor answers"
            " from memory, while protoaudit and unbound-host iterate from the root every time."
            " Verdict from `; fully validated` / `; unsigned answer` / `resolution failed`."
        )
    if "unbound-host" in tools:
        notes.append(
            "unbound-host: `unbound-host -4 -C RUN/dns/unbound-host.conf -v -t TYPE NAME`"
            " (libunbound iterating from RUN/dns/root.hints, trust anchor RUN/dns/trust-anchor.ds,"
            " the same as protoaudit's); verdict from `(secure)` / `(insecure)` / `(BOGUS`, the"
            " reason from its `validation failure` line."
        )
    if "ldns-verify-zone" in tools:
        notes.append(
            "ldns-verify-zone: `ldns-verify-zone -V 2 FILE` on each signed zone file as served"
            " (the root zone also with `-k RUN/dns/trust-anchor.ds`; never -S, which would go to"
            " the network). It checks one file: signatures, NSEC/NSEC3 chains, validity times;"
            " not the parent's DS, not validator policy. Per name: bogus when an error names"
            " the RRset or the zone's DNSKEY set, else secure; n/a for unsigned zones."
        )
    notes += batch_diffs
    return notes


# --- the lab ---------------------------------------------------------------------------------


def lab_answers() -> bool:
    done = subprocess.run(
        ["bash", str(DNS_LAB / "status.sh")],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return done.returncode == 0


def start_lab() -> bool:
    run = lab_dir()
    if not (run / "pki" / "ca.pem").exists():  # the TLSA records are made from the lab PKI
        made = subprocess.run(
            [sys.executable, str(LAB / "pki.py"), str(run)], check=False, stdout=subprocess.DEVNULL
        )
        if made.returncode != 0:
            return False
    done = subprocess.run(
        ["bash", str(DNS_LAB / "start.sh")], check=False, stdout=subprocess.DEVNULL
    )
    return done.returncode == 0


def stop_lab() -> None:
    subprocess.run(["bash", str(DNS_LAB / "stop.sh")], check=False, stdout=subprocess.DEVNULL)


def can_run_private_lab() -> bool:
    return os.geteuid() == 0 and bool(shutil.which("unshare")) and bool(shutil.which("ip"))


def rerun_in_private_lab(argv: list[str], venv_note: str) -> int:
    """This script again, inside a new network namespace with a loopback only and its own lab."""
    run_dir = tempfile.mkdtemp(prefix="protoaudit-bench-dns-lab-")
    os.chmod(run_dir, 0o755)
    env = {**os.environ, NETNS_ENV: "1", "PROTOAUDIT_LAB_DIR": run_dir, VENV_NOTE_ENV: venv_note}
    cmd = ["unshare", "-n", "--", sys.executable, str(Path(__file__).resolve()), *argv]
    try:
        child = subprocess.Popen(cmd, env=env)
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                continue  # the child got the same SIGINT: let it stop its lab first
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def prepare_lab(no_start: bool) -> tuple[str, bool]:
    """Make sure the DNS lab answers: (description, whether to stop it afterwards)."""
    if os.environ.get(NETNS_ENV) == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        if not start_lab():
            raise SystemExit("dns.py: lab/dns/start.sh failed in the private network namespace")
        return f"private (own network namespace, loopback only, {lab_dir()})", True
    if lab_answers():
        return f"shared (already running on the host, {lab_dir()})", False
    if no_start:
        raise SystemExit(
            "dns.py: the DNS lab does not answer (bash lab/dns/status.sh); start it with"
            " bash lab/dns/start.sh, or run without --no-start-lab"
        )
    print("dns.py: the DNS lab does not answer; starting lab/dns/start.sh", file=sys.stderr)
    if not start_lab():
        raise SystemExit("dns.py: lab/dns/start.sh failed")
    return f"shared (started by dns.py, {lab_dir()})", True


# --- main ------------------------------------------------------------------------------------


def split_list(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def signed_zone_checks(truth: dict[str, Any], run_dns: Path) -> dict[str, ZoneCheck]:
    facts = json.loads((run_dns / "zones.json").read_text())
    checks = {}
    for zone, entry in truth["zones"].items():
        expected = entry.get("ldns_verify_zone")
        if not entry.get("signed") or expected is None:
            continue
        checks[zone] = ZoneCheck(zone, facts["zones"][zone]["file"], expected["passes"])
    return checks


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--names", help="comma-separated lab names, NAME or NAME/TYPE (default: every query)"
    )
    parser.add_argument("--tools", default=",".join(TOOLS), help=f"subset of {','.join(TOOLS)}")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool and name (median)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per tool run")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument(
        "--lab",
        choices=("auto", "shared", "private"),
        default="auto",
        help="private: a fresh DNS lab in a new network namespace (root); shared: the lab on"
        " the host's loopback, started if down; auto (default): private where possible",
    )
    parser.add_argument(
        "--no-start-lab",
        action="store_true",
        help="use the DNS lab running on the host (implies --lab shared); never start it",
    )
    parser.add_argument(
        "--no-install",
        action="store_true",
        help="do not reinstall the checkout into benchmarks/.venv-protoaudit first",
    )
    args = parser.parse_args(None if argv is None else list(argv))
    argv_list = sys.argv[1:] if argv is None else list(argv)
    tools = split_list(args.tools) or list(TOOLS)
    if bad := [t for t in tools if t not in TOOLS]:
        parser.error(f"unknown tool(s) {bad}")
    tools = [t for t in TOOLS if t in tools]
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.no_start_lab:
        if args.lab == "private":
            parser.error("--no-start-lab uses the host's lab: not with --lab private")
        args.lab = "shared"
    truth = load_truth()
    queries = load_queries(truth, split_list(args.names))

    # Before any timing, and outside the namespace (pip may need the network).
    venv_note = os.environ.get(VENV_NOTE_ENV, "")
    if os.environ.get(NETNS_ENV) != "1":
        if "protoaudit" in tools and not args.no_install:
            print("dns.py: pip install . into benchmarks/.venv-protoaudit", file=sys.stderr)
            venv_note = protoaudit_venv.refresh()
        elif "protoaudit" in tools:
            venv_note = "benchmarks/.venv-protoaudit not refreshed (--no-install)"
        if args.lab != "shared":
            if can_run_private_lab():
                return rerun_in_private_lab(argv_list, venv_note)
            if args.lab == "private":
                parser.error("--lab private needs root, unshare and ip")

    found, exe_note = find_tools(tools)
    versions = tool_versions(found)
    run_id = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_root = args.results / f"dns-{run_id}"
    out_root.mkdir(parents=True, exist_ok=True)
    print(f"# protoaudit DNSSEC benchmark {run_id}; raw output in {out_root}", file=sys.stderr)
    print("tools: " + ", ".join(f"{t} {versions[t]}" for t in tools), file=sys.stderr)
    if "protoaudit" in tools:
        print(f"protoaudit: {exe_note}; {venv_note}", file=sys.stderr)
    lab_note, stop_after = prepare_lab(args.no_start_lab)
    print(f"lab: {lab_note}", file=sys.stderr)
    runs: list[Run] = []
    batch: list[Run] = []
    batch_verdicts: dict[str, Verdict] = {}
    startup: float | None = None
    checks: dict[str, ZoneCheck] = {}
    try:
        addresses = lab_addresses()
        run_dns = lab_dir() / "dns"
        refuse_unless_loopback(run_dns, addresses)
        setup = Setup(
            run_dns=run_dns,
            root_server=addresses["DNS_ROOT_ADDR"],
            recursor=addresses["DNS_RECURSOR_ADDR"],
            port=addresses.get("DNS_PORT", "53"),
            timeout=args.timeout,
        )
        if "ldns-verify-zone" in tools:
            wanted_zones = {q.zone for q in queries}
            checks = {
                z: c for z, c in signed_zone_checks(truth, run_dns).items() if z in wanted_zones
            }
        for q in queries:
            for n in range(1, args.repeat + 1):
                for tool in (t for t in tools if t in VALIDATORS):
                    run = run_validator(tool, found[tool], q, setup, out_dir=out_root, run_no=n)
                    runs.append(run)
                    word = run.verdict.words() if run.verdict else run.status
                    print(
                        f"  {q.label:38} {tool:12} run {n}: {word} {fmt_s(run.seconds)} s"
                        + (f" ({run.detail[:100]})" if run.detail else ""),
                        file=sys.stderr,
                        flush=True,
                    )
        for check in checks.values():
            for n in range(1, args.repeat + 1):
                run = run_ldns(found["ldns-verify-zone"], check, setup, out_root, n)
                check.runs.append(run)
                runs.append(run)
            last = check.runs[-1]
            print(
                f"  {check.zone:38} ldns-verify-zone: {last.detail or last.status}",
                file=sys.stderr,
                flush=True,
            )
        exe = found.get("protoaudit")
        if exe is not None:
            for n in range(1, args.repeat + 1):
                run, verdicts = protoaudit_batch(exe, queries, setup, out_root, n)
                batch.append(run)
                batch_verdicts = verdicts or batch_verdicts
                print(
                    f"  all {len(queries)} names in one protoaudit run {n}: {run.status}"
                    f" {fmt_s(run.seconds)} s {run.detail}",
                    file=sys.stderr,
                    flush=True,
                )
            starts = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                subprocess.run([*exe, "--version"], capture_output=True, check=False)
                starts.append(time.perf_counter() - t0)
            startup = median(starts)
    finally:
        if stop_after:
            stop_lab()

    rows = build_rows(queries, tools, runs, checks)
    batch_diffs = []
    for row in rows:
        single = row.verdicts.get("protoaudit")
        together = batch_verdicts.get(row.q.slug)
        if single and together and single.words() != together.words():
            batch_diffs.append(
                f"protoaudit's batch run says {together.words()} for {row.q.label}, its"
                f" single run {single.words()}"
            )
    if batch_verdicts and not batch_diffs:
        batch_diffs.append(
            "protoaudit's batch run gave every name the same verdict and reason as its"
            " one-name runs."
        )
    table = render_table(rows, tools)
    total_text, total_summary = totals(
        rows, tools, batch, checks, startup=startup, repeat=args.repeat
    )
    details = explanations(rows, checks, out_root)
    agree_all = sum(1 for r in rows if agreement_cell(r, tools) == "all agree")
    header = [
        f"Run {run_id}: {len(queries)} lab names (lab/dns/ground_truth.json), {args.repeat}"
        " run(s) per tool and name, one tool at a time; s = median wall time of the"
        " subprocess. [known] = a difference with a documented cause, [DIFFERS] = one without"
        " (see below). agreement = the statuses of the truth and the three validators.",
        "Tools: " + ", ".join(f"{t} {versions[t]}" for t in tools) + ".",
        f"Lab: {lab_note}; one trust anchor for all (the lab root KSK, RUN/dns/trust-anchor.*).",
        "",
        "",
    ]
    text = "\n".join(header) + table
    text += (
        f"\n{agree_all} of {len(rows)} names: the truth and every validator agree on the status.\n"
    )
    if checks:
        text += "\nldns-verify-zone, per zone file:\n\n" + render_zones(checks, queries)
    text += "\nTotals (wall time; per-name sums are of each name's median):\n\n" + total_text
    text += "\nDifferences, explained (last run of each tool):\n\n"
    text += ("\n".join(details) if details else "- none") + "\n"
    text += "\nHow each tool was run:\n\n"
    text += "\n".join(f"- {n}" for n in how_run(tools, setup, exe_note, venv_note, batch_diffs))
    text += "\n"
    print(text)
    (out_root / "table.md").write_text(text)

    def verdict_json(v: Verdict | None) -> dict[str, Any] | None:
        if v is None:
            return None
        return {
            "status": v.status,
            "reason": v.reason,
            "text": v.text,
            "mapped_reasons": sorted(v.mapped) if v.mapped else None,
            "rcode": v.rcode,
            "proof": v.proof,
            "own_seconds": v.own_seconds,
            "problems": v.problems,
        }

    summary = {
        "run_id": run_id,
        "repeat": args.repeat,
        "tools": versions,
        "protoaudit_executable": exe_note,
        "protoaudit_venv": venv_note,
        "lab": lab_note,
        "totals": total_summary,
        "names": [
            {
                "name": r.q.name,
                "type": r.q.type,
                "truth": {
                    "status": r.q.status,
                    "reason": r.q.reason,
                    "rcode": r.q.rcode,
                    "proof": r.q.proof,
                },
                "verdicts": {t: verdict_json(v) for t, v in r.verdicts.items()},
                "median_seconds": r.seconds,
                "status_agrees": {t: j.status_ok for t, j in r.judgements.items()},
                "known": {t: j.known for t, j in r.judgements.items() if j.known},
                "notes": {t: j.notes for t, j in r.judgements.items() if j.notes},
                "agreement": agreement_cell(r, tools),
            }
            for r in rows
        ],
        "zones": [
            {
                "zone": c.zone,
                "file": c.file,
                "truth_passes": c.expected_pass,
                "passes": c.passes,
                "errors": c.errors[:50],
                "seconds": [r.seconds for r in c.runs],
            }
            for c in checks.values()
        ],
        "runs": [
            {
                "tool": r.tool,
                "key": r.key,
                "run": r.run_no,
                "status": r.status,
                "seconds": r.seconds,
                "returncode": r.returncode,
                "detail": r.detail,
                "files": r.files,
                "verdict": verdict_json(r.verdict),
            }
            for r in [*runs, *batch]
        ],
    }
    (out_root / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    latest = args.results / "dns-latest"
    with contextlib.suppress(OSError):
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(out_root.name)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("dns.py: interrupted", file=sys.stderr)
        sys.exit(130)
