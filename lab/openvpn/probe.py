"""Is an openvpn sub-lab target up? Checked with the standard library only.

    python3 lab/openvpn/probe.py up NAME     # exit 0 when NAME is up
    python3 lab/openvpn/probe.py wait        # until every target is up (exit 1 after 10 s)
    python3 lab/openvpn/probe.py status      # one line per target; exit 1 if any is down

"Up" means: the pid in RUN/openvpn/NAME/pid is a live openvpn, its log says
"Initialization Sequence Completed", and then, for a server without an HMAC
firewall, it answers a P_CONTROL_HARD_RESET_CLIENT_V2 with a
P_CONTROL_HARD_RESET_SERVER_V2; for one with tls-auth or tls-crypt (which
answers nobody without the key), its port is held (UDP: binding it fails;
TCP: it accepts a connection). verify.sh goes further, with a real client.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from instances import INSTANCES, LAB_HOST, Instance  # noqa: E402

RUN = Path(os.environ.get("PROTOAUDIT_LAB_DIR", "/tmp/protoaudit-lab")) / "openvpn"
TIMEOUT = 2.0
WAIT = 10.0
RESET_V2 = bytes([7 << 3]) + b"protoaud" + b"\x00" + b"\x00\x00\x00\x00"
SERVER_RESET_V2 = 8


def _answers_reset(instance: Instance) -> str | None:
    kind = socket.SOCK_DGRAM if instance.proto == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.settimeout(TIMEOUT)
        try:
            sock.connect((LAB_HOST, instance.port))
            if instance.proto == "udp":
                sock.send(RESET_V2)
                answer = sock.recv(2048)
            else:
                sock.sendall(len(RESET_V2).to_bytes(2, "big") + RESET_V2)
                answer = sock.recv(2048)[2:]
        except OSError as error:
            return f"no answer to a hard reset: {error}"
    if not answer or answer[0] >> 3 != SERVER_RESET_V2:
        return f"answered {answer[:16]!r}, not P_CONTROL_HARD_RESET_SERVER_V2"
    return None


def _port_held(instance: Instance) -> str | None:
    if instance.proto == "tcp":
        try:
            socket.create_connection((LAB_HOST, instance.port), timeout=TIMEOUT).close()
        except OSError as error:
            return f"no TCP listener: {error}"
        return None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((LAB_HOST, instance.port))
        except OSError as error:
            return None if error.errno == errno.EADDRINUSE else str(error)
    return "nothing holds the UDP port"


def check(instance: Instance) -> str | None:
    directory = RUN / instance.name
    try:
        pid = int((directory / "pid").read_text())
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except (OSError, ValueError):
        return "not running (no live pid)"
    if comm != "openvpn":
        return f"pid {pid} is {comm!r}, not openvpn"
    log = (directory / "openvpn.log").read_text(errors="replace")
    if "Initialization Sequence Completed" not in log:
        return "still initialising"
    return _answers_reset(instance) if instance.hmac is None else _port_held(instance)


def main(argv: list[str]) -> int:
    by_name = {instance.name: instance for instance in INSTANCES}
    if len(argv) == 3 and argv[1] == "up" and argv[2] in by_name:
        problem = check(by_name[argv[2]])
        if problem:
            print(f"{argv[2]}: {problem}", file=sys.stderr)
        return 0 if problem is None else 1
    if argv[1:] == ["wait"]:
        pending = list(INSTANCES)
        end = time.monotonic() + WAIT
        while pending and time.monotonic() < end:
            pending = [instance for instance in pending if check(instance) is not None]
            if pending:
                time.sleep(0.1)
        for instance in pending:
            print(f"{instance.name}: {check(instance)}", file=sys.stderr)
        return 1 if pending else 0
    if argv[1:] == ["status"]:
        down = 0
        for instance in INSTANCES:
            problem = check(instance)
            how = "answers a reset" if instance.hmac is None else f"{instance.hmac}, port held"
            state = f"up ({how})" if problem is None else f"DOWN: {problem}"
            down += problem is not None
            address = f"{instance.proto} {LAB_HOST}:{instance.port}"
            print(f"{instance.name:<19} {address:<20} {state}")
        return 1 if down else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
