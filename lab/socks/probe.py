"""Is a socks sub-lab target up? A method selection it must accept, with the stdlib only.

    python3 lab/socks/probe.py up NAME     # exit 0 when NAME answers as its truth says
    python3 lab/socks/probe.py status      # one line per target; exit 1 if any is down

"Up" means: it accepts a TCP connection on its address and answers a SOCKS 5
method selection offering the first method its ground truth accepts with
exactly [5, that method]. Nothing is relayed, no credential is sent.
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

sys.dont_write_bytecode = True
TRUTH = json.loads((Path(__file__).resolve().parent / "ground_truth.json").read_text())
TIMEOUT = 2.0


def check(name: str) -> str | None:
    """None when NAME is up, else what was wrong."""
    target = TRUTH["targets"][name]
    method = target["methods_accepted"][0]
    try:
        with socket.create_connection((target["host"], target["port"]), timeout=TIMEOUT) as sock:
            sock.sendall(bytes([5, 1, method]))
            answer = b""
            while len(answer) < 2:
                chunk = sock.recv(2 - len(answer))
                if not chunk:
                    break
                answer += chunk
    except OSError as error:
        return f"{type(error).__name__}: {error}"
    if answer != bytes([5, method]):
        return f"answered {answer!r} to a method selection offering 0x{method:02x}"
    return None


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == "up":
        problem = check(argv[2])
        if problem:
            print(f"{argv[2]}: {problem}", file=sys.stderr)
        return 0 if problem is None else 1
    if len(argv) == 2 and argv[1] == "status":
        down = 0
        for name, target in TRUTH["targets"].items():
            problem = check(name)
            state = "up (SOCKS 5 method selection ok)" if problem is None else f"DOWN: {problem}"
            down += problem is not None
            print(f"{name:<18} {target['host']}:{target['port']:<6} {state}")
        return 1 if down else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
