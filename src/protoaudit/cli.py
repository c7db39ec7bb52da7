"""Command line: parse arguments, wire targets to the scanner and results to the reports."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import IO

import click

from protoaudit import __version__
from protoaudit.errors import ProtoauditError, TargetError
from protoaudit.policy import evaluate
from protoaudit.policy.findings import Severity
from protoaudit.report import json_report
from protoaudit.results import TargetResult, UnscannedTarget
from protoaudit.sanitize import for_terminal
from protoaudit.scan import AuditOptions, audit_targets
from protoaudit.targets import (
    SERVICES,
    Target,
    every_service,
    parse_target,
    read_target_lines,
)

STARTTLS_SERVICES = [name for name, service in SERVICES.items() if service.dialog]
EXIT_FINDINGS = 1
EXIT_TARGET_ERRORS = 3


def _targets(
    texts: Sequence[str],
    input_file: IO[str] | None,
    parse: Callable[[str], Target],
    errors: list[UnscannedTarget],
) -> Iterator[Target]:
    """Parse lazily, so a long target file streams; bad lines become errors, not exits."""
    for text in texts:
        yield from _parse_one(text, text, parse, errors)
    if input_file is not None:
        for number, text in read_target_lines(input_file):
            yield from _parse_one(text, f"{input_file.name}:{number}: {text}", parse, errors)


def _host_port(text: str) -> tuple[str, int]:
    """HOST:PORT (or [V6]:PORT) for --socks-probe-target; a usage error otherwise."""
    try:
        target = parse_target(text, service="tls")
    except TargetError as error:
        raise click.BadParameter(str(error), param_hint="--socks-probe-target") from None
    if f":{target.port}" not in text:
        raise click.BadParameter("give a port: HOST:PORT", param_hint="--socks-probe-target")
    return target.host, target.port


def _whole_hosts(targets: Iterator[Target]) -> Iterator[Target]:
    """Every well-known port of each host named (once per host, whatever port was given)."""
    seen: set[str] = set()
    for target in targets:
        if target.host not in seen:
            seen.add(target.host)
            yield from every_service(target)


def _parse_one(
    text: str, label: str, parse: Callable[[str], Target], errors: list[UnscannedTarget]
) -> Iterator[Target]:
    try:
        yield parse(text)
    except TargetError as error:
        errors.append(UnscannedTarget(text=label, reason=str(error)))
        click.echo(f"protoaudit: skipped target {for_terminal(label)}: {error}", err=True)


async def _collect(
    targets: Iterator[Target],
    options: AuditOptions,
    *,
    on_result: Callable[[TargetResult, int, int], None] | None = None,
) -> list[TargetResult]:
    """Every result, back in the order the targets were given."""
    positions: dict[Target, int] = {}

    def numbered() -> Iterator[Target]:
        for target in targets:
            positions.setdefault(target, len(positions))
            yield target

    results: list[TargetResult] = []
    async for result in audit_targets(numbered(), options):
        results.append(result)
        if on_result is not None:
            on_result(result, len(results), len(positions))
    by_original = {target.original: index for target, index in positions.items()}

    def position(result: TargetResult) -> int:
        # A mail: domain's results are its MX hosts ("mail:example.com MX mx1.example.com").
        found = positions.get(result.target)
        return found if found is not None else by_original[result.target.original.split(" MX ")[0]]

    return sorted(results, key=position)


def _audit_with_progress(targets: Iterator[Target], options: AuditOptions) -> list[TargetResult]:
    """A transient line on stderr counting finished targets; only on a terminal."""
    # rich is imported here and in _render only: a `--json - -q` run in a CI job
    # never draws anything, and start-up time is most of a one-host audit.
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("auditing", total=None)

        def advance(result: TargetResult, done: int, known: int) -> None:
            bar.update(task, description=f"audited {done} of {known}: {result.target}")

        return asyncio.run(_collect(targets, options, on_result=advance))


def _render(results: list[TargetResult], errors: list[UnscannedTarget], *, verbose: bool) -> None:
    from rich.console import Console  # noqa: PLC0415 - see _audit_with_progress

    from protoaudit.report import terminal  # noqa: PLC0415

    terminal.render(results, errors, Console(), verbose=verbose)


def _run(
    targets: Iterator[Target],
    errors: list[UnscannedTarget],
    options: AuditOptions,
    *,
    json_out: str | None,
    quiet: bool,
    verbose: bool,
    fail_on: str | None,
) -> int:
    if sys.stderr.isatty() and not quiet:
        results = _audit_with_progress(targets, options)
    else:
        results = asyncio.run(_collect(targets, options))
    return _report(
        results, errors, json_out=json_out, quiet=quiet, verbose=verbose, fail_on=fail_on
    )


def _report(
    results: list[TargetResult],
    errors: list[UnscannedTarget],
    *,
    json_out: str | None,
    quiet: bool,
    verbose: bool,
    fail_on: str | None,
) -> int:
    """Write the JSON, draw the terminal report; the exit code."""
    if json_out:
        text = json_report.dumps(
            results, errors, tool_version=__version__, generated=datetime.now(UTC)
        )
        if json_out == "-":
            click.echo(text)
        else:
            Path(json_out).write_text(text + "\n", encoding="utf-8")
    if not quiet and json_out != "-":
        _render(results, errors, verbose=verbose)
    if fail_on:
        threshold = Severity[fail_on.upper()]
        if any(f.severity >= threshold for result in results for f in result.findings):
            return EXIT_FINDINGS
    return EXIT_TARGET_ERRORS if errors else 0


_severities = click.Choice([severity.label for severity in Severity])
# DNSSEC options shared by `audit` (dnssec:, mail:, --dane) and `dnssec`.
_root_server_option = click.option(
    "--root-server",
    "root_servers",
    metavar="ADDR[:PORT]",
    multiple=True,
    help="DNSSEC: iterate from these root servers instead of the packaged root hints.",
)
_trust_anchor_option = click.option(
    "--trust-anchor",
    type=click.Path(exists=True, dir_okay=False),
    help="DNSSEC: DS or DNSKEY records to trust instead of IANA's root keys.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="protoaudit")
def main() -> None:
    """Audit the secure protocols a host exposes, with evidence."""


@main.command()
@click.argument("targets", nargs=-1)
@click.option(
    "-i",
    "--input",
    "input_file",
    type=click.File("r"),
    help="File of targets, one a line; # comments.",
)
@click.option(
    "--json", "json_out", metavar="FILE|-", help="Write the JSON report to FILE, or - for stdout."
)
@click.option(
    "--sni", help="Server name to send (default: the target's host name; none for an IP)."
)
@click.option(
    "--starttls",
    type=click.Choice(sorted({*STARTTLS_SERVICES, "none"})),
    help="How TLS starts on a bare host:port (default: from the well-known port; none: at once).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 600),
    default=5.0,
    show_default=True,
    help="Seconds for each connect and read.",
)
@click.option("-4", "ipv4", is_flag=True, help="Use IPv4 addresses only.")
@click.option("-6", "ipv6", is_flag=True, help="Use IPv6 addresses only.")
@click.option(
    "--all-addresses", is_flag=True, help="Audit every address a name resolves to, not the first."
)
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Trust this PEM file's CAs instead of Mozilla's.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 1000),
    default=40,
    show_default=True,
    help="Connections open at once, in all.",
)
@click.option(
    "--per-host",
    type=click.IntRange(1, 100),
    default=8,
    show_default=True,
    help="Connections open at once to one address.",
)
@click.option(
    "--dns-server",
    metavar="ADDR[:PORT]",
    help="dnssec: targets: ask this server (recursive or authoritative) for everything.",
)
@_root_server_option
@_trust_anchor_option
@click.option(
    "--dane",
    is_flag=True,
    help="TLS targets: TLSA records at _PORT._tcp.HOST against the chains, and CAA (DNSSEC).",
)
@click.option(
    "--caa-issuer",
    "caa_issuer",
    metavar="DOMAIN",
    multiple=True,
    help="With --dane: the CAA domain of the CA that issued the chain (for a private CA).",
)
@click.option(
    "--socks-probe-target",
    metavar="HOST:PORT",
    help="socks5:// and socks4://: prove an open proxy by a CONNECT to this, and only this.",
)
@click.option(
    "--fetch-wkd",
    is_flag=True,
    help="openpgpkey: targets: fetch the Web Key Directory URLs too (default: only show them).",
)
@click.option(
    "--all-services",
    is_flag=True,
    help="Audit each target's host on every well-known port (TLS, mail, FTP, SSH, telnet, r*).",
)
@click.option("--fail-on", type=_severities, help="Exit 1 when a finding is at least this severe.")
@click.option("-q", "--quiet", is_flag=True, help="No terminal report (errors still go to stderr).")
@click.option("-v", "--verbose", is_flag=True, help="Show every detail, certificates in full.")
def audit(  # noqa: PLR0917 - click passes every option as an argument
    targets: tuple[str, ...],
    input_file: IO[str] | None,
    json_out: str | None,
    sni: str | None,
    starttls: str | None,
    timeout: float,
    ipv4: bool,
    ipv6: bool,
    all_addresses: bool,
    ca_file: str | None,
    concurrency: int,
    per_host: int,
    dns_server: str | None,
    root_servers: tuple[str, ...],
    trust_anchor: str | None,
    dane: bool,
    caa_issuer: tuple[str, ...],
    socks_probe_target: str | None,
    fetch_wkd: bool,
    all_services: bool,
    fail_on: str | None,
    quiet: bool,
    verbose: bool,
) -> None:
    """Audit TARGETS: host[:port], [v6]:port, https://…, smtp://…, ssh://…, dnssec:NAME[/TYPE] …"""
    if not targets and input_file is None:
        raise click.UsageError("name at least one target, or a file with -i")
    if ipv4 and ipv6:
        raise click.UsageError("-4 and -6 exclude each other")
    family = socket.AF_INET if ipv4 else socket.AF_INET6 if ipv6 else socket.AF_UNSPEC
    options = AuditOptions(
        timeout=timeout,
        concurrency=concurrency,
        per_host=per_host,
        family=family,
        ca_file=ca_file,
        all_addresses=all_addresses,
        dns_server=dns_server,
        root_servers=root_servers,
        trust_anchor_file=trust_anchor,
        dane=dane,
        caa_issuer=caa_issuer,
        socks_probe_target=_host_port(socks_probe_target) if socks_probe_target else None,
        fetch_wkd=fetch_wkd,
    )
    errors: list[UnscannedTarget] = []
    parsed = _targets(targets, input_file, partial(parse_target, sni=sni, service=starttls), errors)
    code = _run(
        _whole_hosts(parsed) if all_services else parsed,
        errors,
        options,
        json_out=json_out,
        quiet=quiet,
        verbose=verbose,
        fail_on=fail_on,
    )
    sys.exit(code)


