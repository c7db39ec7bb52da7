"""protoaudit as the benchmarks run it: from its own venv, as each peer runs from its own.

benchmarks/install.sh makes benchmarks/.venv-protoaudit; refresh() reinstalls the
checkout into it before any timing (the base interpreter here may load site
hooks at every start that a user's install would not). Without the venv,
command() falls back to this interpreter with the checkout's src on PYTHONPATH.
Standard library only.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".venv-protoaudit"


def refresh() -> str:
    """Install the checked-out code into the venv; what happened, in words."""
    pip = VENV / "bin" / "pip"
    if not pip.exists():
        return "no benchmarks/.venv-protoaudit (benchmarks/install.sh makes it)"
    done = subprocess.run(
        [str(pip), "install", "-q", "--disable-pip-version-check", str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if done.returncode != 0:
        tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-2:])
        return f"pip install into benchmarks/.venv-protoaudit failed: {tail[:200]}"
    return "benchmarks/.venv-protoaudit reinstalled from the checkout"


def python() -> str:
    venv = VENV / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def command() -> list[str]:
    """The argv prefix that runs protoaudit (PYTHONPATH=ROOT/src for the fallback)."""
    venv = VENV / "bin" / "protoaudit"
    return [str(venv)] if venv.exists() else [sys.executable, "-m", "protoaudit"]
