"""Write lab/socks/ground_truth.json from the socks sub-lab's configuration.

    python3 lab/socks/ground_truth.py            # rewrite lab/socks/ground_truth.json
    python3 lab/socks/ground_truth.py --check    # exit 1 if the file is stale

Where each fact comes from (each target's "sources" repeats it):
- Addresses and socksmethod lists: targets.env.
- Dante targets: dante.conf.in rendered as start.sh renders it, read back:
  `socksmethod` (in order) and the `socks pass` rule (destinations, commands).
  Dante 1.4's rules on top, each written where applied: a client offering
  several methods gets the first of the server's list that it offered
  (sockd_negotiate.c, method_select), so the server's order wins both ways;
  SOCKS 4 requests are parsed by the same server and answered with version-4
  replies, and since SOCKS 4 carries no authentication only `none` admits
  them (a CONNECT is granted then, refused with CD 91 otherwise); the
  username method is RFC 1929 against system accounts, so a fake pair is
  refused with a non-zero status.
- microsocks: its command line in start.sh (-u/-P given), and microsocks
  1.0.3's sockssrv.c: with a user set only USERNAME/PASSWORD (0x02) is
  acceptable (0xFF otherwise), RFC 1929 is checked against -u/-P, and a
  first byte other than 5 ends the connection (no SOCKS 4).
- Findings: the ids of policy/data/protoaudit_socks_baseline.json each
  target must produce when audited with a probe target on loopback.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "ground_truth.json"
sys.dont_write_bytecode = True

DANTE_METHODS = {"none": 0x00, "gssapi": 0x01, "username": 0x02}
DANTE_TARGETS = {  # name: the targets.env prefix
    "dante-open": "DANTE_OPEN",
    "dante-password": "DANTE_PASSWORD",
    "dante-both": "DANTE_BOTH",
}


def read_env(path: Path) -> dict[str, str]:
    """KEY='value' lines (the format start.sh sources)."""
    values = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Z_][A-Z0-9_]*)='([^']*)'", line)
        if match:
            values[match.group(1)] = match.group(2)
    return values


def render_dante(name: str, port: str, methods: str) -> str:
    text = (HERE / "dante.conf.in").read_text()
    values = {"@RUN@": "RUN", "@NAME@": name, "@PORT@": port, "@METHODS@": methods}
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def dante_facts(config: str) -> dict[str, Any]:
    methods = re.search(r"^socksmethod:\s*(.+)$", config, re.MULTILINE)
    internal = re.search(r"^internal:\s*(\S+)\s+port\s*=\s*(\d+)", config, re.MULTILINE)
    rule = re.search(r"socks pass \{(.*?)\}", config, re.DOTALL)
    if not (methods and internal and rule):
        raise SystemExit("dante.conf.in lost a line ground_truth.py reads")
    names = methods.group(1).split()
    codes = [DANTE_METHODS[name] for name in names]
    destination = re.search(r"to:\s*(\S+)", rule.group(1))
    command = re.search(r"command:\s*(.+)", rule.group(1))
    if not (destination and command):
        raise SystemExit("dante.conf.in's socks pass rule lost its to: or command: line")
    no_auth = 0x00 in codes
    return {
        "host": internal.group(1),
        "port": int(internal.group(2)),
        "server": "dante",
        "socksmethod": names,
        "methods_accepted": sorted(codes),
        "preferred": codes[0],
        "preferred_reversed": codes[0],
        "username_password": 0x02 in codes,
        "fake_pair_refused": 0x02 in codes,
        "socks4": True,
        "socks4_connect": no_auth,
        "socks5_connect": no_auth,
        "relays_to": destination.group(1),
        "commands": command.group(1).split(),
    }


def microsocks_facts(env: dict[str, str]) -> dict[str, Any]:
    start = (HERE / "start.sh").read_text()
    with_user = '-u "$MICROSOCKS_USER"' in start and '-P "$MICROSOCKS_PASSWORD"' in start
    assert with_user, "start.sh no longer runs microsocks with -u/-P"
    return {
        "host": env["SOCKS_LAB_HOST"],
        "port": int(env["MICROSOCKS_PORT"]),
        "server": "microsocks",
        "methods_accepted": [0x02],
        "preferred": 0x02,
        "preferred_reversed": 0x02,
        "username_password": True,
        "fake_pair_refused": True,
        "socks4": False,
        "socks4_connect": False,
        "socks5_connect": False,
        "relays_to": "127.0.0.0/8 (-b 127.0.0.1: outgoing from loopback)",
        "commands": ["connect"],
    }


def findings(facts: dict[str, Any]) -> list[str]:
    found = []
    if facts["socks5_connect"] or facts["socks4_connect"]:
        found.append("socks.open_proxy")
    if facts["username_password"]:
        found.append("socks.cleartext_password")
    if facts["socks4"]:
        found.append("socks.socks4")
    return sorted(found)


def build() -> dict[str, Any]:
    env = read_env(HERE / "targets.env")
    targets: dict[str, Any] = {}
    for name, prefix in DANTE_TARGETS.items():
        config = render_dante(name, env[f"{prefix}_PORT"], env[f"{prefix}_METHODS"])
        facts = dante_facts(config)
        facts["sources"] = {
            "address, socksmethod": f"targets.env {prefix}_PORT, {prefix}_METHODS",
            "relays_to, commands": "dante.conf.in socks pass rule",
            "preferred": "Dante 1.4 method_select: the server's list order",
            "socks4": "Dante 1.4 answers SOCKS 4; only socksmethod none admits it",
        }
        targets[name] = facts
    facts = microsocks_facts(env)
    facts["sources"] = {
        "address": "targets.env MICROSOCKS_PORT",
        "methods": "start.sh -u/-P; microsocks 1.0.3 sockssrv.c check_auth_method",
        "socks4": "microsocks 1.0.3 sockssrv.c: version byte must be 5",
    }
    targets["microsocks"] = facts
    for facts in targets.values():
        facts["findings"] = findings(facts)
    return {
        "_generated_by": "lab/socks/ground_truth.py (do not edit by hand)",
        "credentials": {
            "dante": [env["DANTE_USER"], env["DANTE_PASSWORD"]],
            "microsocks": [env["MICROSOCKS_USER"], env["MICROSOCKS_PASSWORD"]],
        },
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