@main.command()
@click.option(
    "--json", "json_out", metavar="FILE|-", help="Write the JSON report to FILE, or - for stdout."
)
@click.option("-v", "--verbose", is_flag=True, help="Show every detail.")
def demo(json_out: str | None, verbose: bool) -> None:
    """Start demo TLS servers inside protoaudit on 127.0.0.1, audit them, stop them."""
    # Here, not at the top: the demo's certificate maker pulls in cryptography.x509.
    from protoaudit.demo import running_demo_servers  # noqa: PLC0415

    with running_demo_servers() as (ca_file, servers):
        click.echo(
            "protoaudit demo: auditing "
            + ", ".join(f"{server.name} ({server.target})" for server in servers),
            err=True,
        )
        errors: list[UnscannedTarget] = []
        code = _run(
            # Labelled by role, so the report says which demo server is which.
            iter(
                [
                    replace(parse_target(server.target), original=f"demo {server.name}")
                    for server in servers
                ]
            ),
            errors,
            AuditOptions(ca_file=ca_file),
            json_out=json_out,
            quiet=False,
            verbose=verbose,
            fail_on=None,
        )
    sys.exit(code)


@main.command("dnssec")
@click.argument("name")
@click.argument("dns_type", metavar="[TYPE]", default="A")
@click.option("--server", metavar="ADDR[:PORT]", help="Ask this server for everything.")
@_root_server_option
@_trust_anchor_option
@click.option("--timeout", default=3.0, show_default=True, help="Seconds per query.")
@click.option(
    "--json", "json_out", metavar="FILE|-", help="Write the JSON report to FILE, or - for stdout."
)
@click.option("--fail-on", type=_severities, help="Exit 1 when a finding is at least this severe.")
@click.option("-v", "--verbose", is_flag=True, help="Show every key and signature.")
def dnssec(  # noqa: PLR0917 - click passes every option as an argument
    name: str,
    dns_type: str,
    server: str | None,
    root_servers: tuple[str, ...],
    trust_anchor: str | None,
    timeout: float,
    json_out: str | None,
    fail_on: str | None,
    verbose: bool,
) -> None:
    """Validate NAME's DNSSEC chain of trust for TYPE (default A), from the root down."""
    errors: list[UnscannedTarget] = []
    options = AuditOptions(
        timeout=timeout,
        dns_server=server,
        root_servers=root_servers,
        trust_anchor_file=trust_anchor,
    )
    targets = _targets([f"dnssec:{name}/{dns_type}"], None, parse_target, errors)
    code = _run(
        targets, errors, options, json_out=json_out, quiet=False, verbose=verbose, fail_on=fail_on
    )
    sys.exit(code)


