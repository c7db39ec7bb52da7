#!/usr/bin/env python3
"""Benchmark protoaudit against testssl.sh, sslyze and sslscan on the TLS lab.

For each lab target (lab/ground_truth.json, and the sub-labs' ground truths
lab/{mail,services,more,injection}/ground_truth.json: HTTPS, STARTTLS and
implicit-TLS servers) every tool runs as a subprocess, one after another
(never two at once), with wall time measured around the subprocess. Each tool's
machine-readable output is parsed into {version: set of IANA cipher suite
names} and compared with the ground truth. For the sub-lab targets it also
prints issue #3's speed goal: protoaudit's time there against its time on the
HTTPS `intermediate` target, and testssl.sh's time against protoaudit's.

    python3 benchmarks/run.py [--targets intermediate,smtp-starttls] [--tools ...] [--repeat N]

Prints a Markdown table and writes it, the raw outputs and a summary.json under
benchmarks/results/RUN_ID/ (git-ignored). Stdlib only, plus protoaudit's cipher
suite registry for turning OpenSSL names and code points into IANA names.
Only loopback targets are ever scanned.
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
DEFAULT_TRUTHS = (
    ROOT / "lab" / "ground_truth.json",
    ROOT / "lab" / "mail" / "ground_truth.json",
    ROOT / "lab" / "services" / "ground_truth.json",
    ROOT / "lab" / "more" / "ground_truth.json",
    ROOT / "lab" / "injection" / "ground_truth.json",
)
LAB_START = ROOT / "lab" / "start.sh"
LAB_STOP = ROOT / "lab" / "stop.sh"
DEFAULT_RESULTS = HERE / "results"
SSLYZE_VENV = HERE / ".venv-sslyze"
TESTSSL_MAPPING = Path("/etc/testssl/cipher-mapping.txt")

TOOLS = ("protoaudit", "testssl", "sslyze", "sslscan")
LOOPBACK_NETS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))

# Issue #3's speed goal for a STARTTLS or implicit-TLS target of a sub-lab:
# protoaudit's time there at most GOAL_VS_HTTPS times its time on the HTTPS
# baseline target, and testssl.sh at least GOAL_VS_TESTSSL times slower.
DEFAULT_BASELINE = "intermediate"
GOAL_VS_HTTPS = 1.5
GOAL_VS_TESTSSL = 10.0

# STARTTLS dialogs (the ground truth's "protocol" for tls_start "starttls")
# each tool can run, as that tool spells them. Missing: the tool cannot.
STARTTLS_FLAGS: dict[str, dict[str, list[str]]] = {
    # testssl.sh 3.0.8 accepts "ldap" but its sockets code stops with "FIXME:
    # LDAP+STARTTLS over sockets not supported yet"; with --ssl-native it gets
    # through the protocols, then stops the same way at the server preference.
    "testssl": {
        p: ["--starttls", p]
        for p in (
            *("smtp", "lmtp", "imap", "pop3", "ftp", "ldap", "xmpp", "postgres"),
            *("mysql", "nntp", "sieve", "irc"),
        )
    },
    "sslyze": {
        p: ["--starttls", p] for p in ("smtp", "imap", "pop3", "ftp", "ldap", "xmpp", "postgres")
    },
    "sslscan": {
        "smtp": ["--starttls-smtp"],
        "imap": ["--starttls-imap"],
        "pop3": ["--starttls-pop3"],
        "ftp": ["--starttls-ftp"],
        "ldap": ["--starttls-ldap"],
        "xmpp": ["--starttls-xmpp"],
        "postgres": ["--starttls-psql"],
        "mysql": ["--starttls-mysql"],
        "irc": ["--starttls-irc"],
    },
}

# Canonical version names (protoaudit's spelling) in protocol order.
VERSIONS = ("SSLv2", "SSLv3", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3")
_VERSION_ALIASES = {
    # every spelling the tools and the ground truth use, with [^a-z0-9] removed
    "sslv2": "SSLv2",
    "ssl2": "SSLv2",
    "ssl20": "SSLv2",
    "ssl2.0": "SSLv2",
    "sslv3": "SSLv3",
    "ssl3": "SSLv3",
    "ssl30": "SSLv3",
    "tls1": "TLS 1.0",
    "tls10": "TLS 1.0",
    "tlsv1": "TLS 1.0",
    "tlsv10": "TLS 1.0",
    "tls11": "TLS 1.1",
    "tlsv11": "TLS 1.1",
    "tls12": "TLS 1.2",
    "tlsv12": "TLS 1.2",
    "tls13": "TLS 1.3",
    "tlsv13": "TLS 1.3",
}


def canonical_version(text: str) -> str:
    key = re.sub(r"[^a-z0-9]", "", text.lower())
    try:
        return _VERSION_ALIASES[key]
    except KeyError:
        raise ValueError(f"unknown protocol version {text!r}") from None


def version_order(name: str) -> int:
    return VERSIONS.index(name) if name in VERSIONS else len(VERSIONS)


# --- cipher suite names -------------------------------------------------------------------


class SuiteNames:
    """IANA name for a code point or an OpenSSL/IANA name.

    protoaudit's registry is the source (every IANA suite, with OpenSSL names
    beside). If it cannot be imported, testssl.sh's own mapping file is used,
    and failing that the name is kept as the tool wrote it.
    """

    def __init__(self) -> None:
        self.source = "none"
        self._by_code: Callable[[int], str | None] = lambda _code: None
        self._by_name: Callable[[str], str | None] = lambda _name: None
        try:
            self._use_registry()
        except ImportError:
            self._use_testssl_mapping()

    def _use_registry(self) -> None:
        try:
            from protoaudit.registry import tls as registry  # noqa: PLC0415
        except ImportError:
            if str(SRC) in sys.path:
                raise
            sys.path.insert(0, str(SRC))
            from protoaudit.registry import tls as registry  # noqa: PLC0415

        known = registry.cipher_suites()

        def by_code(code: int) -> str | None:
            suite = known.get(code)
            return suite.name if suite is not None else None

        def by_name(name: str) -> str | None:
            try:
                return str(registry.cipher_suite_by_name(name).name)
            except KeyError:
                return None

        self._by_code, self._by_name = by_code, by_name
        self.source = "protoaudit.registry.tls"

    def _use_testssl_mapping(self) -> None:
        codes: dict[int, str] = {}
        names: dict[str, str] = {}
        if TESTSSL_MAPPING.exists():
            line_re = re.compile(r"^\s*((?:0x[0-9A-Fa-f]{2},?)+)\s+-\s+(\S+)\s+(\S+)")
            for line in TESTSSL_MAPPING.read_text().splitlines():
                m = line_re.match(line)
                if not m:
                    continue
                code = int("".join(b[2:] for b in m.group(1).strip(",").split(",")), 16)
                codes.setdefault(code, m.group(3))
                names.setdefault(m.group(2).casefold(), m.group(3))
                names.setdefault(m.group(3).casefold(), m.group(3))
            self.source = str(TESTSSL_MAPPING)
        self._by_code = codes.get
        self._by_name = lambda name: names.get(name.casefold())

    def from_code(self, code: int, fallback: str | None = None) -> str:
        return self._by_code(code) or fallback or f"UNKNOWN_0x{code:04X}"

    def lookup(self, name: str) -> str | None:
        """The IANA name for an IANA or OpenSSL name, or None if unknown."""
        return self._by_name(name) if name else None

    def from_name(self, name: str) -> str:
        return self.lookup(name) or name


# --- results -------------------------------------------------------------------------------


@dataclass
class Parsed:
    """What one tool said about one target."""

    versions: set[str] = field(default_factory=set)
    suites: dict[str, set[str]] = field(default_factory=dict)
    per_version: bool = True  # False: suites known only as a union over versions
    problems: list[str] = field(default_factory=list)
    scan_seconds: float | None = None  # the tool's own account of its scan time, if any
    fatal: bool = False  # the tool scanned nothing (no connection, failed dialog): no verdict
    # versions the tool tried but could not decide (neither offered nor not), with its words
    undetermined: dict[str, str] = field(default_factory=dict)


@dataclass
class Verdict:
    versions_ok: bool
    versions_missing: list[str]
    versions_extra: list[str]
    versions_undetermined: dict[str, str]  # not claimed, but not ruled out either
    suites_ok: bool
    missing: dict[str, list[str]]
    extra: dict[str, list[str]]
    union_only: bool

    @property
    def n_missing(self) -> int:
        return sum(len(v) for v in self.missing.values())

    @property
    def n_extra(self) -> int:
        return sum(len(v) for v in self.extra.values())


@dataclass
class Run:
    tool: str
    target: str
    status: str  # ok | not installed | timeout | failed | target down
    seconds: float | None = None
    returncode: int | None = None
    detail: str = ""
    parsed: Parsed | None = None
    verdict: Verdict | None = None
    files: list[str] = field(default_factory=list)


def judge(truth_versions: set[str], truth_suites: dict[str, set[str]], got: Parsed) -> Verdict:
    missing_v = sorted(truth_versions - got.versions, key=version_order)
    extra_v = sorted(got.versions - truth_versions, key=version_order)
    # An undetermined version the truth lacks is not a wrong claim, but not a
    # right one either; one the truth has is simply missing.
    undetermined = {
        v: why
        for v, why in sorted(got.undetermined.items(), key=lambda item: version_order(item[0]))
        if v not in got.versions and v not in truth_versions
    }
    missing: dict[str, list[str]] = {}
    extra: dict[str, list[str]] = {}
    if got.per_version:
        for version in sorted(set(truth_suites) | set(got.suites), key=version_order):
            want = truth_suites.get(version, set())
            have = got.suites.get(version, set())
            if want - have:
                missing[version] = sorted(want - have)
            if have - want:
                extra[version] = sorted(have - want)
    else:
        want = set().union(*truth_suites.values()) if truth_suites else set()
        have = set().union(*got.suites.values()) if got.suites else set()
        if want - have:
            missing["any version"] = sorted(want - have)
        if have - want:
            extra["any version"] = sorted(have - want)
    return Verdict(
        versions_ok=not missing_v and not extra_v and not undetermined,
        versions_missing=missing_v,
        versions_undetermined=undetermined,
        versions_extra=extra_v,
        suites_ok=not missing and not extra,
        missing=missing,
        extra=extra,
        union_only=not got.per_version,
    )


# --- parsers -------------------------------------------------------------------------------


def parse_protoaudit(path: Path, names: SuiteNames) -> Parsed:
    """protoaudit --json: targets[0].observations, kinds tls_version and cipher_suites."""
    doc = json.loads(path.read_text())
    out = Parsed()
    out.problems += [f"{e.get('target')}: {e.get('reason')}" for e in doc.get("errors", [])]
    targets = doc.get("targets") or []
    if not targets:
        out.problems.append("no target in the report")
        out.fatal = True
        return out
    if isinstance(targets[0].get("duration_seconds"), int | float):
        out.scan_seconds = float(targets[0]["duration_seconds"])
    for obs in targets[0].get("observations", []):
        kind = obs.get("kind")
        if kind == "tls_version":
            if obs.get("supported"):
                out.versions.add(canonical_version(obs["version"]["name"]))
        elif kind == "cipher_suites":
            version = canonical_version(obs["version"]["name"])
            suites = out.suites.setdefault(version, set())
            for suite in obs.get("accepted", []):
                suites.add(names.from_code(int(suite["code"], 16), suite.get("name")))
    return out


_TESTSSL_VERSION_IDS = {
    "SSLv2": "SSLv2",
    "SSLv3": "SSLv3",
    "TLS1": "TLS 1.0",
    "TLS1_1": "TLS 1.1",
    "TLS1_2": "TLS 1.2",
    "TLS1_3": "TLS 1.3",
}
# Version findings that are an answer ("no"); anything else but "offered" is undetermined.
_TESTSSL_NOT_OFFERED = (
    "not offered",
    "connection failed rather than downgrading",  # the version is off, and the server intolerant
    "not tested due to lack of local support",  # SSLv2/SSLv3 with OpenSSL 3: see README
)
# --each-cipher: "cipher_xc030"; --cipher-per-proto: "cipher-tls1_2_xc030"
_TESTSSL_EACH = re.compile(r"^cipher_x([0-9a-f]+)$", re.IGNORECASE)
_TESTSSL_PER_PROTO = re.compile(r"^cipher-(ssl[23]|tls1(?:_[0-3])?)_x([0-9a-f]+)$", re.IGNORECASE)


def parse_testssl(path: Path, names: SuiteNames) -> Parsed:
    """testssl.sh --jsonfile: a flat list of {id, severity, finding}.

    Versions: ids SSLv2 ... TLS1_3 whose finding starts with "offered".
    Suites: --each-cipher gives "cipher_x<hex>" with no version (union only);
    --cipher-per-proto gives "cipher-<proto>_x<hex>". The code point is taken
    from the id; the finding's last column (testssl's own IANA name) is only a
    fallback for a code the registry does not know.
    """
    entries = json.loads(path.read_text())
    out = Parsed()
    any_each = False
    for entry in entries:
        ident = str(entry.get("id", ""))
        finding = str(entry.get("finding", ""))
        if entry.get("severity") == "FATAL" or ident == "scanProblem":
            out.problems.append(f"{ident}: {finding}")
            out.fatal = out.fatal or entry.get("severity") == "FATAL"
        if ident in _TESTSSL_VERSION_IDS:
            version = _TESTSSL_VERSION_IDS[ident]
            if finding.startswith("offered") or finding.startswith("supported but"):
                out.versions.add(version)
            elif not finding.startswith(_TESTSSL_NOT_OFFERED):
                # e.g. "likely not offered", or (FTP) "received 4xx/5xx after
                # STARTTLS handshake": testssl could not tell
                seen = out.undetermined.get(version)
                out.undetermined[version] = f"{seen}; {finding}" if seen else finding
            continue
        iana = finding.rsplit(maxsplit=1)[-1] if finding.strip() else None
        if m := _TESTSSL_PER_PROTO.match(ident):
            version = canonical_version(m.group(1))
            code = int(m.group(2), 16)
            out.suites.setdefault(version, set()).add(names.from_code(code, iana))
        elif m := _TESTSSL_EACH.match(ident):
            any_each = True
            code = int(m.group(1), 16)
            out.suites.setdefault("any version", set()).add(names.from_code(code, iana))
    if any_each:
        out.per_version = False
    return out


def parse_sslyze(path: Path, names: SuiteNames) -> Parsed:
    """sslyze --json_out: server_scan_results[0].scan_result.<ssl_2_0|tls_1_2|...>_cipher_suites.

    Each has result.is_tls_version_supported and result.accepted_cipher_suites
    [].cipher_suite.{name (IANA), openssl_name}.
    """
    doc = json.loads(path.read_text())
    out = Parsed()
    for bad in doc.get("invalid_server_strings") or []:
        out.problems.append(f"invalid server string: {bad}")
    results = doc.get("server_scan_results") or []
    if not results:
        out.problems.append("no server result")
        out.fatal = True
        return out
    server = results[0]
    if server.get("connectivity_status") != "COMPLETED":
        out.problems.append(
            f"connectivity {server.get('connectivity_status')}: "
            f"{(server.get('connectivity_error_trace') or '')[-200:]}"
        )
        out.fatal = True
        return out
    scan = server.get("scan_result") or {}
    for key, attempt in scan.items():
        if not key.endswith("_cipher_suites") or not attempt:
            continue
        version = canonical_version(key.removesuffix("_cipher_suites"))
        if attempt.get("status") != "COMPLETED":
            out.problems.append(f"{key}: {attempt.get('status')} {attempt.get('error_reason')}")
            continue
        result = attempt.get("result") or {}
        if result.get("is_tls_version_supported"):
            out.versions.add(version)
        accepted = out.suites.setdefault(version, set())
        for item in result.get("accepted_cipher_suites", []):
            suite = item["cipher_suite"]
            accepted.add(
                names.lookup(suite["name"])
                or names.lookup(suite.get("openssl_name") or "")
                or suite["name"]
            )
    return out


def parse_sslscan(path: Path, names: SuiteNames) -> Parsed:
    """sslscan --xml: <protocol type= version= enabled=> and <cipher status= sslversion= id=>."""
    root = ET.parse(path).getroot()
    out = Parsed()
    for error in root.iter("error"):
        out.problems.append((error.text or "").strip())
    test = root.find("ssltest")
    if test is None:
        out.problems.append("no <ssltest> element")
        out.fatal = True
        return out
    for proto in test.iter("protocol"):
        if proto.get("enabled") == "1":
            out.versions.add(canonical_version(f"{proto.get('type')}{proto.get('version')}"))
    for cipher in test.iter("cipher"):
        if cipher.get("status") not in ("accepted", "preferred"):
            continue
        version = canonical_version(cipher.get("sslversion", ""))
        ident = cipher.get("id")
        openssl_name = cipher.get("cipher", "")
        if ident:
            name = names.from_code(int(ident, 16), names.lookup(openssl_name))
        else:
            name = names.from_name(openssl_name)
        out.suites.setdefault(version, set()).add(name)
    return out


# --- running tools -------------------------------------------------------------------------


# Implicit TLS on a protocol the ground truth names without its "s".
IMPLICIT_SCHEMES = ("smtp", "imap", "pop3", "ftp", "ldap", "xmpp")


@dataclass
class Target:
    name: str
    host: str
    port: int
    versions: set[str]
    suites: dict[str, set[str]]
    protocol: str = "https"  # the application protocol (ground truth "protocol")
    tls_start: str = "implicit"  # implicit | starttls | none
    truth: str = "lab/ground_truth.json"  # which file it came from

    @property
    def starttls(self) -> str | None:
        """The STARTTLS dialog to run before the handshake, or None."""
        return self.protocol if self.tls_start == "starttls" else None

    @property
    def scheme(self) -> str | None:
        """protoaudit's URL scheme; None for the HTTPS lab (plain host:port)."""
        if self.protocol == "https":
            return None
        if self.tls_start == "implicit" and self.protocol in IMPLICIT_SCHEMES:
            return self.protocol + "s"
        return self.protocol

    @property
    def is_sublab(self) -> bool:
        """A mail or service target: what issue #3's speed goal is about."""
        return self.protocol != "https"

    @property
    def how(self) -> str:
        """Short description of how TLS starts, for the table."""
        if self.tls_start == "starttls":
            return f"{self.protocol} STARTTLS"
        if self.tls_start == "none":
            return f"{self.protocol}, no TLS"
        return self.scheme or "https"


@dataclass
class Options:
    sni: str | None
    ca_file: Path | None
    timeout: float
    testssl_timeout: float
    testssl_per_proto: bool


@dataclass
class Invocation:
    argv: list[str]
    output: Path  # the machine-readable file to parse
    parse: Callable[[Path, SuiteNames], Parsed]
    timeout: float
    env: dict[str, str] | None = None


def find_protoaudit() -> list[str] | None:
    # The console script beside this interpreter, not a version manager's shim
    # (pyenv's bash shim adds ~0.1 s that sslyze, run from its venv, does not pay).
    beside = Path(sys.executable).parent / "protoaudit"
    exe = str(beside) if beside.is_file() else shutil.which("protoaudit")
    if exe:
        return [exe]
    probe = subprocess.run(
        [sys.executable, "-c", "import protoaudit.cli"],
        capture_output=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    return [sys.executable, "-m", "protoaudit"] if probe.returncode == 0 else None


def find_testssl() -> list[str] | None:
    exe = shutil.which("testssl") or shutil.which("testssl.sh")
    return [exe] if exe else None


def find_sslyze() -> list[str] | None:
    venv = SSLYZE_VENV / "bin" / "sslyze"
    if venv.exists():
        return [str(venv)]
    exe = shutil.which("sslyze")
    return [exe] if exe else None


def find_sslscan() -> list[str] | None:
    exe = shutil.which("sslscan")
    return [exe] if exe else None


FINDERS: dict[str, Callable[[], list[str] | None]] = {
    "protoaudit": find_protoaudit,
    "testssl": find_testssl,
    "sslyze": find_sslyze,
    "sslscan": find_sslscan,
}


def hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Unsupported(Exception):
    """The tool cannot talk to this kind of target (no such STARTTLS dialog)."""


def invocation(tool: str, exe: list[str], target: Target, opts: Options, out: Path) -> Invocation:
    hp = hostport(target.host, target.port)
    starttls: list[str] = []
    if target.starttls and tool != "protoaudit":
        try:
            starttls = STARTTLS_FLAGS[tool][target.starttls]
        except KeyError:
            raise Unsupported(f"no STARTTLS for {target.starttls}") from None
    if tool == "protoaudit":
        # The full audit: versions, suites, order, groups, key exchange, certificates.
        # A sub-lab target by URL: the scheme picks the STARTTLS dialog or implicit TLS.
        where = f"{target.scheme}://{hp}" if target.scheme else hp
        argv = [*exe, "audit", where, "--json", str(out.parent / f"{out.name}.json")]
        if opts.sni:
            argv += ["--sni", opts.sni]
        if opts.ca_file:
            argv += ["--ca-file", str(opts.ca_file)]
        env = {**os.environ, "PYTHONPATH": str(SRC)} if exe[0] == sys.executable else None
        return Invocation(
            argv, out.parent / f"{out.name}.json", parse_protoaudit, opts.timeout, env
        )
    if tool == "testssl":
        cipher_flag = "--cipher-per-proto" if opts.testssl_per_proto else "--each-cipher"
        argv = [
            *exe,
            "--protocols",
            cipher_flag,
            "--server-defaults",
            "--fs",
            "--server-preference",
            "--jsonfile",
            str(out.parent / f"{out.name}.json"),
            "--warnings",
            "off",
            "--color",
            "0",
            "--quiet",
            # no DNS at all (CAA/MX lookups): only the lab address is contacted
            "--nodns",
            "none",
            *starttls,
        ]
        if opts.ca_file:
            argv += ["--add-ca", str(opts.ca_file)]
        if opts.sni:
            # The URI's host is the SNI name; --ip says where to connect.
            argv += ["--ip", target.host, f"{opts.sni}:{target.port}"]
        else:
            argv.append(hp)
        return Invocation(
            argv, out.parent / f"{out.name}.json", parse_testssl, opts.testssl_timeout
        )
    if tool == "sslyze":
        # "name:port{ip}" sends SNI name and connects to ip without resolving name.
        server = f"{opts.sni}:{target.port}{{{target.host}}}" if opts.sni else hp
        argv = [
            *exe,
            "--sslv2",
            "--sslv3",
            "--tlsv1",
            "--tlsv1_1",
            "--tlsv1_2",
            "--tlsv1_3",
            "--certinfo",
            "--elliptic_curves",
            "--mozilla_config",
            "disable",
            "--json_out",
            str(out.parent / f"{out.name}.json"),
            "--quiet",
            *starttls,
        ]
        if opts.ca_file:
            argv += ["--certinfo_ca_file", str(opts.ca_file)]
        argv.append(server)
        return Invocation(argv, out.parent / f"{out.name}.json", parse_sslyze, opts.timeout)
    if tool == "sslscan":
        argv = [*exe, "--no-colour", *starttls, f"--xml={out.parent / f'{out.name}.xml'}"]
        if opts.sni:
            argv.append(f"--sni-name={opts.sni}")
        where = hp
        if target.starttls == "xmpp" and opts.sni and resolves_only_to(opts.sni, target.host):
            # sslscan puts its target string, not --sni-name, into the stream's
            # to='...'; an IP there is not the server's XMPP domain (prosody
            # closes the stream). Give the name, where it can only mean this host.
            where = hostport(opts.sni, target.port)
        argv.append(where)
        return Invocation(argv, out.parent / f"{out.name}.xml", parse_sslscan, opts.timeout)
    raise ValueError(tool)


def resolves_only_to(name: str, host: str) -> bool:
    """Whether the resolver (for localhost: /etc/hosts) maps name to host and nothing else."""
    try:
        infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    return {info[4][0] for info in infos} == {host}


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


def run_tool(
    tool: str,
    exe: list[str] | None,
    target: Target,
    *,
    opts: Options,
    out_dir: Path,
    run_no: int,
    names: SuiteNames,
) -> Run:
    run = Run(tool=tool, target=target.name, status="ok")
    if exe is None:
        run.status = "not installed"
        return run
    stem = out_dir / f"{tool}-run{run_no}"
    try:
        inv = invocation(tool, exe, target, opts, stem)
    except Unsupported as exc:
        run.status = "not supported"
        run.detail = str(exc)
        return run
    if not reachable(target.host, target.port):
        run.status = "target down"
        return run
    out_dir.mkdir(parents=True, exist_ok=True)
    inv.output.unlink(missing_ok=True)  # testssl refuses to overwrite its --jsonfile
    stdout_path, stderr_path = out_dir / f"{stem.name}.stdout", out_dir / f"{stem.name}.stderr"
    (out_dir / f"{stem.name}.cmd").write_text(" ".join(inv.argv) + "\n")
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(
            inv.argv,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            cwd=out_dir,
            env=inv.env,
            start_new_session=True,
        )
        try:
            run.returncode = proc.wait(timeout=inv.timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            run.status = "timeout"
        except BaseException:
            # Ctrl-C: the tool has its own session and did not get the SIGINT.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        run.seconds = time.perf_counter() - start
    if run.status == "ok" and not reachable(target.host, target.port):
        run.status = "target went down during the run"
    run.files = [
        str(p.relative_to(out_dir.parent))
        for p in (inv.output, stdout_path, stderr_path)
        if p.exists()
    ]
    if run.status == "timeout":
        run.detail = f"killed after {inv.timeout:.0f} s"
    if run.status != "ok":
        return run
    if not inv.output.exists() or inv.output.stat().st_size == 0:
        run.status = "failed"
        tail = stderr_path.read_text(errors="replace").strip().splitlines()[-3:]
        run.detail = f"exit {run.returncode}, no output file; " + " | ".join(tail)
        return run
    try:
        run.parsed = inv.parse(inv.output, names)
    except (ValueError, KeyError, TypeError, ET.ParseError) as exc:
        run.status = "failed"
        run.detail = f"exit {run.returncode}, unparsable output: {exc!r}"
        return run
    if run.parsed.problems:
        # one line (a table cell): tracebacks and multi-line messages collapsed
        run.detail = " ".join("; ".join(run.parsed.problems).split())[:300]
    if run.parsed.fatal:
        run.status = "failed"
        run.detail = f"exit {run.returncode}, scanned nothing: {run.detail}"
        return run
    run.verdict = judge(target.versions, target.suites, run.parsed)
    return run


# --- ground truth --------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: never resolved, never scanned
    return any(address in net for net in LOOPBACK_NETS)


def load_targets(paths: list[Path], wanted: list[str] | None) -> list[Target]:
    """Targets from every ground truth file; names must be unique across them.

    Without `wanted`: every target that speaks TLS (a sub-lab target without
    TLS, tls_start "none", only when named).
    """
    available: dict[str, Target] = {}
    for path in paths:
        doc = json.loads(path.read_text())
        try:
            label = str(path.resolve().relative_to(ROOT))
        except ValueError:
            label = str(path)
        for name, entry in doc["targets"].items():
            if name in available:
                raise SystemExit(
                    f"run.py: target {name} is in both {available[name].truth} and {label}"
                )
            host = str(entry.get("host", "127.0.0.1"))
            if not is_loopback(host):
                raise SystemExit(f"run.py: refusing target {name} at {host}: loopback only")
            suites = {
                canonical_version(version): {s["name"] for s in listed}
                for version, listed in (entry.get("cipher_suites") or {}).items()
            }
            versions = {canonical_version(v) for v in entry.get("versions") or []}
            available[name] = Target(
                name,
                host,
                int(entry["port"]),
                versions,
                suites,
                protocol=str(entry.get("protocol") or "https"),
                # A target whose upgrade fails on purpose has no TLS to time.
                tls_start="none"
                if entry.get("upgrade_fails")
                else str(entry.get("tls_start") or "implicit"),
                truth=label,
            )
    names = wanted or [n for n, t in available.items() if t.tls_start != "none"]
    unknown = [n for n in names if n not in available]
    if unknown:
        raise SystemExit(f"run.py: unknown target(s) {unknown}; known: {', '.join(available)}")
    return [available[n] for n in dict.fromkeys(names)]


# --- report --------------------------------------------------------------------------------


def fmt_seconds(values: list[float]) -> str:
    if not values:
        return "—"
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.2f}"
    return f"{med:.2f} (min {min(values):.2f}, max {max(values):.2f})"


def cell_versions(verdicts: list[Verdict]) -> str:
    if not verdicts:
        return "—"
    bad = [v for v in verdicts if not v.versions_ok]
    if not bad:
        return "yes"
    last = bad[-1]
    parts = [f"missing {', '.join(last.versions_missing)}"] if last.versions_missing else []
    if last.versions_undetermined:
        parts.append(f"undetermined {', '.join(last.versions_undetermined)}")
    parts += [f"extra {', '.join(last.versions_extra)}"] if last.versions_extra else []
    unstable = (
        f", {len(verdicts) - len(bad)}/{len(verdicts)} runs right"
        if len(bad) < len(verdicts)
        else ""
    )
    return f"no ({'; '.join(parts)}{unstable})"


def cell_suites(verdicts: list[Verdict]) -> str:
    if not verdicts:
        return "—"
    scope = " (union of versions)" if verdicts[-1].union_only else ""
    bad = [v for v in verdicts if not v.suites_ok]
    if not bad:
        return "yes" + scope
    last = bad[-1]
    unstable = (
        f", {len(verdicts) - len(bad)}/{len(verdicts)} runs right"
        if len(bad) < len(verdicts)
        else ""
    )
    return f"no (-{last.n_missing}/+{last.n_extra}){scope}{unstable}"


def render(targets: list[Target], tools: list[str], runs: list[Run]) -> tuple[str, list[str]]:
    lines = [
        "| target | TLS | tool | wall s | ratio to protoaudit | versions correct"
        " | suites correct |",
        "|---|---|---|---:|---:|---|---|",
    ]
    details: list[str] = []
    for target in targets:
        ok_base = [
            r.seconds
            for r in runs
            if r.target == target.name and r.tool == "protoaudit" and r.status == "ok" and r.seconds
        ]
        base = statistics.median(ok_base) if ok_base else None
        for tool in tools:
            mine = [r for r in runs if r.target == target.name and r.tool == tool]
            done = [r for r in mine if r.status == "ok"]
            secs = [r.seconds for r in done if r.seconds is not None]
            if not done:
                status = mine[-1].status if mine else "not run"
                extra = f": {mine[-1].detail}" if mine and mine[-1].detail else ""
                lines.append(
                    f"| {target.name} | {target.how} | {tool} | — | — | {status}{extra} | — |"
                )
                continue
            ratio = f"{statistics.median(secs) / base:.1f}x" if base and secs else "—"
            verdicts = [r.verdict for r in done if r.verdict is not None]
            failed = len(mine) - len(done)
            note = f" ({failed} run(s) {mine[-1].status})" if failed else ""
            lines.append(
                f"| {target.name} | {target.how} | {tool} | {fmt_seconds(secs)}{note} | {ratio} | "
                f"{cell_versions(verdicts)} | {cell_suites(verdicts)} |"
            )
            last = done[-1]
            if last.verdict and not (last.verdict.versions_ok and last.verdict.suites_ok):
                details.append(f"- **{target.name} / {tool}**:")
                v = last.verdict
                if v.versions_missing or v.versions_extra:
                    details.append(
                        f"  - versions missing {v.versions_missing or '[]'}, "
                        f"extra {v.versions_extra or '[]'}"
                    )
                for version, why in v.versions_undetermined.items():
                    details.append(f"  - {version} undetermined: {why}")
                for version, suites in v.missing.items():
                    details.append(f"  - {version} missing: {', '.join(suites)}")
                for version, suites in v.extra.items():
                    details.append(f"  - {version} extra: {', '.join(suites)}")
            if last.detail:
                details.append(f"- {target.name} / {tool} said: {last.detail}")
    return "\n".join(lines), details


def _median_of(runs: list[Run], target: str, tool: str, own: bool = False) -> float | None:
    """Median wall time (or, with own, protoaudit's JSON scan time) of the good runs."""
    values = [
        (r.parsed.scan_seconds if own and r.parsed else r.seconds)
        for r in runs
        if r.target == target and r.tool == tool and r.status == "ok"
    ]
    values = [v for v in values if v]
    return statistics.median(values) if values else None


def speed_goal(
    targets: list[Target], runs: list[Run], baseline: str | None
) -> tuple[str, list[dict[str, Any]]]:
    """Issue #3's target line for every sub-lab target with TLS.

    protoaudit's time there / its time on the HTTPS baseline (goal <= 1.5x), by
    wall time and by its own scan time; testssl.sh's time / protoaudit's there
    (goal >= 10x). Empty when no sub-lab target ran.
    """
    sub = [t for t in targets if t.is_sublab and t.tls_start != "none"]
    if not sub or not any(r.tool == "protoaudit" for r in runs):
        return "", []
    base_wall = _median_of(runs, baseline, "protoaudit") if baseline else None
    base_own = _median_of(runs, baseline, "protoaudit", own=True) if baseline else None

    def ratio(
        num: float | None,
        den: float | None,
        *,
        at_most: float | None = None,
        at_least: float | None = None,
        digits: int = 2,
    ) -> tuple[str, float | None, bool | None]:
        """Text, value and whether the goal (if any) is met."""
        if not num or not den:
            return "—", None, None
        value = num / den
        text = f"{value:.{digits}f}x"
        if at_most is None and at_least is None:
            return text, value, None
        met = value <= at_most if at_most is not None else value >= (at_least or 0.0)
        return f"{text} ({'met' if met else 'missed'})", value, met

    if base_wall and base_own:
        base_text = f"protoaudit on {baseline}: wall {base_wall:.2f} s, own scan {base_own:.2f} s"
    elif baseline:
        base_text = f"protoaudit on {baseline}: no good run"
    else:
        base_text = "no baseline (--baseline '')"
    baseline = baseline or "baseline"
    lines = [
        f"Issue #3 speed goal ({base_text}): protoaudit's time on each STARTTLS or"
        f" implicit-TLS target / its time on {baseline} should be at most"
        f" {GOAL_VS_HTTPS:g}x, and testssl.sh's time / protoaudit's at least"
        f" {GOAL_VS_TESTSSL:g}x. Medians; own scan = the JSON's duration_seconds"
        " (wall time less interpreter start-up).",
        "",
        f"| target | TLS | protoaudit wall s | / {baseline} wall (goal ≤ {GOAL_VS_HTTPS:g}x) "
        f"| protoaudit own scan s | / {baseline} own scan | testssl.sh wall s "
        f"| testssl.sh / protoaudit (goal ≥ {GOAL_VS_TESTSSL:g}x) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    rows: list[dict[str, Any]] = []
    for target in sub:
        wall = _median_of(runs, target.name, "protoaudit")
        own = _median_of(runs, target.name, "protoaudit", own=True)
        testssl = _median_of(runs, target.name, "testssl")
        vs_https, vs_https_value, vs_https_met = ratio(wall, base_wall, at_most=GOAL_VS_HTTPS)
        own_vs, own_vs_value, _ = ratio(own, base_own)
        vs_testssl, vs_testssl_value, vs_testssl_met = ratio(
            testssl, wall, at_least=GOAL_VS_TESTSSL, digits=1
        )
        lines.append(
            f"| {target.name} | {target.how} | {f'{wall:.2f}' if wall else '—'} | {vs_https} "
            f"| {f'{own:.2f}' if own else '—'} | {own_vs} "
            f"| {f'{testssl:.2f}' if testssl else '—'} | {vs_testssl} |"
        )
        rows.append(
            {
                "target": target.name,
                "protoaudit_wall": wall,
                "protoaudit_own_scan": own,
                "testssl_wall": testssl,
                "vs_baseline_wall": vs_https_value,
                "vs_baseline_own_scan": own_vs_value,
                "vs_baseline_goal_met": vs_https_met,
                "testssl_over_protoaudit": vs_testssl_value,
                "testssl_goal_met": vs_testssl_met,
            }
        )
    return "\n".join(lines) + "\n", rows


def protoaudit_own_times(runs: list[Run]) -> str:
    """protoaudit's own scan time (JSON duration_seconds) per target: wall time less start-up."""
    per_target: dict[str, list[float]] = {}
    for r in runs:
        if r.tool == "protoaudit" and r.parsed and r.parsed.scan_seconds is not None:
            per_target.setdefault(r.target, []).append(r.parsed.scan_seconds)
    return ", ".join(f"{t} {statistics.median(v):.2f}" for t, v in per_target.items())


def verdict_json(v: Verdict | None) -> dict[str, Any] | None:
    if v is None:
        return None
    return {
        "versions_ok": v.versions_ok,
        "versions_missing": v.versions_missing,
        "versions_undetermined": v.versions_undetermined,
        "versions_extra": v.versions_extra,
        "suites_ok": v.suites_ok,
        "suites_missing": v.missing,
        "suites_extra": v.extra,
        "union_only": v.union_only,
    }


def tool_versions(found: dict[str, list[str] | None]) -> dict[str, str]:
    """Version strings for the report header; best effort, never fatal."""
    probes = {
        "protoaudit": ["--version"],
        "sslyze": ["--help"],
        "sslscan": ["--version"],
        "testssl": ["--version"],
    }
    out: dict[str, str] = {}
    for tool, exe in found.items():
        if exe is None:
            out[tool] = "not installed"
            continue
        try:
            proc = subprocess.run(
                [*exe, *probes[tool]],
                capture_output=True,
                text=True,
                timeout=60,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            out[tool] = "?"
            continue
        text = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
        patterns = {
            "protoaudit": r"(\d+\.\d+[\w.]*)",
            "sslyze": r"SSLyze version (\S+)",
            "sslscan": r"^\s*(\d+\.\d+\.\d+\S*)",
            "testssl": r"testssl\S*\s+(\d[\w.+-]*)",
        }
        m = re.search(patterns[tool], text, re.MULTILINE)
        out[tool] = m.group(1) if m else "?"
    return out


# --- main ----------------------------------------------------------------------------------


NETNS_ENV = "PROTOAUDIT_BENCH_PRIVATE_LAB"


def can_run_private_lab() -> bool:
    return (
        os.geteuid() == 0
        and LAB_START.exists()
        and shutil.which("unshare") is not None
        and shutil.which("ip") is not None
    )


def rerun_in_private_lab(argv: list[str]) -> int:
    """Run this script again inside a new network namespace with its own lab.

    The namespace has only a loopback interface: the lab's servers and every
    tool see 127.0.0.1 there, nothing else can be reached, and a lab that other
    people start, stop or test on the host's loopback does not disturb the run.
    """
    lab_dir = tempfile.mkdtemp(prefix="protoaudit-bench-lab-")
    # mkdtemp makes it 0700; the sub-labs' servers that drop root (postfix,
    # postgres, prosody) must be able to reach their files below it.
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


def prepare_lab(args: argparse.Namespace, targets: list[Target]) -> tuple[str, bool]:
    """Make sure the lab answers; returns (description, whether we must stop it after)."""
    if os.environ.get(NETNS_ENV) == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        lab_dir = os.environ.get("PROTOAUDIT_LAB_DIR", "?")
        done = subprocess.run(["bash", str(LAB_START)], check=False, stdout=subprocess.DEVNULL)
        if done.returncode != 0:
            raise SystemExit("run.py: lab/start.sh failed in the private network namespace")
        return f"private (own network namespace, {lab_dir})", True
    if all(reachable(t.host, t.port) for t in targets):
        return "shared (already running on the host)", False
    if args.no_start_lab or not LAB_START.exists():
        print(
            "run.py: lab targets do not answer; start the lab: bash lab/start.sh", file=sys.stderr
        )
        return "shared (NOT all targets answered)", False
    print("run.py: lab targets do not answer; starting it (bash lab/start.sh)", file=sys.stderr)
    done = subprocess.run(["bash", str(LAB_START)], check=False, stdout=subprocess.DEVNULL)
    return "shared (started by run.py)", done.returncode == 0


def default_ca() -> Path | None:
    lab_dir = Path(os.environ.get("PROTOAUDIT_LAB_DIR", "/tmp/protoaudit-lab"))
    ca = lab_dir / "pki" / "ca.pem"
    return ca if ca.exists() else None


def split_list(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--targets",
        help="comma-separated lab target names from any ground truth file "
        "(default: every target with TLS)",
    )
    parser.add_argument("--tools", default=",".join(TOOLS), help=f"subset of {','.join(TOOLS)}")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool and target")
    parser.add_argument(
        "--ground-truth",
        type=Path,
        action="append",
        help="a ground truth file; repeat for several (default: lab/ground_truth.json and "
        "the mail, services, more and injection sub-labs' ground_truth.json)",
    )
    parser.add_argument(
        "--baseline",
        default=DEFAULT_BASELINE,
        help="the HTTPS target the speed goal compares sub-lab targets with; added to the "
        "run when a sub-lab target is in it and it is not ('' for none)",
    )
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument(
        "--ca-file",
        type=Path,
        default=None,
        help="lab CA (default: $PROTOAUDIT_LAB_DIR/pki/ca.pem)",
    )
    parser.add_argument(
        "--sni", default="localhost", help="server name sent by every tool ('' for none)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds per run of protoaudit, sslyze, sslscan",
    )
    parser.add_argument("--testssl-timeout", type=float, default=600.0)
    parser.add_argument(
        "--lab",
        choices=("auto", "shared", "private"),
        default="auto",
        help="private: a fresh lab of our own in a new network namespace (needs root); "
        "shared: the lab on the host's loopback (started if down); "
        "auto (default): private where possible, else shared",
    )
    parser.add_argument(
        "--no-start-lab",
        action="store_true",
        help="with a shared lab that is down, do not run lab/start.sh",
    )
    parser.add_argument(
        "--testssl-per-proto",
        action="store_true",
        help="run testssl with --cipher-per-proto instead of --each-cipher "
        "(slower, but suites are judged per version)",
    )
    args = parser.parse_args(None if argv is None else list(argv))

    argv_list = sys.argv[1:] if argv is None else list(argv)
    if os.environ.get(NETNS_ENV) != "1" and args.lab != "shared":
        if can_run_private_lab():
            return rerun_in_private_lab(argv_list)
        if args.lab == "private":
            parser.error("--lab private needs root, unshare, ip and lab/start.sh")

    tools = split_list(args.tools) or list(TOOLS)
    bad_tools = [t for t in tools if t not in TOOLS]
    if bad_tools:
        parser.error(f"unknown tool(s) {bad_tools}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    targets = load_targets(args.ground_truth or list(DEFAULT_TRUTHS), split_list(args.targets))
    baseline = args.baseline or None
    if (
        baseline
        and "protoaudit" in tools
        and any(t.is_sublab for t in targets)
        and baseline not in {t.name for t in targets}
    ):
        targets = load_targets(args.ground_truth or list(DEFAULT_TRUTHS), [baseline]) + targets
        print(f"run.py: added {baseline} as the speed goal's baseline", file=sys.stderr)
    ca_file = args.ca_file or default_ca()
    opts = Options(
        sni=args.sni or None,
        ca_file=ca_file,
        timeout=args.timeout,
        testssl_timeout=args.testssl_timeout,
        testssl_per_proto=args.testssl_per_proto,
    )

    names = SuiteNames()
    found = {tool: FINDERS[tool]() for tool in tools}
    versions = tool_versions(found)
    run_id = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_root = args.results / run_id
    out_root.mkdir(parents=True, exist_ok=True)
    print(f"# protoaudit benchmark {run_id}", file=sys.stderr)
    print("tools: " + ", ".join(f"{t} {versions[t]}" for t in tools), file=sys.stderr)
    print(
        f"suite names from {names.source}; SNI {opts.sni or 'none'}; raw output in {out_root}",
        file=sys.stderr,
    )

    lab_note, started_lab = prepare_lab(args, targets)
    if opts.ca_file is None:
        ca_file = opts.ca_file = default_ca()
    print(f"lab: {lab_note}; CA {ca_file or 'none'}", file=sys.stderr)
    runs: list[Run] = []
    try:
        for target in targets:
            for n in range(1, args.repeat + 1):
                for tool in tools:
                    run = run_tool(
                        tool,
                        found[tool],
                        target,
                        opts=opts,
                        out_dir=out_root / target.name,
                        run_no=n,
                        names=names,
                    )
                    runs.append(run)
                    secs = f"{run.seconds:.2f} s" if run.seconds is not None else ""
                    verdict = ""
                    if run.verdict:
                        verdict = (
                            f" versions {'ok' if run.verdict.versions_ok else 'WRONG'},"
                            f" suites {'ok' if run.verdict.suites_ok else 'WRONG'}"
                        )
                    print(
                        f"  {target.name:17} {tool:10} run {n}: {run.status} {secs}{verdict}"
                        + (f" ({run.detail[:120]})" if run.status != "ok" and run.detail else ""),
                        file=sys.stderr,
                        flush=True,
                    )
    finally:
        if started_lab:
            subprocess.run(["bash", str(LAB_STOP)], check=False, stdout=subprocess.DEVNULL)

    table, details = render(targets, tools, runs)
    goal_text, goal_rows = speed_goal(targets, runs, baseline)
    own = protoaudit_own_times(runs)
    tools_line = "Tools: " + ", ".join(f"{t} {versions[t]}" for t in tools) + "."
    if "testssl" in tools:
        tools_line += (
            " testssl.sh ran with --cipher-per-proto."
            if opts.testssl_per_proto
            else " testssl.sh ran with --each-cipher: its suites carry no version, so they"
            " are judged as a union over versions."
        )
    header = [
        f"Run {run_id}: {args.repeat} run(s) per tool and target, one tool at a time;"
        " wall s is the median, ratio = tool time / protoaudit time.",
        tools_line,
        f"Lab: {lab_note}.",
    ]
    if own:
        header.append(
            "protoaudit's own scan time in s (JSON duration_seconds; wall time adds"
            f" interpreter start-up and imports): {own}."
        )
    header += ["", ""]
    text = "\n".join(header) + table + "\n"
    if goal_text:
        text += "\n" + goal_text
    if details:
        truths = ", ".join(sorted({t.truth for t in targets}, key=lambda x: (x.count("/"), x)))
        text += f"\nDifferences from the ground truth ({truths}; last run):\n\n"
        text += "\n".join(details) + "\n"
    print(text)
    (out_root / "table.md").write_text(text)
    summary = {
        "run_id": run_id,
        "repeat": args.repeat,
        "tools": versions,
        "suite_names": names.source,
        "sni": opts.sni,
        "lab": lab_note,
        "ca_file": str(ca_file) if ca_file else None,
        "testssl_cipher_mode": "per-proto" if opts.testssl_per_proto else "each-cipher",
        "targets": {
            t.name: {
                "host": t.host,
                "port": t.port,
                "protocol": t.protocol,
                "tls_start": t.tls_start,
                "ground_truth": t.truth,
            }
            for t in targets
        },
        "speed_goal": {
            "baseline": baseline,
            "max_vs_baseline": GOAL_VS_HTTPS,
            "min_testssl_over_protoaudit": GOAL_VS_TESTSSL,
            "targets": goal_rows,
        },
        "runs": [
            {
                "target": r.target,
                "tool": r.tool,
                "status": r.status,
                "seconds": r.seconds,
                "returncode": r.returncode,
                "detail": r.detail,
                "files": r.files,
                "verdict": verdict_json(r.verdict),
            }
            for r in runs
        ],
    }
    (out_root / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    latest = args.results / "latest"
    with contextlib.suppress(OSError):
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(run_id)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("run.py: interrupted", file=sys.stderr)
        sys.exit(130)