MAX_KEY_FILE = 16 << 20  # as pgp.reader.MAX_INPUT_BYTES: more is refused unread


@main.command("pgp")
@click.argument("files", nargs=-1, required=True, metavar="FILE|-...")
@click.option(
    "--json", "json_out", metavar="FILE|-", help="Write the JSON report to FILE, or - for stdout."
)
@click.option("--fail-on", type=_severities, help="Exit 1 when a finding is at least this severe.")
@click.option("-q", "--quiet", is_flag=True, help="No terminal report.")
@click.option("-v", "--verbose", is_flag=True, help="Show every subkey and user ID.")
def pgp(
    files: tuple[str, ...], json_out: str | None, fail_on: str | None, quiet: bool, verbose: bool
) -> None:
    """Audit OpenPGP keys: armored or binary, one key or a keyring export; - reads stdin."""
    from protoaudit.pgp_command import audit_key_file  # noqa: PLC0415

    results: list[TargetResult] = []
    errors: list[UnscannedTarget] = []
    for name in files:
        started, clock = datetime.now(UTC), time.monotonic()
        try:
            data = _read_bounded(name, MAX_KEY_FILE)
            observations = tuple(audit_key_file(data, now=started, name=name))
        except (OSError, ProtoauditError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            errors.append(UnscannedTarget(text=name, reason=reason))
            click.echo(
                f"protoaudit: skipped {for_terminal(name)}: {for_terminal(reason)}", err=True
            )
            continue
        target = Target(name, 0, "pgp", original=name)
        duration = round(time.monotonic() - clock, 3)
        findings = evaluate(observations)
        results.append(TargetResult(target, "", started, duration, observations, findings, None))
    sys.exit(
        _report(results, errors, json_out=json_out, quiet=quiet, verbose=verbose, fail_on=fail_on)
    )


def _read_bounded(name: str, limit: int) -> bytes:
    """A file's bytes, or stdin's for "-"; more than `limit` is refused, not read on."""
    if name == "-":
        data = sys.stdin.buffer.read(limit + 1)
    else:
        with open(name, "rb") as handle:
            data = handle.read(limit + 1)
    if len(data) > limit:
        raise ProtoauditError(f"larger than {limit >> 20} MB; not a key file")
    return data


@main.command("ssh-policy")
@click.argument("target")
@click.option("--timeout", default=5.0, show_default=True, help="Seconds per connect and read.")
@click.option("--json", "as_json", is_flag=True, help="Print the advice as JSON.")
def ssh_policy(target: str, timeout: float, as_json: bool) -> None:
    """Audit one SSH server and say what to remove, with the config lines that do it."""
    import json  # noqa: PLC0415
    from dataclasses import asdict  # noqa: PLC0415

    from protoaudit.policy.ssh_config import ssh_hardening  # noqa: PLC0415

    try:
        parsed = parse_target(target if "://" in target else f"ssh://{target}")
    except TargetError as error:
        raise click.UsageError(str(error)) from None
    if SERVICES[parsed.service].family != "ssh":
        raise click.UsageError(f"{target!r} is not an SSH target")

    async def run() -> list[TargetResult]:
        return [r async for r in audit_targets([parsed], AuditOptions(timeout=timeout))]

    (result,) = asyncio.run(run())
    advice = ssh_hardening(result.observations)
    if as_json:
        click.echo(json.dumps({"target": target, **asdict(advice)}, indent=2))
    else:
        lines = [f"# {for_terminal(target)}: {for_terminal(advice.software or 'no SSH server')}"]
        for category, names in advice.remove.items():
            if names:
                lines.append(f"# remove {category}: {for_terminal(', '.join(names), 2000)}")
        if advice.config_file and advice.config_lines:
            lines.append(f"# in {advice.config_file}:")
        lines += [for_terminal(line, 2000) for line in advice.config_lines]
        if advice.allow_list_lines:
            lines.append("# or, as explicit lists:")
            lines += [for_terminal(line, 2000) for line in advice.allow_list_lines]
        lines += [f"# note: {for_terminal(note, 2000)}" for note in advice.notes]
        if not advice.changes_needed:
            lines.append("# nothing to change")
        click.echo("\n".join(lines))
    failed = any(o.kind == "connection_failure" for o in result.observations)
    sys.exit(EXIT_TARGET_ERRORS if failed else EXIT_FINDINGS if advice.changes_needed else 0)
